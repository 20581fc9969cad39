/// A single server is a whole `KeyValueStore` by itself: the plain operations in terms of its commands, shared by
/// `MemcachedClient` and the in-memory double (`get`, `read`, `delete`, `take` and `touch` are each its own).
public extension StoreNode {
    func set(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) {
        _ = try write(.set, key, value, flags: 0, ttl: ttl)
    }

    func add(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) -> Bool {
        try write(.add, key, value, flags: 0, ttl: ttl) == .stored
    }

    func replace(_ key: String, _ value: [UInt8], ttl: Int, ifUnchanged version: StoreVersion) throws(StoreError) -> Bool {
        try write(.cas(version.cas), key, value, flags: 0, ttl: ttl) == .stored
    }

    func rewrite(_ key: String, from current: VersionedValue, ttl: Int, _ rewrite: ([UInt8]) -> [UInt8]) throws(StoreError) -> Bool {
        try replace(key, rewrite(current.value), ttl: ttl, ifUnchanged: current.version)
    }

    func append(_ key: String, _ value: [UInt8]) throws(StoreError) -> Bool {
        try write(.append, key, value, flags: 0, ttl: 0) == .stored
    }

    func increment(_ key: String, by delta: UInt64, ttl: Int) throws(StoreError) -> UInt64 {
        try incr(key, by: delta, ttl: ttl)
    }

    func decrement(_ key: String, by delta: UInt64) throws(StoreError) -> UInt64 {
        try decr(key, by: delta) ?? 0
    }
}
