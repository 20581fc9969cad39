import FastCGI

/// Which requests are kept across re-authentication, and which of their headers.
public enum ReplayPolicy {
    /// Methods worth keeping: a GET needs nothing kept, its URL is the `redirectURL`.
    public static let methods: Set<String> = ["POST", "PUT", "PATCH", "DELETE"]

    /// The headers a kept submission carries to the app (lower case): what a browser sends with a form, besides the
    /// ones the replay sets itself (`Host`, the forwarding headers, the identity, `Cookie`, the framing). A navigation
    /// can add no header of its own, so anything else came from a client that chose it, and may be one the web server
    /// replaces or removes on the way to the app (`proxy_set_header X-Real-IP …`, a blanked `X-Forwarded-User`) but
    /// had not yet when nginx kept the form: it is never replayed.
    static let replayedNames: Set<String> = [
        "accept", "accept-encoding", "accept-language", "cache-control", "content-type", "dnt", "origin", "pragma",
        "priority", "referer", "save-data", "sec-gpc", "upgrade-insecure-requests", "user-agent",
    ]
    /// Name prefixes replayed too: the fetch metadata and client hints browsers send.
    static let replayedPrefixes = ["sec-fetch-", "sec-ch-"]

    /// Whether a header (its name in lower case) is kept and sent with the replay. Also applied when replaying, to a
    /// submission kept by an older version that kept more.
    public static func isReplayed(_ name: String) -> Bool {
        replayedNames.contains(name) || replayedPrefixes.contains { name.hasPrefix($0) }
    }

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
        request.headerFields.filter { isReplayed($0.name) }.map { CachedRequest.field($0.name, $0.value) }
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
