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

    /// Seconds the memcached item should live after a write at `now`: the idle timeout, capped by the absolute expiry.
    public func storeTTL(now: Int64) -> Int {
        Int(max(1, min(sessionTimeout, expiresAt - now)))
    }
}

/// A one-time hand-off from accounts to an app host: the JWT and the origin it was issued for.
public struct RequestHandoff: Codable, Equatable, Sendable {
    /// The signed token the app host turns into its cookie.
    public var jwt: String
    /// The only origin that may redeem it, serialized (`https://host[:port]`).
    public var origin: String

    public init(jwt: String, origin: String) {
        self.jwt = jwt
        self.origin = origin
    }
}
