/// The server-side half of a sign-in, kept in memcached under its TokenID (`jti`). Times are seconds since 1970.
public struct JWTSession: Codable, Equatable, Sendable {
    /// The user name.
    public var user: String
    /// LAST_ACCESSED_TIME: the last time a check saw this session in use (written at most once per configured interval).
    public var lastAccessedTime: Int64
    /// SESSION_TIME_OUT in seconds: the least IDLE_TIMEOUT of the services the user is registered for.
    public var sessionTimeout: Int64
    /// FINGERPRINT of the browser that signed in (see `Fingerprint`).
    public var fingerprint: String
    /// When the user signed in.
    public var created: Int64
    /// Absolute expiry, whatever the activity.
    public var expiresAt: Int64

    public init(user: String, lastAccessedTime: Int64, sessionTimeout: Int64, fingerprint: String, created: Int64, expiresAt: Int64) {
        self.user = user
        self.lastAccessedTime = lastAccessedTime
        self.sessionTimeout = sessionTimeout
        self.fingerprint = fingerprint
        self.created = created
        self.expiresAt = expiresAt
    }

    /// True when the session has been idle for `sessionTimeout` or has passed its absolute expiry at `now`.
    public func isExpired(now: Int64) -> Bool {
        now >= expiresAt || now - lastAccessedTime >= sessionTimeout
    }

    /// The memcached record: `s1`, then user, LAST_ACCESSED_TIME, SESSION_TIME_OUT, FINGERPRINT, created, expiry,
    /// tab-separated. Readable in a memcached dump, and parsed without JSON on every checked request.
    public var record: [UInt8] {
        Array("s1\t\(user)\t\(lastAccessedTime)\t\(sessionTimeout)\t\(fingerprint)\t\(created)\t\(expiresAt)".utf8)
    }

    /// Parses `record`; nil for anything else (a damaged or foreign item is no session).
    /// Every check reads one: the fields are taken in order (`TabFields`), without an array of slices.
    public init?(record bytes: [UInt8]) {
        var fields = TabFields(bytes)
        guard let tag = fields.next(), bytes[tag].elementsEqual("s1".utf8),
              let user = fields.next(), !user.isEmpty,
              let last = fields.next().flatMap({ Self.int(bytes[$0]) }),
              let timeout = fields.next().flatMap({ Self.int(bytes[$0]) }),
              let fingerprint = fields.next(),
              let created = fields.next().flatMap({ Self.int(bytes[$0]) }),
              let expires = fields.next().flatMap({ Self.int(bytes[$0]) }),
              fields.isAtEnd else { return nil }
        self.init(user: String(decoding: bytes[user], as: UTF8.self), lastAccessedTime: last, sessionTimeout: timeout,
                  fingerprint: String(decoding: bytes[fingerprint], as: UTF8.self), created: created, expiresAt: expires)
    }

    /// The tab-separated fields of a record, one at a time, empty ones included (as `split` with
    /// `omittingEmptySubsequences: false`). At the end once the last field, the one no tab follows, was taken.
    private struct TabFields {
        let bytes: [UInt8]
        var at = 0
        var isAtEnd = false

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        mutating func next() -> Range<Int>? {
            guard !isAtEnd else { return nil }
            let start = at
            while at < bytes.count && bytes[at] != 0x09 { at += 1 }
            defer { if at == bytes.count { isAtEnd = true } else { at += 1 } }
            return start..<at
        }
    }

    private static func int(_ digits: ArraySlice<UInt8>) -> Int64? {
        guard !digits.isEmpty, digits.count <= 18 else { return nil }
        var value: Int64 = 0
        for d in digits {
            guard d >= 0x30 && d <= 0x39 else { return nil }
            value = value * 10 + Int64(d - 0x30)
        }
        return value
    }

    /// Seconds the memcached item should live after a write at `now`: the idle timeout, capped by the absolute expiry,
    /// plus one second. memcached counts time on a clock that ticks once a second, so an item set for N seconds can be gone
    /// after N - 1; the extra second keeps memcached from ending a session before `isExpired` would. `isExpired` stays
    /// the authority on both timeouts.
    public func storeTTL(now: Int64) -> Int {
        Int(max(1, min(sessionTimeout, expiresAt - now)) + 1)
    }
}
