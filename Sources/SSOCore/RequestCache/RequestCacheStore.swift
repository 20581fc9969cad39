import FoundationEssentials
import Glibc
import SSOCrypto
import SSOStore

/// Kept requests in a `KeyValueStore`: a manifest under `<prefix>q:<id>` and the body in parts under `<prefix>q:<id>:<n>`,
/// so a body larger than memcached's item limit (1 MiB by default) still fits. Taking an entry deletes its manifest
/// first (`take`): only one caller gets it, so a request is delivered at most once. A receipt under `<prefix>q:<id>:r`
/// outlives it, so a browser still naming it can be told what became of it (`fate`).
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
    func receiptKey(_ id: String) -> String { prefix + "q:" + id + ":r" }

    /// How much longer than the entry its receipt lives, in seconds: 3,660, longer than the replay cookie outlives it.
    public static let receiptExtra = 3_660

    /// What became of a kept submission whose manifest is gone, by its receipt.
    public enum Fate: Equatable {
        /// Its time ran out (or there is no receipt: nothing is known of it).
        case ranOut
        /// Taken by a replay that has not finished (its delivery may yet fail and put it back).
        case inFlight
        /// Delivered, or explained to the user: nothing is left to say.
        case finished
    }

    /// The fate of the submission `id` at `now` (seconds since 1970), once its manifest is gone.
    public func fate(_ id: String, now: Int64) throws(StoreError) -> Fate {
        guard SessionStore.isSafeKeyPart(id), let bytes = try kv.get(receiptKey(id)) else { return .ranOut }
        if bytes == Self.finished { return .finished }
        guard let until = Int64(String(decoding: bytes, as: UTF8.self)) else { return .ranOut }
        return now < until ? .inFlight : .ranOut
    }

    /// Records that the submission `id` was delivered or explained, for `seconds` (as long as a cookie can name it).
    public func finish(_ id: String, remember seconds: Int) throws(StoreError) {
        guard SessionStore.isSafeKeyPart(id) else { return }
        try kv.set(receiptKey(id), Self.finished, ttl: seconds)
    }

    static let finished = Array("done".utf8)

    func partKey(_ id: String, _ n: Int) -> String { prefix + "q:" + id + ":" + String(n) }

    /// Stores `entry` and `body` for `ttl` seconds, and its receipt (it runs out at `entry.created + ttl`) for
    /// `receiptExtra` more.
    public func put(_ entry: CachedRequest, body: [UInt8], id: String, ttl: Int) throws(StoreError) {
        try store(entry, body: body, id: id, ttl: ttl)
        try kv.set(receiptKey(id), Array(String(entry.created + Int64(ttl)).utf8), ttl: ttl + Self.receiptExtra)
    }

    /// Stores a taken entry again for the `ttl` seconds it had left (it could not be delivered); its receipt stands.
    public func putBack(_ entry: CachedRequest, body: [UInt8], id: String, ttl: Int) throws(StoreError) {
        try store(entry, body: body, id: id, ttl: ttl)
    }

    /// Parts first, then the manifest that names them.
    private func store(_ entry: CachedRequest, body: [UInt8], id: String, ttl: Int) throws(StoreError) {
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

    /// Takes the entry once. Its receipt still says when it runs out, so whoever finds it gone meanwhile knows it is in
    /// flight (`fate`), until the taker `finish`es it or puts it back.
    public func take(_ id: String) throws(StoreError) -> Taken {
        guard SessionStore.isSafeKeyPart(id) else { return .gone }
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

    /// Parts a body of `length` bytes is stored in (no overflow for any length).
    static func partCount(_ length: Int) -> Int { length / partSize + (length % partSize == 0 ? 0 : 1) }
}
