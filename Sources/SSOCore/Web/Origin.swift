/// A web origin: scheme, lower-case host, and port (made explicit: 443 for https, 80 for http).
public struct Origin: Hashable, Sendable, CustomStringConvertible {
    public let scheme: String
    public let host: String
    public let port: Int

    /// Parses `https://host[:port]` with nothing after it (a trailing `/` is allowed). Nil for anything else,
    /// including userinfo, IPv6 literals, empty hosts and characters outside `[a-z0-9.-]` in the host.
    /// Works on UTF-8 bytes (nginx's `SSO_ORIGIN` is parsed on every check): the scheme is matched ignoring ASCII case.
    public init?(parsing text: String) {
        var rest = Substring(text).utf8[...]
        let scheme: String
        if Self.startsIgnoringCase(rest, "https://") { scheme = "https"; rest = rest.dropFirst(8) }
        else if Self.startsIgnoringCase(rest, "http://") { scheme = "http"; rest = rest.dropFirst(7) }
        else { return nil }
        if rest.last == UInt8(ascii: "/") { rest = rest.dropLast() }
        self.init(scheme: scheme, authority: Substring(rest))
    }

    /// True when `bytes` start with `prefix` (lower-case ASCII), whatever the case of their letters.
    private static func startsIgnoringCase(_ bytes: Substring.UTF8View, _ prefix: StaticString) -> Bool {
        guard bytes.count >= prefix.utf8CodeUnitCount else { return false }
        var i = bytes.startIndex
        for j in 0..<prefix.utf8CodeUnitCount {
            var c = bytes[i]
            if c >= 0x41 && c <= 0x5A { c += 32 }
            guard c == prefix.utf8Start[j] else { return false }
            i = bytes.index(after: i)
        }
        return true
    }

    /// From a scheme and an authority (`host[:port]`), strictly; works on UTF-8 bytes (it runs on every check).
    init?(scheme: String, authority: Substring) {
        var host: [UInt8] = []
        var port = scheme == "https" ? 443 : 80
        var ok = true
        var authority = authority
        authority.withUTF8 { bytes in
            guard !bytes.isEmpty else { ok = false; return }
            var end = bytes.count
            if let colon = bytes.lastIndex(of: UInt8(ascii: ":")) {
                let digits = bytes[(colon + 1)...]
                guard !digits.isEmpty, digits.count <= 5, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { ok = false; return }
                let p = digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }
                guard p > 0, p < 65536 else { ok = false; return }
                port = p
                end = colon
            }
            guard end > 0, end <= 253 else { ok = false; return }
            host.reserveCapacity(end)
            var previous: UInt8 = 0x2E
            for i in 0..<end {
                var c = bytes[i]
                if c >= 0x41 && c <= 0x5A { c += 32 }
                let allowed = (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2D || c == 0x2E
                guard allowed, !(c == 0x2E && previous == 0x2E) else { ok = false; return }
                host.append(c)
                previous = c
            }
            if previous == 0x2E { ok = false }
        }
        guard ok else { return nil }
        self.scheme = scheme
        self.host = String(decoding: host, as: UTF8.self)
        self.port = port
    }

    /// `scheme://host[:port]`, the port left out when it is the scheme's default.
    public var serialized: String {
        let defaultPort = scheme == "https" ? 443 : 80
        return port == defaultPort ? "\(scheme)://\(host)" : "\(scheme)://\(host):\(port)"
    }

    public var description: String { serialized }
}

extension Origin {
    /// Stands in while a config with problems is still being read through; never served.
    static let placeholder = Origin(checkedScheme: "https", host: "invalid", port: 443)

    private init(checkedScheme: String, host: String, port: Int) {
        self.scheme = checkedScheme
        self.host = host
        self.port = port
    }
}
