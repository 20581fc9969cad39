@testable import SSOCrypto
@testable import SSOJWT

/// Keys and a codec for tests: an Ed25519 pair (RFC 8037's), a generated-by-OpenSSL-at-test-time P-256 pair is not needed.
enum TestKeys {
    static let edPrivate = try! PKey.ed25519(privateRaw: Base64URL.decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A")!)
    static let edPublic = try! PKey.ed25519(publicRaw: Base64URL.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo")!)
    static let secret = Array("0123456789abcdef0123456789abcdef".utf8)

    static func signer(kid: String = "ed-1") -> JWTCodec {
        JWTCodec(keys: try! JWTKeySet(keys: [JWTKey(kid: kid, key: edPrivate)], signingKID: kid),
                 issuer: "https://accounts.example.test", audience: "sso")
    }

    static func verifier(_ keys: [JWTKey] = [JWTKey(kid: "ed-1", key: edPublic)]) -> JWTCodec {
        JWTCodec(keys: try! JWTKeySet(keys: keys), issuer: "https://accounts.example.test", audience: "sso")
    }

    static func claims(now: Int64 = 1_000_000, lifetime: Int64 = 3600, jti: String = "tok-1") -> JWTClaims {
        JWTClaims(iss: "https://accounts.example.test", aud: ["sso", "https://app.example.test"], sub: "alice", jti: jti, iat: now, nbf: now,
                  exp: now + lifetime, svc: ["infusion"], name: "Alice", email: "alice@example.test")
    }
}
