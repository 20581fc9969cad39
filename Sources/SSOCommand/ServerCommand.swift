import ArgumentParser
import FastCGI
import Foundation
import Logging
import SSOCore
import SSOStore

/// The options both FastCGI programs take.
public struct ServerOptions: ParsableArguments {
    @Option(help: "The config file.") public var config = "/etc/sso/sso.yaml"
    @Flag(help: "Check the config and what it points at, print every problem, and exit (non-zero on problems).")
    public var checkConfig = false
    @Option(help: "Override this program's listen setting (accounts.listen or app_auth.listen): unix:/path, host:port or fd:0.")
    public var listen: String?
    @Option(help: "Override this program's workers setting (accounts.workers or app_auth.workers).")
    public var workers: Int?

    public init() {}
}

/// What both programs do at start: load and check the config, set up logging, serve a handler over FastCGI.
/// Problems go to stderr and end the program with exit code 2 (1 when serving fails).
public enum ServerCommand {
    /// Loads the config; on problems prints every one of them and exits 2.
    public static func loadConfig(_ path: String) throws(ExitCode) -> SSOConfig {
        try orExit { () throws(ConfigError) in try ConfigLoader.load(path: path) }
    }

    /// Runs `body`, turning any start-up error (a `ConfigError` lists every problem) into stderr and exit code 2.
    public static func orExit<T, E: Error>(_ body: () throws(E) -> T) throws(ExitCode) -> T {
        do {
            return try body()
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            throw ExitCode(2)
        }
    }

    /// `server` with the command line's `--listen` and `--workers` applied; exits 2 on an unreadable `--listen`.
    public static func overriding(_ server: SSOConfig.Server, with options: ServerOptions) throws(ExitCode) -> SSOConfig.Server {
        var out = server
        if let listen = options.listen {
            guard let address = ListenAddress(parsing: listen) else {
                FileHandle.standardError.write(Data("--listen \(listen): expected unix:/path, host:port or fd:0\n".utf8))
                throw ExitCode(2)
            }
            out.listen = address
        }
        if let workers = options.workers { out.workers = max(1, workers) }
        return out
    }

    /// Bootstraps swift-log once, writing to stderr at `level`.
    public static func bootstrapLogging(level: String, label: String) -> Logger {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: level) ?? .info
        return logger
    }

    /// Serves `handler` on `server` until SIGTERM/SIGINT; returns when requests in flight are done.
    public static func serve<H: Handler>(_ handler: H, server: SSOConfig.Server, config: SSOConfig, logger: Logger) throws(ExitCode) {
        let stores = StoreFactory(config.memcached)
        let responder = SSOResponder(handler: handler, logger: logger, makeStore: { try stores.make() })
        let runtime = FastCGIServer(
            options: .init(address: server.listen, workers: server.workers, socketMode: server.socketMode,
                           maxBodyBytes: config.maxBodyBytes),
            responder: responder, logger: logger)
        do {
            try runtime.run()
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
    }
}
