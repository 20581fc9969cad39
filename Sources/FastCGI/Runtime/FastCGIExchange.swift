import CFastCGI
import Glibc

/// Reads one accepted libfcgi request into an `HTTPRequest` and writes an `HTTPResponse` back.
enum FastCGIExchange {
    /// Largest total size of the params, in bytes. Default: 65,536; more gets 431.
    static let maxParamBytes = 65_536
    /// Most bytes of an over-limit body read and discarded. Default: 256 MiB; beyond it the connection is given up.
    static let maxDrainBytes = 256 << 20

    enum ReadOutcome {
        case request(HTTPRequest)
        case refuse(HTTPResponse)
    }

    static func read(_ request: UnsafeMutablePointer<FCGX_Request>, maxBodyBytes: Int) -> ReadOutcome {
        var params: [String: String] = [:]
        params.reserveCapacity(48)  // nginx sends about 30: no rehashing while the dictionary grows
        var total = 0
        if var cursor = request.pointee.envp {
            while let entry = cursor.pointee {
                let length = strlen(entry)
                total += length
                if total > maxParamBytes {
                    return .refuse(.text(.requestHeaderFieldsTooLarge, "Request headers too large\n"))
                }
                entry.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
                    let all = UnsafeBufferPointer(start: bytes, count: length)
                    guard let eq = all.firstIndex(of: UInt8(ascii: "=")) else { return }
                    // Invalid UTF-8 becomes U+FFFD: outside data never traps.
                    params[String(decoding: UnsafeBufferPointer(rebasing: all[..<eq]), as: UTF8.self)] =
                        String(decoding: UnsafeBufferPointer(rebasing: all[(eq + 1)...]), as: UTF8.self)
                }
                cursor += 1
            }
        }
        let declared = params["CONTENT_LENGTH"].flatMap { Int($0) } ?? 0
        var body: [UInt8] = []
        var omitted = declared > maxBodyBytes
        if declared > 0 || params["HTTP_TRANSFER_ENCODING"] != nil {
            var chunk = [CChar](repeating: 0, count: 16_384)
            var drained = 0
            while true {
                let n = FCGX_GetStr(&chunk, Int32(chunk.count), request.pointee.in)
                if n <= 0 { break }
                if omitted {
                    // Read and discard, so a kept-alive connection stays in step; bounded by the web server's own limit.
                    drained += Int(n)
                    if drained > maxDrainBytes { break }
                    continue
                }
                body.append(contentsOf: chunk[0..<Int(n)].map { UInt8(bitPattern: $0) })
                if body.count > maxBodyBytes {
                    omitted = true
                    body = []
                }
            }
        }
        if omitted { return .request(HTTPRequest(params: params, body: [], bodyOmitted: true)) }
        return .request(HTTPRequest(params: params, body: body))
    }

    /// Writes a CGI-style response: `Status:`, headers, blank line, body.
    static func write(_ response: HTTPResponse, to request: UnsafeMutablePointer<FCGX_Request>) {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(256 + response.body.count)
        let reason = response.status.reasonPhrase
        bytes.append(contentsOf: (reason.isEmpty ? "Status: \(response.status.code)\r\n" : "Status: \(response.status.code) \(reason)\r\n").utf8)
        var hasLength = false
        for field in response.headers {
            if field.name == .contentLength { hasLength = true }
            bytes.append(contentsOf: field.name.rawName.utf8)
            bytes.append(contentsOf: ": ".utf8)
            field.withUnsafeBytesOfValue { bytes.append(contentsOf: $0) }
            bytes.append(contentsOf: "\r\n".utf8)
        }
        if !hasLength && response.status != .notModified {
            bytes.append(contentsOf: "Content-Length: \(response.body.count)\r\n".utf8)
        }
        bytes.append(contentsOf: "\r\n".utf8)
        bytes.append(contentsOf: response.body)
        bytes.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) { _ = FCGX_PutStr($0.baseAddress, Int32($0.count), request.pointee.out) }
        }
    }
}
