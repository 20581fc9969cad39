/// Which servers hold the copies of a key: rendezvous (highest random weight) hashing over the configured list. Every
/// process with the same list computes the same servers, and the order does not change when a server is down: a down
/// server is skipped, never replaced, so no key moves and no copy is made on a server that then misses the delete.
public struct Placement: Sendable {
    public let servers: [String]
    public let copies: Int

    public init(servers: [String], copies: Int) {
        self.servers = servers
        self.copies = max(1, min(copies, servers.count))
    }

    /// The indexes of the servers holding `key`'s copies, the preferred one first.
    public func nodes(for key: String) -> [Int] {
        let scored = servers.indices.map { (index: $0, score: Self.score(servers[$0], key)) }
        return scored.sorted { $0.score == $1.score ? $0.index < $1.index : $0.score > $1.score }.prefix(copies).map(\.index)
    }

    /// FNV-1a over server, a separator and key, then a 64-bit finaliser (splitmix64): stable across processes and runs.
    static func score(_ server: String, _ key: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in server.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        h = (h ^ 0xff) &* 0x100_0000_01b3
        for b in key.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        h ^= h >> 30; h = h &* 0xbf58_476d_1ce4_e5b9
        h ^= h >> 27; h = h &* 0x94d0_49bb_1331_11eb
        return h ^ (h >> 31)
    }
}
