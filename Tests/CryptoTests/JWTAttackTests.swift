import Foundation
import Testing
@testable import SSOCrypto
@testable import SSOJWT

/// One test per attack on token verification. Each asserts the exact refusal, so a test cannot pass by accident.
@Suite struct JWTAttackTests {
    let now: Int64 = 1_000_000

    func refusal(_ token: String, _ codec: JWTCodec = TestKeys.verifier(), at time: Int64? = nil) -> JWTError.Reason? {
        do {
            _ = try codec.verify(token, now: time ?? now)
            return nil
        } catch let error as JWTError {
            return error.reason
        } catch {
            return .malformed("unexpected \(error)")
        }
    }

    func parts(_ token: String) -> [String] { token.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }

    func header(_ json: String) -> String { Base64URL.encode(json) }

    @Test func validTokenRoundTrips() throws {
        let token = try TestKeys.signer().sign(TestKeys.claims(now: now))
        #expect(try TestKeys.verifier().verify(token, now: now) == TestKeys.claims(now: now))
        #expect(refusal(token) == nil)
    }

    @Test func algNoneIsRefused() throws {
        let p = parts(try TestKeys.signer().sign(TestKeys.claims(now: now)))
        for alg in ["none", "None", "NONE", ""] {
            let h = header("{\"alg\":\"\(alg)\",\"kid\":\"ed-1\"}")
            #expect(refusal(h + "." + p[1] + ".") == .algorithmMismatch(header: alg, key: "EdDSA"))
        }
        #expect(refusal(header("{\"alg\":\"none\"}") + "." + p[1] + ".") == .malformed("no kid"))
    }

    @Test func algorithmConfusionHS256WithThePublicKeyIsRefused() throws {
        let p = parts(try TestKeys.signer().sign(TestKeys.claims(now: now)))
        let h = header("{\"alg\":\"HS256\",\"kid\":\"ed-1\"}")
        let mac = Digest.hmacSHA256(key: Array("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo".utf8), data: Array((h + "." + p[1]).utf8))
        #expect(refusal(h + "." + p[1] + "." + Base64URL.encode(mac)) == .algorithmMismatch(header: "HS256", key: "EdDSA"))
    }

    @Test func unknownKidIsRefused() throws {
        let token = try TestKeys.signer(kid: "ed-9").sign(TestKeys.claims(now: now))
        #expect(refusal(token) == .unknownKID("ed-9"))
    }

    @Test func tamperedPayloadAndSignatureAreRefused() throws {
        let p = parts(try TestKeys.signer().sign(TestKeys.claims(now: now)))
        var claims = TestKeys.claims(now: now)
        claims.sub = "mallory"
        let forged = Base64URL.encode(Array(try JSONEncoder().encode(claims)))
        #expect(refusal(p[0] + "." + forged + "." + p[2]) == .badSignature)
        var sig = Base64URL.decode(p[2])!
        sig[10] ^= 0x80
        #expect(refusal(p[0] + "." + p[1] + "." + Base64URL.encode(sig)) == .badSignature)
        #expect(refusal(p[0] + "." + p[1] + "." + Base64URL.encode(Array(sig.prefix(63)))) == .badSignature)
    }

    @Test func expiryAndNotBeforeUseTheLeeway() throws {
        let token = try TestKeys.signer().sign(TestKeys.claims(now: now, lifetime: 100))
        #expect(refusal(token, at: now + 100 + JWTCodec.defaultLeeway - 1) == nil)
        #expect(refusal(token, at: now + 100 + JWTCodec.defaultLeeway) == .expired)
        #expect(refusal(token, at: now - JWTCodec.defaultLeeway) == nil)
        #expect(refusal(token, at: now - JWTCodec.defaultLeeway - 1) == .notYetValid)
    }

    @Test func wrongIssuerAndAudienceAreRefused() throws {
        let token = try TestKeys.signer().sign(TestKeys.claims(now: now))
        let keys = try JWTKeySet(keys: [JWTKey(kid: "ed-1", key: TestKeys.edPublic)])
        #expect(refusal(token, JWTCodec(keys: keys, issuer: "https://other.test", audience: "sso")) == .wrongIssuer)
        #expect(refusal(token, JWTCodec(keys: keys, issuer: "https://accounts.example.test", audience: "other")) == .wrongAudience)
    }

    @Test func aTokenIsForItsOwnHostOnly() throws {
        let codec = TestKeys.verifier()
        let token = try TestKeys.signer().sign(TestKeys.claims(now: now))  // aud: the realm and https://app.example.test
        #expect((try? codec.verify(token, now: now, host: "https://app.example.test")) != nil)
        do {
            _ = try codec.verify(token, now: now, host: "https://other.example.test")
            Issue.record("a token for one host was accepted on another")
        } catch let error as JWTError {
            #expect(error.reason == .wrongAudience)
        }
        // The cache remembers the signature, never the audience: a hit on another host is still refused.
        let cache = VerifiedTokenCache()
        #expect(codec.verifiedClaims(token, now: now, host: "https://app.example.test", cache: cache) != nil)
        #expect(codec.verifiedClaims(token, now: now, host: "https://other.example.test", cache: cache) == nil)
        // A single-string aud (RFC 7519 allows it) reads as a list of one.
        let json = Array(#"{"iss":"i","aud":"sso","sub":"s","jti":"j","iat":1,"nbf":1,"exp":2,"svc":[],"name":"","email":""}"#.utf8)
        #expect(try JSONDecoder().decode(JWTClaims.self, from: Data(json)).aud == ["sso"])
    }

    @Test func nonCanonicalBase64AndShapeAreRefused() throws {
        let token = try TestKeys.signer().sign(TestKeys.claims(now: now))
        let p = parts(token)
        #expect(refusal(token + "=") == .malformed("bad base64url"))
        #expect(refusal(p[0] + "=." + p[1] + "." + p[2]) == .malformed("bad base64url"))
        #expect(refusal("+" + p[0].dropFirst() + "." + p[1] + "." + p[2]) == .malformed("bad base64url"))
        #expect(refusal(p[0] + "." + p[1]) == .malformed("expected 3 parts"))
        #expect(refusal(token + ".x") == .malformed("expected 3 parts"))
        #expect(refusal("") == .malformed("expected 3 parts"))
        #expect(refusal(String(repeating: "a", count: 9000)) == .malformed("too long"))
        #expect(refusal(header("not json") + "." + p[1] + "." + p[2]) == .malformed("bad header"))
    }

    @Test func critHeaderIsRefused() throws {
        let p = parts(try TestKeys.signer().sign(TestKeys.claims(now: now)))
        let h = header("{\"alg\":\"EdDSA\",\"kid\":\"ed-1\",\"crit\":[\"exp\"]}")
        #expect(refusal(h + "." + p[1] + "." + p[2]) == .malformed("crit is not supported"))
    }

    /// A signed `exp` near Int64.max made `exp + leeway` overflow and trap (fuzz/regressions/jwt-claims/exp-int64-max):
    /// any time a key holder signs is judged, never a crash.
    @Test func extremeTimesAreJudgedNotTrappedOn() throws {
        func signed(exp: Int64, nbf: Int64) throws -> String {
            var claims = TestKeys.claims(now: now)
            claims.exp = exp
            claims.nbf = nbf
            return try TestKeys.signer().sign(claims)
        }
        #expect(refusal(try signed(exp: .max, nbf: .min)) == nil)
        #expect(refusal(try signed(exp: .max - JWTCodec.defaultLeeway + 1, nbf: now)) == nil)
        #expect(refusal(try signed(exp: .min, nbf: now)) == .expired)
        #expect(refusal(try signed(exp: .max, nbf: .max)) == .notYetValid)
    }

    @Test func rotationVerifiesOldAndNewKeys() throws {
        let es = try PKey.privateKey(pem: Array(TestPEM.p256Private.utf8))
        let esPublic = try PKey.publicKey(pem: Array(TestPEM.p256Public.utf8))
        #expect(es.kind == .p256 && esPublic.kind == .p256)
        let old = try TestKeys.signer().sign(TestKeys.claims(now: now))
        let newSigner = JWTCodec(keys: try JWTKeySet(keys: [JWTKey(kid: "es-2", key: es)], signingKID: "es-2"),
                                 issuer: "https://accounts.example.test", audience: "sso")
        let new = try newSigner.sign(TestKeys.claims(now: now))
        #expect(Base64URL.decode(parts(new)[2])?.count == 64)
        let both = TestKeys.verifier([JWTKey(kid: "ed-1", key: TestKeys.edPublic), JWTKey(kid: "es-2", key: esPublic)])
        #expect(refusal(old, both) == nil)
        #expect(refusal(new, both) == nil)
        #expect(refusal(new) == .unknownKID("es-2"))
        // An ES256 signature under the EdDSA kid: the header alg does not match that key.
        let swapped = header("{\"alg\":\"ES256\",\"kid\":\"ed-1\"}") + "." + parts(new)[1] + "." + parts(new)[2]
        #expect(refusal(swapped, both) == .algorithmMismatch(header: "ES256", key: "EdDSA"))
    }

    @Test func publicKeysCannotSign() throws {
        #expect(throws: JWTError.self) { try JWTKeySet(keys: [JWTKey(kid: "p", key: TestKeys.edPublic)], signingKID: "p") }
        #expect(throws: CryptoError.self) { try JWTKey(kid: "short", hmacSecret: Array("too short".utf8)) }
    }
}

/// A P-256 key pair made once with `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256` for tests only.
enum TestPEM {
    static let p256Private = """
    -----BEGIN PRIVATE KEY-----
    MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg3aTkajUXHkpp4cIe
    /YLpOWNlBSVg27Px3pRPcjVxlvChRANCAATXYS2gTIDkyfJPDySskT1Lh/4oAUwF
    JG75y/iRveG20KAe7ifHMZ8IKORyGRfD4EuJxI1z1T0nt9FsOPfbQH30
    -----END PRIVATE KEY-----
    """
    static let p256Public = """
    -----BEGIN PUBLIC KEY-----
    MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE12EtoEyA5MnyTw8krJE9S4f+KAFM
    BSRu+cv4kb3httCgHu4nxzGfCCjkchkXw+BLicSNc9U9J7fRbDj320B99A==
    -----END PUBLIC KEY-----
    """
}

/// The verified-signature cache must never turn a forged or expired token into a valid one.
@Suite struct VerifiedTokenCacheTests {
    @Test func cachedTokensStillExpireAndForgeriesMiss() throws {
        let now: Int64 = 1_000_000
        let codec = TestKeys.verifier()
        let cache = VerifiedTokenCache()
        let token = try TestKeys.signer().sign(TestKeys.claims(now: now, lifetime: 100))
        #expect(codec.verifiedClaims(token, now: now, host: nil, cache: cache) != nil)
        #expect(cache.count == 1)
        #expect(codec.verifiedClaims(token, now: now + 100 + JWTCodec.defaultLeeway, host: nil, cache: cache) == nil)  // expiry still checked on a hit
        let parts = token.split(separator: ".").map(String.init)
        var forged = TestKeys.claims(now: now, lifetime: 100)
        forged.sub = "mallory"
        let forgedToken = parts[0] + "." + Base64URL.encode(Array(try JSONEncoder().encode(forged))) + "." + parts[2]
        #expect(codec.verifiedClaims(forgedToken, now: now, host: nil, cache: cache) == nil)  // same signature, other payload: verified, refused
        #expect(cache.count == 1)                                                   // failures are not kept
        // Signed by a key this host trusts, for another issuer (a key shared between realms, an accounts URL changed
        // with its key kept): refused, and never remembered. A hit rebuilds the claims with this codec's issuer, so a
        // token once remembered would pass every later check.
        var elsewhere = TestKeys.claims(now: now, lifetime: 100, jti: "tok-other-realm")
        elsewhere.iss = "https://accounts.other-realm.test"
        let foreign = try TestKeys.signer().sign(elsewhere)
        #expect(codec.verifiedClaims(foreign, now: now, host: nil, cache: cache) == nil)
        #expect(codec.verifiedClaims(foreign, now: now, host: nil, cache: cache) == nil)
        #expect(cache.count == 1)
        let small = VerifiedTokenCache(capacity: 2)
        for i in 0..<5 { small.insert("t\(i)", TestKeys.claims(now: now)) }
        #expect(small.count <= 2)
    }
}
