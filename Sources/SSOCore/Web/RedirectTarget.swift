import FastCGI

/// A `redirectURL` that passed the policy: an absolute https URL at an origin of the service registry.
public struct RedirectTarget: Sendable, Equatable {
    /// The URL exactly as it will be sent in `Location`.
    public let url: String
    /// Its origin.
    public let origin: Origin
    /// The path, query and fragment after the origin (at least `/`).
    public let pathAndQuery: String

    /// Parses and checks `text` against `allowed` origins. Refuses (nil) userinfo, backslashes, control characters,
    /// whitespace, scheme-relative and non-https forms, other ports, and anything not an exact registry origin.
    public static func validate(_ text: String, allowedOrigins allowed: Set<Origin>) -> RedirectTarget? {
        guard !text.isEmpty, text.utf8.count <= 4096 else { return nil }
        for scalar in text.unicodeScalars {
            if scalar.value <= 0x20 || scalar.value == 0x7F || scalar == "\\" || scalar.value > 0x7E { return nil }
        }
        guard text.hasPrefix("https://") else { return nil }
        let afterScheme = text.dropFirst(8)
        let authorityEnd = afterScheme.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? afterScheme.endIndex
        let authority = afterScheme[..<authorityEnd]
        guard !authority.contains("@"), !authority.contains("%") else { return nil }
        guard let origin = Origin(scheme: "https", authority: authority), allowed.contains(origin) else { return nil }
        var rest = String(afterScheme[authorityEnd...])
        if rest.hasPrefix("//") { return nil }
        if !rest.hasPrefix("/") { rest = "/" + rest }
        return RedirectTarget(url: origin.serialized + rest, origin: origin, pathAndQuery: rest)
    }

    /// This URL with `name=value` appended to its query (before any fragment).
    public func appendingQuery(_ name: String, _ value: String) -> String {
        URLQuery.appending(name, value, to: url)
    }
}

/// Small helpers on the query part of a URL.
public enum URLQuery {
    /// `url` with `name=value` (percent-encoded) appended to the query, before any fragment.
    public static func appending(_ name: String, _ value: String, to url: String) -> String {
        var base = url
        var fragment = ""
        if let hash = base.firstIndex(of: "#") {
            fragment = String(base[hash...])
            base = String(base[..<hash])
        }
        let separator = base.contains("?") ? "&" : "?"
        return base + separator + PercentEncoding.encode(name) + "=" + PercentEncoding.encode(value) + fragment
    }

    /// `uri` with every `name=…` parameter removed from its query; the `?` goes too when nothing is left.
    public static func removing(_ name: String, from uri: String) -> String {
        guard let q = uri.firstIndex(of: "?") else { return uri }
        let path = uri[..<q]
        let kept = uri[uri.index(after: q)...].split(separator: "&", omittingEmptySubsequences: false).filter { part in
            let key = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            return PercentEncoding.decode(key, plusIsSpace: true) != name
        }
        let query = kept.joined(separator: "&")
        return query.isEmpty ? String(path) : path + "?" + query
    }
}
