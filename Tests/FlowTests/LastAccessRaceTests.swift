import Testing
@testable import AppAuthFCGI
@testable import SSOCore
import SSOStore
import SSOTesting

/// Logout lands between a check's read of the session and its LAST_ACCESSED_TIME write: the write must not bring the
/// session back (issue 11). The store below runs the logout's delete just before it passes on the check's write.
@Suite struct LastAccessRaceTests {
    /// Passes everything to `inner`; before the first write to a session key, deletes that key, as a logout would.
    final class LogoutBeforeTheWrite: KeyValueStore, @unchecked Sendable {
        let inner: KeyValueStore
        var loggedOut = false
        init(_ inner: KeyValueStore) { self.inner = inner }
        func logoutFirst(_ key: String) throws(StoreError) {
            if !loggedOut && key.hasPrefix("sso:s:") {
                loggedOut = true
                try inner.delete(key)
            }
        }
        func get(_ key: String) throws(StoreError) -> [UInt8]? { try inner.get(key) }
        func read(_ key: String) throws(StoreError) -> VersionedValue? { try inner.read(key) }
        func set(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) {
            try logoutFirst(key)
            try inner.set(key, value, ttl: ttl)
        }
        func add(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) -> Bool { try inner.add(key, value, ttl: ttl) }
        func replace(_ key: String, _ value: [UInt8], ttl: Int, ifUnchanged version: StoreVersion) throws(StoreError) -> Bool {
            try logoutFirst(key)
            return try inner.replace(key, value, ttl: ttl, ifUnchanged: version)
        }
        func rewrite(_ key: String, from current: VersionedValue, ttl: Int, _ rewrite: ([UInt8]) -> [UInt8]) throws(StoreError) -> Bool {
            try inner.rewrite(key, from: current, ttl: ttl, rewrite)
        }
        func delete(_ key: String) throws(StoreError) -> Bool { try inner.delete(key) }
        func append(_ key: String, _ value: [UInt8]) throws(StoreError) -> Bool { try inner.append(key, value) }
        func touch(_ key: String, ttl: Int) throws(StoreError) -> Bool { try inner.touch(key, ttl: ttl) }
        func take(_ key: String) throws(StoreError) -> [UInt8]? { try inner.take(key) }
        func increment(_ key: String, by delta: UInt64, ttl: Int) throws(StoreError) -> UInt64 {
            try inner.increment(key, by: delta, ttl: ttl)
        }
        func decrement(_ key: String, by delta: UInt64) throws(StoreError) -> UInt64 { try inner.decrement(key, by: delta) }
    }

    @Test func aLastAccessWriteAfterLogoutDoesNotBringTheSessionBack() throws {
        let w = try World(lastAccessInterval: 60)
        let (jwt, _) = try w.appCookie("infusion.iqueue.test", user: "alice", password: "wonderland")
        w.now += 61  // the next check writes LAST_ACCESSED_TIME
        let racing = LogoutBeforeTheWrite(w.memory)
        let during = w.appAuth.respond(to: w.request("infusion.iqueue.test", "/", cookies: ["__Host-sso": jwt], extra: ["SSO_ACTION": "check"]),
                                       context: RequestContext(now: w.now, store: racing, logger: w.logger))
        #expect(racing.loggedOut)
        #expect(during.status != 200, "the check whose write found the session ended must not let the request in")
        #expect(try w.memory.get("sso:s:" + (try w.appAuth.host.gate.check.codec.verifySignature(jwt).jti)) == nil, "the write brought the session back")
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": jwt]).status != 200)
    }
}
