import SSOCrypto
import SSOJWT

/// Fixed keys and a codec for the JWT targets: the Ed25519 pair of RFC 8037 §A.1 and a 32-byte HS256 secret, so a
/// token in the corpus verifies on every run.
enum FuzzKeys {
    static let issuer = "https://accounts.example.test"
    static let audience = "sso"
    /// The origin the verifying host is at (`aud` must name it).
    static let host = "https://app.example.test"
    /// The time every target checks at, seconds since 1970 (2023-11-14).
    static let now: Int64 = 1_700_000_000

    static let edPrivate: PKey = key { try PKey.ed25519(privateRaw: Base64URL.decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A") ?? []) }
    static let edPublic: PKey = key { try PKey.ed25519(publicRaw: Base64URL.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo") ?? []) }
    static let secret = Array("fuzz-secret-0123456789abcdef-0123".utf8)

    /// Verifies `ed-1` (EdDSA) and `hs-1` (HS256), as an app host with both kinds configured would.
    static let verifier = JWTCodec(keys: keySet { try JWTKeySet(keys: [JWTKey(kid: "ed-1", key: edPublic),
                                                                        JWTKey(kid: "hs-1", hmacSecret: secret)]) },
                                   issuer: issuer, audience: audience)
    /// Signs with `ed-1`: makes the corpus tokens.
    static let signer = JWTCodec(keys: keySet { try JWTKeySet(keys: [JWTKey(kid: "ed-1", key: edPrivate)], signingKID: "ed-1") },
                                 issuer: issuer, audience: audience)

    private static func key(_ make: () throws -> PKey) -> PKey {
        do { return try make() } catch { FuzzCheck.fail("fixed fuzz key does not load: \(error)") }
    }

    private static func keySet(_ make: () throws -> JWTKeySet) -> JWTKeySet {
        do { return try make() } catch { FuzzCheck.fail("fixed fuzz key set does not load: \(error)") }
    }
}
