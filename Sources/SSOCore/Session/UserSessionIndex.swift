import SSOCrypto
import SSOStore

/// Which sessions a user has: a per-user list of TokenIDs in the store, so all of a user's sessions can be found and
/// ended (a password change, a user removed or disabled, `ssoctl sessions revoke --user`). Kept consistent under
/// concurrency by memcached's atomic `append`: a sign-in adds its TokenID with one append, so parallel sign-ins never
/// overwrite each other; the list is created with `add` (only one creator wins) and its lifetime is pushed out with
/// `touch` at every sign-in, so it outlives every session it names. Bounded: once it holds `compactionBytes` and twice
/// what it held after its last compaction, a sign-in rewrites it with only the sessions that still exist, by
/// compare-and-swap over the version it read, so a parallel sign-in's append is never lost (on a pool, each other copy
/// is rewritten from what it holds: docs/scaling.md). A compaction reads every listed session, so it runs at most once
/// per `compactionPause` for a user, and the doubling keeps its cost per sign-in constant when most sessions live on. A
/// TokenID that cannot be listed is an error, never a session that no revocation could find.
public struct UserSessionIndex {
    let store: SessionStore

    /// List size from which a sign-in drops the ended sessions from it, in bytes: 16 KiB, about 370 sign-ins.
    /// (Unbounded, it reached memcached's item limit after ~23,800 sign-ins, and later sessions were silently left out.)
    static let compactionBytes = 16_384
    /// Past this size a list is compacted whatever it held after the last compaction, in bytes: 512 KiB, half of
    /// memcached's default item limit, so a list of live sessions is still compacted once they end.
    static let ceilingBytes = 512 * 1024
    /// The least time between two compactions of one user's list, in seconds: 10.
    static let compactionPause = 10

    public init(store: SessionStore) { self.store = store }

    /// The store key of `user`'s list (the name hashed, so any name makes a valid key).
    public func key(_ user: String) -> String { store.prefix + "u:" + String(Digest.sha256Hex(Array(user.utf8)).prefix(32)) }

    /// Adds `tokenID` to `user`'s list; the list lives at least `ttl` seconds more (the session's absolute lifetime).
    /// Throws when the TokenID could not be listed (the list is full of live sessions, or the store failed): the
    /// sign-in then fails rather than make a session that no revocation would find.
    public func record(_ tokenID: String, user: String, ttl: Int) throws(StoreError) {
        guard SessionStore.isSafeKeyPart(tokenID) else { throw StoreError("a TokenID that cannot be listed") }
        let key = key(user)
        if let current = try store.kv.read(key), Self.isDueForCompaction(current.value),
           try store.kv.add(key + "~compacting", [0x31], ttl: Self.compactionPause) {
            try compact(key, current, ttl: ttl)
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

    /// Whether `list` is large enough to compact: `compactionBytes` and twice its size after the last compaction (the
    /// `~N` it begins with), or `ceilingBytes` whatever that was.
    static func isDueForCompaction(_ list: [UInt8]) -> Bool {
        list.count >= max(compactionBytes, min(2 * compactedSize(list), ceilingBytes))
    }

    /// The size the list had right after its last compaction: the digits after a leading `~`, 0 when none.
    static func compactedSize(_ list: [UInt8]) -> Int {
        guard list.first == 0x7E else { return 0 }  // '~'
        var size = 0
        for byte in list.dropFirst().prefix(8) {
            guard byte >= 0x30 && byte <= 0x39 else { break }
            size = size * 10 + Int(byte - 0x30)
        }
        return size
    }

    /// Rewrites the list read as `current` without the TokenIDs whose sessions have ended. Left as it is when another
    /// sign-in changed it first (its entry must not be lost; the next sign-in after the pause compacts it). On a pool
    /// each other copy is rewritten from what it holds, so an entry appended there meanwhile stays; a copy that keeps
    /// changing keeps all it holds. The new sign-in's TokenID is appended after, like any other.
    private func compact(_ key: String, _ current: VersionedValue, ttl: Int) throws(StoreError) {
        var ended: Set<String> = []
        for id in Self.parse(current.value) where try store.kv.get(store.sessionKey(id)) == nil { ended.insert(id) }
        _ = try store.kv.rewrite(key, from: current, ttl: ttl) { Self.compacted($0, without: ended) }
    }

    /// `list` without the TokenIDs in `ended`, after a `~N` giving its size (never read as a TokenID).
    static func compacted(_ list: [UInt8], without ended: Set<String>) -> [UInt8] {
        let entries = parse(list).filter { !ended.contains($0) }.map { " " + $0 }.joined()
        return Array(("~\(entries.utf8.count)" + entries).utf8)
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
