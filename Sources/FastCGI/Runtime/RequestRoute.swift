import Glibc

/// How a request the scanner found ready is read: decided here once, for the worker (`WorkerLoop`) and the
/// fastcgi-records fuzz target (`RecordFuzzing`) alike, so the target always exercises the reading that is served.
enum RequestRoute {
    /// Whole and without a body (every auth check): its params from the bytes peeked, answered without libfcgi.
    case direct(FastCGIParams)
    /// Its body still coming: its params from the bytes peeked (nil: past the params limit, answered 431), its body
    /// read by `StdinReader` (`readFlowing`).
    case flowing(FastCGIParams?)
    /// Whole, with a body: libfcgi reads it, every record of it checked by the scanner.
    case libfcgi

    /// The route of `scan`'s request, from `peeked` (the connection's first bytes, not consumed).
    static func of(_ peeked: UnsafeRawBufferPointer, scan: RecordScanner.Scan) -> RequestRoute {
        if let params = DirectExchange.params(peeked, scan: scan) { return .direct(params) }
        if !scan.bodyComplete { return .flowing(DirectExchange.headerParams(peeked, scan: scan)) }
        return .libfcgi
    }

    /// What reading a flowing request gave: the outcome under the body rules, whether the body's end (the empty STDIN
    /// record) was read so the connection is in step for another request, and how many bytes were taken off the
    /// socket in all, params included.
    struct Flowed {
        let outcome: FastCGIExchange.ReadOutcome
        let finished: Bool
        let consumed: Int
    }

    /// Takes a flowing request's params (`scan.paramsEnd` bytes, already peeked) off `fd` into `buffer`, then reads its
    /// body record by record (`StdinReader`) under `FastCGIExchange.readBody`'s rules. Nil when the params could not
    /// be read back: the connection failed.
    static func readFlowing(_ fd: Int32, scan: RecordScanner.Scan, params: FastCGIParams, maxBodyBytes: Int,
                            buffer: UnsafeMutableRawBufferPointer) -> Flowed? {
        guard DirectExchange.consume(fd, length: scan.paramsEnd, into: buffer) else { return nil }
        var reader = StdinReader(fd: fd, requestID: scan.requestID)
        let outcome = FastCGIExchange.readBody(params, role: Int32(scan.role), maxBodyBytes: maxBodyBytes) {
            reader.next(into: $0)
        }
        return Flowed(outcome: outcome, finished: reader.finished, consumed: scan.paramsEnd + reader.consumed)
    }
}
