/// Fences: the record, kept on every other server, that a server missed a write. Read at least once per lease by every
/// process; a fenced server is not read until someone cleans it (flush, then clear its records with CAS).
extension ReplicatedStore {
    static let fencedValue = Array("fenced".utf8)
    static let clearValue = Array("clear".utf8)

    /// How long a fence record lives: longer than any copy it protects against (tombstone TTL), plus a minute.
    var fenceTTL: Int { options.tombstoneTTL + 60 }

    /// Servers a fence must be recorded on: `replicas + 1` (all the others in a pool of `replicas + 1`). A reader needs
    /// answers from `servers - replicas` servers to trust its fence list, so the two sets always meet.
    var fenceQuorum: Int { min(options.replicas + 1, nodes.count - 1) }

    /// Records on every other reachable server that the servers in `missed` missed a write. False when a server's
    /// fence reached fewer than `fenceQuorum` servers (a delete or take then fails: its answer could not be trusted).
    func fence(_ missed: [Int]) -> Bool {
        var enough = true
        for i in missed {
            pool.fenced(i)
            var recorded = 0
            for j in nodes.indices where j != i && !missed.contains(j) {
                if on(j, { node throws(StoreError) in try node.write(.set, fenceKeys[i], Self.fencedValue, flags: 0, ttl: fenceTTL) }) == .stored {
                    recorded += 1
                }
            }
            enough = enough && recorded >= fenceQuorum
        }
        return enough
    }

    /// Reads the fence list from every server when the lease is over (or about to be, by one worker); cleans fenced
    /// servers that are back. Throws when the lease is over and too few servers answered to know the list (fewer
    /// than servers - replicas).
    func ensureFenceLease() throws(StoreError) {
        guard nodes.count > 1 else { return }
        switch pool.leaseCheck() {
        case .valid: return
        case .expired: try readFences()
        case .renew:
            do { try readFences() } catch { pool.renewalFailed() }
        }
    }

    func readFences() throws(StoreError) {
        let start = pool.clock()
        var fenced = Set<Int>()
        var records: [Int: [(holder: Int, cas: UInt64)]] = [:]
        var answered = 0
        for j in nodes.indices {
            guard let items = on(j, { node throws(StoreError) in try node.fetch(fenceKeys) }) else { continue }
            answered += 1
            for (i, key) in fenceKeys.enumerated() {
                if let item = items[key], item.value == Self.fencedValue {
                    fenced.insert(i)
                    records[i, default: []].append((j, item.cas))
                }
            }
        }
        guard answered >= nodes.count - options.replicas else {
            throw StoreError("memcached: too few servers answered to know which copies can be read (\(answered) of \(servers(Array(nodes.indices))))")
        }
        pool.refreshed(start: start, fenced: fenced)
        for i in fenced.sorted() where pool.hasBeenUp(i, for: pool.lease) {
            clean(i, records: records[i] ?? [], start: start)
        }
    }

    /// Flushes server `i`, then clears the fence records seen; a record rewritten since (CAS fails) keeps it fenced.
    /// Its copies are then gone, and reads of them fall through to the other copies until they are written again.
    func clean(_ i: Int, records: [(holder: Int, cas: UInt64)], start: Double) {
        guard on(i, { node throws(StoreError) in try node.flushAll() }) != nil else { return }
        var cleared = true
        for (holder, cas) in records {
            let answer = on(holder) { node throws(StoreError) in
                try node.write(.cas(cas), fenceKeys[i], Self.clearValue, flags: 0, ttl: fenceTTL)
            }
            cleared = cleared && answer == .stored
        }
        if cleared { pool.cleaned(i, start: start) }
    }
}
