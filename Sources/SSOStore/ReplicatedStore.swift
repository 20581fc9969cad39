import Glibc

/// Every item on `replicas + 1` servers, written to each of them by this client (libmemcached's own replicas are
/// unacknowledged, binary-protocol only, and leave out `add`, `cas` and `incr`: docs/scaling.md).
///
/// - Reads go to the first copy, in `Placement` order, on a server that answers and is not fenced; a missing item there
///   falls through to the next copy (that server was restarted, or missed the write).
/// - `delete` writes a tombstone to every copy, so a copy that is read later says "ended", never "absent".
/// - A write that misses a copy fences that server: a record on every other server says its copies must not be read
///   until it is cleaned (flushed). Each process reads that list at least once per lease; a delete that missed a copy
///   returns only a lease after it fenced the server, so no reader anywhere still reads the copy it missed.
/// - `take` (single use) claims every reachable copy with CAS, in placement order, and wins only if no copy was claimed
///   before, by anyone but a claimant that had already lost to this one (`losersClaim`).
/// - A server that fails is ejected for every worker of the process for the retry timeout, then one request tries it.
public final class ReplicatedStore: KeyValueStore {
    /// Client flags of a tombstone. Live items have flags 0.
    public static let tombstone: UInt32 = 0x8000_0001
    /// The value of the tombstones a `take` writes once it has lost (found the item claimed on an earlier copy): its
    /// claims of later copies take nothing from that copy's winner. Every other tombstone is empty.
    static let losersClaim: [UInt8] = Array("lost".utf8)

    let nodes: [StoreNode]
    let pool: PoolState
    let placement: Placement
    let options: MemcachedOptions
    /// Waits the given seconds (a delete that missed a copy); tests replace it.
    let pause: (Double) -> Void
    let fenceKeys: [String]

    public init(nodes: [StoreNode], pool: PoolState, options: MemcachedOptions, pause: @escaping (Double) -> Void = ReplicatedStore.sleep) {
        self.nodes = nodes
        self.pool = pool
        self.options = options
        self.pause = pause
        placement = Placement(servers: options.servers, copies: options.replicas + 1)
        fenceKeys = options.servers.map { options.prefix + "~fence:" + $0 }
    }

    /// Sleeps `seconds` on this thread.
    public static let sleep: @Sendable (Double) -> Void = { seconds in usleep(useconds_t(max(0, seconds) * 1_000_000)) }

    /// The servers at `indices`, as configured, for an error message: which memcached to look at.
    func servers(_ indices: [Int]) -> String {
        indices.map { nodes[$0].name }.joined(separator: ", ")
    }

    /// The servers holding `key`'s copies.
    func servers(for key: String) -> String { servers(placement.nodes(for: key)) }

    /// Runs `operation` on server `i` if the pool lets it, recording whether the server answered. Nil when it was
    /// skipped or did not answer.
    func on<T>(_ i: Int, _ operation: (StoreNode) throws(StoreError) -> T) -> T? {
        guard pool.mayUse(i) else { return nil }
        do {
            let result = try operation(nodes[i])
            pool.succeeded(i)
            return result
        } catch {
            pool.failed(i)
            return nil
        }
    }

    /// The first copy found on a trusted server that answers: the item (nil for a tombstone) and the server's index.
    /// Nil when no trusted server has one; throws when none answered. A live item found is copied with `add` to the
    /// servers that answered without it and to those recovering (back within the repair window), so a restarted or
    /// cleaned server regains its copies as they are used (read repair; `add` never overwrites a tombstone).
    func locate(_ key: String) throws(StoreError) -> (item: NodeItem?, copy: Int)? {
        try MemcachedClient.checkKey(key)
        try ensureFenceLease()
        var answered = false
        var without: [Int] = []
        for i in placement.nodes(for: key) where pool.isTrusted(i) {
            guard let items = on(i, { node throws(StoreError) in try node.fetch([key]) }) else { continue }
            answered = true
            guard let item = items[key] else {
                without.append(i)
                continue
            }
            if item.flags == Self.tombstone { return (nil, i) }
            let copies = placement.nodes(for: key)
            for j in without + copies.filter({ $0 != i && !without.contains($0) && pool.isRecovering($0) }) {
                _ = on(j) { node throws(StoreError) in try node.write(.add, key, item.value, flags: 0, ttl: options.tombstoneTTL) }
            }
            return (item, i)
        }
        guard answered else { throw StoreError("memcached: no copy of the item could be read (\(servers(for: key)))") }
        return nil
    }

    public func get(_ key: String) throws(StoreError) -> [UInt8]? {
        try locate(key)?.item?.value
    }

    public func read(_ key: String) throws(StoreError) -> VersionedValue? {
        guard let found = try locate(key), let item = found.item else { return nil }
        return VersionedValue(value: item.value, version: StoreVersion(cas: item.cas, copy: found.copy))
    }

    /// Writes to every copy; returns the answers by server and the servers missed. Throws when no copy answered.
    func writeEveryCopy(_ key: String, _ write: (StoreNode) throws(StoreError) -> NodeWriteResult) throws(StoreError)
        -> (answers: [Int: NodeWriteResult], missed: [Int]) {
        try MemcachedClient.checkKey(key)
        var answers: [Int: NodeWriteResult] = [:]
        var missed: [Int] = []
        for i in placement.nodes(for: key) {
            if let answer = on(i, write) { answers[i] = answer } else { missed.append(i) }
        }
        guard !answers.isEmpty else { throw StoreError("memcached: no copy of the item could be written (\(servers(missed)))") }
        return (answers, missed)
    }

    public func set(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) {
        let missed = try writeEveryCopy(key) { node throws(StoreError) in try node.write(.set, key, value, flags: 0, ttl: ttl) }.missed
        _ = fence(missed)
    }

    public func add(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) -> Bool {
        // A tombstone is no item: it is replaced (CAS, so a write in between wins), as `delete` then `add` would.
        let (answers, missed) = try writeEveryCopy(key) { node throws(StoreError) in
            let added = try node.write(.add, key, value, flags: 0, ttl: ttl)
            guard added == .notStored, let item = try node.fetch([key])[key], item.flags == Self.tombstone else { return added }
            return try node.write(.cas(item.cas), key, value, flags: 0, ttl: ttl) == .stored ? .stored : .notStored
        }
        _ = fence(missed)
        // The first copy that answered decides, as every writer tries the copies in the same order.
        let first = placement.nodes(for: key).first { answers[$0] != nil }
        return first.map { answers[$0] == .stored } ?? false
    }

    public func replace(_ key: String, _ value: [UInt8], ttl: Int, ifUnchanged version: StoreVersion) throws(StoreError) -> Bool {
        try update(key, value, ttl: ttl, ifUnchanged: version, attempts: 1) { _ in value }
    }

    public func rewrite(_ key: String, from current: VersionedValue, ttl: Int, _ rewrite: ([UInt8]) -> [UInt8]) throws(StoreError) -> Bool {
        try update(key, rewrite(current.value), ttl: ttl, ifUnchanged: current.version, attempts: Self.rewriteAttempts, others: rewrite)
    }

    /// How many times a copy other than the one read is fetched and swapped again while appends keep changing it: 3.
    /// After that it keeps what it holds (all it had, and what was appended), uncompacted.
    static let rewriteAttempts = 3

    /// `value` on the copy read, by CAS over `version`; then every other copy gets `others` of what it holds, by CAS over
    /// what was fetched there, fetched and swapped again up to `attempts` times while it changes (`replace`: `value`
    /// whatever it holds, once; an update newer than this one is left in place).
    private func update(_ key: String, _ value: [UInt8], ttl: Int, ifUnchanged version: StoreVersion, attempts: Int,
                        others: ([UInt8]) -> [UInt8]) throws(StoreError) -> Bool {
        try MemcachedClient.checkKey(key)
        let copies = placement.nodes(for: key)
        guard copies.contains(version.copy),
              on(version.copy, { node throws(StoreError) in try node.write(.cas(version.cas), key, value, flags: 0, ttl: ttl) }) == .stored
        else { return false }
        var missed: [Int] = []
        var endedElsewhere = false
        for i in copies where i != version.copy {
            // The other copies are compared too: `set` could overwrite a tombstone there and bring the item back.
            let done: Bool? = on(i) { node throws(StoreError) in
                for _ in 0..<attempts {
                    guard let item = try node.fetch([key])[key] else {
                        _ = try node.write(.add, key, value, flags: 0, ttl: ttl)
                        return true
                    }
                    if item.flags == Self.tombstone { return false }
                    // EXISTS: changed since the fetch (a newer update, or an append to rewrite again).
                    if try node.write(.cas(item.cas), key, others(item.value), flags: 0, ttl: ttl) != .exists { return true }
                }
                return true
            }
            if let done { endedElsewhere = endedElsewhere || !done } else { missed.append(i) }
        }
        _ = fence(missed)
        if endedElsewhere {
            // The copy read had missed the delete: end it there as well, and report the item as gone.
            _ = on(version.copy) { node throws(StoreError) in
                try node.write(.set, key, [], flags: Self.tombstone, ttl: options.tombstoneTTL)
            }
            return false
        }
        return true
    }

    @discardableResult
    public func delete(_ key: String) throws(StoreError) -> Bool {
        var ended = false
        let missed = try writeEveryCopy(key) { node throws(StoreError) in
            // Whether a live item was there, for the caller's count; the tombstone is written whatever the answer.
            if let item = try node.fetch([key])[key], item.flags != Self.tombstone { ended = true }
            return try node.write(.set, key, [], flags: Self.tombstone, ttl: options.tombstoneTTL)
        }.missed
        guard !missed.isEmpty else { return ended }
        guard fence(missed) else { throw StoreError("memcached: a copy missed the delete and could not be fenced widely enough (missed: \(servers(missed)))") }
        // Readers that last read the fence list before this fence trust the missed server for at most one lease more.
        pause(pool.lease)
        return ended
    }

    public func append(_ key: String, _ value: [UInt8]) throws(StoreError) -> Bool {
        var appended = false
        // A tombstone is no item: nothing is appended to it (an append racing a delete lands on the tombstone and is
        // ended with it).
        let missed = try writeEveryCopy(key) { node throws(StoreError) in
            guard let item = try node.fetch([key])[key], item.flags != Self.tombstone else { return .notStored }
            let answer = try node.write(.append, key, value, flags: 0, ttl: 0)
            appended = appended || answer == .stored
            return answer
        }.missed
        _ = fence(missed)
        return appended
    }

    public func touch(_ key: String, ttl: Int) throws(StoreError) -> Bool {
        var touched = false
        // CAS over the live copy with the same value: a tombstone's lifetime is never shortened.
        let missed = try writeEveryCopy(key) { node throws(StoreError) in
            guard let item = try node.fetch([key])[key], item.flags != Self.tombstone else { return .notFound }
            let answer = try node.write(.cas(item.cas), key, item.value, flags: 0, ttl: ttl)
            touched = touched || answer == .stored
            return answer
        }.missed
        _ = fence(missed)
        return touched
    }

    public func take(_ key: String) throws(StoreError) -> [UInt8]? {
        try MemcachedClient.checkKey(key)
        try ensureFenceLease()  // a claimant cut off from most servers fails closed instead of claiming alone
        var value: [UInt8]?
        var claimedBefore = false
        var answered = false
        var missed: [Int] = []
        // Every reachable copy, fenced ones too: a copy that missed an earlier take still holds the item, and the
        // tombstone on another copy is what says it was taken. Copies are claimed in the same order by everyone.
        for i in placement.nodes(for: key) {
            let lost = claimedBefore
            let outcome: (NodeItem?, NodeWriteResult?)? = on(i) { node throws(StoreError) in
                guard let item = try node.fetch([key])[key] else { return (nil, nil) }
                if item.flags == Self.tombstone { return (item, nil) }
                let claim = try node.write(.cas(item.cas), key, lost ? Self.losersClaim : [], flags: Self.tombstone,
                                           ttl: options.tombstoneTTL)
                // Claimed by someone else between the read and the swap: what they wrote decides, as if read first.
                if claim != .stored, let now = try node.fetch([key])[key], now.flags == Self.tombstone { return (now, nil) }
                return (item, claim)
            }
            guard let (item, claim) = outcome else { missed.append(i); continue }
            answered = true
            guard let item else { continue }
            if claim == .stored {
                if value == nil { value = item.value }
            } else if value == nil || item.value != Self.losersClaim {
                // Claimed before this take won a copy, or by a claimant that had not lost when it claimed (one that
                // did not reach the copies this take won): taken.
                claimedBefore = true
            }
        }
        guard answered else { throw StoreError("memcached: no copy of the item could be read (\(servers(missed)))") }
        // A copy that missed this claim still holds the item: its fence must be where every reader looks.
        guard fence(missed) else { throw StoreError("memcached: a copy missed the claim and could not be fenced (missed: \(servers(missed)))") }
        return claimedBefore ? nil : value
    }

    public func increment(_ key: String, by delta: UInt64, ttl: Int) throws(StoreError) -> UInt64 {
        try MemcachedClient.checkKey(key)
        var highest: UInt64?
        var missed: [Int] = []
        for i in placement.nodes(for: key) {
            if let value = on(i, { node throws(StoreError) in try node.incr(key, by: delta, ttl: ttl) }) {
                highest = max(highest ?? 0, value)
            } else {
                missed.append(i)
            }
        }
        _ = fence(missed)
        guard let highest else { throw StoreError("memcached: no copy of the counter could be written (\(servers(missed)))") }
        return highest
    }

    public func decrement(_ key: String, by delta: UInt64) throws(StoreError) -> UInt64 {
        try MemcachedClient.checkKey(key)
        var highest: UInt64?
        var answered = false
        var missed: [Int] = []
        for i in placement.nodes(for: key) {
            if let value = on(i, { node throws(StoreError) in try node.decr(key, by: delta) }) {
                answered = true
                if let value { highest = max(highest ?? 0, value) }
            } else {
                missed.append(i)
            }
        }
        _ = fence(missed)
        guard answered else { throw StoreError("memcached: no copy of the counter could be written (\(servers(missed)))") }
        return highest ?? 0
    }
}
