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
    /// The User-Agent of the browser the next requests come from (the session fingerprint).
    var userAgent = "unit-test-browser"
    var logger: Logger = { var l = Logger(label: "test"); l.logLevel = .critical; return l }()
    /// This world's own counts (a region of its own, so parallel tests never mix them).
    let metrics: SSOMetrics
    /// The config, users and key files, removed with this world.
    let scratch: ScratchFolder

    /// `infusionOrigins`: more origins of the infusion service besides `https://infusion.iqueue.test:8443` (another
    /// port of the same host, say).
    init(lastAccessInterval: Int = 60, extraConfig: String = "", infusionOrigins: [String] = []) throws {
        metrics = SSOMetrics(counters: try SharedCounters.create(count: MetricsLayout.count), servers: [])
        scratch = try ScratchFolder("flow")
        let dir = scratch.url
        try "0123456789abcdef0123456789abcdef-secret".write(to: dir.appendingPathComponent("hs.key"), atomically: true, encoding: .utf8)
        let alice = try PasswordHash.make(password: "wonderland")
        let bob = try PasswordHash.make(password: "builder")
        try """
        users:
          - {username: alice, password_hash: '\(alice)', name: Alice, email: a@x.test, services: [infusion, dextor]}
          - {username: bob, password_hash: '\(bob)', name: Bob, email: b@x.test, services: [infusion]}
        """.write(to: dir.appendingPathComponent("users.yaml"), atomically: true, encoding: .utf8)
        let path = dir.appendingPathComponent("sso.yaml").path
        let infusion = (["https://infusion.iqueue.test:8443"] + infusionOrigins).map { "\"\($0)\"" }.joined(separator: ", ")
        try """
        accounts_url: https://accounts.iqueue.test:8443
        memcached: {servers: ["127.0.0.1:1"]}
        keys: {signing_kid: hs, list: [{kid: hs, secret_file: hs.key}]}
        sessions: {last_access_interval: \(lastAccessInterval), lifetime: 7200}
        services:
          - {name: infusion, title: Infusion, origins: [\(infusion)], idle_timeout: 900}
          - {name: dextor, title: Dextor, origins: ["https://dextor.leantaas.test:8443"], idle_timeout: 1800}
        users_file: users.yaml
        \(extraConfig)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        config = try ConfigLoader.load(path: path)
        let users = try UsersFile(path: config.usersFile, registry: config.registry)
        accounts = AccountsApp(config: config, keys: try KeyLoader.load(config, side: .accounts), users: users)
        appAuth = AppAuthApp(config: config, keys: try KeyLoader.load(config, side: .appHost), backend: backend)
    }

    var context: RequestContext { RequestContext(now: now, store: store, logger: logger, metrics: metrics) }

    /// How many checks ended with `result` so far.
    func checks(_ result: CheckResult) -> UInt64 { metrics.counters.value(MetricsLayout.checks + result.rawValue) }

    func request(_ host: String, _ uri: String, method: String = "GET", cookies: [String: String] = [:], body: String = "",
                 extra: [String: String] = [:]) -> HTTPRequest {
        request(host, uri, method: method, cookies: cookies, bytes: Array(body.utf8), extra: extra)
    }

    func request(_ host: String, _ uri: String, method: String = "GET", cookies: [String: String] = [:], bytes: [UInt8],
                 extra: [String: String] = [:]) -> HTTPRequest {
        let (name, port) = World.hostAndPort(host)
        var params = ["REQUEST_METHOD": method, "REQUEST_URI": uri, "HTTP_HOST": name + ":" + port, "SERVER_NAME": name, "SERVER_PORT": port, "HTTPS": "on",
                      "HTTP_USER_AGENT": userAgent, "REMOTE_ADDR": "10.0.0.1"]
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

    /// A host as the tests name it: `infusion.iqueue.test` (port 8443), or with a port of its own
    /// (`infusion.iqueue.test:9443`).
    static func hostAndPort(_ host: String) -> (name: String, port: String) {
        guard let colon = host.lastIndex(of: ":") else { return (host, "8443") }
        return (String(host[..<colon]), String(host[host.index(after: colon)...]))
    }

    /// The https origin of `host` (`hostAndPort`).
    static func origin(_ host: String) -> String {
        let (name, port) = hostAndPort(host)
        return "https://\(name):\(port)"
    }

    static func cookie(_ response: HTTPResponse, _ name: String) -> String? {
        for value in response.headerValues(.setCookie) where value.hasPrefix(name + "=") {
            return String(value.dropFirst(name.count + 1).prefix { $0 != ";" })
        }
        return nil
    }

    /// The cookie a browser ends up with on `host` after signing in on accounts as `user`: through `copyCookie` and the
    /// requestID redemption, as a browser would. Also returns the accounts JWT.
    func appCookie(_ host: String, user: String, password: String) throws -> (app: String, accounts: String) {
        let jwt = try signIn(user, password, target: World.origin(host) + "/")
        return (try handOff(jwt, to: host), jwt)
    }

    /// The cookie `host` sets for the accounts session `jwt`, as a browser gets it: the app sends it to sign in (with
    /// a state cookie), `copyCookie` hands out a requestID for that state, and the app redeems it.
    func handOff(_ jwt: String, to host: String) throws -> String {
        let (link, state) = try requestIDLink(jwt, to: host)
        let redeemed = signin(host, link, cookies: ["__Host-sso_state": state])
        return try #require(World.cookie(redeemed, "__Host-sso"))
    }

    /// The requestID link (path and query on `host`) for the accounts session `jwt`, and the state cookie the app set
    /// when it sent this browser to sign in.
    func requestIDLink(_ jwt: String, to host: String, path: String = "/") throws -> (link: String, state: String) {
        let start = signin(host, path)
        let state = try #require(World.cookie(start, "__Host-sso_state"))
        let noCookie = try #require(start.header(.location))
        let query = String(try #require(noCookie.split(separator: "?", maxSplits: 1).last))
        let copy = accountsRequest("/copyCookie?" + query, cookies: ["__Host-sso": jwt])
        let location = try #require(copy.header(.location))
        #expect(location.contains("requestID="))
        return (String(location.dropFirst(World.origin(host).count)), state)
    }

    /// Signs out at accounts with the accounts JWT: the logout page's form, posted back (or a plain GET, before logout
    /// was a form).
    func signOut(_ jwt: String) -> HTTPResponse {
        let page = accountsRequest("/logout", cookies: ["__Host-sso": jwt])
        guard let csrf = World.cookie(page, "__Host-sso_csrf") else { return page }
        return accountsRequest("/logout", method: "POST", cookies: ["__Host-sso": jwt, "__Host-sso_csrf": csrf], body: "csrf=\(csrf)")
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

