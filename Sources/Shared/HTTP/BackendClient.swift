import Foundation
import Glibc

/// Where an app's backend listens, for replaying a kept request: `http://host:port` or `unix:/path`.
public enum BackendAddress: Sendable, Equatable {
    case tcp(host: String, port: Int)
    case unix(String)

    /// Parses the web server's `SSO_BACKEND` param; plain http only (the replay goes where the web server's
    /// `proxy_pass`/`ProxyPass` goes, on a trusted network).
    public init?(parsing text: String) {
        if text.hasPrefix("unix:/") { self = .unix(String(text.dropFirst(5))); return }
        var rest = Substring(text)
        guard rest.hasPrefix("http://") else { return nil }
        rest = rest.dropFirst(7)
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        guard let colon = rest.lastIndex(of: ":"), let port = Int(rest[rest.index(after: colon)...]), port > 0, port < 65536 else {
            return nil
        }
        let host = String(rest[..<colon])
        guard !host.isEmpty, !host.contains("/"), !host.contains("@") else { return nil }
        self = .tcp(host: host, port: port)
    }
}

/// Why a replay could not be delivered. `beforeSending` tells whether the app can have seen it.
public struct BackendError: Error, CustomStringConvertible, Sendable {
    public let message: String
    /// True when nothing reached the app (connect failed), so the kept request can be put back.
    public let beforeSending: Bool
    public var description: String { "backend: \(message)" }
}

/// A minimal HTTP/1.1 client (`Connection: close`) for one replayed request: writes the request, reads the whole
/// response (Content-Length, chunked, or until close), bounded in time and size.
public struct BackendClient: Sendable {
    public let address: BackendAddress
    /// Seconds for connect, each send and each receive. Default in config: 60.
    public let timeoutSeconds: Int
    /// Largest response accepted, in bytes.
    public let maxResponseBytes: Int

    public init(address: BackendAddress, timeoutSeconds: Int, maxResponseBytes: Int) {
        self.address = address
        self.timeoutSeconds = timeoutSeconds
        self.maxResponseBytes = maxResponseBytes
    }

    /// Sends `method uri` with `headers` (a `Content-Length` is added) and `body`; returns the app's response.
    public func send(method: String, uri: String, headers: [(String, String)], body: [UInt8]) throws(BackendError) -> HTTPResponse {
        let fd = try connectSocket()
        defer { close(fd) }
        var head = "\(method) \(uri) HTTP/1.1\r\n"
        for (name, value) in headers
        where !name.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" })
            && !value.unicodeScalars.contains(where: { $0 == "\r" || $0 == "\n" }) {
            head += "\(name): \(value)\r\n"
        }
        head += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        try writeAll(fd, Array(head.utf8) + body)
        return try parse(try readAll(fd))
    }

    private func connectSocket() throws(BackendError) -> Int32 {
        switch address {
        case .unix(let path):
            let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw BackendError(message: "socket failed", beforeSending: true) }
            setTimeouts(fd)
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
                close(fd); throw BackendError(message: "socket path too long", beforeSending: true)
            }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
            let ok = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) == 0 }
            }
            guard ok else { close(fd); throw BackendError(message: "cannot connect to unix:\(path)", beforeSending: true) }
            return fd
        case .tcp(let host, let port):
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var result: UnsafeMutablePointer<addrinfo>? = nil
            guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else {
                throw BackendError(message: "cannot resolve \(host)", beforeSending: true)
            }
            defer { freeaddrinfo(result) }
            var cursor: UnsafeMutablePointer<addrinfo>? = first
            while let info = cursor {
                let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
                if fd >= 0 {
                    setTimeouts(fd)
                    if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return fd }
                    close(fd)
                }
                cursor = info.pointee.ai_next
            }
            throw BackendError(message: "cannot connect to \(host):\(port)", beforeSending: true)
        }
    }

    private func setTimeouts(_ fd: Int32) {
        var tv = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8]) throws(BackendError) {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return Glibc.send(fd, base + sent, bytes.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw BackendError(message: "send failed", beforeSending: false) }
            sent += n
        }
    }

    private func readAll(_ fd: Int32) throws(BackendError) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n < 0 && errno == EINTR { continue }
            if n < 0 { throw BackendError(message: "no answer within \(timeoutSeconds) s", beforeSending: false) }
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
            if out.count > maxResponseBytes + 65_536 { throw BackendError(message: "response larger than \(maxResponseBytes) bytes", beforeSending: false) }
        }
        return out
    }

    /// Headers that describe the connection, not the message: not relayed.
    static let hopByHop: Set<String> = ["connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "te",
                                        "trailer", "upgrade"]

    func parse(_ raw: [UInt8]) throws(BackendError) -> HTTPResponse {
        guard let end = find(raw, [13, 10, 13, 10]) else { throw BackendError(message: "malformed response head", beforeSending: false) }
        let head = String(decoding: raw[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = head.first?.split(separator: " ") ?? []
        guard statusParts.count >= 2, statusParts[0].hasPrefix("HTTP/1."), let status = Int(statusParts[1]), (100...599).contains(status) else {
            throw BackendError(message: "malformed status line", beforeSending: false)
        }
        var headers: [(name: String, value: String)] = []
        var chunked = false
        var length: Int? = nil
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            let name = String(line[..<colon]).trimmingCharacters(in: .whitespaces)
            let value = String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)
            let lower = name.lowercased()
            if lower == "transfer-encoding" && value.lowercased().contains("chunked") { chunked = true }
            if lower == "content-length" { length = Int(value) }
            if !Self.hopByHop.contains(lower) { headers.append((name, value)) }
        }
        var body = Array(raw[(end + 4)...])
        if chunked {
            body = try dechunk(body)
        } else if let length {
            guard body.count >= length else { throw BackendError(message: "response body cut short", beforeSending: false) }
            body = Array(body.prefix(length))
        }
        guard body.count <= maxResponseBytes else { throw BackendError(message: "response larger than \(maxResponseBytes) bytes", beforeSending: false) }
        return HTTPResponse(status: status, headers: headers, body: body)
    }

    private func dechunk(_ data: [UInt8]) throws(BackendError) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while true {
            guard let lineEnd = find(data, [13, 10], from: i) else { throw BackendError(message: "malformed chunk", beforeSending: false) }
            let sizeText = String(decoding: data[i..<lineEnd], as: UTF8.self).split(separator: ";").first ?? ""
            guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16), size >= 0 else {
                throw BackendError(message: "malformed chunk size", beforeSending: false)
            }
            i = lineEnd + 2
            if size == 0 { return out }
            guard i + size <= data.count else { throw BackendError(message: "chunk cut short", beforeSending: false) }
            out.append(contentsOf: data[i..<(i + size)])
            i += size + 2
        }
    }

    private func find(_ data: [UInt8], _ needle: [UInt8], from start: Int = 0) -> Int? {
        guard data.count >= needle.count, start <= data.count - needle.count else { return nil }
        var i = start
        while i <= data.count - needle.count {
            if data[i] == needle[0] && Array(data[i..<(i + needle.count)]) == needle { return i }
            i += 1
        }
        return nil
    }
}
