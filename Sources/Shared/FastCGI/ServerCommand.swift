import Foundation
import Logging

/// What both executables do at start: load and check the config, set up logging, run a `FastCGIServer`.
public enum ServerCommand {
    /// Loads `path`; on any problem prints every one of them to stderr and exits 2.
    public static func loadConfig(_ path: String) -> SSOConfig {
        do {
            return try ConfigLoader.load(path: path)
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            exit(2)
        }
    }

    /// Runs `body`, turning a `ConfigError` (or any start-up error) into a message on stderr and exit code 2.
    public static func orExit<T>(_ body: () throws -> T) -> T {
        do {
            return try body()
        } catch {
            FileHandle.standardError.write(Data("\(error)\n".utf8))
            exit(2)
        }
    }

    /// `server` with the command line's `--listen` and `--workers` applied; exits 2 on an unreadable `--listen`.
    public static func overriding(_ server: SSOConfig.Server, listen: String?, workers: Int?) -> SSOConfig.Server {
        var out = server
        if let listen {
            guard let address = ListenAddress(parsing: listen) else {
                FileHandle.standardError.write(Data("--listen \(listen): expected unix:/path, host:port or fd:0\n".utf8))
                exit(2)
            }
            out.listen = address
        }
        if let workers { out.workers = max(1, workers) }
        return out
    }

    /// Bootstraps swift-log once, writing to stderr at `level`.
    public static func bootstrapLogging(level: String, label: String) -> Logger {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: level) ?? .info
        return logger
    }

    /// Serves `responder` on `server` until SIGTERM/SIGINT, then exits 0.
    public static func serve(_ responder: Responder, server: SSOConfig.Server, config: SSOConfig, logger: Logger) -> Never {
        let runtime = FastCGIServer(
            address: server.listen, workers: server.workers, socketMode: server.socketMode, maxBodyBytes: config.maxBodyBytes,
            responder: responder, logger: logger, makeStore: { try MemcachedClient(config.memcached) })
        do {
            try runtime.run()
            exit(0)
        } catch {
            logger.critical("cannot start: \(error)")
            exit(1)
        }
    }
}
