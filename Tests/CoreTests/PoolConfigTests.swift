import Foundation
import Testing
@testable import SSOCore
import SSOStore
import SSOTesting

/// `--check-config` refuses memcached settings that cannot work together (docs/scaling.md), and passes on the ones
/// that do to the store.
@Suite struct PoolConfigTests {
    /// This test's folder, removed when it ends.
    let scratch: ScratchFolder

    init() throws {
        scratch = try ScratchFolder("pool")
    }

    /// One memcached under two names holds both copies of every item: --check-config says so (names resolved there,
    /// never at load; `localhost` comes from /etc/hosts, no name server is asked).
    @Test func oneServerUnderTwoNamesIsAWarning() {
        let twice = MemcachedOptions(servers: ["127.0.0.1:11211", "localhost:11211"], replicas: 1)
        #expect(ConfigCheck.sameMemcachedWarning(twice)?.contains("\"127.0.0.1:11211\" and \"localhost:11211\" are one server") == true)
        #expect(ConfigCheck.sameMemcachedWarning(MemcachedOptions(servers: ["127.0.0.1:11211", "127.0.0.1:11212"], replicas: 1)) == nil)
        #expect(ConfigCheck.sameMemcachedWarning(MemcachedOptions(servers: ["127.0.0.1:11211", "localhost:11211"], replicas: 0)) == nil)
    }

    func load(_ memcached: String) throws(ConfigError) -> SSOConfig {
        let dir = scratch.url.appendingPathComponent(UUID().uuidString)
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("sso.yaml").path
        try? """
        accounts_url: https://accounts.example.test
        memcached: \(memcached)
        keys: {list: [{kid: k1, public_key_file: k.pub}]}
        services: [{name: app, origins: ["https://app.example.test"], idle_timeout: 900}]
        sessions: {lifetime: 86400}
        users_file: users.yaml
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return try ConfigLoader.load(path: path)
    }

    func problems(_ memcached: String) -> [String] {
        do {
            _ = try load(memcached)
            return []
        } catch {
            return error.problems.map(\.key)
        }
    }

    @Test func aWorkablePoolLoadsWithWhatTheStoreNeeds() throws {
        let c = try load(#"{servers: ["10.0.0.1:11211", "10.0.0.2:11211", "10.0.0.3:11211"], replicas: 1, prefix: "x:"}"#)
        #expect(c.memcached.replicas == 1 && c.memcached.prefix == "x:" && c.memcached.fenceLeaseMS == 1000)
        #expect(c.memcached.tombstoneTTL >= 86_401)  // outlives the longest session item
    }

    @Test func refusesWhatCannotWorkTogether() {
        #expect(problems(#"{servers: ["a:1", "b:1"], replicas: 2}"#) == ["memcached.replicas"])
        #expect(problems(#"{servers: ["a:1"], replicas: 1}"#) == ["memcached.replicas"])
        #expect(problems(#"{servers: ["a:1", "a:1", "b:1"], replicas: 1}"#) == ["memcached.servers"])
        #expect(problems(#"{servers: ["a:1", "b:1", "c:1"], replicas: 1, fence_lease_ms: 500}"#) == ["memcached.fence_lease_ms"])
        #expect(problems(#"{servers: ["a:1", "b:1", "c:1"], replicas: 1, fence_lease_ms: 2000, poll_timeout_ms: 1000}"#).isEmpty)
    }
}
