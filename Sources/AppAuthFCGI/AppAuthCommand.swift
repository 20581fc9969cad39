import ArgumentParser
import SSOCommand
import SSOCore
import SSOCrypto

@main
struct AppAuthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "AppAuthFCGI",
        abstract: "The SSO check beside every app host: nginx auth_request responder and Apache FastCGI authorizer.",
        version: SSOVersion.current)

    @OptionGroup var options: ServerOptions

    func run() throws {
        // Before any OpenSSL call: a stop never frees OpenSSL under a thread still using it.
        OpenSSLLifetime.keepStateUntilExit()
        var cfg = try ServerCommand.checkedConfig(options, program: .appAuth)
        let keys = try ServerCommand.orExit { try KeyLoader.load(cfg, side: .appHost) }
        cfg.appAuth = try ServerCommand.overriding(cfg.appAuth, with: options)
        let audit = try ServerCommand.orExit { try AuditLog(path: cfg.auditLogFile) }
        let logger = ServerCommand.bootstrapLogging(level: cfg.logLevel, label: "appauth")
        try ServerCommand.serve(AppAuthApp(config: cfg, keys: keys, audit: audit), server: cfg.appAuth, config: cfg, logger: logger)
    }
}
