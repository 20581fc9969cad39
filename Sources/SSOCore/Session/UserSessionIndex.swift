import SSOCrypto
import SSOStore

/// Which sessions a user has: a per-user list of TokenIDs in the store, so all of a user's sessions can be found and
/// ended (a password change, a user removed or disabled, `ssoctl sessions revoke --user`). Kept consistent under
/// concurrency by memcached's atomic `append`: a sign-in adds its TokenID with one append, so parallel sign-ins never
/// overwrite each other; the list is created with `add` (only one creator wins) and its lifetime is pushed out with
/// `touch` at every sign-in, so it outlives every session it names. Bounded: once it holds `compactionBytes`, the next
/// sign-in rewrites it with only the sessions that still exist (compare-and-swap: a parallel sign-in's append is never
/// lost). A TokenID that cannot be listed is an error, never a session that no revocation could find.
public struct UserSessionIndex {
    let store: SessionStore

    /// List size at which a sign-in drops the ended sessions from it, in bytes: 16 KiB, about 370 sign-ins. (Unbounded,
    /// it reached memcached's item limit after ~23,800 sign-ins, and later sessions were silently left out of it.)
    static let compactionBytes = 16_384

    public init(store: SessionStore) { self.store = store }

    /// The store key of `user`'s list (the name hashed, so any name makes a valid key).
    public func key(_ user: String) -> String { store.prefix + "u:" + String(Digest.sha256Hex(Array(user.utf8)).prefix(32)) }

    /// Adds `tokenID` to `user`'s list; the list lives at least `ttl` seconds more (the session's absolute lifetime).
    /// Throws when the TokenID could not be listed (the list is full of live sessions, or the store failed): the
    /// sign-in then fails rather than make a session that no revocation would find.
    public func record(_ tokenID: String, user: String, ttl: Int) throws(StoreError) {
        guard SessionStore.isSafeKeyPart(tokenID) else { throw StoreError("a TokenID that cannot be listed") }
        let key = key(user)
        if let current = try store.kv.read(key), current.value.count >= Self.compactionBytes,
           try compact(key, current, adding: tokenID, ttl: ttl) {
            return
        }
        let entry = Array((" " + tokenID).utf8)
        if try !store.kv.append(key, entry) {
            // No list yet: create it; if another sign-in created it in between, append to that one.
            if try !store.kv.add(key, entry, ttl: ttl) {
                guard try store.kv.append(key, entry) else { throw StoreError("the session list of a user takes no more") }
            }
        }
        _ = try store.kv.touch(key, ttl: ttl)
    }

    /// Rewrites the list read as `current` with the TokenIDs whose sessions still exist, and `tokenID`. False when
    /// another sign-in changed the list first (its entry must not be lost): the caller appends instead.
    private func compact(_ key: String, _ current: VersionedValue, adding tokenID: String, ttl: Int) throws(StoreError) -> Bool {
        var live: [String] = []
        for id in Self.parse(current.value) where try store.kv.get(store.sessionKey(id)) != nil { live.append(id) }
        live.append(tokenID)
        let value = Array(live.map { " " + $0 }.joined().utf8)
        return try store.kv.replace(key, value, ttl: ttl, ifUnchanged: current.version)
    }

    private static func parse(_ bytes: [UInt8]) -> [String] {
        bytes.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }.filter(SessionStore.isSafeKeyPart)
    }

    /// The TokenIDs listed for `user`, whether their sessions still exist or not.
    public func tokenIDs(of user: String) throws(StoreError) -> [String] {
        guard let bytes = try store.kv.get(key(user)) else { return [] }
        return Self.parse(bytes)
    }

    /// Ends every session of `user` on every host and domain (each host's cookie fails at its next check); returns how
    /// many sessions were still there.
    @discardableResult
    public func endAll(of user: String) throws(StoreError) -> Int {
        var ended = 0
        for tokenID in try tokenIDs(of: user) where try store.kv.delete(store.sessionKey(tokenID)) { ended += 1 }
        _ = try store.kv.delete(key(user))
        return ended
    }
}
