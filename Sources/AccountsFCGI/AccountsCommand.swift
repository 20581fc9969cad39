import ArgumentParser
import Foundation
import Shared

@main
struct AccountsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "AccountsFCGI",
        abstract: "The SSO accounts server (noCookie, copyCookie, sign-in, logout) as a FastCGI responder.",
        subcommands: [Serve.self, HashPassword.self],
        defaultSubcommand: Serve.self)
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve FastCGI requests (the default).")

    @Option(help: "The config file.") var config = "/etc/sso/sso.yaml"
    @Flag(help: "Check the config, keys and users file, print every problem, and exit (non-zero on problems).")
    var checkConfig = false
    @Option(help: "Override accounts.listen: unix:/path, host:port or fd:0.") var listen: String?
    @Option(help: "Override accounts.workers.") var workers: Int?

    func run() throws {
        var cfg = ServerCommand.loadConfig(config)
        let keys = ServerCommand.orExit { try KeyLoader.load(cfg, side: .accounts) }
        let users = ServerCommand.orExit { try UsersFileLoader.load(path: cfg.usersFile, registry: cfg.registry) }
        cfg.accounts = ServerCommand.overriding(cfg.accounts, listen: listen, workers: workers)
        if checkConfig {
            print("\(config): OK (\(cfg.registry.services.count) services, \(keys.keys.count) keys, accounts on \(cfg.accounts.listen))")
            return
        }
        let logger = ServerCommand.bootstrapLogging(level: cfg.logLevel, label: "accounts")
        ServerCommand.serve(AccountsResponder(config: cfg, keys: keys, users: users), server: cfg.accounts, config: cfg, logger: logger)
    }
}

struct HashPassword: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-password",
        abstract: "Read a password from stdin (one line) and print its yescrypt hash for the users file.")

    func run() throws {
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw ValidationError("expected a password on standard input")
        }
        print(try PasswordHash.make(password: line))
    }
}
