import Foundation
import Logging
import Testing
@testable import AccountsFCGI
@testable import AppAuthFCGI
@testable import FastCGI
@testable import SSOCore
@testable import SSOCrypto
import SSOStore
import SSOTesting

/// The whole seed flow with both responders as pure functions: no libfcgi, no memcached, the clock in the test's hands.
final class World: @unchecked Sendable {
    var now: Int64 = 2_000_000
    lazy var memory = InMemoryStore(now: { [unowned self] in self.now })
    lazy var store = CountingStore(memory)
    let config: SSOConfig
    let accounts: AccountsApp
    let appAuth: AppAuthApp
    /// The app behind the replay: records what it is sent, answers 200 with the body.
    let backend = RecordingBackend()
    var logger: Logger = { var l = Logger(label: "test"); l.logLevel = .critical; return l }()

    init(lastAccessInterval: Int = 60, extraConfig: String = "") throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("flow-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try "0123456789abcdef0123456789abcdef-secret".write(to: dir.appendingPathComponent("hs.key"), atomically: true, encoding: .utf8)
        let alice = try PasswordHash.make(password: "wonderland")
        let bob = try PasswordHash.make(password: "builder")
        try """
        users:
          - {username: alice, password_hash: '\(alice)', name: Alice, email: a@x.test, services: [infusion, dextor]}
          - {username: bob, password_hash: '\(bob)', name: Bob, email: b@x.test, services: [infusion]}
        """.write(to: dir.appendingPathComponent("users.yaml"), atomically: true, encoding: .utf8)
        let path = dir.appendingPathComponent("sso.yaml").path
        try """
        accounts_url: https://accounts.iqueue.test:8443
        memcached: {servers: ["127.0.0.1:1"]}
        keys: {signing_kid: hs, list: [{kid: hs, secret_file: hs.key}]}
        sessions: {last_access_interval: \(lastAccessInterval), lifetime: 7200}
        services:
          - {name: infusion, title: Infusion, origins: ["https://infusion.iqueue.test:8443"], idle_timeout: 900}
          - {name: dextor, title: Dextor, origins: ["https://dextor.leantaas.test:8443"], idle_timeout: 1800}
        users_file: users.yaml
        \(extraConfig)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        config = try ConfigLoader.load(path: path)
        let users = try UsersFileLoader.load(path: config.usersFile, registry: config.registry)
        accounts = AccountsApp(config: config, keys: try KeyLoader.load(config, side: .accounts), users: users)
        appAuth = AppAuthApp(config: config, keys: try KeyLoader.load(config, side: .appHost), backend: backend)
    }

    var context: RequestContext { RequestContext(now: now, store: store, logger: logger) }

    func request(_ host: String, _ uri: String, method: String = "GET", cookies: [String: String] = [:], body: String = "",
                 extra: [String: String] = [:]) -> HTTPRequest {
        request(host, uri, method: method, cookies: cookies, bytes: Array(body.utf8), extra: extra)
    }

    func request(_ host: String, _ uri: String, method: String = "GET", cookies: [String: String] = [:], bytes: [UInt8],
                 extra: [String: String] = [:]) -> HTTPRequest {
        var params = ["REQUEST_METHOD": method, "REQUEST_URI": uri, "HTTP_HOST": host + ":8443", "HTTPS": "on",
                      "HTTP_USER_AGENT": "unit-test-browser", "REMOTE_ADDR": "10.0.0.1"]
        if !cookies.isEmpty { params["HTTP_COOKIE"] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        if !bytes.isEmpty { params["CONTENT_TYPE"] = "application/x-www-form-urlencoded"; params["CONTENT_LENGTH"] = String(bytes.count) }
        params.merge(extra) { $1 }
        return HTTPRequest(params: params, body: bytes)
    }

    func accountsRequest(_ uri: String, method: String = "GET", cookies: [String: String] = [:], body: String = "") -> HTTPResponse {
        accounts.respond(to: request("accounts.iqueue.test", uri, method: method, cookies: cookies, body: body), context: context)
    }

    func check(_ host: String, _ uri: String, cookies: [String: String], extra: [String: String] = [:]) -> HTTPResponse {
        appAuth.respond(to: request(host, uri, cookies: cookies, extra: ["SSO_ACTION": "check"].merging(extra) { $1 }), context: context)
    }

    func signin(_ host: String, _ uri: String, cookies: [String: String] = [:], extra: [String: String] = [:]) -> HTTPResponse {
        appAuth.respond(to: request(host, uri, cookies: cookies, extra: extra), context: context)
    }

    static func cookie(_ response: HTTPResponse, _ name: String) -> String? {
        for value in response.headerValues(.setCookie) where value.hasPrefix(name + "=") {
            return String(value.dropFirst(name.count + 1).prefix { $0 != ";" })
        }
        return nil
    }

    /// Signs in on accounts for `target` and returns the accounts JWT.
    func signIn(_ user: String, _ password: String, target: String) throws -> String {
        let form = accountsRequest("/copyCookie?redirectURL=" + PercentEncoding.encode(target))
        let csrf = try #require(World.cookie(form, "__Host-sso_csrf"))
        let body = "csrf=\(csrf)&redirectURL=\(PercentEncoding.encode(target))&username=\(user)&password=\(password)"
        let r = accountsRequest("/login", method: "POST", cookies: ["__Host-sso_csrf": csrf], body: body)
        #expect(r.status == 302)
        return try #require(World.cookie(r, "__Host-sso"))
    }
}

@Suite struct FlowTests {
    let infusion = "https://infusion.iqueue.test:8443"

    @Test func theSeedFlowFromFirstAccessToSecondAccess() throws {
        let w = try World()
        #expect(w.check("infusion.iqueue.test", "/x", cookies: [:]).status == 401)
        let first = w.signin("infusion.iqueue.test", "/x")
        #expect(first.header(.location) == "https://accounts.iqueue.test:8443/noCookie?redirectURL=" + PercentEncoding.encode(infusion + "/x"))
        let jwt = try w.signIn("alice", "wonderland", target: infusion + "/x")
        let copy = w.accountsRequest("/copyCookie?redirectURL=" + PercentEncoding.encode(infusion + "/x"), cookies: ["__Host-sso": jwt])
        let location = try #require(copy.header(.location))
        #expect(location.hasPrefix(infusion + "/x?requestID="))
        let uri = String(location.dropFirst(infusion.count))
        #expect(w.check("infusion.iqueue.test", uri, cookies: [:]).status == 401)
        let redeemed = w.signin("infusion.iqueue.test", uri)
        #expect(redeemed.status == 302 && redeemed.header(.location) == infusion + "/x")
        let appCookie = try #require(World.cookie(redeemed, "__Host-sso"))
        let ok = w.check("infusion.iqueue.test", "/x", cookies: ["__Host-sso": appCookie])
        #expect(ok.status == 200 && ok.header(.xRemoteUser) == "alice" && ok.header(.xRemoteEmail) == "a@x.test")
        #expect(ok.body.isEmpty)
        // Single use.
        #expect(w.signin("infusion.iqueue.test", uri).header(.location)?.contains("/noCookie?") == true)
    }

    @Test func theCommonPathIsOneStoreRoundTrip() throws {
        let w = try World(lastAccessInterval: 60)
        let jwt = try w.signIn("alice", "wonderland", target: infusion + "/")
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
        let jwt = try w.signIn("alice", "wonderland", target: infusion + "/")
        for _ in 0..<5 {  // used every 800 s: survives well past 900 s
            w.now += 800
            #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": jwt]).status == 200)
        }
        w.now += 900  // infusion's 900 s, though dextor allows 1800 s
        #expect(w.check("dextor.leantaas.test", "/", cookies: ["__Host-sso": jwt]).status == 401)
    }

    @Test func absoluteLifetimeEndsAnActiveSession() throws {
        let w = try World(lastAccessInterval: 0)
        let jwt = try w.signIn("alice", "wonderland", target: infusion + "/")
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
        #expect(w.check("dextor.leantaas.test", "/", cookies: ["__Host-sso": jwt]).status == 401)
        #expect(w.signin("dextor.leantaas.test", "/", cookies: ["__Host-sso": jwt]).status == 403)
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

    @Test func fingerprintAndLogout() throws {
        let w = try World()
        let jwt = try w.signIn("alice", "wonderland", target: infusion + "/")
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": jwt], extra: ["HTTP_USER_AGENT": "other"]).status == 401)
        let out = w.accountsRequest("/logout", cookies: ["__Host-sso": jwt])
        #expect(out.status == 200 && World.cookie(out, "__Host-sso") == "")
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": jwt]).status == 401)
    }

    @Test func storeDownFailsClosed() throws {
        let w = try World()
        let jwt = try w.signIn("alice", "wonderland", target: infusion + "/")
        w.memory.isDown = true
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": jwt]).status == 401)
        let page = w.signin("infusion.iqueue.test", "/", cookies: ["__Host-sso": jwt])
        #expect(page.status == 503 && page.header(.retryAfter) == "30")
        let api = w.signin("infusion.iqueue.test", "/", cookies: ["__Host-sso": jwt], extra: ["HTTP_ACCEPT": "application/json"])
        #expect(api.status == 503 && api.header(.contentType) == "application/json")
        #expect(w.accountsRequest("/copyCookie?redirectURL=" + PercentEncoding.encode(infusion + "/"), cookies: ["__Host-sso": jwt]).status == 503)
        w.memory.isDown = false
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": jwt]).status == 200)
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
        let copy = w.accountsRequest("/copyCookie?redirectURL=" + PercentEncoding.encode(infusion + "/"), cookies: ["__Host-sso": jwt])
        let location = try #require(copy.header(.location))
        let requestID = String(location.split(separator: "=").last ?? "")
        _ = w.signin("infusion.iqueue.test", String(location.dropFirst(infusion.count)))
        let form = w.accountsRequest("/login")
        let csrf = try #require(World.cookie(form, "__Host-sso_csrf"))
        let failed = w.accountsRequest("/login", method: "POST", cookies: ["__Host-sso_csrf": csrf],
                                       body: "csrf=\(csrf)&username=alice&password=wrong-password-xyz")
        #expect(failed.status == 200)
        let text = sink.lines.joined(separator: "\n")
        #expect(!text.isEmpty)
        for secret in ["wonderland", "wrong-password-xyz", jwt, requestID] { #expect(!text.contains(secret)) }
    }
}
