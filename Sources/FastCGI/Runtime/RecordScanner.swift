/// Reads the FastCGI records a connection has sent so far (peeked, not consumed) and decides whether libfcgi may have
/// them. libfcgi trusts what it reads: a params pair whose two lengths add past `INT_MAX` makes it abort the process,
/// and a record that never completes blocks the thread reading it. So nothing reaches libfcgi until its header records
/// (`BEGIN_REQUEST`, every `PARAMS` record through the empty one) are all here and well formed, and the body is either
/// all here or already flowing. Only the shape a web server sends is accepted: one request per connection at a time,
/// role RESPONDER or AUTHORIZER, no management records.
enum RecordScanner {
    /// FastCGI record types (FastCGI 1.0, section 8).
    enum RecordType: UInt8 { case begin = 1, abort = 2, end = 3, params = 4, stdin = 5, stdout = 6 }

    /// How much the scanner accepts.
    struct Limits: Sendable {
        /// Largest sum of the params' name and value lengths, in bytes. Default: 65,536; more is answered 431.
        var maxParamBytes = 65_536
        /// Most `PARAMS` records one request may use. Default: 256 (nginx sends one per 64 KiB).
        var maxParamRecords = 256
        /// Body bytes that, once here, show the body is flowing: the request is handed over before its body is
        /// complete. Default: 32,768 (well within what a unix or TCP socket buffers for a sender).
        var flowingBodyBytes = 32_768
        /// Largest number of bytes looked at, in bytes. Default: 262,144 (the params limit plus every record's
        /// header and padding fit well inside).
        var window = 262_144
    }

    /// What the bytes so far say.
    enum Verdict: Equatable, Sendable {
        /// Well formed so far, not complete: wait for more.
        case needMore
        /// The header records are complete and the body is complete or flowing: libfcgi can read it without blocking on
        /// the header, and without being handed anything it would choke on.
        case ready
        /// The params are larger than the limit: answer 431 without reading them.
        case tooLarge
        /// Not a request a web server sends: close the connection without an answer.
        case malformed(String)
    }

    /// The verdict, and what the BEGIN_REQUEST record said when it was complete.
    struct Scan: Equatable, Sendable {
        var verdict: Verdict
        /// The request id of the BEGIN_REQUEST record (0 until it is read).
        var requestID: UInt16 = 0
        /// 1 (RESPONDER) or 2 (AUTHORIZER); 0 until read.
        var role: UInt16 = 0
        /// `FCGI_KEEP_CONN` from the BEGIN_REQUEST record.
        var keepConnection = false
        /// True once the empty STDIN record that ends the body is here.
        var bodyComplete = false
        /// With `bodyComplete`: the request's length in bytes, from its first record through the one that ends it (the
        /// empty STDIN record; for an authorizer, the empty PARAMS record). 0 otherwise.
        var length = 0
        /// With `bodyComplete`: the body's length in bytes (the STDIN records' contents). 0 otherwise.
        var bodyBytes = 0
        /// Once the params are complete: the length in bytes of BEGIN_REQUEST and the PARAMS records, where the body's
        /// records start. 0 before.
        var paramsEnd = 0
    }

    /// Scans `bytes`, the start of what the connection sent for its next request.
    static func scan(_ bytes: UnsafeRawBufferPointer, limits: Limits = Limits()) -> Scan {
        var out = Scan(verdict: .needMore)
        let n = bytes.count
        if n >= 1 && bytes[0] != 1 { return Scan(verdict: .malformed("FastCGI version \(bytes[0])")) }
        if n >= 2 && bytes[1] != RecordType.begin.rawValue {
            return Scan(verdict: .malformed("first record of type \(bytes[1]), not BEGIN_REQUEST"))
        }
        guard n >= 8 else { return out }
        out.requestID = UInt16(bytes[2]) << 8 | UInt16(bytes[3])
        guard out.requestID != 0 else { return Scan(verdict: .malformed("BEGIN_REQUEST with request id 0")) }
        guard bytes[4] == 0 && bytes[5] == 8 else { return Scan(verdict: .malformed("BEGIN_REQUEST body is not 8 bytes")) }
        // libfcgi refuses a padded BEGIN_REQUEST (found by the fastcgi-records fuzz target); no web server pads it.
        guard bytes[6] == 0 else { return Scan(verdict: .malformed("BEGIN_REQUEST with padding")) }
        var at = 16
        guard n >= at else { return out }
        out.role = UInt16(bytes[8]) << 8 | UInt16(bytes[9])
        guard out.role == 1 || out.role == 2 else { return Scan(verdict: .malformed("role \(out.role)")) }
        out.keepConnection = bytes[10] & 1 == 1

        var pairs = PairLengths()
        var records = 0
        while true {
            guard n >= at + 8 else { return needMore(out, at + 8, limits) }
            guard let record = header(bytes, at, requestID: out.requestID, expected: .params) else {
                return Scan(verdict: .malformed("record \(bytes[at + 1]) where PARAMS belongs"))
            }
            records += 1
            guard records <= limits.maxParamRecords + 1 else { return Scan(verdict: .malformed("more than \(limits.maxParamRecords) PARAMS records")) }
            let end = at + 8 + record.content
            // Lengths come first, so a pair too large for the limit is seen before its bytes arrive.
            if !pairs.feed(bytes, from: at + 8, to: min(end, n), limit: limits.maxParamBytes) { out.verdict = .tooLarge; return out }
            guard n >= end + record.padding else { return needMore(out, end + record.padding, limits) }
            if record.content == 0 {
                guard pairs.atBoundary else { return Scan(verdict: .malformed("params end inside a name-value pair")) }
                // libfcgi forgets this record's padding when it turns to the body, and reads those bytes as the next
                // record (a management record among them); no web server pads an empty record.
                guard record.padding == 0 else { return Scan(verdict: .malformed("padding on the empty PARAMS record")) }
                at = end
                out.paramsEnd = at
                break
            }
            at = end + record.padding
        }
        if out.role == 2 {
            // An authorizer has no body.
            out.bodyComplete = true
            out.length = at
            out.verdict = .ready
            return out
        }
        var body = 0
        while true {
            guard n >= at + 8 else { return flowing(out, body, needed: at + 8, limits) }
            guard let record = header(bytes, at, requestID: out.requestID, expected: .stdin) else {
                return Scan(verdict: .malformed("record \(bytes[at + 1]) where STDIN belongs"))
            }
            let end = at + 8 + record.content + record.padding
            // A record's bytes count as they come: a sender whose socket buffer is full cannot finish a large record
            // before the worker starts reading.
            guard n >= end else { return flowing(out, body + min(record.content, n - at - 8), needed: end, limits) }
            if record.content == 0 {
                out.bodyComplete = true
                out.length = end
                out.bodyBytes = body
                out.verdict = .ready
                return out
            }
            body += record.content
            at = end
        }
    }

    private struct RecordHeader { let content: Int; let padding: Int }

    /// The record header at `at` when it is version 1, of the `expected` type, for `requestID`; nil otherwise.
    private static func header(_ bytes: UnsafeRawBufferPointer, _ at: Int, requestID: UInt16, expected: RecordType) -> RecordHeader? {
        guard bytes[at] == 1, bytes[at + 1] == expected.rawValue,
              UInt16(bytes[at + 2]) << 8 | UInt16(bytes[at + 3]) == requestID else { return nil }
        return RecordHeader(content: Int(bytes[at + 4]) << 8 | Int(bytes[at + 5]), padding: Int(bytes[at + 6]))
    }

    /// Header records still incomplete: wait, unless they could never fit in the window.
    private static func needMore(_ scan: Scan, _ needed: Int, _ limits: Limits) -> Scan {
        if needed > limits.window { return Scan(verdict: .malformed("header records longer than \(limits.window) bytes")) }
        return scan
    }

    /// The body is incomplete: hand over when enough of it is here to show that it is flowing (or the window is full).
    private static func flowing(_ scan: Scan, _ body: Int, needed: Int, _ limits: Limits) -> Scan {
        var out = scan
        if body >= limits.flowingBodyBytes || needed > limits.window { out.verdict = .ready }
        return out
    }

    /// Follows the name and value lengths of the params stream across records, skipping the bytes between them.
    struct PairLengths {
        private enum Phase { case name, value, data }
        private var phase = Phase.name
        private var lengthBytesLeft = 0
        private var length = 0
        private var nameLength = 0
        private var dataLeft = 0
        /// Sum of every name and value length declared so far.
        private(set) var total = 0

        /// True between two pairs (where the params stream may end).
        var atBoundary: Bool { phase == .name && lengthBytesLeft == 0 }

        /// Reads `bytes[from..<to]`; false as soon as the declared lengths add up past `limit`.
        mutating func feed(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int, limit: Int) -> Bool {
            var i = from
            while i < to {
                if phase == .data {
                    let skip = min(dataLeft, to - i)
                    i += skip
                    dataLeft -= skip
                    if dataLeft == 0 { phase = .name }
                    continue
                }
                let b = Int(bytes[i])
                i += 1
                if lengthBytesLeft == 0 {
                    if b & 0x80 == 0 { length = b } else { length = b & 0x7f; lengthBytesLeft = 3; continue }
                } else {
                    length = length << 8 | b
                    lengthBytesLeft -= 1
                    if lengthBytesLeft > 0 { continue }
                }
                // Each length is below 2^31 and the total is checked after every one: no overflow.
                total += length
                if total > limit { return false }
                if phase == .name {
                    nameLength = length
                    phase = .value
                } else {
                    dataLeft = nameLength + length
                    phase = dataLeft == 0 ? .name : .data
                }
            }
            return true
        }
    }
}
