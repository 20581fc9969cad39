import SSOCrypto
import FastCGI

/// The replay cookie's value: the ids of the submissions this browser has kept, oldest first, joined by `.` (an id is
/// base64url, which has none), so forms kept in several tabs each wait for their own page. At most `limit` are read or
/// written: keeping one more forgets the oldest.
public enum ReplayCookie {
    /// Kept submissions one browser waits for at once: 5.
    public static let limit = 5
    /// Stands in the cookie for a submission nothing was stored for: too many from the client's address.
    public static let tooMany = "too-many"

    /// The ids in `value` (none for an absent or empty cookie): each once, only those an id can be (43 base64url
    /// characters, or `tooMany`), at most `limit`, whatever the client sent; so a forged cookie costs no more store reads
    /// than a browser's own.
    public static func ids(_ value: String?) -> [String] {
        guard let value else { return [] }
        var ids: [String] = []
        for part in value.split(separator: ".") where ids.count < limit {
            let id = String(part)
            guard id == tooMany || SecureRandom.isToken(id), !ids.contains(id) else { continue }
            ids.append(id)
        }
        return ids
    }

    /// The cookie value naming `ids`: the newest `limit` of them.
    public static func value(_ ids: [String]) -> String { ids.suffix(limit).joined(separator: ".") }

    /// The `Set-Cookie` value naming `ids` (cleared when there are none). It outlives the entries by an hour, so a user
    /// who signs in too late is told, not silently dropped; `ttl` is the request cache's, in seconds.
    public static func setCookie(name: String, ids: [String], ttl: Int) -> String {
        Cookies.setCookie(name: name, value: value(ids), maxAge: ids.isEmpty ? 0 : ttl + 3600)
    }
}
