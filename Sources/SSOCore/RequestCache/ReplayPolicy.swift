import FastCGI

/// Which requests are kept across re-authentication, and which of their headers.
public enum ReplayPolicy {
    /// Methods worth keeping: a GET needs nothing kept, its URL is the `redirectURL`.
    public static let methods: Set<String> = ["POST", "PUT", "PATCH", "DELETE"]

    /// Headers never kept or replayed (lower case): hop-by-hop, framing, the host and the forwarding headers (the replay
    /// sets its own, as the web server's proxy replaces the client's: nginx keeps a form before that happens), the
    /// identity headers (set from the new session), and cookies (the replay sends the browser's current ones).
    static let excluded: Set<String> = [
        "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection", "proxy-authorization",
        "content-length", "host", "cookie", "x-remote-user", "x-remote-email", "x-remote-name", "expect",
        "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
    ]

    /// Whether a kept header (its name in lower case) is sent with the replay: false for `excluded` ones, which a
    /// submission kept by an older version may still hold.
    public static func isReplayed(_ name: String) -> Bool { !excluded.contains(name) }

    /// True for body types that can be replayed byte for byte: forms (urlencoded, multipart), JSON, plain text.
    public static func isReplayable(contentType: String?, bodyLength: Int) -> Bool {
        guard let type = contentType?.lowercased().split(separator: ";").first?.trimmingSpaces, !type.isEmpty else {
            return bodyLength == 0
        }
        return type == "application/x-www-form-urlencoded" || type == "multipart/form-data" || type == "application/json"
            || (type.hasPrefix("application/") && type.hasSuffix("+json")) || type == "text/plain"
    }

    /// The headers of `request` worth keeping, with their exact bytes (`CachedRequest.headers`).
    public static func keptHeaders(_ request: HTTPRequest) -> [[String]] {
        request.headerFields.filter { !excluded.contains($0.name) }.map { CachedRequest.field($0.name, $0.value) }
    }

    /// True when a browser says the request came from the page's own origin: `Origin` equals `origin`, or there is no
    /// `Origin` and `Sec-Fetch-Site` is `same-origin`. A cross-site form must never be kept: after the automatic
    /// sign-in round trip it would be replayed with the victim's identity.
    public static func isSameOrigin(_ request: HTTPRequest, origin: Origin) -> Bool {
        if let sent = request.header("Origin"), !sent.isEmpty {
            return Origin(parsing: sent) == origin
        }
        return request.header("Sec-Fetch-Site") == "same-origin"
    }

    /// Human-readable size, e.g. "1 MiB", "256 KiB".
    public static func size(_ bytes: Int) -> String {
        if bytes >= 1 << 20 && bytes % (1 << 20) == 0 { return "\(bytes >> 20) MiB" }
        if bytes >= 1024 { return "\(bytes / 1024) KiB" }
        return "\(bytes) bytes"
    }
}
