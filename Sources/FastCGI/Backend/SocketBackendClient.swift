import CFastCGI
import Glibc
import HTTPTypes

/// A minimal HTTP/1.1 client (`Connection: close`) for one replayed request: writes the request, reads the whole
/// response (Content-Length, chunked, or until close), bounded in time and size.
public struct SocketBackendClient: BackendClient {
    /// Seconds the whole exchange may take: connect, sending the request, and the app's whole answer, however it spaces
    /// its bytes. Default in config: 60.
    public let timeoutSeconds: Int
    /// Largest response accepted, in bytes.
    public let maxResponseBytes: Int
    /// Most header lines a response may have: 1,000 (nginx and Apache pass far fewer on; HTTP field lists trap past
    /// 65,534, which an app could otherwise reach in under 200 kB). More is a malformed answer, never a crash.
    public static let maxHeaderLines = 1_000
    /// Largest response head (status line and header lines), in bytes: 65,536. A head is split into lines; one of
    /// many megabytes of bare line feeds once took ~0.5 GB to split.
    public static let maxHeadBytes = 65_536
    /// Longest chunk-size line (the size and its extensions), in bytes: 1,024.
    static let maxChunkLineBytes = 1_024

    /// The addresses a host name and port stand for, in the order to try them: `getaddrinfo` unless a test sets it.
    var resolve: @Sendable (String, Int) throws(BackendError) -> [SocketCandidate] = SocketCandidate.resolved

    public init(timeoutSeconds: Int, maxResponseBytes: Int) {
        self.timeoutSeconds = timeoutSeconds
        self.maxResponseBytes = maxResponseBytes
    }

    /// Sends the request (a `Content-Length` is added) and returns the app's response. Connecting, sending and the
    /// whole answer share one `timeoutSeconds`; until the first byte is sent, any failure is `beforeSending`.
    public func send(_ request: BackendRequest, to address: BackendAddress) throws(BackendError) -> HTTPResponse {
        let deadline = Monotonic.now() + Monotonic.seconds(timeoutSeconds)
        let fd = try connectSocket(address, until: deadline)
        defer { close(fd) }
        var head = Array("\(request.method) \(request.uri) HTTP/1.1\r\n".utf8)
        for field in request.headers
        where !field.name.utf8.contains(where: { $0 == 13 || $0 == 10 }) && !field.bytes.contains(where: { $0 == 13 || $0 == 10 }) {
            head += Array(field.name.utf8) + Array(": ".utf8) + field.bytes + [13, 10]
        }
        head += Array("Content-Length: \(request.body.count)\r\nConnection: close\r\n\r\n".utf8)
        try writeAll(fd, head + request.body, until: deadline)
        return try parse(try readAll(fd, until: deadline))
    }

    private func connectSocket(_ address: BackendAddress, until deadline: UInt64) throws(BackendError) -> Int32 {
        switch address {
        case .unix(let path):
            var addr = sockaddr_un()
            addr.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
                throw BackendError(message: "socket path too long", beforeSending: true)
            }
            withUnsafeMutableBytes(of: &addr.sun_path) { raw in for (i, b) in bytes.enumerated() { raw[i] = b } }
            let candidate = SocketCandidate(family: AF_UNIX, type: Int32(SOCK_STREAM.rawValue), protocol: 0,
                                            address: withUnsafeBytes(of: &addr) { Array($0) })
            return try connectFirst([candidate], until: deadline, naming: "unix:\(path)")
        case .tcp(let host, let port):
            return try connectFirst(try resolve(host, port), until: deadline, naming: "\(host):\(port)")
        }
    }

    /// Connects to the first of `candidates` that answers before `deadline`. Each waits at most its share of the time
    /// left (a blackholed first address of several leaves the others their turn); the whole never outlasts the
    /// deadline, and a failure is always `beforeSending`.
    func connectFirst(_ candidates: [SocketCandidate], until deadline: UInt64, naming name: String) throws(BackendError) -> Int32 {
        for (index, candidate) in candidates.enumerated() {
            let now = Monotonic.now()
            guard now < deadline else { break }
            let share = (deadline - now) / UInt64(candidates.count - index)
            let fd = socket(candidate.family, candidate.type, candidate.protocol)
            guard fd >= 0 else { continue }
            setTimeouts(fd, nanoseconds: max(share, 1_000_000))  // the connect's bound
            if candidate.connect(fd) {
                setTimeouts(fd, nanoseconds: Monotonic.seconds(timeoutSeconds))
                return fd
            }
            close(fd)
        }
        throw BackendError(message: "cannot connect to \(name) within \(timeoutSeconds) s", beforeSending: true)
    }

    /// SO_RCVTIMEO and SO_SNDTIMEO: each blocking call's backstop (the deadline itself is kept with poll).
    private func setTimeouts(_ fd: Int32, nanoseconds: UInt64) {
        var tv = timeval(tv_sec: Int(nanoseconds / 1_000_000_000), tv_usec: Int(nanoseconds % 1_000_000_000 / 1_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Waits until `fd` is ready for `events` (POLLIN or POLLOUT), or throws once `deadline` (monotonic ns) has passed;
    /// `nothingSent`: no byte of the request has left yet, so the app cannot have seen it.
    private func wait(_ fd: Int32, _ events: Int32, until deadline: UInt64, nothingSent: Bool = false) throws(BackendError) {
        while true {
            let now = Monotonic.now()
            guard now < deadline else {
                throw BackendError(message: nothingSent ? "nothing sent within \(timeoutSeconds) s" : "no whole answer within \(timeoutSeconds) s",
                                   beforeSending: nothingSent)
            }
            var p = pollfd(fd: fd, events: Int16(events), revents: 0)
            let ready = poll(&p, 1, Int32(min(UInt64(Int32.max), (deadline - now + 999_999) / 1_000_000)))
            if ready > 0 || (ready < 0 && errno != EINTR) { return }  // an error shows in the send or recv that follows
        }
    }

    private func writeAll(_ fd: Int32, _ bytes: [UInt8], until deadline: UInt64) throws(BackendError) {
        var sent = 0
        while sent < bytes.count {
            try wait(fd, Int32(POLLOUT), until: deadline, nothingSent: sent == 0)
            let n = bytes.withUnsafeBytes { raw -> Int in
                guard let base = raw.baseAddress else { return 0 }
                return sso_fcgi_send(fd, base + sent, bytes.count - sent, 0)
            }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw BackendError(message: "send failed", beforeSending: sent == 0) }
            sent += n
        }
    }

    private func readAll(_ fd: Int32, until deadline: UInt64) throws(BackendError) -> [UInt8] {
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            try wait(fd, Int32(POLLIN), until: deadline)
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

    /// Parses a whole HTTP/1.x response as read from the socket.
    func parse(_ raw: [UInt8]) throws(BackendError) -> HTTPResponse {
        guard let end = find(raw, [13, 10, 13, 10], before: Self.maxHeadBytes + 4) else {
            throw BackendError(message: raw.count > Self.maxHeadBytes ? "response head larger than \(Self.maxHeadBytes) bytes"
                                                                      : "malformed response head", beforeSending: false)
        }
        // Counted before anything is split: the status line and at most `maxHeaderLines` more.
        guard raw[0..<end].reduce(0, { $0 + ($1 == 10 ? 1 : 0) }) <= Self.maxHeaderLines else {
            throw BackendError(message: "more than \(Self.maxHeaderLines) header lines", beforeSending: false)
        }
        var lines = raw[0..<end].split(separator: 10, omittingEmptySubsequences: false).map { line -> ArraySlice<UInt8> in
            line.last == 13 ? line.dropLast() : line
        }
        let statusLine = lines.isEmpty ? [] : lines.removeFirst().split(separator: 0x20)
        guard statusLine.count >= 2, statusLine[0].starts(with: "HTTP/1.".utf8), let code = Self.int(statusLine[1]),
              (100...599).contains(code) else {
            throw BackendError(message: "malformed status line", beforeSending: false)
        }
        var headers = HTTPHeaders()
        var chunked = false
        var length: Int? = nil
        for line in lines {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let nameText = String(decoding: Self.trimmed(line[..<colon]), as: UTF8.self)
            let value = Self.trimmed(line[(colon + 1)...])
            guard let name = HTTPHeaderName(nameText) else { continue }
            let lower = name.canonicalName
            if lower == "transfer-encoding" && String(decoding: value, as: UTF8.self).lowercased().contains("chunked") { chunked = true }
            if lower == "content-length" {
                // A length that does not parse, or two that differ, is a broken (or hostile) answer, never "until close".
                guard let parsed = Self.int(value), length == nil || length == parsed else {
                    throw BackendError(message: "malformed Content-Length", beforeSending: false)
                }
                length = parsed
            }
            if !Self.hopByHop.contains(lower) { headers.append(HTTPField(name: name, value: value)) }
        }
        var body = Array(raw[(end + 4)...])
        if chunked {
            body = try dechunk(body)
        } else if let length {
            guard body.count >= length else { throw BackendError(message: "response body cut short", beforeSending: false) }
            body = Array(body.prefix(length))
        }
        guard body.count <= maxResponseBytes else { throw BackendError(message: "response larger than \(maxResponseBytes) bytes", beforeSending: false) }
        let reason = statusLine.count > 2 ? String(decoding: Array(statusLine[2...].joined(separator: [0x20])), as: UTF8.self) : ""
        return HTTPResponse(status: HTTPStatus(code: code, reasonPhrase: reason), headers: headers, body: body)
    }

    private func dechunk(_ data: [UInt8]) throws(BackendError) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while true {
            guard let lineEnd = find(data, [13, 10], from: i, before: i + Self.maxChunkLineBytes) else {
                throw BackendError(message: "malformed chunk", beforeSending: false)
            }
            let sizeField = data[i..<lineEnd].split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false).first ?? []
            guard let size = Int(String(decoding: Self.trimmed(sizeField), as: UTF8.self), radix: 16), size >= 0 else {
                throw BackendError(message: "malformed chunk size", beforeSending: false)
            }
            i = lineEnd + 2
            if size == 0 { return out }
            // Compared without adding: a size near Int.max from the app must not overflow (and trap) here.
            guard size <= data.count - i else { throw BackendError(message: "chunk cut short", beforeSending: false) }
            out.append(contentsOf: data[i..<(i + size)])
            i += size
            guard data.count - i >= 2 else { throw BackendError(message: "chunk cut short", beforeSending: false) }
            i += 2
        }
    }

    /// Where `needle` starts in `data`, looking from `start` at starts before `limit` (default: anywhere).
    private func find(_ data: [UInt8], _ needle: [UInt8], from start: Int = 0, before limit: Int = .max) -> Int? {
        guard data.count >= needle.count, start <= data.count - needle.count else { return nil }
        var i = start
        while i <= data.count - needle.count && i < limit {
            if data[i] == needle[0] && data[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    private static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var s = bytes
        while let f = s.first, f == 0x20 || f == 0x09 { s = s.dropFirst() }
        while let l = s.last, l == 0x20 || l == 0x09 { s = s.dropLast() }
        return s
    }

    private static func int(_ digits: ArraySlice<UInt8>) -> Int? {
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
    }
}
