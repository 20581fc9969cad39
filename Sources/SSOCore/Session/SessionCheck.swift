import SSOCrypto
import SSOJWT
import SSOStore

/// The one check every host runs on a JWT cookie: signature and claims, registration for the service, the session present
/// in the store, not idle-expired, same browser fingerprint. Touches LAST_ACCESSED_TIME at most once per interval.
public struct SessionCheck: Sendable {
    public let codec: JWTCodec
    /// Seconds between LAST_ACCESSED_TIME writes; 0 writes on every check.
    public let lastAccessInterval: Int64
    /// Verified signatures, shared by every worker (nil: verify every time).
    public let verified: VerifiedTokenCache?

    public init(codec: JWTCodec, lastAccessInterval: Int64, verified: VerifiedTokenCache? = VerifiedTokenCache()) {
        self.codec = codec
        self.lastAccessInterval = lastAccessInterval
        self.verified = verified
    }

    /// The token's claims for the host at origin `host`: signature from the cache or verified now; times and audience
    /// checked either way.
    func claims(of token: String, now: Int64, host: String) -> JWTClaims? {
        codec.verifiedClaims(token, now: now, host: host, cache: verified)
    }

    /// Who is signed in, after a passing check.
    public struct Identity: Sendable {
        public let claims: JWTClaims
        public let session: JWTSession
        /// The token as presented, to hand on to another host.
        public let token: String
    }

    /// Why a check did not pass. Only `notRegistered` is shown to a person as such; the rest mean "sign in".
    /// `expired`: idle for the session's timeout; `expiredAbsolute`: past its absolute lifetime (the token's `exp` or the
    /// session's expiry), whatever the activity.
    public enum Refusal: String, Sendable {
        case noToken, badToken, notRegistered, noSession, expired, expiredAbsolute, wrongUser, fingerprint
    }

    public enum Outcome: Sendable {
        case valid(Identity)
        case refused(Refusal)
    }

    /// Runs the check for the host at origin `host` (the token must name it in `aud`). `service` nil skips the
    /// registration test (the accounts host). Throws only when the store cannot answer.
    public func check(token: String?, host: String, fingerprint: String, service: String?, now: Int64,
                      store: SessionStore) throws(StoreError) -> Outcome {
        guard let token, !token.isEmpty else { return .refused(.noToken) }
        guard let claims = claims(of: token, now: now, host: host) else { return .refused(unusable(token, now: now, host: host)) }
        if let service, !claims.svc.contains(service) { return .refused(.notRegistered) }
        guard let (read, version) = try store.sessionForUpdate(claims.jti) else { return .refused(.noSession) }
        var session = read
        guard session.user == claims.sub else { return .refused(.wrongUser) }
        guard !session.isExpired(now: now) else {
            _ = try? store.deleteSession(claims.jti)
            return .refused(now >= session.expiresAt ? .expiredAbsolute : .expired)
        }
        guard Digest.constantTimeEqual(Array(session.fingerprint.utf8), Array(fingerprint.utf8)) else {
            return .refused(.fingerprint)
        }
        if now - session.lastAccessedTime >= lastAccessInterval && now != session.lastAccessedTime {
            session.lastAccessedTime = now
            // Only over the version read: a logout between the read and this write is not undone. When the write finds
            // the session changed, a fresh read decides (another check may have written it; a logout ended it).
            if try !store.touch(session, tokenID: claims.jti, version: version, now: now) {
                guard let current = try store.session(claims.jti), current.user == claims.sub, !current.isExpired(now: now) else {
                    return .refused(.noSession)
                }
                session = current
            }
        }
        return .valid(Identity(claims: claims, session: session, token: token))
    }

    /// Why a token `claims(of:now:host:)` refused cannot be used (only on that path, never on a passing check): past its
    /// `exp` with a good signature is `expiredAbsolute`, anything else `badToken`. The signature comes from the cache when
    /// it is there; a token never verified here is verified once more (the refusal path of a token that is not usable).
    func unusable(_ token: String, now: Int64, host: String) -> Refusal {
        guard let claims = verified?.claims(for: token, codec: codec) ?? (try? codec.verifySignature(token)) else { return .badToken }
        do {
            try codec.check(claims, now: now, host: host)
        } catch let error as JWTError where error.reason == .expired {
            return .expiredAbsolute
        } catch {}
        return .badToken
    }
}
