import ArgumentParser
import Foundation
import SSOCommand
import SSOCore

/// `ssoctl check`: the `--check-config` of every program this host runs, at once (the config, the keys as each
/// program loads them, the users file, the audit log).
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the config as the programs of this host would: AccountsFCGI and AppAuthFCGI on the accounts host, AppAuthFCGI on an app host.")

    /// Which programs run here.
    enum Host: String, ExpressibleByArgument, CaseIterable {
        /// `accounts` when the config holds the signing key, else `app`.
        case auto
        /// AccountsFCGI (the signing key, the users file) and AppAuthFCGI.
        case accounts
        /// AppAuthFCGI only: public keys, never a private one (docs/operations.md).
        case app
    }

    @Option(help: "Which programs this host runs: accounts (AccountsFCGI and AppAuthFCGI), app (AppAuthFCGI only), or auto: accounts when keys.signing_kid names a key with a private_key_file or secret_file, else app.")
    var host: Host = .auto

    @OptionGroup var options: CtlOptions

    /// Whether `config` names a key this host could sign with: the accounts host's.
    static func holdsSigningKey(_ config: SSOConfig) -> Bool {
        config.keys.contains { $0.kid == config.signingKID && ($0.privateKeyFile != nil || $0.secretFile != nil) }
    }

    func run() throws {
        // The file itself first: its problems are the answer, in JSON too with --json (and on stderr as text).
        let (cfg, fileProblems) = ConfigLoader.inspect(path: options.config)
        guard fileProblems.isEmpty else {
            let problems = fileProblems.map { "\(options.config): \($0)" }
            if options.json { options.output("", json: ["config": options.config, "problems": problems]) }
            else { FileHandle.standardError.write(Data((ConfigError(file: options.config, problems: fileProblems).description + "\n").utf8)) }
            throw ExitCode(2)
        }
        let role = host == .auto ? (Self.holdsSigningKey(cfg) ? .accounts : .app) : host
        let programs: [(String, ConfigCheck.Program)] = role == .app ? [("AppAuthFCGI", .appAuth)]
            : [("AccountsFCGI", .accounts), ("AppAuthFCGI", .appAuth)]
        // Each program's problems, once: a problem both would have (the audit log's folder) is said once.
        var problems: [String] = []
        for (name, program) in programs {
            for error in ConfigCheck.run(path: options.config, program: program, machine: false).errors {
                for problem in error.problems.map({ "\(error.file): \($0)" }) where !problems.contains(where: { $0.hasSuffix(problem) }) {
                    problems.append("\(name): \(problem)")
                }
            }
        }
        var checked: [String: Any] = ["config": options.config, "services": cfg.registry.services.count,
                                      "host": role.rawValue, "programs": programs.map(\.0), "problems": problems]
        if problems.isEmpty {
            checked["keys"] = cfg.keys.count
            if role == .accounts { checked["users"] = (try? UsersFileLoader.load(path: cfg.usersFile, registry: cfg.registry).all.count) ?? 0 }
        }
        let what = role == .app
            ? "as an app host (AppAuthFCGI; \(host == .auto ? "no signing key here, so AccountsFCGI was not checked: --host accounts checks it" : "--host app"))"
            : "as the accounts host (AccountsFCGI and AppAuthFCGI)"
        let counts = "\(checked["services"] ?? 0) services, \(checked["keys"] ?? 0) keys" + (role == .accounts ? ", \(checked["users"] ?? 0) users" : "")
        options.output(problems.isEmpty ? "\(options.config): OK \(what): \(counts)" : problems.joined(separator: "\n"), json: checked)
        if !problems.isEmpty { throw ExitCode(2) }
    }
}
