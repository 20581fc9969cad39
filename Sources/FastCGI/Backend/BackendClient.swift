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
    public init(message: String, beforeSending: Bool) {
        self.message = message
        self.beforeSending = beforeSending
    }
    public var description: String { "backend: \(message)" }
}

/// One request to replay to an app's backend: method, path and query, header fields, body.
public struct BackendRequest: Sendable, Equatable {
    public var method: String
    public var uri: String
    /// Header fields as (name, value); a `Content-Length` is added by the client.
    public var headers: [HeaderPair]
    public var body: [UInt8]

    /// One header field, name and value as they go on the wire: the value as bytes, so one that is not UTF-8 is sent
    /// on exactly as it came.
    public struct HeaderPair: Sendable, Equatable {
        public var name: String
        public var bytes: [UInt8]
        /// The value as text (U+FFFD where it is not UTF-8).
        public var value: String { String(decoding: bytes, as: UTF8.self) }
        public init(_ name: String, _ value: String) { self.name = name; self.bytes = Array(value.utf8) }
        public init(_ name: String, bytes: [UInt8]) { self.name = name; self.bytes = bytes }
    }

    public init(method: String, uri: String, headers: [HeaderPair], body: [UInt8]) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
    }
}

/// Sends a rebuilt request to an app's backend and returns its whole answer. `SocketBackendClient` is the real one;
/// tests pass a double, so the replay path runs in-process.
public protocol BackendClient: Sendable {
    func send(_ request: BackendRequest, to address: BackendAddress) throws(BackendError) -> HTTPResponse
}
