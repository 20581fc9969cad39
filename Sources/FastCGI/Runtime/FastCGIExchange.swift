import CFastCGI
import Glibc

/// Reads one accepted libfcgi request into an `HTTPRequest` and writes an `HTTPResponse` back.
enum FastCGIExchange {
    /// Largest total size of the params, in bytes. Default: 65,536; more gets 431.
    static let maxParamBytes = 65_536
    /// Most bytes of an over-limit body read and discarded; past them the request is answered 413 and the connection
    /// given up. Default: 65,536: a body nobody will keep is not read on anyone's behalf. A body up to the limit plus
    /// this margin is read whole and handed to the responder marked `bodyOmitted` (it tells the user on a page).
    static let maxDrainBytes = 65_536

    enum ReadOutcome {
        /// A request to answer.
        case request(HTTPRequest)
        /// Answered here, not by the responder; `reusable` is false when part of the body was left unread (the
        /// connection cannot carry another request).
        case refuse(HTTPResponse, reusable: Bool)
        /// The connection failed or closed before the whole request came: nothing can be answered.
        case abandon
    }

    static func read(_ request: UnsafeMutablePointer<FCGX_Request>, maxBodyBytes: Int) -> ReadOutcome {
        let role = request.pointee.role
        let none: UnsafeMutablePointer<CChar>? = nil
        let read = request.pointee.envp.map { ParamsReader.read(UnsafePointer($0), role: role) }
            ?? withUnsafePointer(to: none) { ParamsReader.read($0, role: role) }
        guard let values = read else {
            return .refuse(.text(.requestHeaderFieldsTooLarge, "Request headers too large\n"), reusable: true)
        }
        let stream = request.pointee.in
        return readBody(values, role: role, maxBodyBytes: maxBodyBytes) { buffer in
            guard let base = buffer.baseAddress else { return -1 }
            let n = FCGX_GetStr(base.assumingMemoryBound(to: CChar.self), Int32(buffer.count), stream)
            if n > 0 { return Int(n) }
            return FCGX_GetError(stream) != 0 ? -1 : 0
        }
    }

    /// The body rules, whoever reads the bytes: `next` fills the buffer it is given and returns how many bytes it put
    /// there, 0 at the body's end, or a negative number when the connection failed or sent something other than the
    /// body (the request is then abandoned: a cut-off body is never taken for the whole one).
    static func readBody(_ values: FastCGIParams, role: Int32, maxBodyBytes: Int,
                         next: (UnsafeMutableRawBufferPointer) -> Int) -> ReadOutcome {
        let declared = values["CONTENT_LENGTH"].flatMap { Int($0) } ?? 0
        var body: [UInt8] = []
        // An authorizer has no body (FastCGI 1.0, 6.3), whatever CONTENT_LENGTH says about the client's request: none
        // is read, and none is said to be left out.
        let hasBody = role != 2 && (declared > 0 || values.contains("HTTP_TRANSFER_ENCODING"))
        var omitted = hasBody && declared > maxBodyBytes
        // More than the limit and the margin, said up front: nothing of it is read on anyone's behalf.
        if hasBody && declared > maxBodyBytes + maxDrainBytes { return tooLarge }
        if hasBody {
            let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 16_384, alignment: 8)
            defer { chunk.deallocate() }
            var total = 0
            while true {
                let n = next(chunk)
                if n < 0 { return .abandon }
                if n == 0 { break }
                // Read and discard up to the margin, so a kept-alive connection stays in step; beyond it, give up.
                total += n
                if total > maxBodyBytes + maxDrainBytes { return tooLarge }
                if omitted { continue }
                body.append(contentsOf: UnsafeRawBufferPointer(rebasing: chunk[0..<n]))
                if body.count > maxBodyBytes {
                    omitted = true
                    body = []
                }
            }
        }
        if omitted { return .request(HTTPRequest(params: values, body: [], bodyOmitted: true)) }
        return .request(HTTPRequest(params: values, body: body))
    }

    /// A body past the limit and the margin: refused, the rest left unread, the connection given up.
    static let tooLarge = ReadOutcome.refuse(.text(.contentTooLarge, "Request body too large\n"), reusable: false)

    /// Writes a CGI-style response (`cgiBytes`) through libfcgi.
    static func write(_ response: HTTPResponse, to request: UnsafeMutablePointer<FCGX_Request>) {
        let bytes = cgiBytes(response)
        bytes.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) { _ = FCGX_PutStr($0.baseAddress, Int32($0.count), request.pointee.out) }
        }
    }

    /// A CGI-style response: `Status:`, headers, blank line, body.
    static func cgiBytes(_ response: HTTPResponse) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256 + response.body.count)
        appendCGI(response, to: &bytes)
        return bytes
    }

    /// Appends `response` as `cgiBytes` writes it. No `String` is built: the status code and body length are written
    /// as digits in place, the rest are UTF-8 views of strings that already exist.
    static func appendCGI(_ response: HTTPResponse, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: "Status: ".utf8)
        appendDecimal(response.status.code, to: &bytes)
        let reason = response.status.reasonPhrase
        if !reason.isEmpty {
            bytes.append(UInt8(ascii: " "))
            bytes.append(contentsOf: reason.utf8)
        }
        bytes.append(contentsOf: "\r\n".utf8)
        var hasLength = false
        for field in response.headers {
            if field.name == .contentLength { hasLength = true }
            bytes.append(contentsOf: field.name.rawName.utf8)
            bytes.append(contentsOf: ": ".utf8)
            field.withUnsafeBytesOfValue { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: "\r\n".utf8)
        }
        if !hasLength && response.status != .notModified {
            bytes.append(contentsOf: "Content-Length: ".utf8)
            appendDecimal(response.body.count, to: &bytes)
            bytes.append(contentsOf: "\r\n".utf8)
        }
        bytes.append(contentsOf: "\r\n".utf8)
        bytes.append(contentsOf: response.body)
    }

    /// Appends the decimal digits of `value` (not negative: a status code or a length).
    private static func appendDecimal(_ value: Int, to bytes: inout [UInt8]) {
        guard value > 0 else { bytes.append(UInt8(ascii: "0")); return }
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { d in
            while rest > 0 && count < d.count {
                d[d.count - 1 - count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            }
            bytes.append(contentsOf: UnsafeRawBufferPointer(rebasing: d[(d.count - count)...]))
        }
    }
}
