/// Where a FastCGI program listens.
public enum ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// A unix socket path (nginx); written `unix:/path` or `/path`.
    case unix(String)
    /// `host:port` over TCP (Apache's mod_authnz_fcgi has no unix sockets).
    case tcp(host: String, port: Int)
    /// A socket inherited as fd 0 (spawn-fcgi, systemd socket activation); written `fd:0`.
    case inherited

    /// Parses the config form; nil when it is none of them.
    public init?(parsing text: String) {
        if text == "fd:0" { self = .inherited; return }
        if text.hasPrefix("unix:") { let p = String(text.dropFirst(5)); guard p.hasPrefix("/") else { return nil }; self = .unix(p); return }
        if text.hasPrefix("/") { self = .unix(text); return }
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), port > 0, port < 65536 else {
            return nil
        }
        let host = String(text[..<colon])
        guard !host.isEmpty else { return nil }
        self = .tcp(host: host, port: port)
    }

    public var description: String {
        switch self {
        case .unix(let path): return "unix:\(path)"
        case .tcp(let host, let port): return "\(host):\(port)"
        case .inherited: return "fd:0"
        }
    }
}
