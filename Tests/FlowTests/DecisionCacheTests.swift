import Testing
@testable import AppAuthFCGI
@testable import FastCGI
@testable import SSOCore
@testable import SSOJWT

/// X-Accel-Expires on the check's answers (decision_cache.seconds): how long nginx may keep a 200, never past the
/// session's idle deadline, its absolute expiry or the token's exp, and 0 on every other answer.
@Suite struct DecisionCacheTests {
    let infusion = "infusion.iqueue.test"

    func expires(_ r: HTTPResponse) -> String? { r.header(.xAccelExpires) }

    /// A world with the cache at `seconds`, alice signed in to infusion: the world, her token, and when she signed in.
    func signedIn(lastAccessInterval: Int, seconds: Int = 5) throws -> (World, String, Int64) {
        let w = try World(lastAccessInterval: lastAccessInterval, extraConfig: seconds > 0 ? "decision_cache: {seconds: \(seconds)}" : "")
        let at = w.now
        return (w, try w.appCookie(infusion, user: "alice", password: "wonderland").app, at)
    }

    func check(_ w: World, _ jwt: String) -> HTTPResponse { w.check(infusion, "/", cookies: ["__Host-sso": jwt]) }

    @Test func offTheCheckSaysNothingOnA200AndZeroOnRefusals() throws {
        let (w, jwt, _) = try signedIn(lastAccessInterval: 0, seconds: 0)
        let ok = check(w, jwt)
        #expect(ok.status == 200 && expires(ok) == nil)
        let no = w.check(infusion, "/", cookies: [:])
        #expect(no.status == 401 && expires(no) == "0")
    }

    @Test func onA200MayBeKeptForTheConfiguredSeconds() throws {
        let (w, jwt, _) = try signedIn(lastAccessInterval: 0)
        let ok = check(w, jwt)
        #expect(ok.status == 200 && expires(ok) == "5")
        // Every refusal says 0: no cookie, a bad token, a requestID in the URL, the store down.
        #expect(expires(w.check(infusion, "/", cookies: [:])) == "0")
        #expect(expires(w.check(infusion, "/", cookies: ["__Host-sso": "not.a.token"])) == "0")
        #expect(expires(w.check(infusion, "/?requestID=0f0e0d0c-0b0a-4908-8706-050403020100", cookies: ["__Host-sso": jwt])) == "0")
        w.memory.isDown = true
        let down = check(w, jwt)
        #expect(down.status == 401 && expires(down) == "0")
        // A site that is not registered: the 403 that asks @sso_replay for the explanation page.
        let unregistered = w.check("elsewhere.iqueue.test", "/", cookies: ["__Host-sso": jwt])
        #expect(unregistered.status == 403 && unregistered.header(.ssoRoute) == "page" && expires(unregistered) == "0")
    }

    /// LAST_ACCESSED_TIME written at most every 899 s (the longest the config allows below infusion's idle timeout of
    /// 900 s): through the checks below, 890 to 898 s after sign-in, the idle deadline stays at sign-in + 900 s, and the
    /// answer may be kept only until one second before it.
    @Test func neverPastTheIdleDeadline() throws {
        let (w, jwt, at) = try signedIn(lastAccessInterval: 899)
        var seen: [Int64: String?] = [:]
        for left in [10, 6, 5, 3, 2] as [Int64] {
            w.now = at + 900 - left
            let r = check(w, jwt)
            #expect(r.status == 200, "left \(left)")
            seen[left] = expires(r)
        }
        #expect(seen == [10: "5", 6: "5", 5: "4", 3: "2", 2: "1"])
        w.now = at + 900
        let idle = check(w, jwt)
        #expect(idle.status == 401 && expires(idle) == "0")
    }

    /// Used every 800 s, the session lives to its absolute end (sessions.lifetime 7200 s); the answer is kept no longer.
    @Test func neverPastTheAbsoluteEnd() throws {
        let (w, jwt, at) = try signedIn(lastAccessInterval: 0)
        while w.now + 800 < at + 7200 - 3 {
            w.now += 800
            #expect(check(w, jwt).status == 200)
        }
        w.now = at + 7200 - 3
        let late = check(w, jwt)
        #expect(late.status == 200 && expires(late) == "2")
        w.now = at + 7200 - 1
        #expect(expires(check(w, jwt)) == "0")
    }

    /// Each end on its own, with the clock passed in: the idle deadline, the session's expiry and the token's exp.
    @Test func theNearestEndDecides() {
        let now: Int64 = 1_000_000
        func identity(last: Int64 = now, timeout: Int64 = 900, expiresAt: Int64 = now + 3600, exp: Int64 = now + 3600) -> SessionCheck.Identity {
            let session = JWTSession(user: "alice", lastAccessedTime: last, sessionTimeout: timeout, fingerprint: "f",
                                     created: now - 10, expiresAt: expiresAt)
            let claims = JWTClaims(iss: "https://accounts.example", aud: ["https://app.example"], sub: "alice", jti: "j", iat: now - 10,
                                   nbf: now - 10, exp: exp, svc: ["app"], name: "Alice", email: "a@example")
            return SessionCheck.Identity(claims: claims, session: session, token: "t")
        }
        #expect(identity().decisionCacheSeconds(limit: 5, now: now) == 5)
        #expect(identity().decisionCacheSeconds(limit: 1, now: now) == 1)
        #expect(identity().decisionCacheSeconds(limit: 0, now: now) == 0)
        #expect(identity(last: now - 897).decisionCacheSeconds(limit: 5, now: now) == 2)
        #expect(identity(expiresAt: now + 4).decisionCacheSeconds(limit: 5, now: now) == 3)
        #expect(identity(exp: now + 3).decisionCacheSeconds(limit: 5, now: now) == 2)
        #expect(identity(exp: now + 1).decisionCacheSeconds(limit: 5, now: now) == 0)
        #expect(identity(expiresAt: now - 5).decisionCacheSeconds(limit: 5, now: now) == 0)
    }
}
