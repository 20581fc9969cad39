import CFastCGI
import Glibc
import Logging
import Synchronization

/// Runs a `Responder` over libfcgi: N worker threads each blocking in `FCGX_Accept_r` with its own request and its own
/// worker state. FastCGI keep-alive connections (nginx `fastcgi_keep_conn on`) are served by libfcgi on the same worker.
/// SIGTERM/SIGINT: stop accepting, let requests in flight finish (up to `drainSeconds`), return.
public final class FastCGIServer<R: Responder>: Sendable {
    /// How the server listens and how much it reads.
    public struct Options: Sendable {
        public var address: ListenAddress
        /// Worker threads. Default in config: the number of cores.
        public var workers: Int
        /// Permission bits of a unix socket. Default in config: 0o660.
        public var socketMode: Int
        /// Largest body kept, in bytes; a larger one is read, discarded and marked `bodyOmitted`.
        public var maxBodyBytes: Int
        /// Longest wait for requests in flight after SIGTERM, in seconds. Default: 30.
        public var drainSeconds: Int

        public init(address: ListenAddress, workers: Int, socketMode: Int, maxBodyBytes: Int, drainSeconds: Int = 30) {
            self.address = address
            self.workers = workers
            self.socketMode = socketMode
            self.maxBodyBytes = maxBodyBytes
            self.drainSeconds = drainSeconds
        }
    }

    public let options: Options
    let responder: R
    let logger: Logger

    private struct State {
        var inFlight = 0
        var stopping = false
    }
    private let state = Mutex(State())
    private let listenFD = Atomic<Int32>(-1)

    public init(options: Options, responder: R, logger: Logger) {
        self.options = options
        self.responder = responder
        self.logger = logger
    }

    /// Hands a worker's state to the thread that owns it from then on; nothing else touches it after `start`.
    private final class Handover: @unchecked Sendable {
        let worker: R.Worker
        init(_ worker: R.Worker) { self.worker = worker }
    }

    /// Listens, serves until SIGTERM or SIGINT, then returns after requests in flight are done (the caller exits 0).
    public func run() throws {
        signal(SIGPIPE, SIG_IGN)
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        // Block in every thread (inherited by workers); the main thread takes them with sigwait.
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        guard FCGX_Init() == 0 else { throw FastCGIError("FCGX_Init failed") }
        let fd = try FastCGIListener.open(options.address, socketMode: options.socketMode)
        listenFD.store(fd, ordering: .releasing)
        var handovers: [Handover] = []
        for index in 0..<options.workers { handovers.append(Handover(try responder.makeWorker(index: index))) }
        logger.info("listening", metadata: ["address": "\(options.address)", "workers": "\(options.workers)"])
        for (index, handover) in handovers.enumerated() {
            try WorkerThread.start { [self] in self.work(index: index, worker: handover.worker) }
        }
        var received: Int32 = 0
        sigwait(&signals, &received)
        logger.info("stopping", metadata: ["signal": "\(received == SIGTERM ? "SIGTERM" : "SIGINT")"])
        state.withLock { $0.stopping = true }
        FCGX_ShutdownPending()
        shutdown(fd, Int32(SHUT_RDWR))
        if case .unix(let path) = options.address { unlink(path) }
        drain()
        logger.info("stopped")
    }

    /// Waits for requests in flight, up to `drainSeconds`.
    private func drain() {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: .seconds(options.drainSeconds))
        var idleSince: ContinuousClock.Instant? = nil
        while clock.now < deadline {
            if state.withLock({ $0.inFlight }) == 0 {
                // A request accepted just before the stop may not be counted yet: stay idle for a moment before leaving.
                if let since = idleSince, since.duration(to: clock.now) > .milliseconds(200) { break }
                if idleSince == nil { idleSince = clock.now }
            } else {
                idleSince = nil
            }
            usleep(20_000)
        }
    }

    private var isStopping: Bool { state.withLock { $0.stopping } }

    private func work(index: Int, worker: R.Worker) {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { request.deallocate() }
        guard FCGX_InitRequest(request, listenFD.load(ordering: .acquiring), 0) == 0 else {
            logger.error("FCGX_InitRequest failed", metadata: ["worker": "\(index)"])
            return
        }
        while !isStopping {
            let rc = FCGX_Accept_r(request)
            if rc < 0 {
                if isStopping { break }
                logger.debug("accept failed", metadata: ["rc": "\(rc)"])
                usleep(10_000)
                continue
            }
            state.withLock { $0.inFlight += 1 }
            serve(request, worker: worker)
            FCGX_Finish_r(request)
            state.withLock { $0.inFlight -= 1 }
        }
    }

    private func serve(_ raw: UnsafeMutablePointer<FCGX_Request>, worker: R.Worker) {
        let started = ContinuousClock.now
        switch FastCGIExchange.read(raw, maxBodyBytes: options.maxBodyBytes) {
        case .refuse(let response):
            logger.notice("request refused", metadata: ["status": "\(response.status.code)"])
            FastCGIExchange.write(response, to: raw)
        case .request(let request):
            let response = responder.respond(to: request, worker: worker)
            FastCGIExchange.write(response, to: raw)
            if logger.logLevel <= .debug {
                let elapsed = started.duration(to: .now).components
                let micros = elapsed.seconds * 1_000_000 + elapsed.attoseconds / 1_000_000_000_000
                // The path only: a query can hold a requestID, which is never logged.
                logger.debug("request", metadata: ["method": "\(request.method)", "path": "\(request.path)",
                                                   "status": "\(response.status.code)", "us": "\(micros)"])
            }
        }
    }
}
