import CFastCGI
import Glibc

/// The FastCGI reading path, for the fuzzer only (`@_spi(Fuzzing)`): the bytes a connection sent go through
/// `RecordScanner` and, when it lets them through, through libfcgi and `FastCGIExchange.read` exactly as a worker
/// serves them, over a socket pair. The checks a fuzzer needs beyond "does not crash" are answered here: whatever the
/// scanner lets through, libfcgi accepts and reads to the end without aborting, and a request whose every byte is
/// here is never abandoned; and when `DirectExchange` would read a request without libfcgi, libfcgi reads the same params.
@_spi(Fuzzing) public enum RecordFuzzing {
    /// What happened to one connection's bytes.
    public enum Outcome: Equatable, Sendable {
        /// The scanner waits for more (a real worker would park the connection until its deadline).
        case waiting
        /// The scanner closed the connection without an answer.
        case dropped
        /// The scanner answered 431 without handing anything to libfcgi.
        case tooLarge
        /// libfcgi refused the header the scanner let through (an invariant broken: `serve` reports it).
        case refusedByLibfcgi
        /// Read whole and answered by the responder.
        case request(params: Int, bodyBytes: Int, omitted: Bool)
        /// Answered by the reading code itself (431 or 413).
        case refused(status: Int)
        /// The connection ended before the request did.
        case abandoned
    }

    /// Small limits, so short inputs reach every edge the real ones have (window, flowing body, params size).
    static let limits: RecordScanner.Limits = {
        var limits = RecordScanner.Limits()
        limits.maxParamBytes = 2_048
        limits.maxParamRecords = 16
        limits.flowingBodyBytes = 1_024
        limits.window = 8_192
        return limits
    }()

    /// Largest input worth generating, in bytes: the window and a body past the flowing mark.
    public static let maxInputBytes = 12_288

    /// Scans `bytes` and, when the scanner lets them through, reads them as a worker does, from a socket pair whose
    /// sending end is then closed: a body still coming (`StdinReader`), its params checked against libfcgi's reading
    /// of the params alone; anything else through libfcgi, and, when `DirectExchange` would take it without libfcgi,
    /// its reading checked against libfcgi's. `maxBodyBytes` is the body limit (default 512).
    /// - Throws: `FastCGIError` when an invariant breaks or the socket pair cannot be made.
    public static func serve(_ bytes: [UInt8], maxBodyBytes: Int = 512) throws(FastCGIError) -> Outcome {
        if !initialized { throw FastCGIError("FCGX_Init failed") }
        let window = Array(bytes.prefix(limits.window))
        let scan = window.withUnsafeBytes { RecordScanner.scan($0, limits: limits) }
        switch scan.verdict {
        case .needMore: return .waiting
        case .malformed: return .dropped
        case .tooLarge: return .tooLarge
        case .ready: break
        }
        // The worker's own decision (nil direct: it would hand the request to libfcgi). When it reads a request
        // without libfcgi, libfcgi must read it too, to the same params.
        let direct: FastCGIParams?
        switch window.withUnsafeBytes({ RequestRoute.of($0, scan: scan) }) {
        case .flowing(let params): return try flowing(bytes, scan: scan, params: params, maxBodyBytes: maxBodyBytes)
        case .direct(let params): direct = params
        case .libfcgi: direct = nil
        }
        let outcome = try throughLibfcgi(bytes, maxBodyBytes: maxBodyBytes)
        switch outcome {
        case .request(let http):
            if let direct, !(direct.sameEntries(as: http.params) && http.body.isEmpty && !http.bodyOmitted) {
                throw FastCGIError("the direct reading and libfcgi's differ (\(direct.count) and \(http.params.count) params)")
            }
            return .request(params: http.params.count, bodyBytes: http.body.count, omitted: http.bodyOmitted)
        case .refuse(let response, _):
            if direct != nil { throw FastCGIError("the direct reading took a request libfcgi's refused (\(response.status.code))") }
            return .refused(status: response.status.code)
        case .abandon:
            if direct != nil { throw FastCGIError("the direct reading took a request libfcgi abandoned") }
            if scan.bodyComplete { throw FastCGIError("a request whose every byte was here was abandoned") }
            return .abandoned
        }
    }

    /// A body still coming, read as the worker reads it (`RequestRoute.readFlowing`). Its params must be what libfcgi
    /// reads from the same params followed by an empty body (libfcgi never reads such a body itself: it would read
    /// whatever came). When the body was read to its end, every record taken was a STDIN record of this request, so
    /// libfcgi can read those same bytes safely: it must come to the same outcome, body bytes included.
    private static func flowing(_ bytes: [UInt8], scan: RecordScanner.Scan, params ours: FastCGIParams?,
                                maxBodyBytes: Int) throws(FastCGIError) -> Outcome {
        let id = [UInt8(scan.requestID >> 8), UInt8(scan.requestID & 0xff)]
        let reference = try libfcgiParams(Array(bytes[..<scan.paramsEnd]) + [1, 5] + id + [0, 0, 0, 0])
        guard let params = ours else {
            if reference != nil { throw FastCGIError("libfcgi read params the reading for a flowing body refused") }
            return .refused(status: 431)
        }
        guard let reference, reference.sameEntries(as: params) else {
            throw FastCGIError("the reading for a flowing body and libfcgi's differ on its params")
        }
        let fd = try socketPair(holding: bytes)
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(scan.paramsEnd, 1), alignment: 8)
        defer { buffer.deallocate() }
        guard let flowed = RequestRoute.readFlowing(fd, scan: scan, params: params, maxBodyBytes: maxBodyBytes, buffer: buffer) else {
            throw FastCGIError("the params the scanner saw could not be read back")
        }
        if flowed.finished {
            guard flowed.consumed <= bytes.count else { throw FastCGIError("the body reader took more bytes than were sent") }
            let theirs = try throughLibfcgi(Array(bytes[..<flowed.consumed]), maxBodyBytes: maxBodyBytes)
            try requireSame(flowed.outcome, theirs)
        }
        switch flowed.outcome {
        case .request(let http): return .request(params: http.params.count, bodyBytes: http.body.count, omitted: http.bodyOmitted)
        case .refuse(let response, _): return .refused(status: response.status.code)
        case .abandon: return .abandoned
        }
    }

    /// Throws unless both readings came to the same: the same kind of outcome, the same status, and for a request the
    /// same params, body bytes and omission.
    private static func requireSame(_ ours: FastCGIExchange.ReadOutcome, _ theirs: FastCGIExchange.ReadOutcome) throws(FastCGIError) {
        switch (ours, theirs) {
        case (.request(let a), .request(let b)):
            guard a.params.sameEntries(as: b.params), a.body == b.body, a.bodyOmitted == b.bodyOmitted else {
                throw FastCGIError("the body reader and libfcgi read different requests (body \(a.body.count) and \(b.body.count) bytes)")
            }
        case (.refuse(let a, _), .refuse(let b, _)):
            guard a.status == b.status else {
                throw FastCGIError("the body reader and libfcgi refused differently (\(a.status.code), \(b.status.code))")
            }
        case (.abandon, .abandon):
            return
        default:
            throw FastCGIError("the body reader and libfcgi came to different outcomes")
        }
    }

    /// libfcgi's reading of `bytes`, as `WorkerLoop.serve` has it read a request.
    private static func throughLibfcgi(_ bytes: [UInt8], maxBodyBytes: Int) throws(FastCGIError) -> FastCGIExchange.ReadOutcome {
        try withLibfcgi(bytes) { FastCGIExchange.read($0, maxBodyBytes: maxBodyBytes) }
    }

    /// The params libfcgi reads from `bytes` (nil: past the params limit).
    private static func libfcgiParams(_ bytes: [UInt8]) throws(FastCGIError) -> FastCGIParams? {
        try withLibfcgi(bytes) { request in
            let none: UnsafeMutablePointer<CChar>? = nil
            let role = request.pointee.role
            return request.pointee.envp.map { ParamsReader.read(UnsafePointer($0), role: role) }
                ?? withUnsafePointer(to: none) { ParamsReader.read($0, role: role) }
        }
    }

    /// `body` on the request libfcgi accepted from a socket pair holding `bytes`.
    private static func withLibfcgi<T>(_ bytes: [UInt8],
                                       _ body: (UnsafeMutablePointer<FCGX_Request>) -> T) throws(FastCGIError) -> T {
        let fd = try socketPair(holding: bytes)
        defer { close(fd) }
        let request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        defer { request.deallocate() }
        FCGX_InitRequest(request, -1, 0)
        request.pointee.ipcFd = fd
        request.pointee.keepConnection = 1
        guard FCGX_Accept_r(request) == 0 else {
            request.pointee.ipcFd = -1
            throw FastCGIError("libfcgi refused a request the scanner passed")
        }
        let result = body(request)
        request.pointee.ipcFd = -1
        request.pointee.keepConnection = 1
        FCGX_Finish_r(request)
        return result
    }

    /// The reading end of a socket pair that holds `bytes`, its sending end closed.
    private static func socketPair(holding bytes: [UInt8]) throws(FastCGIError) -> Int32 {
        var pair: [Int32] = [-1, -1]
        guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0 else {
            throw FastCGIError("socketpair: \(String(cString: strerror(errno)))")
        }
        var size = Int32(bytes.count + 4_096)
        _ = setsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        _ = fcntl(pair[1], F_SETFL, O_NONBLOCK)  // a send that does not fit fails here rather than waiting forever
        let sent = bytes.withUnsafeBytes { sso_fcgi_send(pair[1], $0.baseAddress, $0.count, 0) }
        close(pair[1])
        guard sent == bytes.count else {
            close(pair[0])
            throw FastCGIError("socket pair took \(sent) of \(bytes.count) bytes")
        }
        return pair[0]
    }

    private static let initialized = FCGX_Init() == 0
}
