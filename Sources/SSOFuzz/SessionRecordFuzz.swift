import SSOCore
import SSOJWT
import SSOTesting

/// What a check reads from memcached on every request: the `JWTSession` record under the token's TokenID, run
/// through the whole `SessionCheck` with a good token; and the other records a store holds for a user (the session
/// index, a throttle counter) over the same bytes.
enum SessionRecordFuzz {
    static let target = FuzzTarget(
        name: "session-record",
        covers: "JWTSession(record:), isExpired, storeTTL; SessionCheck.check over the record; UserSessionIndex.tokenIDs/endAll; SessionStore.eventCount",
        maxLength: 1024,
        dictionary: ["s1\t", "\t", "alice", "fuzz-session", " ", "\r\n"] + FuzzWords.numbers,
        run: { bytes in run(bytes) })

    static let tokenID = "fuzz-session"
    /// A good token for `alice`, whose TokenID is `tokenID`.
    static let token: String = {
        let now = FuzzKeys.now
        let claims = JWTClaims(iss: FuzzKeys.issuer, aud: [FuzzKeys.audience, FuzzKeys.host], sub: "alice", jti: tokenID,
                               iat: now, nbf: now, exp: now + 3600, svc: ["app"], name: "Alice", email: "alice@example.test")
        do { return try FuzzKeys.signer.sign(claims) } catch { FuzzCheck.fail("cannot sign the session target's token: \(error)") }
    }()
    static let check = SessionCheck(codec: FuzzKeys.verifier, lastAccessInterval: 60)

    static func run(_ bytes: [UInt8]) {
        let now = FuzzKeys.now
        if let session = JWTSession(record: bytes) {
            FuzzCheck.require(JWTSession(record: session.record) == session, "a session record does not round-trip")
            FuzzCheck.require(session.storeTTL(now: now) >= 2, "a session stored for less than 2 seconds")
            _ = session.isExpired(now: now)
        }
        let kv = InMemoryStore(now: { now })
        let store = SessionStore(kv: kv, prefix: "sso:")
        do {
            try kv.set("sso:s:" + tokenID, bytes, ttl: 0)
            let fingerprint = JWTSession(record: bytes)?.fingerprint ?? "fp"
            let outcome = try check.check(token: token, host: FuzzKeys.host, fingerprint: fingerprint, service: "app", now: now, store: store)
            if case .valid(let identity) = outcome {
                FuzzCheck.require(identity.session.user == "alice" && !identity.session.isExpired(now: now), "a check passed for a session it must refuse")
            }
            let index = UserSessionIndex(store: store)
            try kv.set(index.key("alice"), bytes, ttl: 0)
            FuzzCheck.require(try index.tokenIDs(of: "alice").allSatisfy(SessionStore.isSafeKeyPart), "an unsafe TokenID from the index")
            _ = try index.endAll(of: "alice")
            try kv.set(store.throttleKey(scope: "user", subject: "alice"), bytes, ttl: 0)
            _ = try store.eventCount(scope: "user", subject: "alice")
        } catch {
            FuzzCheck.fail("the in-memory store failed: \(error)")
        }
    }
}
