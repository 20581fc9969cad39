import SSOStore

/// What `ssoctl sessions` shows and does: sessions found through each user's index (memcached cannot list its keys),
/// and revocation, which deletes sessions so every host's cookie fails at its next check, on every domain.
public struct SessionAdmin {
    let store: SessionStore
    var index: UserSessionIndex { UserSessionIndex(store: store) }

    public init(store: SessionStore) { self.store = store }

    /// One live session, as an operator sees it. Times are seconds since 1970.
    public struct Info: Sendable, Equatable {
        /// The TokenID; shown shortened, revocable by any unique prefix.
        public let tokenID: String
        public let user: String
        public let created: Int64
        public let lastAccessedTime: Int64
        /// SESSION_TIME_OUT, seconds.
        public let sessionTimeout: Int64
        public let expiresAt: Int64
        /// The browser fingerprint (a hash of its User-Agent).
        public let fingerprint: String
    }

    /// The live sessions of `users`, oldest first; sessions past their idle or absolute end are left out.
    public func sessions(of users: [String], now: Int64) throws(StoreError) -> [Info] {
        var out: [Info] = []
        for user in users {
            for tokenID in try index.tokenIDs(of: user) {
                guard let s = try store.session(tokenID), s.user == user, !s.isExpired(now: now) else { continue }
                out.append(Info(tokenID: tokenID, user: user, created: s.created, lastAccessedTime: s.lastAccessedTime,
                                sessionTimeout: s.sessionTimeout, expiresAt: s.expiresAt, fingerprint: s.fingerprint))
            }
        }
        return out.sorted { ($0.created, $0.tokenID) < ($1.created, $1.tokenID) }
    }

    /// Ends every session of `user`; returns how many there were.
    public func revoke(user: String) throws(StoreError) -> Int { try index.endAll(of: user) }

    /// Ends the one session of `users` whose TokenID starts with `prefix` (at least 6 characters, and unique).
    public func revoke(idPrefix prefix: String, among users: [String], now: Int64) throws(AdminError) -> Info {
        guard prefix.count >= 6 else { throw AdminError("a session id needs at least 6 characters") }
        let matches: [Info]
        do { matches = try sessions(of: users, now: now).filter { $0.tokenID.hasPrefix(prefix) } } catch { throw AdminError("\(error)") }
        guard let match = matches.first else { throw AdminError("no live session starts with \(prefix)") }
        guard matches.count == 1 else { throw AdminError("\(matches.count) sessions start with \(prefix): give more of the id") }
        do { try store.deleteSession(match.tokenID) } catch { throw AdminError("\(error)") }
        return match
    }
}

/// An admin command could not do what it was asked; the message says why (never a secret).
public struct AdminError: Error, CustomStringConvertible, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
