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
    func submit(_ w: World, cookie: String, body: [UInt8], type: String = "application/x-www-form-urlencoded") throws -> String {
        var extra = Self.sameOrigin
        extra["CONTENT_TYPE"] = type
        let answer = w.appAuth.respond(to: w.request("infusion.iqueue.test", Self.form, method: "POST", cookies: ["__Host-sso": cookie],
                                                     bytes: body, extra: extra), context: w.context)
        #expect(answer.status == .seeOther)
        #expect(answer.header(.location)?.hasPrefix("https://accounts.iqueue.test:8443/noCookie?redirectURL=") == true)
        return try #require(World.cookie(answer, "__Host-sso_replay"))
    }

    /// nginx's `@sso_replay` for the kept request's own URL.
    func replay(_ w: World, app: String, replay: String, uri: String = form) -> HTTPResponse {
        w.appAuth.respond(to: w.request("infusion.iqueue.test", uri, cookies: ["__Host-sso": app, "__Host-sso_replay": replay],
                                        extra: Self.backend.merging(["SSO_ACTION": "replay"]) { $1 }), context: w.context)
    }

    func text(_ r: HTTPResponse) -> String { String(decoding: r.body, as: UTF8.self) }

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
        let delivered = replay(w, app: app, replay: replayCookie)
        #expect(delivered.status == .ok && delivered.body == body)
        #expect(World.cookie(delivered, "__Host-sso_replay") == "")
        let sent = try #require(w.backend.sent.first)
        #expect(w.backend.sent.count == 1)
        #expect(sent.method == "POST" && sent.uri == Self.form && sent.body == body)
        let headers = Dictionary(sent.headers.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
        #expect(headers["x-remote-user"] == "alice" && headers["x-draft-note"] == nil)  // no browser form sends it: not replayed
        #expect(headers["content-type"] == "application/x-www-form-urlencoded")
        #expect(headers["cookie"]?.contains("__Host-sso_replay") != true)
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
}
