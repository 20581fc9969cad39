import Foundation
import Testing
@testable import SSOStore
import SSOTesting

/// `ReplicatedStore` over three real memcached servers: copies on two of them, a killed or hung server costs no item
/// and at most the poll timeout, a delete made while a server hangs stays a delete when it comes back.
@Suite(.serialized) struct MemcachedPoolTests {
    struct Pool {
        let servers: [MemcachedServer]
        let options: MemcachedOptions
        init() throws {
            servers = try (0..<3).map { _ in try MemcachedServer() }
            options = MemcachedOptions(servers: servers.map(\.address), replicas: 1, connectTimeoutMS: 250, pollTimeoutMS: 300,
                                       retryTimeoutSeconds: 1, fenceLeaseMS: 700, prefix: "p:", tombstoneTTL: 600)
        }
        /// A process of its own (its own view of which servers are down and fenced), as another host would be.
        func process() throws -> KeyValueStore { try StoreFactory(options).make() }
        /// Which servers hold `key`, asked of each server directly.
        func holders(_ key: String) throws -> [Int] {
            try servers.indices.filter { try MemcachedClient(options.node(servers[$0].address)).fetch([key])[key] != nil }
        }
        func copies(_ key: String) -> [Int] { Placement(servers: options.servers, copies: 2).nodes(for: key) }
    }

    @Test func replicasOneKeepsEveryItemOnTwoServers() throws {
        let pool = try Pool()
        let store = try pool.process()
        #expect(store is ReplicatedStore)
        for n in 0..<20 {
            try store.set("k\(n)", Array("v".utf8), ttl: 60)
            #expect(try Set(pool.holders("k\(n)")) == Set(pool.copies("k\(n)")))
        }
        #expect(try store.increment("c", by: 3, ttl: 60) == 3 && pool.holders("c").count == 2)
        try store.delete("k0")
        #expect(try pool.holders("k0").count == 2)  // tombstones, on both copies
        #expect(try store.get("k0") == nil)
    }

    @Test func aKilledServerLosesNothingAndAHungOneCostsAtMostThePollTimeout() throws {
        let pool = try Pool()
        let store = try pool.process()
        for n in 0..<30 { try store.set("s\(n)", Array("v\(n)".utf8), ttl: 60) }
        pool.servers[0].crash()
        for n in 0..<30 { #expect(try store.get("s\(n)") == Array("v\(n)".utf8)) }
        pool.servers[1].pause()
        defer { pool.servers[1].resume() }
        // Server 0 is dead and server 1 hangs: only keys with a copy on server 2 and not both others can be read.
        var slowest = 0.0
        for n in 0..<30 where pool.copies("s\(n)").contains(2) {
            let start = Date()
            #expect(try store.get("s\(n)") == Array("v\(n)".utf8))
            slowest = max(slowest, Date().timeIntervalSince(start))
        }
        #expect(slowest < 0.3 + 0.25 + 0.2, "a hung server held a read for \(slowest) s")
    }

    @Test func aSessionEndedWhileAServerHungStaysEndedWhenItComesBack() throws {
        let pool = try Pool()
        let accounts = try pool.process(), app = try pool.process()
        let keys = (0..<12).map { "s\($0)" }.filter { pool.copies($0).contains(1) }
        for k in keys { try accounts.set(k, Array("live".utf8), ttl: 60) }
        for k in keys { #expect(try app.get(k) == Array("live".utf8)) }
        pool.servers[1].pause()
        for k in keys { try accounts.delete(k) }
        pool.servers[1].resume()
        for k in keys {
            #expect(try app.get(k) == nil)
            #expect(try accounts.get(k) == nil)
            #expect(try pool.process().get(k) == nil)
        }
    }

    @Test func aRequestIDTakenWhileAServerHungCannotBeTakenAgain() throws {
        let pool = try Pool()
        let one = try pool.process(), two = try pool.process()
        let keys = (0..<40).map { "r\($0)" }.filter { pool.copies($0).contains(1) }
        for k in keys { try one.set(k, Array("jwt".utf8), ttl: 60) }
        pool.servers[1].pause()
        for k in keys { #expect(try one.take(k) == Array("jwt".utf8)) }
        pool.servers[1].resume()
        for k in keys { #expect(try two.take(k) == nil) }
    }

    /// memcached reads an expiration over 30 days (2,592,000 s) as a Unix time: sent as is, a 31-day TTL is a date in
    /// 1970 and the item is gone at once.
    @Test func aTTLOverThirtyDaysKeepsTheItem() throws {
        let server = try MemcachedServer()
        let pool = try Pool()
        for store in [try MemcachedClient(MemcachedOptions(servers: [server.address])) as KeyValueStore, try pool.process()] {
            for ttl in [2_592_000, 2_592_001, 31 * 86_400, 90 * 86_400] {
                try store.set("long-\(ttl)", Array("v".utf8), ttl: ttl)
                #expect(try store.get("long-\(ttl)") == Array("v".utf8), "TTL \(ttl) s")
            }
        }
    }
}
