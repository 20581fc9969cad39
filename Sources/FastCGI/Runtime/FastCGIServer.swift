import CFastCGI
import Glibc
import Logging

/// Runs a `Responder` over libfcgi in one process: N worker threads share one epoll set holding the listening socket
/// and every open connection. A worker takes a connection only once a whole request header is there (`RecordScanner`),
/// hands it to libfcgi to read and answer, and gives it back to the set between requests (kept-alive connections from
/// nginx's `fastcgi_keep_conn on`), so an idle or stalled connection never holds a worker. Deadlines are kept by the
/// `Reaper`. SIGTERM/SIGINT: stop accepting (serving what is queued when the socket is this process's own), let
/// requests in flight finish (up to `drainSeconds`), return. See docs/runtime.md.
public final class FastCGIServer<R: Responder>: Sendable {
    /// How the server listens, how much it reads and how long it waits.
    public struct Options: Sendable {
        public var address: ListenAddress
        /// Worker threads. Default in config: the number of cores.
        public var workers: Int
        /// Permission bits of a unix socket. Default in config: 0o660.
        public var socketMode: Int
        /// Group of a unix socket (nil: the process's own group).
        public var socketGroup: UInt32?
        /// Largest body kept, in bytes; a larger one is read, discarded and marked `bodyOmitted`.
        public var maxBodyBytes: Int
        /// Longest wait for requests in flight after SIGTERM, in seconds. Default: 30.
        public var drainSeconds: Int
        /// Seconds a connection may wait with no request started (fresh or kept alive). Default: 5.
        public var idleTimeout: Int
        /// Seconds from a request's first byte until it is all read, and for writing its answer. Default: 5.
        public var ioTimeout: Int
        /// Most open connections of this process. Default: 1,024.
        public var maxConnections: Int
        /// Who may connect over TCP.
        public var peers: PeerFilter
        /// Serve the connections already queued on the listening socket before stopping. Nil: when the socket is this
        /// process's own (not inherited: an inherited socket outlives the process and its queue waits for the next one).
        public var drainQueueOnStop: Bool?
        /// A descriptor to write one byte to once serving (a supervised worker tells its supervisor), then close.
        public var readyFD: Int32?
        /// The supervisor's pid, in a worker process it started: the worker ends when the supervisor does.
        public var supervisorPID: Int32?
        /// Counters shared with the other processes of the program, and the slot in it that counts this process's
        /// worker threads busy answering a request (nil: not counted).
        public var busy: (counters: SharedCounters, slot: Int)?

        public init(address: ListenAddress, workers: Int, socketMode: Int, maxBodyBytes: Int, drainSeconds: Int = 30,
                    socketGroup: UInt32? = nil, idleTimeout: Int = 5, ioTimeout: Int = 5, maxConnections: Int = 1024,
                    peers: PeerFilter = PeerFilter(), drainQueueOnStop: Bool? = nil, readyFD: Int32? = nil) {
            self.address = address
            self.workers = workers
            self.socketMode = socketMode
            self.socketGroup = socketGroup
            self.maxBodyBytes = maxBodyBytes
            self.drainSeconds = drainSeconds
            self.idleTimeout = idleTimeout
            self.ioTimeout = ioTimeout
            self.maxConnections = maxConnections
            self.peers = peers
            self.drainQueueOnStop = drainQueueOnStop
            self.readyFD = readyFD
        }
    }

    public let options: Options
    let responder: R
    let logger: Logger
    let notes: RuntimeNotes

    public init(options: Options, responder: R, logger: Logger) {
        self.options = options
        self.responder = responder
        self.logger = logger
        self.notes = RuntimeNotes(logger: logger)
    }

    /// Hands a worker's state to the thread that owns it from then on; nothing else touches it after `start`.
    private final class Handover: @unchecked Sendable {
        let worker: R.Worker
        init(_ worker: R.Worker) { self.worker = worker }
    }

    /// Listens, serves until SIGTERM or SIGINT, then returns after requests in flight are done (the caller exits 0).
    public func run() throws {
        if let supervisor = options.supervisorPID {
            // Ends with the supervisor, whatever ends it (even SIGKILL); and serves nothing if it is already gone.
            _ = sso_fcgi_die_with_parent(SIGTERM)
            guard getppid() == supervisor else { return }
        }
        signal(SIGPIPE, SIG_IGN)
        var signals = sigset_t()
        sigemptyset(&signals)
        for s in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, s) }
        // Block in every thread (inherited by workers); the main thread takes them with sigwait.
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        FastCGIListener.raiseDescriptorLimit()

        guard FCGX_Init() == 0 else { throw FastCGIError("FCGX_Init failed") }
        let listening = try FastCGIListener.open(options.address, socketMode: options.socketMode, group: options.socketGroup)
        let listenFD = listening.fd
        let poller = try Poller()
        let pool = try ConnectionPool(poller: poller, timeouts: .init(
            idle: Monotonic.seconds(options.idleTimeout), io: Monotonic.seconds(options.ioTimeout),
            maxConnections: options.maxConnections), workers: options.workers)
        var handovers: [Handover] = []
        for index in 0..<options.workers { handovers.append(Handover(try responder.makeWorker(index: index))) }
        try Reaper.start(pool)
        guard poller.addListener(listenFD) else { throw FastCGIError("cannot watch the listening socket") }
        for (index, handover) in handovers.enumerated() {
            let loop = WorkerLoop(server: self, pool: pool, listenFD: listenFD, worker: handover.worker, index: index)
            try WorkerThread.start { loop.run() }
        }
        logger.info("listening", metadata: ["address": "\(options.address)", "socket": "\(listening.origin)",
                                            "workers": "\(options.workers)", "pid": "\(getpid())"])
        if let ready = options.readyFD {
            var byte: UInt8 = 1
            _ = write(ready, &byte, 1)
            close(ready)
        }
        var received: Int32 = 0
        while true {
            sigwait(&signals, &received)
            if received != SIGHUP { break }
            logger.notice("SIGHUP ignored: a restart without dropping connections is the supervisor's (processes > 0)")
        }
        logger.info("stopping", metadata: ["signal": "\(received == SIGTERM ? "SIGTERM" : "SIGINT")"])
        stop(pool: pool, listening: listening)
        logger.info("stopped")
    }

    /// No new connections; the queue is served when the socket is ours; waits until every connection is done.
    private func stop(pool: ConnectionPool, listening: ListeningSocket) {
        let listenFD = listening.fd
        pool.poller.remove(listenFD)
        // A unix socket of our own disappears first, so nothing new can queue; what is queued already is still served.
        // One systemd holds keeps its path: connections queue on it for the next start.
        if listening.owned, case .unix(let path) = options.address { unlink(path) }
        pool.beginStop()
        if options.drainQueueOnStop ?? listening.owned {
            let taken = FastCGIListener.takeQueued(listenFD, pool: pool, peers: PeerGate(options.peers), notes: notes)
            if taken > 0 { logger.info("serving connections queued before the stop", metadata: ["count": "\(taken)"]) }
        }
        let deadline = Monotonic.now() + Monotonic.seconds(options.drainSeconds)
        while pool.count > 0 && Monotonic.now() < deadline { usleep(20_000) }
        if pool.count > 0 { logger.warning("stopping with connections still open", metadata: ["count": "\(pool.count)"]) }
        // The listening socket is not shut down: when inherited it is still the next process's (socket activation).
        close(listenFD)
    }
}

extension FastCGIServer {
    /// One debug line per request: method, path (never the query: it can hold a requestID), status, microseconds.
    func logRequest(_ request: HTTPRequest, status: Int, started: UInt64) {
        guard logger.logLevel <= .debug else { return }
        let micros = (Monotonic.now() - started) / 1_000
        logger.debug("request", metadata: ["method": "\(request.method)", "path": "\(request.path)", "status": "\(status)",
                                           "us": "\(micros)"])
    }
}
