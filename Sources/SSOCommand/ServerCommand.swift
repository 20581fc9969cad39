import ArgumentParser
import FastCGI
import FoundationEssentials
import Glibc
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
    @Option(help: "Override this program's processes setting (accounts.processes or app_auth.processes); 0: no supervisor.")
    public var processes: Int?
    /// Set by a supervisor on the worker processes it starts: its pid.
    @Option(help: .hidden) public var workerOf: Int32?
    /// Set by a supervisor that owns its socket: a stopping worker serves the connections queued on it.
    @Flag(help: .hidden) public var drainQueueOnStop = false
    /// Set by a supervisor: the worker's slot of the shared counters (inherited as descriptor 4).
    @Option(help: .hidden) public var busySlot: Int?

    public init() {}
}

/// What both programs do at start: load and check the config, set up logging, serve a handler over FastCGI.
/// Problems go to stderr and end the program with exit code 2 (1 when serving fails).
public enum ServerCommand {
    /// Loads the config; on problems prints every one of them and exits 2.
    public static func loadConfig(_ path: String) throws(ExitCode) -> SSOConfig {
        try orExit { () throws(ConfigError) in try ConfigLoader.load(path: path) }
    }

    /// The config for `program`, checked with everything it names (keys, users file, audit log) so every problem is
    /// listed in one run: on problems prints them to stderr and exits 2. With `--check-config` also warns (stderr) about
    /// the socket's folder and memcached servers that do not answer, prints `OK` and exits 0: a warning does not fail.
    public static func checkedConfig(_ options: ServerOptions, program: ConfigCheck.Program) throws(ExitCode) -> SSOConfig {
        let report = ConfigCheck.run(path: options.config, program: program, machine: options.checkConfig)
        if !report.errors.isEmpty {
            printError(report.problemText)
            throw ExitCode(2)
        }
        guard options.checkConfig else { return report.config }
        for warning in report.warnings { printError("warning: \(warning)") }
        let cfg = report.config
        let server = program == .accounts ? "accounts on \(cfg.accounts.listen)" : "app auth on \(cfg.appAuth.listen)"
        let warned = report.warnings.isEmpty ? "" : ", \(report.warnings.count) warning(s)"
        print("\(options.config): OK (\(cfg.registry.services.count) services, \(cfg.keys.count) keys, \(server)\(warned))")
        throw ExitCode.success
    }

    /// Logs a warning for each memcached server that does not answer now: the program starts anyway (the store may come
    /// up later) and refuses every request until it does.
    public static func warnAboutStore(_ config: SSOConfig, logger: Logger) {
        for silent in StoreProbe.silentServers(config.memcached) {
            logger.warning("memcached does not answer: every request is refused until it does",
                           metadata: ["server": "\(silent.server)", "key": "memcached.servers[\(silent.index)]", "error": "\(silent.reason)"])
        }
    }

    /// Runs `body`, turning any start-up error (a `ConfigError` lists every problem) into stderr and exit code 2.
    public static func orExit<T, E: Error>(_ body: () throws(E) -> T) throws(ExitCode) -> T {
        do {
            return try body()
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
    }

    /// `server` with the command line's `--listen` and `--workers` applied; exits 2 on an unreadable `--listen`.
    public static func overriding(_ server: SSOConfig.Server, with options: ServerOptions) throws(ExitCode) -> SSOConfig.Server {
        var out = server
        if let listen = options.listen {
            guard let address = ListenAddress(parsing: listen) else {
                printError("--listen \(listen): expected unix:/path, host:port or fd:0")
                throw ExitCode(2)
            }
            out.listen = address
        }
        if let workers = options.workers { out.workers = max(1, workers) }
        if let processes = options.processes { out.processes = min(64, max(0, processes)) }
        if let supervisor = options.workerOf {
            // A worker process serves the supervisor's socket, inherited as fd 0, and supervises nothing itself.
            out.listen = .inherited
            out.processes = 0
            out.supervisor = .init(pid: supervisor, drainQueueOnStop: options.drainQueueOnStop, busySlot: options.busySlot)
        }
        return out
    }

    /// Bootstraps swift-log once, writing to stderr at `level`.
    public static func bootstrapLogging(level: String, label: String) -> Logger {
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: label)
        logger.logLevel = Logger.Level(rawValue: level) ?? .info
        return logger
    }

    /// Serves `handler` on `server` until SIGTERM/SIGINT; returns when requests in flight are done. With
    /// `processes > 0` this process becomes the supervisor and the serving is done by the worker processes it starts.
    /// `background` (a watcher thread, say) is started only in a process that serves, never in the supervisor: work
    /// whose effects others see (ending sessions) must happen in step with the process answering requests.
    public static func serve<H: Handler>(_ handler: H, server: SSOConfig.Server, config: SSOConfig, logger: Logger,
                                         background: () -> Void = {}) throws(ExitCode) {
        // Once per start, in the process that was started (not in each worker a supervisor starts).
        if server.supervisor == nil { warnAboutStore(config, logger: logger) }
        do {
            let counters = try sharedCounters(server)
            if server.processes > 0 {
                var supervisor = Supervisor.Options(address: server.listen, socketMode: server.socketMode, socketGroup: server.socketGroup,
                                                    processes: server.processes, arguments: workerArguments())
                supervisor.counters = (counters, MetricsLayout.busySlots)
                try Supervisor(options: supervisor, logger: logger).run()
                return
            }
            var options = FastCGIServer<SSOResponder<H>>.Options(
                address: server.listen, workers: server.workers, socketMode: server.socketMode, maxBodyBytes: config.maxBodyBytes,
                socketGroup: server.socketGroup, idleTimeout: server.idleTimeout, ioTimeout: server.ioTimeout,
                maxConnections: server.maxConnections, peers: server.peers)
            if let supervisor = server.supervisor {
                options.supervisorPID = supervisor.pid
                options.drainQueueOnStop = supervisor.drainQueueOnStop
                options.readyFD = Supervisor.WorkerFlag.readyFD
            }
            options.busy = (counters, server.supervisor?.busySlot ?? MetricsLayout.busySlots.lowerBound)
            background()
            let memcached = config.memcached
            let metrics = SSOMetrics(counters: counters, servers: memcached.replicas > 0 ? memcached.servers
                                                                                          : [memcached.servers.joined(separator: ",")])
            let health = StoreHealth(logger: logger)
            let stores = StoreFactory(memcached, events: metrics)
            let responder = SSOResponder(handler: handler, logger: logger, metrics: metrics, makeStore: {
                MonitoredStore(try stores.make(), health: health, events: memcached.replicas > 0 ? nil : metrics)
            })
            try FastCGIServer(options: options, responder: responder, logger: logger).run()
        } catch let error as FastCGIError where error.isSetup {
            logger.critical("cannot start: \(error) (a config or unit problem: not restarted)")
            throw ExitCode(2)
        } catch {
            logger.critical("cannot start: \(error)")
            throw ExitCode(1)
        }
    }

    /// The program's metrics region: the supervisor's, inherited as descriptor 4, in a worker it started with a busy slot;
    /// a new one otherwise (the supervisor's own, or a process serving alone).
    static func sharedCounters(_ server: SSOConfig.Server) throws -> SharedCounters {
        if server.supervisor?.busySlot != nil {
            return try SharedCounters.attach(fd: Supervisor.WorkerFlag.countersFD, count: MetricsLayout.count)
        }
        return try SharedCounters.create(count: MetricsLayout.count)
    }

    /// This program's command line for a worker process: the same, less `--listen` (the supervisor gives its own).
    static func workerArguments() -> [String] {
        var out: [String] = []
        var skip = false
        for argument in CommandLine.arguments.dropFirst() {
            if skip { skip = false; continue }
            if argument == "--listen" { skip = true; continue }
            if argument.hasPrefix("--listen=") { continue }
            out.append(argument)
        }
        return out
    }
}

/// Writes `text` and a newline to standard error.
func printError(_ text: String) {
    let bytes = Array((text + "\n").utf8)
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { all in
            guard let base = all.baseAddress else { return -1 }
            return write(STDERR_FILENO, base + written, bytes.count - written)
        }
        if n <= 0 { return }
        written += n
    }
}
