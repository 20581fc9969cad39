import Testing
@testable import AppAuthFCGI
@testable import SSOCore

/// Every way a check ends is counted under its own result, once per check, with its time in the latency histogram.
@Suite struct CheckMetricsTests {
    let infusion = "infusion.iqueue.test"

    @Test func eachOutcomeIsCountedUnderItsResult() throws {
        let w = try World(lastAccessInterval: 0)
        #expect(w.check(infusion, "/", cookies: [:]).status == 401)
        #expect(w.checks(.noCookie) == 1)
        #expect(w.check(infusion, "/", cookies: ["__Host-sso": "not.a.token"]).status == 401)
        #expect(w.checks(.badToken) == 1)

        let (jwt, _) = try w.appCookie(infusion, user: "alice", password: "wonderland")
        #expect(w.check(infusion, "/", cookies: ["__Host-sso": jwt]).status == 200)
        #expect(w.checks(.valid) == 1)
        w.userAgent = "another-browser"
        #expect(w.check(infusion, "/", cookies: ["__Host-sso": jwt]).status == 401)
        #expect(w.checks(.fingerprintMismatch) == 1)
        w.userAgent = "unit-test-browser"

        // bob is not registered for dextor: his token for infusion presented there is refused as not registered.
        let (bobs, _) = try w.appCookie(infusion, user: "bob", password: "builder")
        #expect(w.check("dextor.leantaas.test", "/", cookies: ["__Host-sso": bobs]).status == 401)
        #expect(w.checks(.notRegistered) + w.checks(.badToken) == 2)  // its audience is infusion's: refused either way

        w.now += 900  // infusion's idle timeout
        #expect(w.check(infusion, "/", cookies: ["__Host-sso": jwt]).status == 401)
        #expect(w.checks(.expiredIdle) == 1)

        let (active, _) = try w.appCookie(infusion, user: "alice", password: "wonderland")
        for _ in 0..<9 { w.now += 800; _ = w.check(infusion, "/", cookies: ["__Host-sso": active]) }
        // 7200 s after sign-in: past the absolute lifetime, though used every 800 s.
        #expect(w.checks(.expiredAbsolute) == 1)
        #expect(w.checks(.expiredIdle) == 1)
        // The session is gone now; once the token's own exp (plus the leeway) has passed, the token alone says so.
        #expect(w.check(infusion, "/", cookies: ["__Host-sso": active]).status == 401)
        #expect(w.checks(.noSession) == 1)
        w.now += 3600
        #expect(w.check(infusion, "/", cookies: ["__Host-sso": active]).status == 401)
        #expect(w.checks(.expiredAbsolute) == 2 && w.checks(.badToken) + w.checks(.notRegistered) == 2)

        let total = CheckResult.allCases.reduce(UInt64(0)) { $0 + w.checks($1) }
        #expect(w.metrics.counters.value(MetricsLayout.checkCount) == total)
        let buckets = (0...MetricsLayout.checkBuckets.count).reduce(UInt64(0)) { $0 + w.metrics.counters.value(MetricsLayout.checkHistogram + $1) }
        #expect(buckets == total)
    }

    @Test func aStoreThatCannotAnswerIsCountedAsUnavailable() throws {
        let w = try World()
        let (jwt, _) = try w.appCookie(infusion, user: "alice", password: "wonderland")
        w.memory.isDown = true
        #expect(w.check(infusion, "/", cookies: ["__Host-sso": jwt]).status == 401)
        #expect(w.checks(.storeUnavailable) == 1 && w.checks(.valid) == 0)
    }
}
