import Foundation
import Testing
@testable import SSOCore
@testable import SSOCrypto
@testable import SSOJWT
@testable import SSOStore
@testable import FastCGI
import SSOTesting

/// The session store against a real memcached: operations, single-use redemption under concurrency, fail closed, reconnect.
@Suite(.serialized) struct MemcachedStoreTests {
    @Test func basicOperations() throws {
        let server = try MemcachedServer()
        let kv = try MemcachedClient(MemcachedOptions(servers: [server.address]))
        #expect(try kv.get("t:missing") == nil)
        try kv.set("t:a", Array("hello".utf8), ttl: 60)
        #expect(try kv.get("t:a") == Array("hello".utf8))
        #expect(try kv.add("t:a", [1], ttl: 60) == false)
        #expect(try kv.add("t:b", [], ttl: 60) == true)
        #expect(try kv.get("t:b") == [])
        try kv.delete("t:a")
        #expect(try kv.get("t:a") == nil)
        try kv.delete("t:a")  // deleting what is gone is no error
        #expect(try kv.increment("t:n", by: 1, ttl: 60) == 1)
        #expect(try kv.increment("t:n", by: 2, ttl: 60) == 3)
        #expect(throws: StoreError.self) { try kv.get("bad key with spaces") }
        #expect(throws: StoreError.self) { try kv.get(String(repeating: "k", count: 300)) }
    }

    @Test func sessionsHandoffsAndPrefix() throws {
        let server = try MemcachedServer()
        let kv = try MemcachedClient(MemcachedOptions(servers: [server.address]))
        let a = SessionStore(kv: kv, prefix: "realm-a:")
        let b = SessionStore(kv: kv, prefix: "realm-b:")
        let now = Int64(Date().timeIntervalSince1970)
        let s = JWTSession(user: "alice", lastAccessedTime: now, sessionTimeout: 900, fingerprint: "f", created: now, expiresAt: now + 3600)
        try a.put(s, tokenID: "tok", now: now)
        #expect(try a.session("tok") == s)
        #expect(try b.session("tok") == nil)
        try a.deleteSession("tok")
        #expect(try a.session("tok") == nil)
        #expect(try a.session("../evil") == nil)   // never becomes a key
        try a.putHandoff(RequestHandoff(jwt: "j", origin: "https://o", state: nil), requestID: "r1", ttl: 60)
        #expect(try a.redeemHandoff("r1") == RequestHandoff(jwt: "j", origin: "https://o", state: nil))
        #expect(try a.redeemHandoff("r1") == nil)
        #expect(try a.countEvent(scope: "user", subject: "any name: with spaces", window: 60) == 1)
        #expect(try a.eventCount(scope: "user", subject: "any name: with spaces") == 1)
    }

    /// memcached's clock ticks once a second, so an item set for N seconds may be gone after N - 1. The session must
    /// outlive its idle timeout in memcached (the check decides when it ends), and not by much more.
    @Test func itemTTLFollowsTheIdleTimeout() throws {
        let server = try MemcachedServer()
        let store = SessionStore(kv: try MemcachedClient(MemcachedOptions(servers: [server.address])), prefix: "x:")
        Thread.sleep(forTimeInterval: 0.5)  // memcached ticks from its start: write half-way between two ticks
        let now = Int64(Date().timeIntervalSince1970)
        let s = JWTSession(user: "u", lastAccessedTime: now, sessionTimeout: 2, fingerprint: "f", created: now, expiresAt: now + 100)
        try store.put(s, tokenID: "short", now: now)
        #expect(try store.session("short") != nil)
        Thread.sleep(forTimeInterval: 1.9)
        #expect(try store.session("short") != nil, "memcached ended the session before its idle timeout")
        Thread.sleep(forTimeInterval: 1.4)
        #expect(try store.session("short") == nil)
    }

    /// A service may set idle_timeout to 30 days; the item's TTL is then one second more, which memcached would read
    /// as a date in 1970 (expired at once) if it were sent as is.
    @Test func aThirtyDayIdleTimeoutKeepsTheSession() throws {
        let server = try MemcachedServer()
        let store = SessionStore(kv: try MemcachedClient(MemcachedOptions(servers: [server.address])), prefix: "m:")
        let now = Int64(Date().timeIntervalSince1970)
        let s = JWTSession(user: "u", lastAccessedTime: now, sessionTimeout: 2_592_000, fingerprint: "f", created: now,
                           expiresAt: now + 90 * 86_400)
        try store.put(s, tokenID: "month", now: now)
        #expect(try store.session("month") == s)
    }

    /// Every client redeems the same request ID at the same moment, round after round: a take that answered the value
    /// although its delete lost to another's would redeem one hand-off (one sign-in) twice. The racers meet at a barrier
    /// before each round, on threads of their own (`concurrentPerform` runs about as many at once as there are cores:
    /// on a small machine they drifted apart, and a take that kept a lost value was caught in only some runs).
    @Test func redemptionIsSingleUseUnderConcurrency() throws {
        let server = try MemcachedServer()
        let threads = 16
        let rounds = 100
        let clients = try (0..<threads).map { _ in SessionStore(kv: try MemcachedClient(MemcachedOptions(servers: [server.address])), prefix: "c:") }
        let setup = clients[0]
        for round in 0..<rounds {
            try setup.putHandoff(RequestHandoff(jwt: "jwt-\(round)", origin: "https://o", state: nil), requestID: "rid-\(round)", ttl: 60)
        }
        final class Tally: @unchecked Sendable {
            let lock = NSCondition()
            var wins: [Int]
            var errors = 0
            /// Racers at the barrier of the current round, and the round the barrier is at.
            var waiting = 0, generation = 0
            let clients: [SessionStore]
            init(rounds: Int, clients: [SessionStore]) { wins = [Int](repeating: 0, count: rounds); self.clients = clients }
            /// Returns once every racer has reached it.
            func barrier() {
                lock.lock(); defer { lock.unlock() }
                let mine = generation
                waiting += 1
                if waiting == clients.count {
                    waiting = 0
                    generation += 1
                    lock.broadcast()
                } else {
                    while generation == mine { lock.wait() }
                }
            }
        }
        let tally = Tally(rounds: rounds, clients: clients)
        let finished = DispatchSemaphore(value: 0)
        for t in 0..<threads {
            Thread {
                for round in 0..<rounds {
                    tally.barrier()
                    do {
                        if try tally.clients[t].redeemHandoff("rid-\(round)") != nil {
                            tally.lock.lock(); tally.wins[round] += 1; tally.lock.unlock()
                        }
                    } catch {
                        tally.lock.lock(); tally.errors += 1; tally.lock.unlock()
                    }
                }
                finished.signal()
            }.start()
        }
        for _ in 0..<threads { finished.wait() }
        let wins = tally.wins
        let errors = tally.errors
        #expect(errors == 0)
        #expect(wins.allSatisfy { $0 == 1 }, "each requestID must be redeemed exactly once: \(wins)")
    }

    @Test func failsClosedAndReconnectsByItself() throws {
        let server = try MemcachedServer()
        let store = SessionStore(kv: try MemcachedClient(MemcachedOptions(servers: [server.address], retryTimeoutSeconds: 1)), prefix: "r:")
        try store.putHandoff(RequestHandoff(jwt: "j", origin: "o", state: nil), requestID: "before", ttl: 60)
        server.stop()
        #expect(throws: StoreError.self) { try store.session("anything") }
        #expect(throws: StoreError.self) { try store.redeemHandoff("before") }
        try server.restart()
        let deadline = Date().addingTimeInterval(10)
        var back = false
        while Date() < deadline && !back {
            do {
                _ = try store.kv.get("probe")
                back = true
            } catch {
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
        #expect(back, "the client did not reconnect within 10 s")
        #expect(try store.redeemHandoff("before") == nil)  // a restarted memcached is empty
    }

    @Test func aConnectionOpenedBeforeARestartIsNotAFailedRequest() throws {
        // A worker that served nothing while memcached restarted still holds a socket to the old process: its next
        // request must not fail on it (the user would be sent round the sign-in chain, or see the 503 page).
        let server = try MemcachedServer()
        let client = try MemcachedClient(MemcachedOptions(servers: [server.address], retryTimeoutSeconds: 1))
        try client.set("k", Array("v".utf8), ttl: 60)
        #expect(try client.get("k") == Array("v".utf8))
        server.stop()
        try server.restart()
        #expect(try client.get("k") == nil)  // a restarted memcached is empty, and the stale socket is not an error
        try client.set("k", Array("w".utf8), ttl: 60)
        server.stop()
        try server.restart()
        try client.set("k2", Array("x".utf8), ttl: 60)
        #expect(try client.get("k2") == Array("x".utf8))
    }
}
