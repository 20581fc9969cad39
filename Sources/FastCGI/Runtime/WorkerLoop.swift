import CFastCGI
import Glibc

/// One worker thread: takes the next event of the shared epoll set (a connection to accept, or a connection with new
/// bytes), and serves a request on this thread once `RecordScanner` says its header is all there. libfcgi reads and
/// writes the connection while it is served; before and after, the connection belongs to the pool.
final class WorkerLoop<R: Responder>: @unchecked Sendable {
    private let server: FastCGIServer<R>
    private let pool: ConnectionPool
    private let listenFD: Int32
    private let worker: R.Worker
    private let index: Int
    private let gate: PeerGate
    private let limits: RecordScanner.Limits
    /// Where the start of a connection's bytes is copied to be scanned (peeked, not consumed).
    private let peekBuffer: UnsafeMutableRawBufferPointer
    private let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
    private var options: FastCGIServer<R>.Options { server.options }

    init(server: FastCGIServer<R>, pool: ConnectionPool, listenFD: Int32, worker: R.Worker, index: Int) {
        self.server = server
        self.pool = pool
        self.listenFD = listenFD
        self.worker = worker
        self.index = index
        self.gate = PeerGate(server.options.peers)
        var limits = RecordScanner.Limits()
        limits.maxParamBytes = FastCGIExchange.maxParamBytes
        self.limits = limits
        peekBuffer = .allocate(byteCount: limits.window, alignment: 16)
        // No listening socket: libfcgi is only ever handed a connection whose header is already here, and if it
        // gives one up it cannot go and accept another on its own.
        FCGX_InitRequest(request, -1, 0)
    }

    func run() {
        while true {
            guard let (token, hangUp) = pool.poller.wait(timeoutMS: -1) else { continue }
            if token == Poller.listenerToken {
                acceptOne()
            } else if let entry = pool.claim(token) {
                advance(token, entry.phase == .closing ? .closing : .receiving, entry: entry, hangUp: hangUp)
            }
        }
    }

    private func acceptOne() {
        var peer = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sso_fcgi_accept(listenFD, $0, &length) }
        }
        let error = errno
        // Let another thread take the next connection while this one deals with its own.
        if !pool.isStopping { pool.poller.rearm(listenFD, token: Poller.listenerToken) }
        guard fd >= 0 else {
            if error == EMFILE || error == ENFILE {
                server.notes.note("cannot accept", "out of file descriptors")
                usleep(10_000)
            }
            return
        }
        admit(fd, peer: peer, pool: pool, gate: gate, notes: server.notes).map { advance($0, .idle, entry: nil, hangUp: false) }
    }

    /// Moves a connection on from what it was waiting for.
    private func advance(_ token: UInt64, _ from: ConnectionPool.Phase, entry: ConnectionPool.Entry?, hangUp: Bool) {
        let fd = ConnectionPool.fd(of: token)
        if from == .closing {
            linger(token, fd, drainedBefore: entry?.drained ?? 0, deadline: entry?.deadline ?? Monotonic.now())
            return
        }
        let readable = sso_fcgi_bytes_readable(fd)
        if readable <= 0 {
            // A fresh connection with nothing sent yet waits in the set; after an event, nothing readable is a close.
            if readable == 0 && entry == nil { pool.park(token, .idle, deadline: Monotonic.now() + pool.timeouts.idle) }
            else { drop(token, fd) }
            return
        }
        let count = recv(fd, peekBuffer.baseAddress, min(Int(readable), peekBuffer.count), Int32(MSG_PEEK | MSG_DONTWAIT))
        guard count > 0 else { drop(token, fd); return }
        let scan = RecordScanner.scan(UnsafeRawBufferPointer(rebasing: peekBuffer[0..<count]), limits: limits)
        switch scan.verdict {
        case .needMore:
            if hangUp { drop(token, fd); server.notes.note("connection dropped", "closed before its request was complete"); return }
            // The request's clock starts with its first byte and is not reset by more bytes: a trickle cannot stretch it.
            var deadline = Monotonic.now() + pool.timeouts.io
            if let entry, entry.phase == .receiving { deadline = entry.deadline }
            pool.park(token, .receiving, deadline: deadline, readable: readable)
        case .malformed(let why):
            server.notes.note("connection dropped", why)
            drop(token, fd)
        case .tooLarge:
            RecordWriter.send(fd, requestID: scan.requestID, status: 431, text: "Request headers too large\n")
            finish(token, fd)
        case .ready:
            serve(token, fd, scan)
        }
    }

    /// libfcgi reads the request (its header from bytes already here), the responder answers, libfcgi writes it.
    private func serve(_ token: UInt64, _ fd: Int32, _ scan: RecordScanner.Scan) {
        let started = Monotonic.now()
        pool.setDeadline(token, started + pool.timeouts.io)
        request.pointee.ipcFd = fd
        request.pointee.keepConnection = 1  // so libfcgi's own end-of-request never closes our descriptor
        guard FCGX_Accept_r(request) == 0 else {
            // libfcgi gave it up (and closed it): the scanner let through something it refuses.
            request.pointee.ipcFd = -1
            pool.forget(token)
            server.notes.note("connection dropped", "libfcgi refused a request header")
            return
        }
        var answered = true
        var reusable = scan.keepConnection
        switch FastCGIExchange.read(request, maxBodyBytes: options.maxBodyBytes) {
        case .abandon:
            answered = false
        case .refuse(let response):
            server.logger.notice("request refused", metadata: ["status": "\(response.status.code)"])
            pool.setDeadline(token, Monotonic.now() + pool.timeouts.io)
            FastCGIExchange.write(response, to: request)
        case .request(let httpRequest, let inStep):
            reusable = reusable && inStep
            // Answering has no deadline here: the store and the backend client have their own timeouts.
            pool.setDeadline(token, 0)
            let response = server.responder.respond(to: httpRequest, worker: worker)
            pool.setDeadline(token, Monotonic.now() + pool.timeouts.io)
            FastCGIExchange.write(response, to: request)
            server.logRequest(httpRequest, status: response.status.code, started: started)
        }
        if answered {
            FCGX_FClose(request.pointee.err)
            FCGX_FClose(request.pointee.out)
            reusable = reusable && FCGX_GetError(request.pointee.out) == 0
        }
        reusable = reusable && answered && !pool.wasShutDown(token) && !pool.isStopping
        // Take the descriptor back before libfcgi frees the request, so it is never closed or lingered on by libfcgi.
        request.pointee.ipcFd = -1
        request.pointee.keepConnection = 1
        FCGX_Finish_r(request)
        if reusable {
            pool.park(token, .idle, deadline: Monotonic.now() + pool.timeouts.idle, served: true)
        } else {
            finish(token, fd)
        }
    }

    /// Ends a connection after its answer: closed at once when nothing more was sent, or half-closed and drained for a
    /// moment, so a TCP peer does not get a reset that could discard the answer it has not read yet.
    private func finish(_ token: UInt64, _ fd: Int32) {
        if sso_fcgi_bytes_readable(fd) == 0 {
            drop(token, fd)
            return
        }
        shutdown(fd, Int32(SHUT_WR))
        pool.park(token, .closing, deadline: Monotonic.now() + pool.timeouts.linger)
    }

    /// Reads and drops what a closing connection still sends; closes it at its end, or past a bound.
    private func linger(_ token: UInt64, _ fd: Int32, drainedBefore: Int, deadline: UInt64) {
        var drained = drainedBefore
        while drained < FastCGIExchange.maxDrainBytes {
            let n = recv(fd, peekBuffer.baseAddress, peekBuffer.count, Int32(MSG_DONTWAIT))
            if n > 0 { drained += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                pool.park(token, .closing, deadline: deadline, drained: drained)
                return
            }
            break
        }
        drop(token, fd)
    }

    private func drop(_ token: UInt64, _ fd: Int32) {
        pool.forget(token)
        close(fd)
    }
}

/// Checks a just-accepted connection's peer and takes it into the pool; nil (and closed) when it is refused.
func admit(_ fd: Int32, peer: sockaddr_storage, pool: ConnectionPool, gate: PeerGate, notes: RuntimeNotes) -> UInt64? {
    if let why = gate.refusal(fd, peer: peer) {
        notes.note("peer refused", why)
        close(fd)
        return nil
    }
    if Int32(peer.ss_family) == AF_INET || Int32(peer.ss_family) == AF_INET6 {
        var on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
    }
    guard let token = pool.adopt(fd) else {
        notes.note("connection dropped", "every connection slot is serving a request")
        close(fd)
        return nil
    }
    return token
}
