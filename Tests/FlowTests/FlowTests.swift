import Foundation
import Logging
import Testing
@testable import AccountsFCGI
@testable import AppAuthFCGI
@testable import FastCGI
@testable import SSOCore
@testable import SSOCrypto
import SSOJWT
import SSOStore
import SSOTesting

@Suite struct FlowTests {
    let infusion = "https://infusion.iqueue.test:8443"

    @Test func theSeedFlowFromFirstAccessToSecondAccess() throws {
        let w = try World()
        #expect(w.check("infusion.iqueue.test", "/x", cookies: [:]).status == 401)
        let first = w.signin("infusion.iqueue.test", "/x")
        let state = try #require(World.cookie(first, "__Host-sso_state"))
        #expect(first.header(.location) == "https://accounts.iqueue.test:8443/noCookie?redirectURL=" + PercentEncoding.encode(infusion + "/x")
                + "&state=" + state)
        let jwt = try w.signIn("alice", "wonderland", target: infusion + "/x")
        // copyCookie hands out a requestID only with the state the app host sent; without it, back to the app.
        let unbound = w.accountsRequest("/copyCookie?redirectURL=" + PercentEncoding.encode(infusion + "/x"), cookies: ["__Host-sso": jwt])
        #expect(unbound.header(.location) == infusion + "/x")
        let copy = w.accountsRequest("/copyCookie?redirectURL=" + PercentEncoding.encode(infusion + "/x") + "&state=" + state,
                                     cookies: ["__Host-sso": jwt])
        let location = try #require(copy.header(.location))
        #expect(location.hasPrefix(infusion + "/x?requestID="))
        let uri = String(location.dropFirst(infusion.count))
        #expect(w.check("infusion.iqueue.test", uri, cookies: [:]).status == 401)
        // Another browser (no state cookie) is refused with a page, and that burns the requestID.
        let planted = w.signin("infusion.iqueue.test", uri)
        #expect(planted.status == 403 && World.cookie(planted, "__Host-sso") == nil)
        #expect(w.signin("infusion.iqueue.test", uri, cookies: ["__Host-sso_state": state]).header(.location)?.contains("/noCookie?") == true)
        // The browser that started it redeems a fresh one.
        let (fresh, freshState) = try w.requestIDLink(jwt, to: "infusion.iqueue.test", path: "/x")
        let redeemed = w.signin("infusion.iqueue.test", fresh, cookies: ["__Host-sso_state": freshState])
        #expect(redeemed.status == 302 && redeemed.header(.location) == infusion + "/x")
        let appCookie = try #require(World.cookie(redeemed, "__Host-sso"))
        let ok = w.check("infusion.iqueue.test", "/x", cookies: ["__Host-sso": appCookie])
        #expect(ok.status == 200 && ok.header(.xRemoteUser) == "alice" && ok.header(.xRemoteEmail) == "a@x.test")
        #expect(ok.body.isEmpty)
        // Single use.
        #expect(w.signin("infusion.iqueue.test", fresh, cookies: ["__Host-sso_state": freshState]).header(.location)?.contains("/noCookie?") == true)
    }

    @Test func theCommonPathIsOneStoreRoundTrip() throws {
        let w = try World(lastAccessInterval: 60)
        let (jwt, _) = try w.appCookie("infusion.iqueue.test", user: "alice", password: "wonderland")
        w.store.reset()
        for _ in 0..<10 { #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": jwt]).status == 200) }
        #expect(w.store.counts == CountingStore.Counts(gets: 10))
        w.now += 61
        w.store.reset()
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": jwt]).status == 200)
        #expect(w.store.counts == CountingStore.Counts(gets: 1, sets: 1))  // LAST_ACCESSED_TIME written once the interval has passed
    }

    @Test func idleTimeoutIsTheLeastOfTheUsersServices() throws {
        let w = try World(lastAccessInterval: 0)
        let (jwt, accounts) = try w.appCookie("infusion.iqueue.test", user: "alice", password: "wonderland")
        let dextor = try w.handOff(accounts, to: "dextor.leantaas.test")
        for _ in 0..<5 {  // used every 800 s: survives well past 900 s
            w.now += 800
            #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": jwt]).status == 200)
        }
        w.now += 900  // infusion's 900 s, though dextor allows 1800 s
        #expect(w.check("dextor.leantaas.test", "/", cookies: ["__Host-sso": dextor]).status == 401)
    }

    @Test func absoluteLifetimeEndsAnActiveSession() throws {
        let w = try World(lastAccessInterval: 0)
        let (jwt, _) = try w.appCookie("infusion.iqueue.test", user: "alice", password: "wonderland")
        for _ in 0..<8 { w.now += 800; _ = w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": jwt]) }
        // 8 × 800 s = 6400 s: still inside the 7200 s lifetime, and used every 800 s.
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": jwt]).status == 200)
        w.now += 800  // 7200 s since sign-in: the absolute lifetime is over though the session was never idle for long
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": jwt]).status == 401)
    }

    @Test func registrationIsCheckedOnEveryHost() throws {
        let w = try World()
        let jwt = try w.signIn("bob", "builder", target: infusion + "/")
        let copy = w.accountsRequest("/copyCookie?redirectURL=" + PercentEncoding.encode("https://dextor.leantaas.test:8443/"), cookies: ["__Host-sso": jwt])
        #expect(copy.status == 403 && String(decoding: copy.body, as: UTF8.self).contains("No access to Dextor"))
        // bob's infusion cookie at dextor: not this host's token, so the check refuses it and sends him to sign in.
        let infusionCookie = try w.handOff(jwt, to: "infusion.iqueue.test")
        #expect(w.check("dextor.leantaas.test", "/", cookies: ["__Host-sso": infusionCookie]).status == 401)
        #expect(w.signin("dextor.leantaas.test", "/", cookies: ["__Host-sso": infusionCookie]).status == 302)
    }

    /// `state` is the app's, carried through accounts into the link back: anything but a well-formed one is dropped,
    /// never copied into the redirect (where `&redirectURL=…` or a line break would add to or split it).
    @Test func aMalformedStateIsDroppedNotCarried() throws {
        let w = try World()
        let good = PercentEncoding.encode(infusion + "/")
        for state in ["x%26redirectURL%3Dhttps%3A%2F%2Fevil.example%2F", "a%0d%0aSet-Cookie:%20pwn=1", "a%20b", String(repeating: "a", count: 300)] {
            let r = w.accountsRequest("/noCookie?redirectURL=\(good)&state=\(state)")
            let location = try #require(r.header(.location))
            #expect(location == "/copyCookie?redirectURL=\(good)", "\(state): \(location)")
        }
        let state = try #require(World.cookie(w.signin("infusion.iqueue.test", "/"), "__Host-sso_state"))
        #expect(w.accountsRequest("/noCookie?redirectURL=\(good)&state=\(state)").header(.location) == "/copyCookie?redirectURL=\(good)&state=\(state)")
    }

    /// The token's `svc` is checked on every host, not only by copyCookie: a token that names dextor's origin but not
    /// the dextor service (an origin moved to another service in the config, with tokens issued before) is refused
    /// there, though its signature, audience and session are good.
    @Test func aTokenWithoutTheServiceIsRefusedEvenWhenItNamesTheOrigin() throws {
        let w = try World()
        let jwt = try w.signIn("bob", "builder", target: infusion + "/")
        let codec = JWTCodec(keys: try KeyLoader.load(w.config, side: .accounts), issuer: w.config.accountsURL.serialized,
                             audience: w.config.audience)
        var claims = try codec.verifySignature(try w.handOff(jwt, to: "infusion.iqueue.test"))
        #expect(claims.svc == ["infusion"])
        claims.aud.append("https://dextor.leantaas.test:8443")
        let widened = try codec.sign(claims)
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": widened]).status == 200)  // session and signature good
        let before = w.checks(.notRegistered)
        #expect(w.check("dextor.leantaas.test", "/", cookies: ["__Host-sso": widened]).status == 401)
        #expect(w.checks(.notRegistered) == before + 1)
    }

    @Test func anUnregisteredSiteIsRefusedWithAPageOnlyWhereSomeoneReadsIt() throws {
        let w = try World()
        // The auth check's 403 has no body (nginx discards it and asks @sso_replay, which answers with the page).
        let check = w.check("unknown.iqueue.test", "/", cookies: [:])
        #expect(check.status == 403 && check.body.isEmpty)
        for action in ["signin", "replay"] {
            let page = w.signin("unknown.iqueue.test", "/", extra: ["SSO_ACTION": action])
            #expect(page.status == 403 && String(decoding: page.body, as: UTF8.self).contains("not set up for this site"))
        }
    }

    /// The sign-out form's `redirectURL` is another site's to choose (it links to the page): after signing out the
    /// browser goes only to a registered origin, never to one the link named (an open redirect on the accounts host).
    @Test func signOutRedirectsOnlyToRegisteredOrigins() throws {
        let w = try World()
        for (target, allowed) in [("https://evil.example/", false), ("https://infusion.iqueue.test:8443.evil.example/", false),
                                  ("//evil.example/", false), (infusion + "/bye", true)] {
            let jwt = try w.signIn("alice", "wonderland", target: infusion + "/")
            let page = w.accountsRequest("/logout", cookies: ["__Host-sso": jwt])
            let csrf = try #require(World.cookie(page, "__Host-sso_csrf"))
            let out = w.accountsRequest("/logout", method: "POST", cookies: ["__Host-sso": jwt, "__Host-sso_csrf": csrf],
                                        body: "csrf=\(csrf)&redirectURL=\(PercentEncoding.encode(target))")
            #expect(World.cookie(out, "__Host-sso") == "", "\(target): signed out either way")
            if allowed { #expect(out.status == .seeOther && out.header(.location) == target) }
            else { #expect(out.status == .ok && out.header(.location) == nil, "\(target)") }
        }
    }

    /// A user disabled in the users file while memcached does not answer: the reload takes the file, but the sessions
    /// cannot be ended then. They must be ended once memcached answers again, though the file does not change again
    /// (before, they were looked for only at the file's next change, and the disabled user stayed signed in).
    @Test func sessionsAreEndedOnceTheStoreAnswersAfterAnAccessChange() throws {
        let w = try World()
        let (app, _) = try w.appCookie("infusion.iqueue.test", user: "alice", password: "wonderland")
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": app]).status == 200)
        let users = w.accounts.host.users
        let text = try String(contentsOfFile: users.path, encoding: .utf8)
        try text.replacingOccurrences(of: "services: [infusion, dextor]}", with: "services: [infusion, dextor], disabled: true}")
            .write(toFile: users.path, atomically: true, encoding: .utf8)
        let sessions = SessionStore(kv: w.store, prefix: w.config.memcached.prefix)
        w.memory.isDown = true
        users.refresh(sessions: sessions, logger: w.logger, now: w.now)
        #expect(users.current.user("alice")?.disabled == true)  // the file is taken
        w.memory.isDown = false
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": app]).status == 200)  // not yet ended
        users.refresh(sessions: sessions, logger: w.logger, now: w.now)  // the file has not changed since
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": app]).status == 401)
    }

    @Test func fingerprintAndLogout() throws {
        let w = try World()
        let (app, jwt) = try w.appCookie("infusion.iqueue.test", user: "alice", password: "wonderland")
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": app], extra: ["HTTP_USER_AGENT": "other"]).status == 401)
        let out = w.signOut(jwt)
        #expect(out.status == 200 && World.cookie(out, "__Host-sso") == "")
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": app]).status == 401)
    }

    @Test func storeDownFailsClosed() throws {
        let w = try World()
        let (app, jwt) = try w.appCookie("infusion.iqueue.test", user: "alice", password: "wonderland")
        w.memory.isDown = true
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": app]).status == 401)
        let page = w.signin("infusion.iqueue.test", "/", cookies: ["__Host-sso": app])
        #expect(page.status == 503 && page.header(.retryAfter) == "30")
        let api = w.signin("infusion.iqueue.test", "/", cookies: ["__Host-sso": app], extra: ["HTTP_ACCEPT": "application/json"])
        #expect(api.status == 503 && api.header(.contentType) == "application/json")
        #expect(w.accountsRequest("/copyCookie?redirectURL=" + PercentEncoding.encode(infusion + "/"), cookies: ["__Host-sso": jwt]).status == 503)
        w.memory.isDown = false
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": app]).status == 200)
    }

    @Test func loginRefusalsLookAlike() throws {
        let w = try World()
        func attempt(_ user: String, _ password: String) throws -> HTTPResponse {
            let form = w.accountsRequest("/login")
            let csrf = try #require(World.cookie(form, "__Host-sso_csrf"))
            return w.accountsRequest("/login", method: "POST", cookies: ["__Host-sso_csrf": csrf],
                                     body: "csrf=\(csrf)&username=\(user)&password=\(password)")
        }
        let wrong = try attempt("alice", "nope")
        let unknown = try attempt("zed", "nope")
        #expect(wrong.status == unknown.status && wrong.status == 200)
        #expect(String(decoding: wrong.body, as: UTF8.self).contains("The user name or password is incorrect."))
        #expect(String(decoding: unknown.body, as: UTF8.self).contains("The user name or password is incorrect."))
        #expect(World.cookie(wrong, "__Host-sso") == nil)
        for _ in 0..<3 { _ = try attempt("alice", "nope") }
        #expect(try attempt("alice", "nope").status == 200)
        #expect(try attempt("alice", "wonderland").status == 429)  // five failures: even the right password waits
    }

    @Test func secretsNeverReachTheLog() throws {
        let w = try World()
        let sink = LogSink()
        w.logger = sink.logger()
        let jwt = try w.signIn("alice", "wonderland", target: infusion + "/")
        let (link, state) = try w.requestIDLink(jwt, to: "infusion.iqueue.test")
        let requestID = String(link.split(separator: "=").last ?? "")
        let redeemed = w.signin("infusion.iqueue.test", link, cookies: ["__Host-sso_state": state])
        let appToken = try #require(World.cookie(redeemed, "__Host-sso"))  // the app host's own token
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": appToken]).status == 200)
        let form = w.accountsRequest("/login")
        let csrf = try #require(World.cookie(form, "__Host-sso_csrf"))
        let failed = w.accountsRequest("/login", method: "POST", cookies: ["__Host-sso_csrf": csrf],
                                       body: "csrf=\(csrf)&username=alice&password=wrong-password-xyz")
        #expect(failed.status == 200)
        let text = sink.lines.joined(separator: "\n")
        #expect(!text.isEmpty)
        for secret in ["wonderland", "wrong-password-xyz", jwt, appToken, requestID, state, csrf] { #expect(!text.contains(secret)) }
    }
}
