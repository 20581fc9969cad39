import CFastCGI
import Glibc

/// Writes a whole FastCGI answer without libfcgi, for a request refused before libfcgi may read it (params too large).
enum RecordWriter {
    /// `Status: <status>` with a plain-text body on STDOUT, then END_REQUEST; best effort, never blocks.
    static func send(_ fd: Int32, requestID: UInt16, status: Int, text: String) {
        let body = Array(text.utf8)
        let head = "Status: \(status)\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.count)\r\n\r\n"
        let content = Array(head.utf8) + body
        var out = record(type: 6, requestID: requestID, content: content) + record(type: 6, requestID: requestID, content: [])
        out += record(type: 3, requestID: requestID, content: [0, 0, 0, 0, 0, 0, 0, 0])  // app status 0, REQUEST_COMPLETE
        out.withUnsafeBytes { _ = sso_fcgi_send(fd, $0.baseAddress, $0.count, 1) }
    }

    /// One record: version 1, `type`, `requestID`, the content (at most 65,535 bytes), no padding.
    static func record(type: UInt8, requestID: UInt16, content: [UInt8]) -> [UInt8] {
        let length = min(content.count, 65_535)
        return [1, type, UInt8(requestID >> 8), UInt8(requestID & 0xff), UInt8(length >> 8), UInt8(length & 0xff), 0, 0]
            + content.prefix(length)
    }
}
