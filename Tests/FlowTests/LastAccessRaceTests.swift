import Testing
@testable import AppAuthFCGI
@testable import SSOCore
import SSOStore
import SSOTesting
import Synchronization

/// Logout lands between a check's read of the session and its LAST_ACCESSED_TIME write: the write must not bring the
/// session back (issue 11). The store below runs the logout's delete just before it passes on the check's write.
@Suite struct LastAccessRaceTests {
    @Test func aLastAccessWriteAfterLogoutDoesNotBringTheSessionBack() throws {
        let w = try World(lastAccessInterval: 60)
        let (jwt, _) = try w.appCookie("infusion.iqueue.test", user: "alice", password: "wonderland")
        w.now += 61  // the next check writes LAST_ACCESSED_TIME
        // Before the first write to a session key, that key is deleted, as a logout would.
        let loggedOut = Mutex(false)
        let memory = w.memory
        let racing = InterleavingStore(memory) { operation, key throws(StoreError) in
            guard operation == "set" || operation == "replace", key.hasPrefix("sso:s:"),
                  loggedOut.withLock({ done in defer { done = true }; return !done }) else { return }
            _ = try memory.delete(key)
        }
        let during = w.appAuth.respond(to: w.request("infusion.iqueue.test", "/", cookies: ["__Host-sso": jwt], extra: ["SSO_ACTION": "check"]),
                                       context: RequestContext(now: w.now, store: racing, logger: w.logger))
        #expect(loggedOut.withLock { $0 })
        #expect(during.status != 200, "the check whose write found the session ended must not let the request in")
        #expect(try w.memory.get("sso:s:" + (try w.appAuth.host.gate.check.codec.verifySignature(jwt).jti)) == nil, "the write brought the session back")
        #expect(w.check("infusion.iqueue.test", "/", cookies: ["__Host-sso": jwt]).status != 200)
    }
}
