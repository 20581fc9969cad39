import Testing
@testable import AppAuthFCGI
@testable import FastCGI
@testable import SSOCore
import SSOTesting

/// Request caching across re-authentication, in-process: capture in `@sso_signin`, sign-in, the check's 403, replay in
/// `@sso_replay` to a recording backend. The clock, the store and the app are the test's.
@Suite struct ReplayFlowTests {
    static let form = "/forms/submit?draft=7"
    static let backend = ["SSO_BACKEND": "http://127.0.0.1:8081"]
    static let sameOrigin = ["HTTP_ORIGIN": "https://infusion.iqueue.test:8443", "HTTP_SEC_FETCH_SITE": "same-origin",
                             "HTTP_X_DRAFT_NOTE": "kept header"]

    /// alice signed in on infusion, then signed out at accounts: the app cookie is there, its session is gone.
    func expiredSession(_ w: World) throws -> String {
        let (app, jwt) = try w.appCookie("infusion.iqueue.test", user: "alice", password: "wonderland")
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": app]).status == 200)
        _ = w.signOut(jwt)
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": app]).status == 401)
        return app
    }

    /// The form sent with the session ended, as nginx's `@sso_signin` passes it: kept, 303 to sign in, replay cookie.
    func submit(_ w: World, cookie: String, body: [UInt8], type: String = "application/x-www-form-urlencoded",
                from origin: [String: String] = sameOrigin) throws -> String {
        var extra = origin
        extra["CONTENT_TYPE"] = type
        let answer = w.appAuth.respond(to: w.request("infusion.iqueue.test", Self.form, method: "POST", cookies: ["__Host-sso": cookie],
                                                     bytes: body, extra: extra), context: w.context)
        #expect(answer.status == .seeOther)
        #expect(answer.header(.location)?.hasPrefix("https://accounts.iqueue.test:8443/noCookie?redirectURL=") == true)
        return try #require(World.cookie(answer, "__Host-sso_replay"))
    }

    /// nginx's `@sso_replay` for the kept request's own URL (on `host`), the browser sending `cookies` too.
    func replay(_ w: World, app: String, replay: String, uri: String = form, host: String = "infusion.iqueue.test",
                cookies: [String: String] = [:]) -> HTTPResponse {
        let sent = cookies.merging(["__Host-sso": app, "__Host-sso_replay": replay]) { $1 }
        return w.appAuth.respond(to: w.request(host, uri, cookies: sent, extra: Self.backend.merging(["SSO_ACTION": "replay"]) { $1 }),
                                 context: w.context)
    }

    func text(_ r: HTTPResponse) -> String { String(decoding: r.body, as: UTF8.self) }

    /// The kept form reaches the app once, byte for byte, with the browser's own cookies but never the SSO's: the
    /// session JWT (`__Host-sso`), the state and replay cookies are credentials an app (or whoever reads its logs) must
    /// not get, as the web server strips them from every request it proxies.
    @Test func keptFormIsDeliveredOnceByteForByte() throws {
        let w = try World()
        let body = Array("name=Zo%C3%AB&tag=a&tag=b&note=caf%C3%A9".utf8)
        let replayCookie = try submit(w, cookie: try expiredSession(w), body: body)
        #expect(w.backend.sent.isEmpty)
        let (app, _) = try w.appCookie("infusion.iqueue.test", user: "alice", password: "wonderland")
        // The check sends a signed-in request with a waiting submission to @sso_replay (403), an ordinary one through.
        let route = w.check("infusion.iqueue.test", Self.form, cookies: ["__Host-sso": app, "__Host-sso_replay": replayCookie])
        #expect(route.status == 403 && route.header(.known("X-SSO-Route")) == "replay")
        // Any other page of the user's goes to the app as usual, and the replay step relays nothing itself.
        #expect(w.check("infusion.iqueue.test", "/elsewhere", cookies: ["__Host-sso": app, "__Host-sso_replay": replayCookie]).status == 200)
        #expect(replay(w, app: app, replay: replayCookie, uri: "/elsewhere").status == .found && w.backend.sent.isEmpty)
        let delivered = replay(w, app: app, replay: replayCookie, cookies: ["theme": "dark", "__Host-sso_state": "pending-state"])
        #expect(delivered.status == .ok && delivered.body == body)
        #expect(World.cookie(delivered, "__Host-sso_replay") == "")
        let sent = try #require(w.backend.sent.first)
        #expect(w.backend.sent.count == 1)
        #expect(sent.method == "POST" && sent.uri == Self.form && sent.body == body)
        let headers = Dictionary(sent.headers.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(headers["x-remote-user"] == "alice" && headers["x-draft-note"] == nil)  // no browser form sends it: not replayed
        #expect(headers["content-type"] == "application/x-www-form-urlencoded")
        let cookie = try #require(headers["cookie"])
        #expect(cookie == "theme=dark", "\(cookie)")  // the app's own cookie, and nothing of the SSO's
        for sso in ["__Host-sso=", "__Host-sso_state=", "__Host-sso_replay="] { #expect(!cookie.contains(sso), "\(sso) sent to the app") }
        // Exactly once: the same replay again delivers nothing; the cookie forgets it, and on to the page (it was
        // delivered: nothing to say about it).
        let again = replay(w, app: app, replay: replayCookie)
        #expect(again.status == .found && World.cookie(again, "__Host-sso_replay") == "" && w.backend.sent.count == 1)
        #expect(!text(again).contains("not kept"))
    }

    @Test func anotherBrowserNeverReceivesIt() throws {
        let w = try World()
        let replayCookie = try submit(w, cookie: try expiredSession(w), body: Array("secret=from-a".utf8))
        w.userAgent = "Another Browser/1.0"
        let (app, _) = try w.appCookie("infusion.iqueue.test", user: "alice", password: "wonderland")
        let r = replay(w, app: app, replay: replayCookie)
        #expect(text(r).contains("another sign-in") && !text(r).contains("from-a"))
        #expect(w.backend.sent.isEmpty)
    }

    @Test func anotherUserNeverReceivesIt() throws {
        let w = try World()
        let replayCookie = try submit(w, cookie: try expiredSession(w), body: Array("secret=alice-only".utf8))
        let (app, _) = try w.appCookie("infusion.iqueue.test", user: "bob", password: "builder")
        let r = replay(w, app: app, replay: replayCookie)
        #expect(text(r).contains("another sign-in") && !text(r).contains("alice-only"))
        #expect(w.backend.sent.isEmpty)
    }

    @Test func tooLargeIsExplainedAndNeverDelivered() throws {
        let w = try World(extraConfig: "request_cache: {max_body_bytes: 1024}")
        let replayCookie = try submit(w, cookie: try expiredSession(w), body: [UInt8](repeating: 0x61, count: 2000))
        let (app, _) = try w.appCookie("infusion.iqueue.test", user: "alice", password: "wonderland")
        let r = replay(w, app: app, replay: replayCookie)
        #expect(r.status == .ok && text(r).contains("Your submission was not kept") && text(r).contains("1 KiB"))
        #expect(w.backend.sent.isEmpty)
    }

    @Test func expiredIsExplainedAndNeverDelivered() throws {
        let w = try World()
        let replayCookie = try submit(w, cookie: try expiredSession(w), body: Array("late=1".utf8))
        w.now += Int64(w.config.requestCache.ttl) + 1
        let (app, _) = try w.appCookie("infusion.iqueue.test", user: "alice", password: "wonderland")
        let r = replay(w, app: app, replay: replayCookie)
        #expect(text(r).contains("time ran out"))
        #expect(w.backend.sent.isEmpty)
    }

    @Test func anAppThatCannotBeReachedKeepsTheSubmission() throws {
        let w = try World()
        let body = Array("kept=through-an-outage".utf8)
        let replayCookie = try submit(w, cookie: try expiredSession(w), body: body)
        let (app, _) = try w.appCookie("infusion.iqueue.test", user: "alice", password: "wonderland")
        w.backend.fail(with: BackendError(message: "cannot connect", beforeSending: true))
        let down = replay(w, app: app, replay: replayCookie)
        #expect(down.status == .badGateway && text(down).contains("still kept"))
        w.backend.fail(with: nil)
        let delivered = replay(w, app: app, replay: replayCookie)
        #expect(delivered.status == .ok && w.backend.sent.map(\.body) == [body])
    }

    /// A flood of forms sent with an expired session must not fill memcached (and push sessions out): one user gets
    /// `max_per_user` kept bodies, after that only a note saying some were already waiting; one client address gets
    /// `max_per_address` records, after that nothing is stored at all and the replay cookie says `too-many`.
    @Test func floodsAreBoundedPerUserAndPerAddress() throws {
        let w = try World(extraConfig: "request_cache: {max_per_user: 2, max_per_address: 3}")
        let expired = try expiredSession(w)
        let cookies = try (1...4).map { n in try submit(w, cookie: expired, body: Array("n=\(n)".utf8)) }
        #expect(cookies[0] != ReplayCookie.tooMany && cookies[1] != ReplayCookie.tooMany && cookies[2] != ReplayCookie.tooMany)
        #expect(cookies[3] == ReplayCookie.tooMany, "the 4th from one address: \(cookies[3])")
        let (app, _) = try w.appCookie("infusion.iqueue.test", user: "alice", password: "wonderland")
        // The third for alice: only the note, never its body.
        let third = replay(w, app: app, replay: cookies[2])
        #expect(third.status == .ok && text(third).contains("Your submission was not kept"))
        #expect(text(third).contains("2 of your submissions were already waiting"), "\(text(third))")
        #expect(w.backend.sent.isEmpty)
        let fourth = replay(w, app: app, replay: cookies[3])
        #expect(text(fourth).contains("too many submissions from your network"), "\(text(fourth))")
        #expect(w.backend.sent.isEmpty)
        // The first two were kept, and are delivered.
        #expect(replay(w, app: app, replay: cookies[0]).status == .ok && replay(w, app: app, replay: cookies[1]).status == .ok)
        #expect(w.backend.sent.map(\.body) == [Array("n=1".utf8), Array("n=2".utf8)])
    }

    /// `request_cache.enabled: false` is a promise that no form body is written to memcached: a form sent with an
    /// expired session goes to sign-in as a page would, with no replay cookie and no store write.
    @Test func aDisabledCacheKeepsNothing() throws {
        let w = try World(extraConfig: "request_cache: {enabled: false}")
        let expired = try expiredSession(w)
        w.store.reset()
        let answer = w.appAuth.respond(to: w.request("infusion.iqueue.test", Self.form, method: "POST", cookies: ["__Host-sso": expired],
                                                     body: "secret=not-to-be-kept", extra: Self.sameOrigin), context: w.context)
        #expect(answer.header(.location)?.hasPrefix("https://accounts.iqueue.test:8443/noCookie?redirectURL=") == true)
        #expect(World.cookie(answer, "__Host-sso_replay") == nil && !answer.headerValues(.setCookie).contains { $0.contains("sso_replay") })
        let counts = w.store.counts
        #expect(counts.sets == 0 && counts.others == 0, "\(counts)")  // no entry, no receipt, no counter
    }

    /// Cookies are not separated by port: the replay cookie set by https://infusion.iqueue.test:8443 is sent to every
    /// port of that host. A form kept for :8443 is never delivered to the app at another registered origin of the same
    /// host (:9443 here), even for the same user, browser and path: it waits for its own origin.
    @Test func aKeptFormIsDeliveredOnlyOnItsOwnOrigin() throws {
        let other = "infusion.iqueue.test:9443"
        let w = try World(infusionOrigins: [World.origin(other)])
        let body = Array("secret=for-8443-only".utf8)
        let replayCookie = try submit(w, cookie: try expiredSession(w), body: body)
        let (elsewhere, _) = try w.appCookie(other, user: "alice", password: "wonderland")
        let route = w.check(other, Self.form, cookies: ["__Host-sso": elsewhere, "__Host-sso_replay": replayCookie])
        #expect(route.status == 200 && route.header(.known("X-SSO-Route")) == nil)
        let r = replay(w, app: elsewhere, replay: replayCookie, host: other)
        #expect(r.status == .found && !text(r).contains("8443-only"))
        #expect(w.backend.sent.isEmpty, "delivered on \(World.origin(other))")
        // Back on its own origin, it is still kept and delivered there.
        let (app, _) = try w.appCookie("infusion.iqueue.test", user: "alice", password: "wonderland")
        let delivered = replay(w, app: app, replay: replayCookie)
        #expect(delivered.status == .ok && w.backend.sent.map(\.body) == [body])
    }

    /// Another site makes the signed-out victim's browser post a form to the app (a cross-site form, `SameSite=Lax`
    /// cookies and all): kept, it would be replayed with the victim's identity once they sign in. Only a note is kept,
    /// and it says why; nothing reaches the app.
    @Test func aCrossSiteFormIsNeverDelivered() throws {
        for origin in [["HTTP_ORIGIN": "https://evil.example", "HTTP_SEC_FETCH_SITE": "cross-site"],
                       ["HTTP_ORIGIN": "null"], ["HTTP_SEC_FETCH_SITE": "same-site"], [:]] {
            let w = try World()
            let replayCookie = try submit(w, cookie: try expiredSession(w), body: Array("to=mallory&amount=1000".utf8), from: origin)
            let (app, _) = try w.appCookie("infusion.iqueue.test", user: "alice", password: "wonderland")
            let r = replay(w, app: app, replay: replayCookie)
            #expect(r.status == .ok && text(r).contains("it was not sent from a page of this site"), "\(origin): \(text(r))")
            #expect(w.backend.sent.isEmpty, "\(origin)")
        }
    }

    /// A token the accounts host signed for another app (dextor) is handed to that app, whose operator can present it
    /// anywhere: it must not tie a form sent to infusion to its user, or a page could bind a form it makes the browser
    /// send to that user's next sign-in here. Only a token addressed to this origin names the user; else only a note.
    @Test func aTokenForAnotherAppTiesNoFormToItsUser() throws {
        let w = try World()
        let (dextor, _) = try w.appCookie("dextor.leantaas.test", user: "alice", password: "wonderland")
        let replayCookie = try submit(w, cookie: dextor, body: Array("secret=bound-by-dextor".utf8))
        let (app, _) = try w.appCookie("infusion.iqueue.test", user: "alice", password: "wonderland")
        let r = replay(w, app: app, replay: replayCookie)
        #expect(r.status == .ok && text(r).contains("could not be tied to your earlier sign-in"), "\(text(r))")
        #expect(!text(r).contains("bound-by-dextor") && w.backend.sent.isEmpty)
    }
}
