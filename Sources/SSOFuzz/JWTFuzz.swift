import SSOCrypto
import SSOJWT

/// Tokens from a cookie (`jwt`), and claims past a good signature (`jwt-claims`): what an attacker sends, and what a
/// key holder could sign.
enum JWTFuzz {
    static let token = FuzzTarget(
        name: "jwt",
        covers: "JWTCodec.verify/verifySignature/verifiedClaims (with VerifiedTokenCache) and Base64URL on a token as sent",
        maxLength: JWTCodec.maxTokenLength + 64,
        dictionary: [".", "..", "=", "+", "/"] + [#"{"alg":"EdDSA","kid":"ed-1","typ":"JWT"}"#, #"{"alg":"HS256","kid":"hs-1"}"#,
                                                  #"{"alg":"none","kid":"ed-1"}"#].map(Base64URL.encode),
        run: { bytes in checkToken(FuzzInput.text(bytes)) })

    static let claims = FuzzTarget(
        name: "jwt-claims",
        covers: "the same, on tokens the fuzzer's header and payload JSON are signed into (HS256 and EdDSA): claims decoding and the time and audience checks; JWTCodec.check over any three times",
        maxLength: 4096,
        dictionary: ["\"iss\"", "\"aud\"", "\"sub\"", "\"jti\"", "\"iat\"", "\"nbf\"", "\"exp\"", "\"svc\"", "\"name\"",
                     "\"email\"", "\"alg\"", "\"kid\"", "\"typ\"", "\"crit\"", "\"EdDSA\"", "\"HS256\"", "\"ES256\"",
                     "\"ed-1\"", "\"hs-1\"", "\"\(FuzzKeys.audience)\"", "\"\(FuzzKeys.issuer)\"", "\"\(FuzzKeys.host)\"", "\u{0}"]
            + FuzzWords.numbers + FuzzWords.json,
        binaryWords: FuzzWords.int64Extremes,
        run: { bytes in
            let fields = bytes.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
            let header = fields.count == 2 ? Array(fields[0]) : Array(#"{"alg":"HS256","kid":"hs-1","typ":"JWT"}"#.utf8)
            let payload = Array(fields.count == 2 ? fields[1] : fields[0])
            let signingInput = Array((Base64URL.encode(header) + "." + Base64URL.encode(payload)).utf8)
            let hmac = Digest.hmacSHA256(key: FuzzKeys.secret, data: signingInput)
            checkToken(String(decoding: signingInput, as: UTF8.self) + "." + Base64URL.encode(hmac))
            if let signature = try? FuzzKeys.edPrivate.sign(signingInput) {
                checkToken(String(decoding: signingInput, as: UTF8.self) + "." + Base64URL.encode(signature))
            }
            checkTimes(bytes)
        })

    /// `JWTCodec.check` over three times taken from the input's first 24 bytes (iat, nbf, exp, big-endian): libFuzzer's
    /// integer mutations reach the extremes that JSON digits rarely do, and the verdict must be exactly "within the times".
    static func checkTimes(_ bytes: [UInt8]) {
        guard bytes.count >= 24 else { return }
        func int64(at i: Int) -> Int64 { bytes[i..<(i + 8)].reduce(0) { $0 << 8 | Int64($1) } }
        let claims = JWTClaims(iss: FuzzKeys.issuer, aud: [FuzzKeys.audience, FuzzKeys.host], sub: "alice", jti: "t",
                               iat: int64(at: 0), nbf: int64(at: 8), exp: int64(at: 16), svc: [], name: "", email: "")
        let codec = FuzzKeys.verifier, now = FuzzKeys.now
        let passed = (try? codec.check(claims, now: now, host: FuzzKeys.host)) != nil
        FuzzCheck.require(passed == (claims.exp > now - codec.leeway && claims.nbf <= now + codec.leeway),
                          "the time check disagrees with exp and nbf")
    }

    /// Small, so the "full: start again empty" path runs too.
    static let cache = VerifiedTokenCache(capacity: 64)

    /// Every way the product verifies `token` must agree, twice (the second answer comes from the cache).
    static func checkToken(_ token: String) {
        let codec = FuzzKeys.verifier
        let now = FuzzKeys.now
        let signed = try? codec.verifySignature(token)
        let verified = try? codec.verify(token, now: now, host: FuzzKeys.host)
        let anyHost = try? codec.verify(token, now: now)
        FuzzCheck.require(verified == nil || signed == verified, "verify passed where verifySignature did not agree")
        FuzzCheck.require(verified == nil || anyHost == verified, "a token for this host failed for any host")
        for round in 1...2 {
            let cached = codec.verifiedClaims(token, now: now, host: FuzzKeys.host, cache: cache)
            FuzzCheck.require(cached == verified, "verifiedClaims (round \(round)) disagrees with verify")
        }
        if let verified {
            FuzzCheck.require(verified.exp > now - codec.leeway && verified.nbf <= now + codec.leeway, "an expired token passed")
            FuzzCheck.require(verified.aud.contains(FuzzKeys.audience) && verified.aud.contains(FuzzKeys.host), "wrong audience passed")
            _ = verified.addressed(to: "https://other.example.test", realm: FuzzKeys.audience, now: now)
        }
        for part in token.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false) {
            if let decoded = Base64URL.decode(part) {
                FuzzCheck.require(Base64URL.encode(decoded) == String(decoding: part, as: UTF8.self), "base64url is not canonical")
            }
        }
    }
}
