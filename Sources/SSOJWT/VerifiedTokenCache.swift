import SSOCrypto
import SSOSync

/// Tokens whose signature (and header, issuer, audience) has been verified, with their decoded claims. A signature over
/// the same bytes never changes its verdict while the key set is fixed, so the expensive Ed25519/ECDSA verify runs once
/// per token instead of once per request. Times (`exp`, `nbf`) are still checked on every use, and so is the session in
/// the store. Only successes are kept, so junk tokens cannot fill it. Shared by every worker of a process.
///
/// Keyed by the SHA-256 of the whole token (never the signature alone: a copied signature on a forged payload must
/// miss); the issuer is the codec's own and is not stored. About 300 bytes an entry. Every check looks here, from every
/// worker thread at once: lookups share a read lock (`ReadMostly`) and take one reference, the entry's.
public final class VerifiedTokenCache: Sendable {
    /// Most tokens kept. Default: 16,384 (about 5 MB when full); when full it starts again empty.
    public let capacity: Int
    private let entries = ReadMostly<[TokenDigest: Entry]>([:])

    struct TokenDigest: Hashable, Sendable {
        let a: UInt64, b: UInt64, c: UInt64, d: UInt64
        init(_ token: String) {
            let h = Digest.sha256(token)
            func word(_ i: Int) -> UInt64 { h[i..<(i + 8)].reduce(0) { $0 << 8 | UInt64($1) } }
            a = word(0); b = word(8); c = word(16); d = word(24)
        }
    }

    /// A class, so that a lookup copies one reference out of the lock rather than six.
    final class Entry: Sendable {
        let sub: String, jti: String, name: String, email: String
        let svc: [String], aud: [String]
        let iat: Int64, nbf: Int64, exp: Int64

        init(_ claims: JWTClaims) {
            sub = claims.sub; jti = claims.jti; name = claims.name; email = claims.email; svc = claims.svc; aud = claims.aud
            iat = claims.iat; nbf = claims.nbf; exp = claims.exp
        }
    }

    public init(capacity: Int = 16_384) {
        self.capacity = capacity
    }

    /// The claims of an already verified `token` for `codec`'s issuer and audience, if it is here.
    public func claims(for token: String, codec: JWTCodec) -> JWTClaims? {
        let key = TokenDigest(token)
        guard let e = entries.read({ $0[key] }) else { return nil }
        return JWTClaims(iss: codec.issuer, aud: e.aud, sub: e.sub, jti: e.jti, iat: e.iat, nbf: e.nbf, exp: e.exp,
                         svc: e.svc, name: e.name, email: e.email)
    }

    /// Remembers that `token` verified to `claims`.
    public func insert(_ token: String, _ claims: JWTClaims) {
        guard capacity > 0 else { return }
        let key = TokenDigest(token)
        let entry = Entry(claims)
        entries.write { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[key] = entry
        }
    }

    /// How many tokens are kept now.
    public var count: Int { entries.read { $0.count } }
}

extension JWTCodec {
    /// The claims of `token` at `now` for the host at origin `host`, or nil for any refusal: the signature from `cache`
    /// when it has seen the token, verified now (and remembered) otherwise; times and audience are checked either way.
    public func verifiedClaims(_ token: String, now: Int64, host: String?, cache: VerifiedTokenCache?) -> JWTClaims? {
        if let cached = cache?.claims(for: token, codec: self) {
            return (try? check(cached, now: now, host: host)) == nil ? nil : cached
        }
        guard let claims = try? verifySignature(token) else { return nil }
        // Remembered once the signature is good, whichever host asked: the audience is checked on every use.
        cache?.insert(token, claims)
        guard (try? check(claims, now: now, host: host)) != nil else { return nil }
        return claims
    }
}
