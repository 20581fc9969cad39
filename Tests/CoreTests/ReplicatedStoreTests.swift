import Foundation
import Synchronization
import Testing
@testable import SSOStore
@testable import SSOCore
import SSOTesting

/// `ReplicatedStore`'s rules on in-memory servers with a test clock: copies, fall-back reads, ejection, no resurrection,
/// single use under the loss of a server. Two `Process`es share the servers as two hosts would share memcached.
@Suite struct ReplicatedStoreTests {
    final class Clock: @unchecked Sendable {
        let time = Mutex<Double>(1000)
        var now: Double { time.withLock { $0 } }
        func advance(_ seconds: Double) { time.withLock { $0 += seconds } }
    }

    /// Three servers, replicas 1; `process()` is one more process (its own PoolState) on the same servers.
    struct Pool {
        let clock = Clock()
        let servers: [InMemoryStore]
        let options: MemcachedOptions
        init(servers count: Int = 3, replicas: Int = 1) {
            servers = (0..<count).map { InMemoryStore(name: "n\($0)", now: { 1_000_000 }) }
            options = MemcachedOptions(servers: (0..<count).map { "n\($0):11211" }, replicas: replicas, retryTimeoutSeconds: 1,
                                       fenceLeaseMS: 1000, prefix: "t:", tombstoneTTL: 100)
        }
        func process() -> ReplicatedStore { process(nodes: servers) }
        /// One more process that reaches the servers through `nodes` (a cut-off or hooked view of some of them).
        func process(nodes: [StoreNode]) -> ReplicatedStore {
            let clock = self.clock
            let state = PoolState(servers: servers.count, retryTimeout: 1, lease: 1, clock: { clock.now })
            return ReplicatedStore(nodes: nodes, pool: state, options: options, pause: { clock.advance($0) })
        }
        func holders(_ key: String) -> [Int] { servers.indices.filter { servers[$0].peekItem(key) != nil } }
        func copies(_ key: String) -> [Int] { Placement(servers: options.servers, copies: options.replicas + 1).nodes(for: key) }
    }

    @Test func everyWriteIsOnReplicasPlusOneDistinctServers() throws {
        let pool = Pool()
        let store = pool.process()
        for n in 0..<30 {
            let key = "k\(n)"
            try store.set(key, [1], ttl: 60)
            #expect(Set(pool.holders(key)) == Set(pool.copies(key)) && pool.copies(key).count == 2)
        }
        _ = try store.increment("c", by: 2, ttl: 60)
        #expect(pool.holders("c").count == 2)
        #expect(try store.decrement("c", by: 1) == 1)
        #expect(pool.copies("c").allSatisfy { pool.servers[$0].peekItem("c")?.value == Array("1".utf8) })
        #expect(try store.decrement("absent", by: 1) == 0 && pool.holders("absent").isEmpty)
        #expect(try store.add("a", [1], ttl: 60) && pool.holders("a").count == 2)
        try store.delete("k1")
        #expect(pool.copies("k1").allSatisfy { pool.servers[$0].peekItem("k1")?.flags == ReplicatedStore.tombstone })
        #expect(try store.get("k1") == nil)
        let spread = Set((0..<300).map { pool.copies("x\($0)")[0] })
        #expect(spread.count == 3, "keys must spread over every server")
    }

    @Test func readsFallBackWhenAServerIsDownAndItIsEjected() throws {
        let pool = Pool()
        let store = pool.process()
        try store.set("s", Array("v".utf8), ttl: 60)
        let first = pool.copies("s")[0]
        pool.servers[first].isDown = true
        #expect(try store.get("s") == Array("v".utf8))
        #expect(store.pool.isEjected(first))
        pool.servers[first].isDown = false
        #expect(store.pool.isEjected(first))  // left alone for the retry timeout
        pool.clock.advance(1.1)
        #expect(try store.get("s") == Array("v".utf8))
        #expect(!store.pool.isEjected(first))  // tried again, and back
    }

    @Test func aServerRestartedEmptyRegainsItsCopiesAsTheyAreRead() throws {
        let pool = Pool()
        let store = pool.process()
        let keys = (0..<40).map { "s\($0)" }.filter { pool.copies($0)[0] == 0 }
        for k in keys { try store.set(k, Array("v".utf8), ttl: 60) }
        pool.servers[0].restart()  // empty, and nobody wrote while it was away: not fenced
        for k in keys { #expect(try store.get(k) == Array("v".utf8)) }
        #expect(keys.allSatisfy { pool.servers[0].peekItem($0)?.value == Array("v".utf8) })
        // Now the other copies can go: the repaired ones carry the items.
        for i in 1...2 { pool.servers[i].isDown = true }
        for k in keys { #expect(try store.get(k) == Array("v".utf8)) }
    }

    @Test func aServerBackFromAnOutageRegainsCopiesItIsNotReadFirstFor() throws {
        let pool = Pool()
        let store = pool.process()
        let second = (0..<60).map { "s\($0)" }.filter { pool.copies($0)[1] == 0 }
        let first = try #require((0..<60).map { "f\($0)" }.first { pool.copies($0)[0] == 0 })
        for k in second + [first] { try store.set(k, Array("v".utf8), ttl: 60) }
        pool.servers[0].isDown = true
        _ = try store.get(first)  // server 0 fails under a read: ejected (a read misses no write: not fenced)
        pool.servers[0].restart()
        pool.servers[0].isDown = false
        pool.clock.advance(1.1)
        _ = try store.get(first)  // tried again: back, and recovering for the repair window
        for k in second { #expect(try store.get(k) == Array("v".utf8)) }
        #expect(second.allSatisfy { pool.servers[0].peekItem($0)?.value == Array("v".utf8) })
    }

    @Test func everyServerDownFailsClosed() throws {
        let pool = Pool()
        let store = pool.process()
        try store.set("s", [1], ttl: 60)
        for s in pool.servers { s.isDown = true }
        #expect(throws: StoreError.self) { try store.get("s") }
        #expect(throws: StoreError.self) { try store.set("s", [1], ttl: 60) }
        #expect(throws: StoreError.self) { try store.take("s") }
    }

    /// The hung server keeps its copy; the delete reaches the other copy only. Neither the process that deleted nor one
    /// that never saw the server fail may read the session again once the server is back.
    @Test func aDeleteThatMissedACopyIsNeverUndoneByTheServerComingBack() throws {
        let pool = Pool()
        let accounts = pool.process(), appHost = pool.process()
        for n in 0..<20 { try accounts.set("s\(n)", Array("live".utf8), ttl: 60) }
        #expect(try appHost.get("s0") == Array("live".utf8))  // the app host's fence lease starts now
        let hung = pool.copies("s0")[0]
        pool.servers[hung].isDown = true
        let before = pool.clock.now
        for n in 0..<20 { try accounts.delete("s\(n)") }
        #expect(pool.clock.now - before >= 1, "a delete that missed a copy waits one fence lease")
        pool.servers[hung].isDown = false
        #expect(pool.servers[hung].peekItem("s0")?.value == Array("live".utf8))  // the stale copy is there
        for n in 0..<20 {
            #expect(try appHost.get("s\(n)") == nil)
            #expect(try accounts.get("s\(n)") == nil)
            #expect(try pool.process().get("s\(n)") == nil)
        }
    }

    @Test func aFencedServerIsCleanedOnceItIsBackAndThenServesAgain() throws {
        let pool = Pool()
        let store = pool.process()
        let key = (0..<100).map { "k\($0)" }.first { pool.copies($0)[0] == 0 }!
        try store.set(key, Array("old".utf8), ttl: 60)
        pool.servers[0].isDown = true
        try store.set(key, Array("new".utf8), ttl: 60)  // misses server 0: fenced
        #expect(!store.pool.isTrusted(0))
        pool.servers[0].isDown = false
        pool.clock.advance(1.1)  // retry timeout: server 0 answers again
        #expect(try store.get(key) == Array("new".utf8))
        pool.clock.advance(1.1)  // up for a lease: the next fence read cleans it
        #expect(try store.get(key) == Array("new".utf8))
        #expect(store.pool.isTrusted(0))
        // Flushed, the read fell through to the other copy and put it back: the new value, never the old one.
        #expect(pool.servers[0].peekItem(key)?.value == Array("new".utf8))
        #expect(pool.servers[1].peekItem("t:~fence:n0:11211")?.value ?? Array("clear".utf8) == Array("clear".utf8))
        #expect(pool.servers[2].peekItem("t:~fence:n0:11211")?.value ?? Array("clear".utf8) == Array("clear".utf8))
    }

    @Test func takeIsSingleUseWhenACopyWasAwayDuringTheFirstTake() throws {
        let pool = Pool()
        let one = pool.process(), two = pool.process()
        try one.set("r", Array("jwt".utf8), ttl: 60)
        let hung = pool.copies("r")[0]
        pool.servers[hung].isDown = true
        #expect(try one.take("r") == Array("jwt".utf8))
        pool.servers[hung].isDown = false
        #expect(pool.servers[hung].peekItem("r")?.value == Array("jwt".utf8))
        #expect(try two.take("r") == nil)
        #expect(try one.take("r") == nil)
    }

    /// Eight processes take the same 50 requestIDs at once: each is taken exactly once, with two copies and with three
    /// (where a loser's claims of the later copies meet a winner's more often).
    @Test(arguments: [1, 2]) func takeIsSingleUseUnderConcurrency(replicas: Int) throws {
        let pool = Pool(servers: replicas + 2, replicas: replicas)
        let setup = pool.process()
        for n in 0..<50 { try setup.set("r\(n)", [UInt8(n)], ttl: 60) }
        let wins = Mutex([Int](repeating: 0, count: 50))
        let errors = Mutex(0)
        final class Stores: @unchecked Sendable { let all: [ReplicatedStore]; init(_ a: [ReplicatedStore]) { all = a } }
        let stores = Stores((0..<8).map { _ in pool.process() })
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            for n in 0..<50 {
                do { if try stores.all[t].take("r\(n)") != nil { wins.withLock { $0[n] += 1 } } }
                catch { errors.withLock { $0 += 1 } }
            }
        }
        #expect(errors.withLock { $0 } == 0)
        #expect(wins.withLock { $0 } == [Int](repeating: 1, count: 50))
    }

    /// A process whose view of server `hooked` runs `meanwhile` just before its next fetch of `key` there: another
    /// host's take, run between this take's claim of the first copy and its look at the second.
    func interleaved(_ pool: Pool, hooked: Int, key: String, meanwhile: @escaping () -> Void) -> ReplicatedStore {
        let hook = IndexCompactionRaceTests.Hooked(pool.servers[hooked], key: key)
        hook.hook = meanwhile
        return pool.process(nodes: pool.servers.indices.map { $0 == hooked ? hook as StoreNode : pool.servers[$0] })
    }

    /// Two hosts redeem one requestID at once (a double click, a prefetch and the click). X claims the first copy; Y
    /// finds it claimed and goes on to claim the second before X gets there. Y lost, and its claim of the second copy
    /// must not take X's win away: before, X read that claim as "taken before", both answered nil, and the person's
    /// sign-in failed though nobody had used the requestID.
    @Test func aClaimantThatLostTheFirstCopyDoesNotUndoItsWinner() throws {
        let pool = Pool()
        let key = try #require((0..<100).map { "r\($0)" }.first { pool.copies($0) == [0, 1] })
        try pool.process().set(key, Array("jwt".utf8), ttl: 60)
        let y = pool.process()
        let yGot = Mutex<[UInt8]??>(nil)
        let x = interleaved(pool, hooked: 1, key: key) { yGot.withLock { $0 = .some(try? y.take(key)) } }
        let xGot = try x.take(key)
        #expect(yGot.withLock { $0 } == .some(nil), "Y ran between X's two copies, and lost")
        #expect(xGot == Array("jwt".utf8))
        #expect(try pool.process().take(key) == nil)
    }

    /// The other order of the same race, across a partition: Y does not reach the first copy's server, so its first
    /// claim is of the second copy, made before X gets there. Y's claim is a win (it saw no claim before its own), so X,
    /// finding it, must lose: exactly one of them has the value.
    @Test func aClaimantThatWonTheSecondCopyUnseenStillBeatsTheFirstCopysClaimant() throws {
        let pool = Pool()
        let key = try #require((0..<100).map { "r\($0)" }.first { pool.copies($0) == [0, 1] })
        try pool.process().set(key, Array("jwt".utf8), ttl: 60)
        let y = partitioned(pool, cutOff: [0])
        let yGot = Mutex<[UInt8]??>(nil)
        let x = interleaved(pool, hooked: 1, key: key) { yGot.withLock { $0 = .some(try? y.take(key)) } }
        let xGot = try x.take(key)
        #expect(yGot.withLock { $0 } == .some(Array("jwt".utf8)))
        #expect(xGot == nil)
    }

    @Test func anUpdateNeverBringsBackWhatADeleteEnded() throws {
        let pool = Pool()
        let check = pool.process(), logout = pool.process()
        try check.set("s", Array("v1".utf8), ttl: 60)
        let read = try #require(try check.read("s"))
        try logout.delete("s")
        #expect(try check.replace("s", Array("v2".utf8), ttl: 60, ifUnchanged: read.version) == false)
        #expect(try check.get("s") == nil)
        #expect(pool.copies("s").allSatisfy { pool.servers[$0].peekItem("s")?.flags == ReplicatedStore.tombstone })
        // Without a delete the update lands on every copy.
        try check.set("u", Array("v1".utf8), ttl: 60)
        let fresh = try #require(try check.read("u"))
        #expect(try check.replace("u", Array("v2".utf8), ttl: 60, ifUnchanged: fresh.version))
        #expect(pool.copies("u").allSatisfy { pool.servers[$0].peekItem("u")?.value == Array("v2".utf8) })
    }

    @Test func aCopyThatMissedADeleteIsEndedByTheNextUpdate() throws {
        // The copy read had missed the delete (its server was away): the update finds the tombstone on the other copy.
        let pool = Pool(servers: 2)
        let store = pool.process()
        try store.set("s", Array("v1".utf8), ttl: 60)
        let read = try #require(try store.read("s"))
        let other = pool.copies("s").first { $0 != read.version.copy }!
        _ = try pool.servers[other].write(.set, "s", [], flags: ReplicatedStore.tombstone, ttl: 60)
        #expect(try store.replace("s", Array("v2".utf8), ttl: 60, ifUnchanged: read.version) == false)
        #expect(pool.servers[read.version.copy].peekItem("s")?.flags == ReplicatedStore.tombstone)
    }

    /// One process's view of a server: throws while the test cuts this process off from it (a network partition).
    final class Cut: StoreNode, @unchecked Sendable {
        let inner: InMemoryStore
        var blocked = false
        init(_ inner: InMemoryStore) { self.inner = inner }
        var name: String { inner.name }
        func check() throws(StoreError) { if blocked { throw StoreError("cut off") } }
        func fetch(_ keys: [String]) throws(StoreError) -> [String: NodeItem] { try check(); return try inner.fetch(keys) }
        func write(_ mode: NodeWriteMode, _ key: String, _ value: [UInt8], flags: UInt32, ttl: Int) throws(StoreError) -> NodeWriteResult {
            try check(); return try inner.write(mode, key, value, flags: flags, ttl: ttl)
        }
        func incr(_ key: String, by delta: UInt64, ttl: Int) throws(StoreError) -> UInt64 { try check(); return try inner.incr(key, by: delta, ttl: ttl) }
        func decr(_ key: String, by delta: UInt64) throws(StoreError) -> UInt64? { try check(); return try inner.decr(key, by: delta) }
        func flushAll() throws(StoreError) { try check(); try inner.flushAll() }
    }

    func partitioned(_ pool: Pool, cutOff: Set<Int>) -> ReplicatedStore {
        pool.process(nodes: pool.servers.enumerated().map { i, s in let c = Cut(s); c.blocked = cutOff.contains(i); return c })
    }

    @Test func underAPartitionARequestIDIsStillTakenOnceAndADeleteStillHolds() throws {
        let pool = Pool()
        let key = try #require((0..<100).map { "r\($0)" }.first { pool.copies($0) == [0, 1] })
        try pool.process().set(key, Array("jwt".utf8), ttl: 60)
        // A reaches only server 1; B reaches servers 0 and 2. A cannot know what B sees: it must not claim alone.
        let a = partitioned(pool, cutOff: [0, 2]), b = partitioned(pool, cutOff: [1])
        #expect(throws: StoreError.self) { try a.take(key) }
        #expect(try b.take(key) == Array("jwt".utf8))
        // A session deleted by a host that misses server 0 is not read from server 0 by a host that misses server 1.
        let session = try #require((0..<100).map { "s\($0)" }.first { pool.copies($0) == [0, 1] })
        try pool.process().set(session, Array("live".utf8), ttl: 60)
        let c = partitioned(pool, cutOff: [0]), d = partitioned(pool, cutOff: [1])
        #expect(try d.get(session) == Array("live".utf8))
        try c.delete(session)
        pool.clock.advance(0.01)
        #expect(throws: StoreError.self) { try d.get(session) }  // fenced server 0 is all d could read: fail closed
    }

    /// A claimant read the fence list while every server answered, then lost two of three. It reaches one copy of a
    /// request ID and claims it, but its fence of the copy it missed lands on one server only, where a process on the
    /// other side of the partition does not look: that process claims the missed copy and fences it without trouble. The
    /// first take must fail, or the request ID (a JWT hand-off) would be redeemed once on each side.
    @Test func aTakeWhoseFenceReachesTooFewServersFails() throws {
        let pool = Pool()
        let key = try #require((0..<100).map { "r\($0)" }.first { pool.copies($0) == [0, 2] })
        try pool.process().set(key, Array("jwt".utf8), ttl: 60)
        let a = partitioned(pool, cutOff: [])
        _ = try a.get("other")  // a's fence lease starts while every server answers
        for i in [0, 1] { try #require(a.nodes[i] as? Cut).blocked = true }
        var wins = 0
        #expect(throws: StoreError.self) { if try a.take(key) != nil { wins += 1 } }
        // b reaches servers 0 and 1: enough to know the fence list, and a's fence of server 0 is on server 2 alone.
        let b = partitioned(pool, cutOff: [2])
        if try b.take(key) != nil { wins += 1 }
        #expect(wins == 1, "the request ID was redeemed \(wins) times")
        #expect(try pool.process().take(key) == nil)
    }

    /// Every fence is recorded on two of the three servers, so a reader needs answers from two to know the fence list.
    /// A reader that reaches only the server a delete missed (fenced on the other two) must fail closed: trusting its
    /// one answer, it would read the ended session's stale copy as live.
    @Test func aReaderThatReachesTooFewServersToKnowTheFencesFailsClosed() throws {
        let pool = Pool()
        let key = try #require((0..<100).map { "s\($0)" }.first { pool.copies($0) == [2, 0] })
        try pool.process().set(key, Array("live".utf8), ttl: 60)
        try partitioned(pool, cutOff: [2]).delete(key)  // a tombstone on server 0; server 2 fenced on servers 0 and 1
        #expect(pool.servers[2].peekItem(key)?.value == Array("live".utf8))
        let reader = partitioned(pool, cutOff: [0, 1])
        #expect(throws: StoreError.self) { try reader.get(key) }
    }

    /// A delete that misses copy 0 and can record that fence on server 1 only (server 2 does not answer the fence write)
    /// has not held: a reader cut off from server 1 reads the fence list from servers 0 and 2, finds no fence, and reads
    /// the live copy 0. The delete must fail (the sign-out is reported as failed) rather than return as done.
    @Test func aDeleteFencedOnTooFewServersFails() throws {
        let pool = Pool()
        let key = try #require((0..<100).map { "s\($0)" }.first { pool.copies($0) == [0, 1] })
        try pool.process().set(key, Array("live".utf8), ttl: 60)
        let deleter = partitioned(pool, cutOff: [0, 2])
        var held = true
        do { try deleter.delete(key) } catch { held = false }
        #expect(!held, "a delete whose fence reached one server returned as done")
        let reader = partitioned(pool, cutOff: [1])
        let seen = try reader.get(key)
        #expect(!held || seen != Array("live".utf8), "a delete that returned was undone for a reader cut off from server 1")
    }

    /// `add` is a claim (a request-cache delivery, a compaction's turn): the first copy decides, as every writer tries
    /// the copies in the same order. A server restarted empty that holds the second copy answers STORED; a claim taken
    /// already must not be won again because of it.
    @Test func anAddIsDecidedByTheFirstCopyNotByARestartedSecond() throws {
        let pool = Pool()
        let store = pool.process()
        try store.set("claim", Array("first".utf8), ttl: 60)
        pool.servers[pool.copies("claim")[1]].restart()
        #expect(try store.add("claim", Array("second".utf8), ttl: 60) == false)
        #expect(try store.get("claim") == Array("first".utf8))
    }

    /// Counters (the sign-in throttle, the request cache's) answer the highest copy: a memcached restarted empty holds
    /// a copy that starts again from 1, and the count must not fall back to it (a throttle reset by a restart lets a
    /// password guesser go on).
    @Test func aCounterDoesNotFallBackWhenACopyIsLost() throws {
        let pool = Pool()
        let store = pool.process()
        for lost in 0..<2 {
            let key = "c\(lost)"
            for n in 1...5 { #expect(try store.increment(key, by: 1, ttl: 60) == UInt64(n)) }
            pool.servers[pool.copies(key)[lost]].restart()
            #expect(try store.increment(key, by: 1, ttl: 60) == 6, "copy \(lost) lost")
        }
    }

    /// The per-user session index (UserSessionIndex) on copies: append, add over a deleted list, touch that never
    /// stretches or shortens a tombstone, delete that says whether there was something to end.
    @Test func theSessionIndexOperationsHoldOnEveryCopy() throws {
        let pool = Pool()
        let store = pool.process()
        #expect(try store.append("u", Array(" a".utf8)) == false)
        #expect(try store.add("u", Array(" a".utf8), ttl: 60))
        #expect(try store.append("u", Array(" b".utf8)))
        #expect(pool.copies("u").allSatisfy { pool.servers[$0].peekItem("u")?.value == Array(" a b".utf8) })
        #expect(try store.touch("u", ttl: 120))
        #expect(try store.delete("u") == true)
        #expect(try store.delete("u") == false)
        #expect(try store.append("u", Array(" c".utf8)) == false)  // a deleted list takes no entry
        #expect(try store.touch("u", ttl: 1) == false)
        #expect(pool.copies("u").allSatisfy { pool.servers[$0].peekItem("u")?.flags == ReplicatedStore.tombstone })
        #expect(try store.add("u", Array(" d".utf8), ttl: 60))  // a new list after the old one was ended
        #expect(try store.get("u") == Array(" d".utf8))
        #expect(try store.add("u", Array(" e".utf8), ttl: 60) == false)
    }

    @Test func placementIsStableAndIgnoresWhichServersAreUp() {
        let p = Placement(servers: ["a:1", "b:1", "c:1"], copies: 2)
        #expect(p.nodes(for: "sso:s:abc") == Placement(servers: ["a:1", "b:1", "c:1"], copies: 2).nodes(for: "sso:s:abc"))
        #expect(Set(p.nodes(for: "sso:s:abc")).count == 2)
        // Adding a server moves only the keys that now rank it among their copies.
        let bigger = Placement(servers: ["a:1", "b:1", "c:1", "d:1"], copies: 1)
        let smaller = Placement(servers: ["a:1", "b:1", "c:1"], copies: 1)
        let moved = (0..<1000).filter { bigger.nodes(for: "k\($0)") != smaller.nodes(for: "k\($0)") }
        #expect(moved.count < 400 && moved.allSatisfy { bigger.nodes(for: "k\($0)") == [3] })
    }
}


/// A compaction of a user's session list on a pool of two copies: a sign-in that appends to both copies between the
/// compaction's write to the first copy and its write to the second must stay listed on both, so that losing the first
/// server does not hide that session from revocation by user.
@Suite struct IndexCompactionRaceTests {
    /// Server B as the compacting process sees it: runs `hook` once, just before the next fetch of `key` (or, with
    /// `onWrite`, the next write to it).
    final class Hooked: StoreNode, @unchecked Sendable {
        let inner: InMemoryStore
        var hook: (() -> Void)?
        var onWrite = false
        let key: String
        init(_ inner: InMemoryStore, key: String) {
            self.inner = inner
            self.key = key
        }
        var name: String { inner.name }
        func fetch(_ keys: [String]) throws(StoreError) -> [String: NodeItem] {
            if keys.contains(key) && !onWrite { fire() }
            return try inner.fetch(keys)
        }
        func fire() {
            if let hook {
                self.hook = nil
                hook()
            }
        }
        func write(_ mode: NodeWriteMode, _ key: String, _ value: [UInt8], flags: UInt32, ttl: Int) throws(StoreError) -> NodeWriteResult {
            if key == self.key && onWrite { fire() }
            return try inner.write(mode, key, value, flags: flags, ttl: ttl)
        }
        func incr(_ key: String, by delta: UInt64, ttl: Int) throws(StoreError) -> UInt64 { try inner.incr(key, by: delta, ttl: ttl) }
        func decr(_ key: String, by delta: UInt64) throws(StoreError) -> UInt64? { try inner.decr(key, by: delta) }
        func flushAll() throws(StoreError) { try inner.flushAll() }
    }

    /// The other sign-in appends to both copies before the compaction reads B to write it, or after that read and
    /// before the write (B's swap then fails and is made again from what B holds).
    @Test(arguments: [false, true]) func aSignInDuringACompactionStaysListedOnEveryCopy(beforeTheWrite: Bool) throws {
        let servers = (0..<2).map { InMemoryStore(name: "n\($0)", now: { 1_000_000 }) }
        let options = MemcachedOptions(servers: ["n0:11211", "n1:11211"], replicas: 1, retryTimeoutSeconds: 1,
                                       fenceLeaseMS: 1000, prefix: "t:", tombstoneTTL: 100)
        func process(_ nodes: [StoreNode]) -> ReplicatedStore {
            ReplicatedStore(nodes: nodes, pool: PoolState(servers: 2, retryTimeout: 1, lease: 1, clock: { 1000 }),
                            options: options, pause: { _ in })
        }
        let plain = SessionStore(kv: process(servers), prefix: "t:")
        let index = UserSessionIndex(store: plain)
        let key = index.key("alice")
        let copies = Placement(servers: options.servers, copies: 2).nodes(for: key)
        let second = copies[1]
        // A list due for compaction: 400 sign-ins whose sessions have all ended.
        let ended = (0..<400).map { String(format: "ended%035d", $0) }
        try plain.kv.set(key, Array(ended.map { " " + $0 }.joined().utf8), ttl: 3600)
        #expect(UserSessionIndex.isDueForCompaction(try #require(try plain.kv.get(key))))

        // The compacting process reaches server B through the hook: another host's sign-in runs just before the
        // compaction reads B to write it (the first copy is already compacted).
        let hooked = Hooked(servers[second], key: key)
        hooked.onWrite = beforeTheWrite
        let nodes: [StoreNode] = servers.indices.map { $0 == second ? hooked as StoreNode : servers[$0] }
        let compacting = UserSessionIndex(store: SessionStore(kv: process(nodes), prefix: "t:"))
        let other = String(repeating: "b", count: 40), mine = String(repeating: "a", count: 40)
        hooked.hook = { try? index.record(other, user: "alice", ttl: 3600) }
        try compacting.record(mine, user: "alice", ttl: 3600)
        #expect(hooked.hook == nil, "the other sign-in ran during the compaction")

        for i in copies {
            let listed = String(decoding: try #require(servers[i].peekItem(key)).value, as: UTF8.self)
            #expect(listed.contains(other), "server \(i) lost the sign-in that appended during the compaction")
            #expect(listed.contains(mine))
            #expect(!listed.contains("ended"), "server \(i) was not compacted")
        }
        // The first server is lost: the session of the other sign-in is still found for revocation.
        servers[copies[0]].isDown = true
        #expect(try UserSessionIndex(store: SessionStore(kv: process(servers), prefix: "t:")).tokenIDs(of: "alice").contains(other))
    }
}
