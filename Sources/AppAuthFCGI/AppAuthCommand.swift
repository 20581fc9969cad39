import ArgumentParser
import Shared

@main
struct AppAuthCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "AppAuthFCGI",
        abstract: "The SSO check beside every app host: nginx auth_request responder and Apache FastCGI authorizer.")

    @Option(help: "The config file.") var config = "/etc/sso/sso.yaml"
    @Flag(help: "Check the config and keys, print every problem, and exit (non-zero on problems).")
    var checkConfig = false
    @Option(help: "Override app_auth.listen: unix:/path, host:port or fd:0.") var listen: String?
    @Option(help: "Override app_auth.workers.") var workers: Int?

    func run() throws {
        var cfg = ServerCommand.loadConfig(config)
        let keys = ServerCommand.orExit { try KeyLoader.load(cfg, side: .appHost) }
        cfg.appAuth = ServerCommand.overriding(cfg.appAuth, listen: listen, workers: workers)
        if checkConfig {
            print("\(config): OK (\(cfg.registry.services.count) services, \(keys.keys.count) keys, app auth on \(cfg.appAuth.listen))")
            return
        }
        let logger = ServerCommand.bootstrapLogging(level: cfg.logLevel, label: "appauth")
        ServerCommand.serve(AppAuthResponder(config: cfg, keys: keys), server: cfg.appAuth, config: cfg, logger: logger)
    }
}
