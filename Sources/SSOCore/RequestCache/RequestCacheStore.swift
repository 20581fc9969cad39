import FoundationEssentials
import Glibc
import SSOCrypto
import SSOStore

/// Kept requests in a `KeyValueStore`: a manifest under `<prefix>q:<id>` and the body in parts under `<prefix>q:<id>:<n>`,
/// so a body larger than memcached's item limit (1 MiB by default) still fits. Taking an entry deletes its manifest
/// first (`take`): only one caller gets it, so a request is delivered at most once; a taken one is remembered as taken
/// (`wasTaken`) for longer than any cookie names it.
public struct RequestCacheStore {
    /// Bytes per body part. Default: 262,144 (well under memcached's default 1 MiB item limit).
    public static let partSize = 262_144

    public let kv: KeyValueStore
    public let prefix: String

    public init(kv: KeyValueStore, prefix: String) {
        self.kv = kv
        self.prefix = prefix
    }

    func manifestKey(_ id: String) -> String { prefix + "q:" + id }
    func takenKey(_ id: String) -> String { prefix + "q:" + id + ":taken" }

    /// How long a taken entry is remembered as taken (not run out), in seconds: 5,400, longer than any replay cookie
    /// naming it (the ttl, 600 by default, and an hour).
    public static let takenMemory = 5_400

    /// True when the entry under `id` was taken (delivered, or explained): a browser still naming it lost an update of
    /// its replay cookie (two replays answered at once), and nothing about it is left to say.
    public func wasTaken(_ id: String) throws(StoreError) -> Bool {
        guard SessionStore.isSafeKeyPart(id) else { return false }
        return try kv.get(takenKey(id)) != nil
    }
    func partKey(_ id: String, _ n: Int) -> String { prefix + "q:" + id + ":" + String(n) }

    /// Stores `entry` and `body` for `ttl` seconds; parts are written before the manifest that names them.
    public func put(_ entry: CachedRequest, body: [UInt8], id: String, ttl: Int) throws(StoreError) {
        guard SessionStore.isSafeKeyPart(id) else { throw StoreError("request cache: unsafe id") }
        var stored = entry
        stored.parts = Self.partCount(body.count)
        for n in 0..<stored.parts {
            let start = n * Self.partSize
            try kv.set(partKey(id, n), Array(body[start..<min(body.count, start + Self.partSize)]), ttl: ttl + 30)
        }
        guard let manifest = try? JSONEncoder().encode(stored) else { throw StoreError("request cache: cannot encode entry") }
        try kv.set(manifestKey(id), Array(manifest), ttl: ttl)
    }

    /// The manifest without taking it (nil when absent, expired or unreadable).
    public func peek(_ id: String) throws(StoreError) -> CachedRequest? {
        guard SessionStore.isSafeKeyPart(id), let bytes = try kv.get(manifestKey(id)) else { return nil }
        return try? JSONDecoder().decode(CachedRequest.self, from: Data(bytes))
    }

    /// What `take` found.
    public enum Taken: Equatable {
        /// This caller has the entry, and no other ever will.
        case entry(CachedRequest, body: [UInt8])
        /// No entry to take: another caller took it first (or it just ran out).
        case gone
        /// Taken, but it cannot be read back: its parts are missing or do not match the digest (never a partial body).
        case broken

        /// The entry and its body when this caller has them; nil when gone or broken.
        public var value: (entry: CachedRequest, body: [UInt8])? {
            if case .entry(let entry, let body) = self { return (entry, body) }
            return nil
        }
    }

    /// Takes the entry once. It is marked taken first (`wasTaken`), so that whoever finds it gone from then on knows it
    /// did not run out.
    public func take(_ id: String) throws(StoreError) -> Taken {
        guard SessionStore.isSafeKeyPart(id) else { return .gone }
        try kv.set(takenKey(id), [0x31], ttl: Self.takenMemory)
        guard let bytes = try kv.take(manifestKey(id)) else { return .gone }
        guard let entry = try? JSONDecoder().decode(CachedRequest.self, from: Data(bytes)) else { return .broken }
        // The manifest comes from memcached: a part count that does not follow from the length (negative, huge,
        // damaged) is no entry, and the length reserves no memory before the parts are there.
        guard entry.bodyLength >= 0, entry.parts == Self.partCount(entry.bodyLength) else { return .broken }
        var body: [UInt8] = []
        body.reserveCapacity(min(entry.bodyLength, 4 * Self.partSize))
        for n in 0..<entry.parts {
            // A missing part ends the entry; the parts after it expire with their TTL.
            guard let part = try kv.get(partKey(id, n)) else { return .broken }
            body += part
            try kv.delete(partKey(id, n))
        }
        guard body.count == entry.bodyLength, Digest.sha256Hex(body) == entry.bodySHA256 else { return .broken }
        return .entry(entry, body: body)
    }

    /// Stores a taken entry again (it could not be delivered), no longer marked taken: if its time runs out now, the
    /// user is told.
    public func putBack(_ entry: CachedRequest, body: [UInt8], id: String, ttl: Int) throws(StoreError) {
        try put(entry, body: body, id: id, ttl: ttl)
        try kv.delete(takenKey(id))
    }

    /// Parts a body of `length` bytes is stored in (no overflow for any length).
    static func partCount(_ length: Int) -> Int { length / partSize + (length % partSize == 0 ? 0 : 1) }
}
