import CFastCGI

/// Reads one accepted libfcgi request into an `HTTPRequest` and writes an `HTTPResponse` back.
enum FastCGIExchange {
    /// Largest total size of the params, in bytes. Default: 65,536; more gets 431.
    static let maxParamBytes = 65_536

    enum ReadOutcome {
        case request(HTTPRequest)
        case refuse(HTTPResponse)
    }

    static func read(_ request: UnsafeMutablePointer<FCGX_Request>, maxBodyBytes: Int) -> ReadOutcome {
        var params: [String: String] = [:]
        var total = 0
        if var cursor = request.pointee.envp {
            while let entry = cursor.pointee {
                let text = String(cString: entry)
                total += text.utf8.count
                if total > maxParamBytes {
                    return .refuse(HTTPResponse(status: 431, body: Array("Request headers too large\n".utf8)).adding("Content-Type", "text/plain"))
                }
                if let eq = text.firstIndex(of: "=") {
                    params[String(text[..<eq])] = String(text[text.index(after: eq)...])
                }
                cursor += 1
            }
        }
        let declared = params["CONTENT_LENGTH"].flatMap { Int($0) } ?? 0
        if declared > maxBodyBytes {
            return .refuse(HTTPResponse(status: 413, body: Array("Request body too large\n".utf8)).adding("Content-Type", "text/plain"))
        }
        var body: [UInt8] = []
        if declared > 0 || params["HTTP_TRANSFER_ENCODING"] != nil {
            var chunk = [CChar](repeating: 0, count: 16_384)
            while true {
                let n = FCGX_GetStr(&chunk, Int32(chunk.count), request.pointee.in)
                if n <= 0 { break }
                body.append(contentsOf: chunk[0..<Int(n)].map { UInt8(bitPattern: $0) })
                if body.count > maxBodyBytes {
                    return .refuse(HTTPResponse(status: 413, body: Array("Request body too large\n".utf8)).adding("Content-Type", "text/plain"))
                }
            }
        }
        return .request(HTTPRequest(params: params, body: body))
    }

    /// Writes a CGI-style response: `Status:`, headers, blank line, body.
    static func write(_ response: HTTPResponse, to request: UnsafeMutablePointer<FCGX_Request>) {
        var head = "Status: \(response.status) \(HTTPResponse.reason(response.status))\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        if response.header("Content-Length") == nil && response.status != 304 { head += "Content-Length: \(response.body.count)\r\n" }
        head += "\r\n"
        var bytes = Array(head.utf8)
        bytes.append(contentsOf: response.body)
        bytes.withUnsafeBufferPointer { buf in
            buf.withMemoryRebound(to: CChar.self) { _ = FCGX_PutStr($0.baseAddress, Int32($0.count), request.pointee.out) }
        }
    }
}
