/// The JWS algorithms the SSO signs and verifies with. `none` does not exist here.
public enum JWTAlgorithm: String, Sendable, CaseIterable, Codable {
    /// Ed25519 (RFC 8037): the default; app hosts hold only the public key.
    case eddsa = "EdDSA"
    /// ECDSA P-256 with SHA-256 (RFC 7518 §3.4).
    case es256 = "ES256"
    /// HMAC-SHA-256 with a shared secret: every host that verifies can also mint tokens. Use only where that is acceptable.
    case hs256 = "HS256"
}
