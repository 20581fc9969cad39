import Foundation
import Testing
@testable import SSOCore
@testable import SSOCrypto
import SSOTesting

@Suite struct SignInThrottleTests {
    let limits = SignInThrottle.Limits(pairFailures: 5, addressFailures: 20, userSoftLimit: 8, maxDelay: 60, window: 300)

    func throttle(_ kv: InMemoryStore) -> SignInThrottle { SignInThrottle(store: SessionStore(kv: kv, prefix: "t:"), limits: limits) }

    func fail(_ t: SignInThrottle, _ user: String, from remote: String, device: String? = nil, now: Int64 = 100) throws -> Bool {
        switch try t.admit(username: user, remote: remote, device: device, now: now) {
        case .judge(let ticket): try t.failed(ticket, now: now); return true
        case .refuse: return false
        }
    }

    @Test func aStrangerLocksOnlyHisOwnAddress() throws {
        let t = throttle(InMemoryStore(now: { 100 }))
        let judged = try (0..<7).map { _ in try fail(t, "alice", from: "10.0.0.66") }
        #expect(judged == [true, true, true, true, true, false, false])
        guard case .judge = try t.admit(username: "alice", remote: "10.0.0.7", device: nil, now: 100) else {
            Issue.record("alice at her own address was refused"); return
        }
    }

    @Test func pastTheSoftLimitUnknownBrowsersWaitButTheUsersOwnDoNot() throws {
        let t = throttle(InMemoryStore(now: { 100 }))
        for i in 0..<9 { _ = try fail(t, "alice", from: "10.1.\(i).1") }  // many addresses: past the soft limit of 8
        guard case .refuse(let wait) = try t.admit(username: "alice", remote: "10.9.9.9", device: nil, now: 100) else {
            Issue.record("an unknown browser was not slowed"); return
        }
        #expect(wait >= 1 && wait <= 60)
        guard case .judge = try t.admit(username: "alice", remote: "10.9.9.9", device: "alices-laptop", now: 100) else {
            Issue.record("the user's own browser was slowed by others' failures"); return
        }
    }

    /// A neighbour behind the same address (NAT, proxy, an IPv6 /64) who exhausts the address's limit locks out
    /// strangers there, not the user's own browser: its device cookie is counted on its own (it was refused for five
    /// minutes, renewable by the neighbour at will).
    @Test func theAddressLimitDoesNotLockTheUsersOwnBrowser() throws {
        let t = throttle(InMemoryStore(now: { 100 }))
        for i in 0..<21 { _ = try fail(t, "guess\(i)", from: "10.3.0.1") }
        guard case .refuse = try t.admit(username: "alice", remote: "10.3.0.1", device: nil, now: 100) else {
            Issue.record("the address limit did not hold for an unknown browser"); return
        }
        guard case .judge = try t.admit(username: "alice", remote: "10.3.0.1", device: "alices-laptop", now: 100) else {
            Issue.record("the user's own browser was locked out by a neighbour"); return
        }
        // Its own wrong passwords still limit it.
        let judged = try (0..<7).map { _ in try fail(t, "alice", from: "10.3.0.1", device: "alices-laptop") }
        #expect(judged.filter { $0 }.count == 4)  // one admitted above, then four more, the rest refused
    }

    /// memcached is shared data, not trusted arithmetic: a user counter near 2^64 (another realm on the same server, or
    /// someone with access to it) once trapped converting it to `Int` on the next wrong password, ending the process.
    @Test func aHugeCounterInTheStoreIsAWaitNotACrash() throws {
        let kv = InMemoryStore(now: { 100 })
        let t = throttle(kv)
        for (user, value) in [("alice", "9223372036854775807"), ("bob", "18446744073709551610")] {
            let userKey = SessionStore(kv: kv, prefix: "t:").throttleKey(scope: "user", subject: user)
            try kv.set(userKey, Array(value.utf8), ttl: 300)
            #expect(try fail(t, user, from: "10.2.0.1"))
            guard case .refuse(let wait) = try t.admit(username: user, remote: "10.2.0.2", device: nil, now: 100) else {
                Issue.record("past the soft limit, an unknown browser was not slowed"); return
            }
            #expect(wait >= 1 && wait <= limits.maxDelay + 1)
        }
    }

    @Test func successTakesTheCountBack() throws {
        let t = throttle(InMemoryStore(now: { 100 }))
        for _ in 0..<4 { _ = try fail(t, "bob", from: "10.0.0.1") }
        for _ in 0..<10 {  // right passwords are no failures
            guard case .judge(let ticket) = try t.admit(username: "bob", remote: "10.0.0.1", device: nil, now: 100) else {
                Issue.record("refused"); return
            }
            try t.succeeded(ticket)
        }
    }

    @Test func ipv6CountsBySlash64() {
        #expect(ClientAddress.throttleKey("2001:db8:1:2:aaaa::1") == ClientAddress.throttleKey("2001:db8:1:2:ffff:1:2:3"))
        #expect(ClientAddress.throttleKey("2001:db8:1:2::1") != ClientAddress.throttleKey("2001:db8:1:3::1"))
        #expect(ClientAddress.throttleKey("::ffff:192.0.2.7") == "192.0.2.7")
        #expect(ClientAddress.throttleKey("192.0.2.7") == "192.0.2.7")
        #expect(ClientAddress.throttleKey("fe80::1%eth0") == "fe80:0:0:0::/64")
        #expect(ClientAddress.throttleKey("not an address") == "not an address")
    }

    @Test func theDecoyCostsWhatMostUsersCost() throws {
        let bcrypt = "$2b$05$1jrKl.yshxs0hGkaVPQiKOTkxFeKIQafLyI063avZpjGeQuOzWQ22"
        let yescrypt = try PasswordHash.make(password: "x")
        #expect(PasswordHash.costSignature(try PasswordHash.decoy(likeMostOf: [bcrypt, bcrypt, yescrypt])) == "$2b$05$")
        #expect(PasswordHash.costSignature(try PasswordHash.decoy(likeMostOf: [yescrypt])) == PasswordHash.costSignature(yescrypt))
        #expect(try PasswordHash.decoy(likeMostOf: []).hasPrefix("$y$"))
    }
}
