import Testing
@testable import AccountsFCGI
@testable import FastCGI
@testable import SSOCore
import SSOTesting

/// The sign-in throttle as the sign-in form uses it (SignInThrottleTests test the counters alone): which address an
/// attempt counts against, whose device cookie spares it, and that a wrong password arms the per-user delay.
@Suite struct SignInThrottleFlowTests {
    static let target = "https://infusion.iqueue.test:8443/"

    /// One sign-in attempt through the form, from `address` (REMOTE_ADDR) with `cookies` besides the form's own.
    func attempt(_ w: World, _ user: String, _ password: String, address: String = "10.0.0.1", cookies: [String: String] = [:],
                 extra: [String: String] = [:]) throws -> HTTPResponse {
        let form = w.accountsRequest("/copyCookie?redirectURL=" + PercentEncoding.encode(Self.target))
        let csrf = try #require(World.cookie(form, "__Host-sso_csrf"))
        let body = "csrf=\(csrf)&redirectURL=\(PercentEncoding.encode(Self.target))&username=\(user)&password=\(password)"
        let request = w.request("accounts.iqueue.test", "/login", method: "POST",
                                cookies: cookies.merging(["__Host-sso_csrf": csrf]) { $1 }, body: body,
                                extra: extra.merging(["REMOTE_ADDR": address]) { $1 })
        return w.accounts.respond(to: request, context: w.context)
    }

    /// Guesses spread over many addresses, one each, stay under every per-address limit: only the per-user count sees
    /// them. Past `login.user_soft_limit` a wrong password makes the next attempt for that user wait.
    @Test func guessesFromManyAddressesStillSlowTheUser() throws {
        let w = try World(extraConfig: "login: {user_soft_limit: 3}")
        for i in 1...4 {
            let r = try attempt(w, "alice", "guess\(i)", address: "10.1.0.\(i)")
            #expect(r.status == .ok, "guess \(i)")
        }
        let next = try attempt(w, "alice", "guess5", address: "10.1.0.5")
        #expect(next.status == .tooManyRequests && next.header(.retryAfter) == "2")
    }

    /// A device cookie spares only its own user: one made by signing in as bob, sent with guesses at alice's password,
    /// counts them as a stranger's. Otherwise signing in as bob again (a new device id each time) would reset the count
    /// and allow endless guessing from one address.
    @Test func anotherUsersDeviceCookieDoesNotSpareGuessesAtThisUser() throws {
        let w = try World()
        let device = w.config.deviceCookieName
        let first = try attempt(w, "bob", "builder")
        var bobsDevice = try #require(World.cookie(first, device))
        for i in 1...4 {
            #expect(try attempt(w, "alice", "guess\(i)", cookies: [device: bobsDevice]).status == .ok, "guess \(i)")
        }
        let again = try attempt(w, "bob", "builder", cookies: [device: bobsDevice])
        #expect(again.status == .found)
        bobsDevice = try #require(World.cookie(again, device))
        #expect(try attempt(w, "alice", "guess5", cookies: [device: bobsDevice]).status == .ok)
        #expect(try attempt(w, "alice", "guess6", cookies: [device: bobsDevice]).status == .tooManyRequests)
    }

    /// The address an attempt counts against is the connection's (REMOTE_ADDR, as the web server sets it), IPv6 by
    /// its /64: a client choosing the low 64 bits of its address, or sending X-Forwarded-For, gets no fresh count.
    @Test func theAddressCountedIsTheConnectionsByItsSlash64() throws {
        let w = try World(extraConfig: "login: {max_address_failures: 3}")
        for i in 1...3 {
            #expect(try attempt(w, "user\(i)", "x", address: "2001:db8:1:2::\(i)").status == .ok, "name \(i)")
        }
        #expect(try attempt(w, "user4", "x", address: "2001:db8:1:2:ffff::4").status == .tooManyRequests)
        #expect(try attempt(w, "user5", "x", address: "2001:db8:1:3::5").status == .ok)  // another /64
        let v = try World(extraConfig: "login: {max_address_failures: 3}")
        for i in 1...3 {
            #expect(try attempt(v, "user\(i)", "x", extra: ["HTTP_X_FORWARDED_FOR": "192.0.2.\(i)"]).status == .ok, "name \(i)")
        }
        #expect(try attempt(v, "user4", "x", extra: ["HTTP_X_FORWARDED_FOR": "192.0.2.4"]).status == .tooManyRequests)
    }
}
