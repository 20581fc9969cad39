import ArgumentParser
import Foundation
import SSOCommand
import SSOCore
import SSOStore

/// What every ssoctl command takes. Exit codes, for scripts: 0 done; 1 the operation failed (the store cannot be
/// reached, nothing matched, a file cannot be written); 2 a usage or config problem.
struct CtlOptions: ParsableArguments {
    @Option(help: "The config file.") var config = "/etc/sso/sso.yaml"
    @Flag(help: "Print JSON instead of text, for scripts.") var json = false

    func loadConfig() throws(ExitCode) -> SSOConfig { try ServerCommand.loadConfig(config) }

    /// A store connection from the config (memcached; every copy when there are replicas), or exit 1.
    func store(_ cfg: SSOConfig) throws(ExitCode) -> SessionStore {
        do { return SessionStore(kv: try StoreFactory(cfg.memcached).make(), prefix: cfg.keyPrefix) } catch {
            fail("cannot reach memcached: \(error)")
        }
    }

    /// The audit log from the config; a warning (not a failure) when it cannot be opened.
    func audit(_ cfg: SSOConfig) -> AuditLog {
        do { return try AuditLog(path: cfg.auditLogFile) } catch {
            FileHandle.standardError.write(Data("warning: \(error); this action is not in the audit log\n".utf8))
            return .off
        }
    }

    /// Prints `text`, or `object` as JSON with --json.
    func output(_ text: String, json object: Any) {
        if json {
            if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) {
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            }
        } else if !text.isEmpty {
            print(text)
        }
    }
}

/// Seconds since 1970, now.
func currentTime() -> Int64 { Int64(Date().timeIntervalSince1970) }

/// Prints `message` to stderr and exits 1 (the operation failed).
func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("ssoctl: \(message)\n".utf8))
    Foundation.exit(1)
}

/// The operator who ran the command, for the audit log.
func operatorName() -> String { ProcessInfo.processInfo.environment["SUDO_USER"] ?? NSUserName() }
