import Glibc

/// A request whose records are all here and that has no body, served without libfcgi: its params are read from the
/// bytes already peeked, the bytes are then taken off the socket in one read, and the answer is written as libfcgi
/// writes one (STDOUT records padded to 8 bytes, the empty STDOUT record, END_REQUEST). Every auth check is such a
/// request. libfcgi's per-param allocations, its copy of every param and its record-by-record reads cost a bare
/// check more than the rest of its user-space work (BENCHMARKS.md, "Round four"). A body still coming is read by
/// `StdinReader` after `headerParams`; a whole request with a body goes to libfcgi. The fastcgi-records fuzz target
/// checks that this reading and libfcgi's give the same params from the same bytes.
enum DirectExchange {
    /// The params of `scan`'s request in `bytes` (the connection's first bytes, peeked), when it can be served here:
    /// every record is here, there is no body, and the params read whole within `FastCGIExchange.maxParamBytes`. Nil
    /// sends it to libfcgi.
    static func params(_ bytes: UnsafeRawBufferPointer, scan: RecordScanner.Scan) -> FastCGIParams? {
        guard scan.bodyComplete, scan.bodyBytes == 0, scan.length > 0, scan.length <= bytes.count,
              let params = headerParams(bytes, scan: scan) else { return nil }
        // A responder's request that says it has a body goes through libfcgi, which reads bodies (here it is empty,
        // but the rules for a declared length are FastCGIExchange.readBody's to apply).
        if scan.role == 1 && ((params["CONTENT_LENGTH"].flatMap { Int($0) } ?? 0) != 0 || params.contains("HTTP_TRANSFER_ENCODING")) {
            return nil
        }
        return params
    }

    /// The params of `scan`'s request in `bytes` (peeked), whatever its body: nil unless the scanner found its params
    /// complete (`paramsEnd`) and they read whole within `FastCGIExchange.maxParamBytes`.
    static func headerParams(_ bytes: UnsafeRawBufferPointer, scan: RecordScanner.Scan) -> FastCGIParams? {
        guard scan.verdict == .ready, scan.paramsEnd > 0, scan.paramsEnd <= bytes.count,
              scan.role == 1 || scan.role == 2 else { return nil }
        let role = scan.role == 2 ? "AUTHORIZER" : "RESPONDER"
        func read(_ stream: UnsafeRawBufferPointer) -> FastCGIParams? {
            try? FastCGIParams(pairs: stream, limit: FastCGIExchange.maxParamBytes, first: "FCGI_ROLE=" + role,
                               last: ("FCGI_ROLE", role))
        }
        // A web server sends its params in one record unless they pass 64 KiB: read in place; joined otherwise.
        let found: FastCGIParams??
        switch paramsRecords(bytes, paramsEnd: scan.paramsEnd) {
        case nil: found = nil
        case .some(let records) where records.count == 1:
            found = .some(read(UnsafeRawBufferPointer(rebasing: bytes[records[0]])))
        case .some(let records):
            var joined: [UInt8] = []
            for r in records { joined += UnsafeRawBufferPointer(rebasing: bytes[r]) }
            found = .some(joined.withUnsafeBytes { read($0) })
        }
        guard case .some(.some(let params)) = found else { return nil }
        return params
    }

    /// Where the contents of the non-empty PARAMS records are, from a request the scanner found whole (BEGIN_REQUEST,
    /// then PARAMS records through the empty one): nil if the bytes do not have that shape.
    private static func paramsRecords(_ bytes: UnsafeRawBufferPointer, paramsEnd: Int) -> [Range<Int>]? {
        var records: [Range<Int>] = []
        var at = 16
        while at + 8 <= paramsEnd {
            guard bytes[at] == 1, bytes[at + 1] == RecordScanner.RecordType.params.rawValue else { return nil }
            let content = Int(bytes[at + 4]) << 8 | Int(bytes[at + 5])
            let padding = Int(bytes[at + 6])
            guard at + 8 + content + padding <= paramsEnd else { return nil }
            if content == 0 { return records }
            records.append((at + 8)..<(at + 8 + content))
            at += 8 + content + padding
        }
        return nil
    }

    /// Takes the request's `length` bytes off the socket (they are there: they were peeked). False when the read fails.
    static func consume(_ fd: Int32, length: Int, into buffer: UnsafeMutableRawBufferPointer) -> Bool {
        guard length <= buffer.count, let base = buffer.baseAddress else { return false }
        return StdinReader.receive(fd, base, length)
    }

    /// Writes `response` for request `requestID` on `fd`, whole (the socket blocks; the worker's watch shuts it down
    /// when the write is late). False when the connection failed.
    static func write(_ response: HTTPResponse, to fd: Int32, requestID: UInt16) -> Bool {
        let records = answer(response, requestID: requestID)
        return records.withUnsafeBytes { all -> Bool in
            guard let base = all.baseAddress else { return false }
            var sent = 0
            while sent < all.count {
                let n = send(fd, base + sent, all.count - sent, Int32(MSG_NOSIGNAL))
                if n > 0 { sent += n; continue }
                if n < 0 && errno == EINTR { continue }
                return false
            }
            return true
        }
    }

    /// `response` framed for `requestID`, the same bytes as `records(FastCGIExchange.cgiBytes(response), …)`, built in
    /// one buffer: the CGI bytes are written after room for the STDOUT record's header, which is filled in once their
    /// length is known. An answer longer than one record (65,528 bytes) is framed by `records`.
    static func answer(_ response: HTTPResponse, requestID: UInt16) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(8 + 256 + response.body.count + 8 + 24)
        out.append(contentsOf: repeatElement(0, count: 8))
        FastCGIExchange.appendCGI(response, to: &out)
        let length = out.count - 8
        guard length > 0, length <= maxRecordContent else { return records(Array(out[8...]), requestID: requestID) }
        let padding = (8 - length % 8) % 8
        out.withUnsafeMutableBufferPointer { header in
            Self.header(RecordScanner.RecordType.stdout.rawValue, requestID, length, padding) { i, byte in header[i] = byte }
        }
        out.append(contentsOf: repeatElement(0, count: padding))
        appendTail(requestID, to: &out)
        return out
    }

    /// `content` as libfcgi frames it: STDOUT records of at most 65,528 bytes, each padded to a multiple of 8, the
    /// empty STDOUT record, and END_REQUEST (application status 0, REQUEST_COMPLETE).
    static func records(_ content: [UInt8], requestID: UInt16) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(content.count + content.count / maxRecordContent * 16 + 40)
        var at = 0
        while at < content.count {
            let length = min(maxRecordContent, content.count - at)
            let padding = (8 - length % 8) % 8
            header(RecordScanner.RecordType.stdout.rawValue, requestID, length, padding) { _, byte in out.append(byte) }
            out += content[at..<(at + length)]
            out.append(contentsOf: repeatElement(0, count: padding))
            at += length
        }
        appendTail(requestID, to: &out)
        return out
    }

    /// The most content libfcgi puts in one record: 65,535 rounded down to a multiple of 8.
    static let maxRecordContent = 65_528

    /// The empty STDOUT record that ends the stream, then END_REQUEST (application status 0, REQUEST_COMPLETE).
    private static func appendTail(_ requestID: UInt16, to out: inout [UInt8]) {
        header(RecordScanner.RecordType.stdout.rawValue, requestID, 0, 0) { _, byte in out.append(byte) }
        header(RecordScanner.RecordType.end.rawValue, requestID, 8, 0) { _, byte in out.append(byte) }
        out.append(contentsOf: repeatElement(0, count: 8))
    }

    /// The 8 bytes of a record header (version 1), handed to `put` with their index, without building an array.
    private static func header(_ type: UInt8, _ requestID: UInt16, _ length: Int, _ padding: Int, _ put: (Int, UInt8) -> Void) {
        put(0, 1)
        put(1, type)
        put(2, UInt8(requestID >> 8))
        put(3, UInt8(requestID & 0xff))
        put(4, UInt8(length >> 8))
        put(5, UInt8(length & 0xff))
        put(6, UInt8(padding))
        put(7, 0)
    }
}
