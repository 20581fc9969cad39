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
    /// The server's responder and body limit, held here: read once per request, never copied out of the server.
    private let responder: R
    private let maxBodyBytes: Int
    /// Where this process counts its busy worker threads (nil: not counted).
    private let busy: SharedCounters?
    private let busySlot: Int

    init(server: FastCGIServer<R>, pool: ConnectionPool, listenFD: Int32, worker: R.Worker, index: Int) {
        self.server = server
        self.pool = pool
        self.listenFD = listenFD
        self.worker = worker
        self.index = index
        self.gate = PeerGate(server.options.peers)
        self.responder = server.responder
        self.maxBodyBytes = server.options.maxBodyBytes
        self.busy = server.options.busy?.counters
        self.busySlot = server.options.busy?.slot ?? -1
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
            // Held before the connection leaves the queue or the table, released once it is parked or closed: a stop
            // waits for it. Once stopping, the queue is left alone (served by the stop, or by the next process).
            pool.hold()
            if token == Poller.listenerToken {
                if !pool.isStopping { acceptOne() }
            } else if let connection = pool.claim(token) {
                advance(connection, fresh: false, hangUp: hangUp)
            }
            pool.release()
        }
    }

    private var watch: BusyWatch { pool.watches[index] }

    private func acceptOne() {
        var peer = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &peer) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sso_fcgi_accept(listenFD, $0, &length) }
        }
        let error = errno
        guard fd >= 0 else {
            if error == EMFILE || error == ENFILE {
                server.notes.note("cannot accept", "out of file descriptors")
                usleep(10_000)
            }
            return
        }
        guard admit(fd, peer: peer, gate: gate, notes: server.notes) else { return }
        advance(pool.open(fd, tcp: isTCP(peer)), fresh: true, hangUp: false)
    }

    /// Moves a connection on from what it was waiting for.
    private func advance(_ connection: ConnectionPool.Connection, fresh: Bool, hangUp: Bool) {
        let fd = connection.fd
        if connection.phase == .closing {
            linger(connection)
            return
        }
        if connection.phase == .arriving && !LowWaterMark.reset(fd) {
            // Read with the mark still up, a blocking read would wait for bytes that may never come.
            server.notes.note("connection dropped", "its receive low-water mark could not be reset")
            close(fd)
            return
        }
        // One peek tells both how much is there (up to the window) and what it is.
        let count = recv(fd, peekBuffer.baseAddress, peekBuffer.count, Int32(MSG_PEEK | MSG_DONTWAIT))
        if count <= 0 {
            let nothingYet = count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
            if nothingYet && fresh {
                // Nothing sent yet: it waits in the set, not here.
                pool.park(connection, .idle, deadline: Monotonic.now() + pool.timeouts.idle)
            } else if nothingYet && !hangUp {
                pool.park(connection, connection.phase, deadline: connection.deadline)
            } else {
                close(fd)
            }
            return
        }
        let scan = RecordScanner.scan(UnsafeRawBufferPointer(rebasing: peekBuffer[0..<count]), limits: limits)
        switch scan.verdict {
        case .needMore:
            if hangUp {
                server.notes.note("connection dropped", "closed before its request was complete")
                close(fd)
                return
            }
            // The request's clock starts with its first byte and is not reset by more bytes: a trickle cannot stretch it.
            var waiting = connection
            waiting.readable = Int32(count)
            let started = connection.phase == .receiving || connection.phase == .arriving
            let deadline = started ? connection.deadline : Monotonic.now() + pool.timeouts.io
            if waiting.tcp && waiting.quickLooksTaken < ConnectionPool.quickLooks && count < ConnectionPool.quickLookBytes
                && LowWaterMark.set(fd, bytes: count + 1) {
                waiting.quickLooksTaken += 1
                pool.park(waiting, .arriving, deadline: deadline)
            } else {
                pool.park(waiting, .receiving, deadline: deadline)
            }
        case .malformed(let why):
            server.notes.note("connection dropped", why)
            close(fd)
        case .tooLarge:
            RecordWriter.send(fd, requestID: scan.requestID, .text(.requestHeaderFieldsTooLarge, "Request headers too large\n"))
            finish(connection)
        case .ready:
            switch RequestRoute.of(UnsafeRawBufferPointer(rebasing: peekBuffer[0..<count]), scan: scan) {
            case .direct(let params): serveDirect(connection, scan, params)
            case .flowing(let params): serveFlowing(connection, scan, params: params)
            case .libfcgi: serve(connection, scan)
            }
        }
    }

    /// A request whose body is still coming: its params from the bytes peeked, its body read here record by record
    /// (`RequestRoute.readFlowing`), never by libfcgi, which would read whatever records came next unchecked. Nil params: more than
    /// the params limit, answered 431.
    private func serveFlowing(_ connection: ConnectionPool.Connection, _ scan: RecordScanner.Scan, params: FastCGIParams?) {
        let fd = connection.fd
        let started = Monotonic.now()
        watch.begin(fd, until: started + pool.timeouts.io)
        guard let params else {
            server.notes.note("request refused", "status 431")
            _ = DirectExchange.write(.text(.requestHeaderFieldsTooLarge, "Request headers too large\n"), to: fd, requestID: scan.requestID)
            watch.end()
            finish(connection)
            return
        }
        let flowed = RequestRoute.readFlowing(fd, scan: scan, params: params, maxBodyBytes: maxBodyBytes, buffer: peekBuffer)
        var written = false
        switch flowed?.outcome ?? .abandon {
        case .abandon:
            watch.end()
            server.notes.note("connection dropped", "its body stopped, or something other than its body came")
            close(fd)
            return
        case .refuse(let response, _):
            server.notes.note("request refused", "status \(response.status.code)")
            watch.extend(until: Monotonic.now() + pool.timeouts.io)
            written = DirectExchange.write(response, to: fd, requestID: scan.requestID)
        case .request(let httpRequest):
            let response = answer(httpRequest)
            written = DirectExchange.write(response, to: fd, requestID: scan.requestID)
            server.logRequest(httpRequest, status: response.status.code, started: started)
        }
        let reusable = written && flowed?.finished == true && scan.keepConnection && !watch.wasShutDown && !pool.isStopping
        watch.end()
        keepOrFinish(connection, reusable: reusable)
    }

    /// A whole request without a body (every auth check): its params come from the bytes peeked, it is answered without
    /// libfcgi (`DirectExchange`), under the same watch and rules as `serve`.
    private func serveDirect(_ connection: ConnectionPool.Connection, _ scan: RecordScanner.Scan, _ params: FastCGIParams) {
        let fd = connection.fd
        let started = Monotonic.now()
        watch.begin(fd, until: started + pool.timeouts.io)
        guard DirectExchange.consume(fd, length: scan.length, into: peekBuffer) else {
            watch.end()
            server.notes.note("connection dropped", "reading a request that was all there failed")
            close(fd)
            return
        }
        let httpRequest = HTTPRequest(params: params)
        let response = answer(httpRequest)
        let written = DirectExchange.write(response, to: fd, requestID: scan.requestID)
        server.logRequest(httpRequest, status: response.status.code, started: started)
        let reusable = written && scan.keepConnection && !watch.wasShutDown && !pool.isStopping
        watch.end()
        keepOrFinish(connection, reusable: reusable)
    }

    /// libfcgi reads the request (its header from bytes already here), the responder answers, libfcgi writes it.
    private func serve(_ connection: ConnectionPool.Connection, _ scan: RecordScanner.Scan) {
        let fd = connection.fd
        let started = Monotonic.now()
        watch.begin(fd, until: started + pool.timeouts.io)
        request.pointee.ipcFd = fd
        request.pointee.keepConnection = 1  // so libfcgi's own end-of-request never closes our descriptor
        // Should libfcgi refuse the header (no input the scanner passes is known to make it: the fastcgi-records fuzz
        // target checks this), it closes the descriptor itself; detached, at once, instead of draining it first
        // (2 s waits for as long as the peer keeps sending), so the reaper's late shutdown can never meet its number
        // reused by an accept before `watch.end()`.
        request.pointee.detached = 1
        guard FCGX_Accept_r(request) == 0 else {
            // libfcgi gave it up (and closed it): the scanner let through something it refuses.
            request.pointee.ipcFd = -1
            watch.end()
            server.notes.note("connection dropped", "libfcgi refused a request header")
            return
        }
        var answered = true
        var reusable = scan.keepConnection
        switch FastCGIExchange.read(request, maxBodyBytes: maxBodyBytes) {
        case .abandon:
            answered = false
        case .refuse(let response, let inStep):
            reusable = reusable && inStep
            server.notes.note("request refused", "status \(response.status.code)")
            watch.extend(until: Monotonic.now() + pool.timeouts.io)
            FastCGIExchange.write(response, to: request)
        case .request(let httpRequest):
            let response = answer(httpRequest)
            FastCGIExchange.write(response, to: request)
            server.logRequest(httpRequest, status: response.status.code, started: started)
        }
        if answered {
            FCGX_FClose(request.pointee.err)
            FCGX_FClose(request.pointee.out)
            reusable = reusable && FCGX_GetError(request.pointee.out) == 0
        }
        reusable = reusable && answered && !watch.wasShutDown && !pool.isStopping
        watch.end()
        // Take the descriptor back before libfcgi frees the request, so it is never closed or lingered on by libfcgi.
        request.pointee.ipcFd = -1
        request.pointee.keepConnection = 1
        FCGX_Finish_r(request)
        keepOrFinish(connection, reusable: reusable)
    }

    /// After an answer: back to wait for its next request (kept alive), or ended.
    private func keepOrFinish(_ connection: ConnectionPool.Connection, reusable: Bool) {
        if reusable {
            var kept = connection
            kept.served = true
            kept.quickLooksTaken = 0
            pool.park(kept, .idle, deadline: Monotonic.now() + pool.timeouts.idle)
        } else {
            finish(connection)
        }
    }

    /// The responder's answer, with the worker counted busy meanwhile. Answering has no deadline: the store and the
    /// backend client have their own timeouts. Afterwards the answer must be written within `io`.
    private func answer(_ request: HTTPRequest) -> HTTPResponse {
        watch.extend(until: 0)
        busy?.add(busySlot)
        let response = responder.respond(to: request, worker: worker)
        busy?.subtract(busySlot)
        watch.extend(until: Monotonic.now() + pool.timeouts.io)
        return response
    }

    /// Ends a connection after its answer: closed at once when nothing more was sent, or half-closed and drained for a
    /// moment, so a TCP peer does not get a reset that could discard the answer it has not read yet.
    private func finish(_ connection: ConnectionPool.Connection) {
        if sso_fcgi_bytes_readable(connection.fd) == 0 {
            close(connection.fd)
            return
        }
        shutdown(connection.fd, Int32(SHUT_WR))
        pool.park(connection, .closing, deadline: Monotonic.now() + pool.timeouts.linger)
    }

    /// Reads and drops what a closing connection still sends, up to a bound; closes it at its end. Past the bound it
    /// stops reading and waits (quiet) for the peer to close: a web server still sending a body it was refused then
    /// blocks, reads the answer, and closes, instead of failing its write and answering 503 itself.
    private func linger(_ connection: ConnectionPool.Connection) {
        var c = connection
        while c.drained < FastCGIExchange.maxDrainBytes {
            let n = recv(c.fd, peekBuffer.baseAddress, min(peekBuffer.count, FastCGIExchange.maxDrainBytes - c.drained),
                         Int32(MSG_DONTWAIT))
            if n > 0 { c.drained += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                pool.park(c, .closing, deadline: c.deadline)
                return
            }
            close(c.fd)
            return
        }
        pool.park(c, .quiet, deadline: c.deadline)
    }
}

/// Checks a just-accepted connection's peer; false (and closed) when it is refused.
func admit(_ fd: Int32, peer: sockaddr_storage, gate: PeerGate, notes: RuntimeNotes) -> Bool {
    if let why = gate.refusal(fd, peer: peer) {
        notes.note("peer refused", why)
        close(fd)
        return false
    }
    if isTCP(peer) {
        var on: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &on, socklen_t(MemoryLayout<Int32>.size))
    }
    return true
}

/// True for a TCP peer (IPv4 or IPv6), false for a unix socket's.
func isTCP(_ peer: sockaddr_storage) -> Bool {
    Int32(peer.ss_family) == AF_INET || Int32(peer.ss_family) == AF_INET6
}
