import Testing
@testable import SSOCrypto
@testable import SSOJWT

/// The published JWS vectors: our primitives must produce and accept exactly these bytes.
@Suite struct JWTVectorTests {
    @Test func rfc7515AppendixA1HS256() throws {
        let key = try #require(Base64URL.decode("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"))
        let input = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
        let jwk = try JWTKey(kid: "hs", hmacSecret: key)
        let signature = try jwk.sign(Array(input.utf8))
        #expect(Base64URL.encode(signature) == "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        #expect(jwk.verify(signature, signingInput: Array(input.utf8)))
        var wrong = signature
        wrong[0] ^= 1
        #expect(!jwk.verify(wrong, signingInput: Array(input.utf8)))
    }

    @Test func rfc8037AppendixA4Ed25519() throws {
        let d = try #require(Base64URL.decode("nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"))
        let x = try #require(Base64URL.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"))
        let input = Array("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc".utf8)
        let expected = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
        let signer = JWTKey(kid: "ed", key: try PKey.ed25519(privateRaw: d))
        #expect(signer.algorithm == .eddsa)
        #expect(Base64URL.encode(try signer.sign(input)) == expected)
        let verifier = JWTKey(kid: "ed", key: try PKey.ed25519(publicRaw: x))
        #expect(!verifier.canSign)
        #expect(verifier.verify(try #require(Base64URL.decode(expected)), signingInput: input))
        #expect(!verifier.verify(try #require(Base64URL.decode(expected)), signingInput: input + [0x20]))
    }
}
