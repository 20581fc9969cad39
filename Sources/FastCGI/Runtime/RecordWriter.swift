import CFastCGI
import Glibc

/// Writes a whole FastCGI answer for a request refused before its records are read (params too large): framed as
/// every answer is (`DirectExchange.answer`), best effort, never blocking.
enum RecordWriter {
    static func send(_ fd: Int32, requestID: UInt16, _ response: HTTPResponse) {
        let out = DirectExchange.answer(response, requestID: requestID)
        out.withUnsafeBytes { _ = sso_fcgi_send(fd, $0.baseAddress, $0.count, 1) }
    }
}
