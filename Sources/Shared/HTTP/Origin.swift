/// A web origin: scheme, lower-case host, and port (made explicit: 443 for https, 80 for http).
public struct Origin: Hashable, Sendable, CustomStringConvertible {
    public let scheme: String
    public let host: String
    public let port: Int

    /// Parses `https://host[:port]` with nothing after it (a trailing `/` is allowed). Nil for anything else,
    /// including userinfo, IPv6 literals, empty hosts and characters outside `[a-z0-9.-]` in the host.
    public init?(parsing text: String) {
        var rest = Substring(text)
        let scheme: String
        if rest.lowercased().hasPrefix("https://") { scheme = "https"; rest = rest.dropFirst(8) }
        else if rest.lowercased().hasPrefix("http://") { scheme = "http"; rest = rest.dropFirst(7) }
        else { return nil }
        if rest.hasSuffix("/") { rest = rest.dropLast() }
        self.init(scheme: scheme, authority: rest)
    }

    /// From a scheme and an authority (`host[:port]`), strictly.
    init?(scheme: String, authority: Substring) {
        guard !authority.isEmpty else { return nil }
        var hostPart = authority
        var port = scheme == "https" ? 443 : 80
        if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            let portText = authority[authority.index(after: colon)...]
            guard !portText.isEmpty, portText.count <= 5, portText.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let p = Int(portText), p > 0, p < 65536 else { return nil }
            port = p
        }
        let host = hostPart.lowercased()
        guard !host.isEmpty, host.count <= 253,
              host.unicodeScalars.allSatisfy({ ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "." || $0 == "-" }),
              !host.hasPrefix("."), !host.hasSuffix("."), !host.contains("..")
        else { return nil }
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// `scheme://host[:port]`, the port left out when it is the scheme's default.
    public var serialized: String {
        let defaultPort = scheme == "https" ? 443 : 80
        return port == defaultPort ? "\(scheme)://\(host)" : "\(scheme)://\(host):\(port)"
    }

    public var description: String { serialized }
}
