import ArgumentParser
import SSOCommand
import SSOCore

/// `ssoctl check`: the config check of both programs at once (config, both halves of the keys, the users file).
struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the config as both programs would: keys for the accounts host and app hosts, the users file.")

    @OptionGroup var options: CtlOptions

    func run() throws {
        let cfg = try options.loadConfig()
        var problems: [String] = []
        var checked: [String: Any] = ["config": options.config, "services": cfg.registry.services.count]
        do { checked["keys"] = try KeyLoader.load(cfg, side: .accounts).keys.count } catch { problems.append("accounts host: \(error)") }
        do { _ = try KeyLoader.load(cfg, side: .appHost) } catch { problems.append("app hosts: \(error)") }
        do { checked["users"] = try UsersFileLoader.load(path: cfg.usersFile, registry: cfg.registry).all.count } catch {
            problems.append("\(error)")
        }
        checked["problems"] = problems
        options.output(problems.isEmpty ? "\(options.config): OK (\(checked["services"] ?? 0) services, \(checked["keys"] ?? 0) keys, "
                       + "\(checked["users"] ?? 0) users)" : problems.joined(separator: "\n"), json: checked)
        if !problems.isEmpty { throw ExitCode(2) }
    }
}
