/// The replay cookie's value: the ids of the submissions this browser has kept, oldest first, joined by `.` (an id is
/// base64url, which has none), so forms kept in several tabs each wait for their own page. At most `limit` are read or
/// written: keeping one more forgets the oldest.
public enum ReplayCookie {
    /// Kept submissions one browser waits for at once: 5.
    public static let limit = 5

    /// The ids in `value` (none for an absent or empty cookie); at most `limit`, whatever the client sent.
    public static func ids(_ value: String?) -> [String] {
        guard let value else { return [] }
        return value.split(separator: ".").prefix(limit).map(String.init)
    }

    /// The cookie value naming `ids`: the newest `limit` of them.
    public static func value(_ ids: [String]) -> String { ids.suffix(limit).joined(separator: ".") }
}
