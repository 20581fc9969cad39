import SSOCrypto
import SSOStore

/// Which sessions a user has: a per-user list of TokenIDs in the store, so all of a user's sessions can be found and
/// ended (a password change, a user removed or disabled, `ssoctl sessions revoke --user`). Kept consistent under
/// concurrency by memcached's atomic `append`: a sign-in adds its TokenID with one append, so parallel sign-ins never
/// overwrite each other; the list is created with `add` (only one creator wins) and its lifetime is pushed out with
/// `touch` at every sign-in, so it outlives every session it names. Entries whose session has ended are skipped when
/// read and dropped when the list is ended.
public struct UserSessionIndex {
    let store: SessionStore

    public init(store: SessionStore) { self.store = store }

    /// The store key of `user`'s list (the name hashed, so any name makes a valid key).
    public func key(_ user: String) -> String { store.prefix + "u:" + String(Digest.sha256Hex(Array(user.utf8)).prefix(32)) }

    /// Adds `tokenID` to `user`'s list; the list lives at least `ttl` seconds more (the session's absolute lifetime).
    public func record(_ tokenID: String, user: String, ttl: Int) throws(StoreError) {
        guard SessionStore.isSafeKeyPart(tokenID) else { return }
        let key = key(user)
        let entry = Array((" " + tokenID).utf8)
        if try !store.kv.append(key, entry) {
            // No list yet: create it; if another sign-in created it in between, append to that one.
            if try !store.kv.add(key, entry, ttl: ttl) { _ = try store.kv.append(key, entry) }
        }
        _ = try store.kv.touch(key, ttl: ttl)
    }

    /// The TokenIDs listed for `user`, whether their sessions still exist or not.
    public func tokenIDs(of user: String) throws(StoreError) -> [String] {
        guard let bytes = try store.kv.get(key(user)) else { return [] }
        return bytes.split(separator: 0x20).map { String(decoding: $0, as: UTF8.self) }.filter(SessionStore.isSafeKeyPart)
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
