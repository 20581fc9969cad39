/// Reading the `Cookie` header and writing `Set-Cookie`.
public enum Cookies {
    /// Longest `Cookie` header parsed, in bytes. Default: 16,384; beyond it no cookie is read.
    public static let maxHeaderLength = 16_384

    /// Parses `a=1; b=2`. The first occurrence of a name wins; malformed pairs are skipped; quotes around a value are removed.
    public static func parse(_ header: String) -> [String: String] {
        guard header.utf8.count <= maxHeaderLength else { return [:] }
        var out: [String: String] = [:]
        for part in header.split(separator: ";") {
            guard let eq = part.firstIndex(of: "=") else { continue }
            let name = part[..<eq].trimmingSpaces
            var value = part[part.index(after: eq)...].trimmingSpaces
            if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
            guard !name.isEmpty, out[name] == nil else { continue }
            out[name] = value
        }
        return out
    }

    /// A host-only `Set-Cookie` value: `Path=/`, `Secure`, `HttpOnly`, `SameSite` (default Lax), no `Domain`.
    /// `maxAge` nil makes a session cookie; 0 deletes the cookie.
    public static func setCookie(name: String, value: String, maxAge: Int? = nil, secure: Bool = true,
                                 sameSite: String = "Lax", httpOnly: Bool = true) -> String {
        var parts = ["\(name)=\(value)", "Path=/"]
        if let maxAge {
            parts.append("Max-Age=\(maxAge)")
            if maxAge == 0 { parts.append("Expires=Thu, 01 Jan 1970 00:00:00 GMT") }
        }
        if secure { parts.append("Secure") }
        if httpOnly { parts.append("HttpOnly") }
        parts.append("SameSite=\(sameSite)")
        return parts.joined(separator: "; ")
    }
}

extension Substring {
    /// The text without leading and trailing spaces and tabs.
    public var trimmingSpaces: String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}
