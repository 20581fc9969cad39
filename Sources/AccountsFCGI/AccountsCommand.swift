import ArgumentParser
import SSOCommand
import SSOCore
import SSOCrypto

@main
struct AccountsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "AccountsFCGI",
        abstract: "The SSO accounts server (noCookie, copyCookie, sign-in, logout) as a FastCGI responder.",
        version: SSOVersion.current,
        subcommands: [Serve.self, HashPassword.self],
        defaultSubcommand: Serve.self)
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve FastCGI requests (the default).")

    @OptionGroup var options: ServerOptions

    func run() throws {
        // Before any OpenSSL call: a stop never frees OpenSSL under a thread still using it.
        OpenSSLLifetime.keepStateUntilExit()
        var cfg = try ServerCommand.checkedConfig(options, program: .accounts)
        let keys = try ServerCommand.orExit { try KeyLoader.load(cfg, side: .accounts) }
        let users = try ServerCommand.orExit { try UsersFile(path: cfg.usersFile, registry: cfg.registry) }
        cfg.accounts = try ServerCommand.overriding(cfg.accounts, with: options)
        let audit = try ServerCommand.orExit { try AuditLog(path: cfg.auditLogFile) }
        let logger = ServerCommand.bootstrapLogging(level: cfg.logLevel, label: "accounts")
        // Once per start, as warnAboutStore: not again in each worker process a supervisor starts.
        if cfg.accounts.supervisor == nil, let warning = ConfigCheck.cheapHashWarning(users.current.all, file: cfg.usersFile) {
            logger.warning("\(warning)")
        }
        try ServerCommand.serve(AccountsApp(config: cfg, keys: keys, users: users, audit: audit), server: cfg.accounts, config: cfg,
                                logger: logger, background: { UsersReloader.start(users, config: cfg, logger: logger, audit: audit) })
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
