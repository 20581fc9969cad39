import SSOCrypto

/// One signing or verification key, named by its `kid` and bound to exactly one algorithm.
public struct JWTKey: Sendable {
    enum Material: @unchecked Sendable {
        case asymmetric(PKey)
        case secret([UInt8])
    }

    /// The key id carried in the token header.
    public let kid: String
    /// The only algorithm this key accepts; a header naming any other is refused.
    public let algorithm: JWTAlgorithm
    let material: Material

    /// An Ed25519 or P-256 key; the algorithm follows from the curve.
    public init(kid: String, key: PKey) {
        self.kid = kid
        self.algorithm = key.kind == .ed25519 ? .eddsa : .es256
        self.material = .asymmetric(key)
    }

    /// An HS256 shared secret. Throws when shorter than 32 bytes (RFC 7518 §3.2).
    public init(kid: String, hmacSecret: [UInt8]) throws {
        guard hmacSecret.count >= 32 else { throw CryptoError("load HS256 secret", reason: "shorter than 32 bytes") }
        self.kid = kid
        self.algorithm = .hs256
        self.material = .secret(hmacSecret)
    }

    /// True when this key can sign (a private key or a shared secret).
    public var canSign: Bool {
        switch material {
        case .asymmetric(let key): return key.hasPrivate
        case .secret: return true
        }
    }

    /// The raw signature over `signingInput` (`base64url(header).base64url(payload)`).
    public func sign(_ signingInput: [UInt8]) throws -> [UInt8] {
        switch material {
        case .asymmetric(let key): return try key.sign(signingInput)
        case .secret(let secret): return Digest.hmacSHA256(key: secret, data: signingInput)
        }
    }

    /// Checks a raw signature; constant-time for HS256.
    public func verify(_ signature: [UInt8], signingInput: [UInt8]) -> Bool {
        switch material {
        case .asymmetric(let key): return key.verify(signature, message: signingInput)
        case .secret(let secret):
            return Digest.constantTimeEqual(Digest.hmacSHA256(key: secret, data: signingInput), signature)
        }
    }
}
