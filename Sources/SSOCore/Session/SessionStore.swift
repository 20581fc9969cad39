import FoundationEssentials
import Glibc
import SSOCrypto
import SSOStore

/// Sessions, requestID hand-offs and throttle counters, kept in a `KeyValueStore` under a namespacing prefix.
/// Key layout: `<prefix>s:<TokenID>`, `<prefix>r:<requestID>`, `<prefix>t:<scope>:<hash>`.
public struct SessionStore {
    public let kv: KeyValueStore
    /// Prepended to every key, so several SSO realms can share one memcached. Default: `sso:`.
    public let prefix: String

    public init(kv: KeyValueStore, prefix: String) {
        self.kv = kv
        self.prefix = prefix
    }

    func sessionKey(_ tokenID: String) -> String { prefix + "s:" + tokenID }
    func handoffKey(_ requestID: String) -> String { prefix + "r:" + requestID }

    /// The session under `tokenID`; nil when absent or unreadable (an unreadable item is treated as no session).
    public func session(_ tokenID: String) throws(StoreError) -> JWTSession? {
        guard Self.isSafeKeyPart(tokenID), let bytes = try kv.get(sessionKey(tokenID)) else { return nil }
        return JWTSession(record: bytes)
    }

    /// The session under `tokenID` with the version it was read at, for `touch` (one read, as `session`).
    public func sessionForUpdate(_ tokenID: String) throws(StoreError) -> (session: JWTSession, version: StoreVersion)? {
        guard Self.isSafeKeyPart(tokenID), let read = try kv.read(sessionKey(tokenID)),
              let session = JWTSession(record: read.value) else { return nil }
        return (session, read.version)
    }

    /// Writes a new session under `tokenID` (sign-in) with a TTL that follows the idle timeout.
    public func put(_ session: JWTSession, tokenID: String, now: Int64) throws(StoreError) {
        try kv.set(sessionKey(tokenID), try Self.encode(session), ttl: session.storeTTL(now: now))
    }

    /// Writes an update of a session read at `version` (LAST_ACCESSED_TIME): only while it is still that version, so an
    /// update never brings back a session that logout ended in between. False when it was changed or ended since.
    public func touch(_ session: JWTSession, tokenID: String, version: StoreVersion, now: Int64) throws(StoreError) -> Bool {
        try kv.replace(sessionKey(tokenID), try Self.encode(session), ttl: session.storeTTL(now: now), ifUnchanged: version)
    }

    static func encode(_ session: JWTSession) throws(StoreError) -> [UInt8] {
        guard !session.user.utf8.contains(0x09), !session.fingerprint.utf8.contains(0x09) else { throw StoreError("cannot encode session") }
        return session.record
    }

    /// Ends the session (logout, idle, revocation) on every copy: every host's cookie for it stops working at its next
    /// check, and it never comes back (docs/scaling.md).
    public func deleteSession(_ tokenID: String) throws(StoreError) {
        guard Self.isSafeKeyPart(tokenID) else { return }
        try kv.delete(sessionKey(tokenID))
    }

    /// Stores a hand-off for `ttl` seconds.
    public func putHandoff(_ handoff: RequestHandoff, requestID: String, ttl: Int) throws(StoreError) {
        guard let bytes = try? JSONEncoder().encode(handoff) else { throw StoreError("cannot encode hand-off") }
        try kv.set(handoffKey(requestID), Array(bytes), ttl: ttl)
    }

    /// The hand-off under `requestID` without using it up (nil when absent, used, expired or unreadable).
    public func peekHandoff(_ requestID: String) throws(StoreError) -> RequestHandoff? {
        guard Self.isSafeKeyPart(requestID), let bytes = try kv.get(handoffKey(requestID)) else { return nil }
        return try? JSONDecoder().decode(RequestHandoff.self, from: Data(bytes))
    }

    /// Uses up a requestID (`take`): true only for the one caller that took it, however many ask at once and on every
    /// copy (single use under concurrency and under the loss of a memcached server).
    public func burnHandoff(_ requestID: String) throws(StoreError) -> Bool {
        guard Self.isSafeKeyPart(requestID) else { return false }
        return try kv.take(handoffKey(requestID)) != nil
    }

    /// Redeems a requestID once (`take`): one caller gets the hand-off.
    public func redeemHandoff(_ requestID: String) throws(StoreError) -> RequestHandoff? {
        guard Self.isSafeKeyPart(requestID), let bytes = try kv.take(handoffKey(requestID)) else { return nil }
        return try? JSONDecoder().decode(RequestHandoff.self, from: Data(bytes))
    }

    /// Counts one event for `subject` in `scope` within a window of `window` seconds; returns the count so far.
    /// The subject is hashed, so any user name or address makes a valid key.
    public func countEvent(scope: String, subject: String, window: Int) throws(StoreError) -> UInt64 {
        try kv.increment(throttleKey(scope: scope, subject: subject), by: 1, ttl: window)
    }

    /// The current count for `subject` in `scope` (0 when none).
    public func eventCount(scope: String, subject: String) throws(StoreError) -> UInt64 {
        guard let bytes = try kv.get(throttleKey(scope: scope, subject: subject)) else { return 0 }
        return UInt64(String(decoding: bytes.filter { $0 != 0x20 && $0 != 0x0D && $0 != 0x0A }, as: UTF8.self)) ?? 0
    }

    /// The key of a throttle counter: the subject is hashed, so any user name or address makes a valid key.
    public func throttleKey(scope: String, subject: String) -> String {
        prefix + "t:" + scope + ":" + String(Digest.sha256Hex(Array(subject.utf8)).prefix(32))
    }

    /// True for ids made of base64url or UUID characters (1…128 of them): the only ids that become keys.
    public static func isSafeKeyPart(_ id: String) -> Bool {
        var id = id
        // Over the contiguous bytes: the UTF8View's iterator cost more than the check's memcached call on every request.
        return id.withUTF8 { bytes in
            !bytes.isEmpty && bytes.count <= 128 && bytes.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F
            }
        }
    }
}
