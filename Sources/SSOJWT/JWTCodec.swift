import FoundationEssentials
import Glibc
import SSOCrypto

/// Makes and verifies compact JWS tokens strictly: header `alg` must equal the `kid`'s key algorithm, `crit` is refused,
/// base64url is canonical, and `exp`, `nbf`, `iss`, `aud` are checked against the time passed in.
public struct JWTCodec: Sendable {
    /// Clock skew tolerated on `exp` and `nbf`, in seconds. Default: 30.
    public static let defaultLeeway: Int64 = 30
    /// Longest token accepted, in bytes. Default: 8,192 (a cookie cannot carry much more anyway).
    public static let maxTokenLength = 8192

    public let keys: JWTKeySet
    public let issuer: String
    /// The realm every token must name in `aud` (the config's `audience`).
    public let audience: String
    public let leeway: Int64

    public init(keys: JWTKeySet, issuer: String, audience: String, leeway: Int64 = JWTCodec.defaultLeeway) {
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
    }

    private struct Header: Codable {
        var alg: String
        var kid: String?
        var typ: String?
        var crit: [String]?
    }

    /// Signs `claims` with the signing key.
    public func sign(_ claims: JWTClaims) throws -> String {
        guard let kid = keys.signingKID, let key = keys.keys[kid] else { throw JWTError(.cannotSign("no signing key")) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let header = try encoder.encode(Header(alg: key.algorithm.rawValue, kid: kid, typ: "JWT", crit: nil))
        let payload = try encoder.encode(claims)
        let signingInput = Base64URL.encode(Array(header)) + "." + Base64URL.encode(Array(payload))
        let signature = try key.sign(Array(signingInput.utf8))
        return signingInput + "." + Base64URL.encode(signature)
    }

    /// Verifies `token` at `now` (seconds since 1970) for the host at origin `host` (nil: any host of the realm) and
    /// returns its claims, or throws `JWTError`.
    public func verify(_ token: String, now: Int64, host: String? = nil) throws -> JWTClaims {
        let claims = try verifySignature(token)
        try check(claims, now: now, host: host)
        return claims
    }

    /// Signature, header, issuer and audience only, whatever the time: who an expired token belonged to
    /// (request caching binds a kept request to that user). Never a reason to let anyone in.
    public func verifySignature(_ token: String) throws -> JWTClaims {
        let bytes = Array(token.utf8)
        guard bytes.count <= Self.maxTokenLength else { throw JWTError(.malformed("too long")) }
        let parts = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        guard parts.count == 3 else { throw JWTError(.malformed("expected 3 parts")) }
        guard let headerBytes = Base64URL.decode(parts[0]), let payloadBytes = Base64URL.decode(parts[1]),
              let signature = Base64URL.decode(parts[2]) else {
            throw JWTError(.malformed("bad base64url"))
        }
        guard let header = try? JSONDecoder().decode(Header.self, from: Data(headerBytes)) else {
            throw JWTError(.malformed("bad header"))
        }
        guard header.crit == nil else { throw JWTError(.malformed("crit is not supported")) }
        guard let kid = header.kid else { throw JWTError(.malformed("no kid")) }
        guard let key = keys.keys[kid] else { throw JWTError(.unknownKID(kid)) }
        guard header.alg == key.algorithm.rawValue else {
            throw JWTError(.algorithmMismatch(header: header.alg, key: key.algorithm.rawValue))
        }
        let signingInput = Array(bytes[0..<(parts[0].count + 1 + parts[1].count)])
        guard key.verify(signature, signingInput: signingInput) else { throw JWTError(.badSignature) }
        guard let claims = try? JSONDecoder().decode(JWTClaims.self, from: Data(payloadBytes)) else {
            throw JWTError(.malformed("bad claims"))
        }
        guard claims.iss == issuer else { throw JWTError(.wrongIssuer) }
        guard claims.aud.contains(audience) else { throw JWTError(.wrongAudience) }
        return claims
    }

    /// The time and audience checks alone, for claims whose signature is already known to be good. `host`, when given,
    /// must be named in `aud` as well as the realm: the origin of the host the token is presented to.
    public func check(_ claims: JWTClaims, now: Int64, host: String? = nil) throws {
        // Leeway is added on the side of `now` (a clock reading), never to a claim: a signed exp near Int64.max must
        // not overflow.
        guard now - leeway < claims.exp else { throw JWTError(.expired) }
        guard now + leeway >= claims.nbf else { throw JWTError(.notYetValid) }
        guard claims.iss == issuer else { throw JWTError(.wrongIssuer) }
        guard claims.aud.contains(audience) else { throw JWTError(.wrongAudience) }
        if let host, !claims.aud.contains(host) { throw JWTError(.wrongAudience) }
        guard !claims.jti.isEmpty else { throw JWTError(.missingClaim("jti")) }
        guard !claims.sub.isEmpty else { throw JWTError(.missingClaim("sub")) }
    }
}
