import CFastCGI
import Foundation
import Glibc
import Logging

/// Runs a `Responder` over libfcgi: N worker threads each blocking in `FCGX_Accept_r` with its own request and its own store.
/// FastCGI keep-alive connections (nginx `fastcgi_keep_conn on`) are served by libfcgi on the same worker.
/// SIGTERM/SIGINT: stop accepting, let requests in flight finish (up to `drainSeconds`), exit 0.
public final class FastCGIServer: @unchecked Sendable {
    public let address: ListenAddress
    /// Worker threads. Default in config: the number of cores.
    public let workers: Int
    /// Permission bits of a unix socket.
    public let socketMode: Int
    /// Largest body read; beyond it 413.
    public let maxBodyBytes: Int
    /// Longest wait for requests in flight after SIGTERM, in seconds. Default: 30.
    public let drainSeconds: Int
    let responder: Responder
    let makeStore: () throws -> KeyValueStore
    let logger: Logger

    private let lock = NSLock()
    private var inFlight = 0
    private var stopping = false
    private var listenFD: Int32 = -1

    public init(address: ListenAddress, workers: Int, socketMode: Int, maxBodyBytes: Int, drainSeconds: Int = 30,
                responder: Responder, logger: Logger, makeStore: @escaping () throws -> KeyValueStore) {
        self.address = address
        self.workers = workers
        self.socketMode = socketMode
        self.maxBodyBytes = maxBodyBytes
        self.drainSeconds = drainSeconds
        self.responder = responder
        self.logger = logger
        self.makeStore = makeStore
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
        listenFD = try FastCGIListener.open(address, socketMode: socketMode)
        var stores: [KeyValueStore] = []
        for _ in 0..<workers { stores.append(try makeStore()) }
        logger.info("listening", metadata: ["address": "\(address)", "workers": "\(workers)"])
        for (index, store) in stores.enumerated() {
            let box = StoreBox(store)
            let thread = Thread { [self] in self.work(index: index, store: box.store) }
            thread.stackSize = 1 << 20
            thread.start()
        }
        var received: Int32 = 0
        sigwait(&signals, &received)
        logger.info("stopping", metadata: ["signal": "\(received == SIGTERM ? "SIGTERM" : "SIGINT")"])
        lock.lock(); stopping = true; lock.unlock()
        FCGX_ShutdownPending()
        shutdown(listenFD, Int32(SHUT_RDWR))
        if case .unix(let path) = address { unlink(path) }
        let deadline = Date().addingTimeInterval(Double(drainSeconds))
        var idleSince: Date? = nil
        while Date() < deadline {
            lock.lock(); let busy = inFlight; lock.unlock()
            if busy == 0 {
                // A request accepted just before the stop may not be counted yet: stay idle for a moment before leaving.
                if let since = idleSince, Date().timeIntervalSince(since) > 0.2 { break }
                if idleSince == nil { idleSince = Date() }
            } else {
                idleSince = nil
            }
            usleep(20_000)
        }
        logger.info("stopped")
    }

    private final class StoreBox: @unchecked Sendable {
        let store: KeyValueStore
        init(_ store: KeyValueStore) { self.store = store }
    }

    private func work(index: Int, store: KeyValueStore) {
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { request.deallocate() }
        guard FCGX_InitRequest(request, listenFD, 0) == 0 else {
            logger.error("FCGX_InitRequest failed", metadata: ["worker": "\(index)"])
            return
        }
        while true {
            lock.lock(); let stop = stopping; lock.unlock()
            if stop { break }
            let rc = FCGX_Accept_r(request)
            if rc < 0 {
                lock.lock(); let stop = stopping; lock.unlock()
                if stop { break }
                logger.debug("accept failed", metadata: ["rc": "\(rc)"])
                usleep(10_000)
                continue
            }
            lock.lock(); inFlight += 1; lock.unlock()
            serve(request, store: store)
            FCGX_Finish_r(request)
            lock.lock(); inFlight -= 1; lock.unlock()
        }
    }

    private func serve(_ raw: UnsafeMutablePointer<FCGX_Request>, store: KeyValueStore) {
        let started = DispatchTime.now().uptimeNanoseconds
        switch FastCGIExchange.read(raw, maxBodyBytes: maxBodyBytes) {
        case .refuse(let response):
            logger.notice("request refused", metadata: ["status": "\(response.status)"])
            FastCGIExchange.write(response, to: raw)
        case .request(let request):
            let context = RequestContext(now: Int64(Date().timeIntervalSince1970), store: store, logger: logger)
            let response = responder.respond(to: request, context: context)
            FastCGIExchange.write(response, to: raw)
            if logger.logLevel <= .debug {
                let micros = (DispatchTime.now().uptimeNanoseconds - started) / 1000
                // The path only: a query can hold a requestID, which is never logged.
                logger.debug("request", metadata: ["method": "\(request.method)", "path": "\(request.path)",
                                                   "status": "\(response.status)", "us": "\(micros)"])
            }
        }
    }
}
