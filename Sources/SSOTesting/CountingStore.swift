import SSOStore
import Synchronization

/// A `KeyValueStore` that counts round trips, around another store: proves how many memcached operations a step costs.
public final class CountingStore: KeyValueStore, Sendable {
    public let inner: any KeyValueStore & Sendable
    /// Operations since the last `reset()`: reads (`get`, `read`), writes (`set`, `replace`), deletes, and the rest
    /// (`add`, `take`, `increment`).
    public struct Counts: Sendable, Equatable {
        public var gets: Int, sets: Int, deletes: Int, others: Int
        public init(gets: Int = 0, sets: Int = 0, deletes: Int = 0, others: Int = 0) {
            self.gets = gets; self.sets = sets; self.deletes = deletes; self.others = others
        }
    }
    private let state = Mutex(Counts())

    public init(_ inner: any KeyValueStore & Sendable) { self.inner = inner }

    public var counts: Counts { state.withLock { $0 } }
    public func reset() { state.withLock { $0 = Counts() } }

    public func get(_ key: String) throws(StoreError) -> [UInt8]? {
        state.withLock { $0.gets += 1 }
        return try inner.get(key)
    }
    public func read(_ key: String) throws(StoreError) -> VersionedValue? {
        state.withLock { $0.gets += 1 }
        return try inner.read(key)
    }
    public func set(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) {
        state.withLock { $0.sets += 1 }
        try inner.set(key, value, ttl: ttl)
    }
    public func add(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) -> Bool {
        state.withLock { $0.others += 1 }
        return try inner.add(key, value, ttl: ttl)
    }
    public func replace(_ key: String, _ value: [UInt8], ttl: Int, ifUnchanged version: StoreVersion) throws(StoreError) -> Bool {
        state.withLock { $0.sets += 1 }
        return try inner.replace(key, value, ttl: ttl, ifUnchanged: version)
    }
    public func rewrite(_ key: String, from current: VersionedValue, ttl: Int, _ rewrite: ([UInt8]) -> [UInt8]) throws(StoreError) -> Bool {
        state.withLock { $0.sets += 1 }
        return try inner.rewrite(key, from: current, ttl: ttl, rewrite)
    }
    @discardableResult
    public func delete(_ key: String) throws(StoreError) -> Bool {
        state.withLock { $0.deletes += 1 }
        return try inner.delete(key)
    }
    public func take(_ key: String) throws(StoreError) -> [UInt8]? {
        state.withLock { $0.others += 1 }
        return try inner.take(key)
    }
    public func increment(_ key: String, by delta: UInt64, ttl: Int) throws(StoreError) -> UInt64 {
        state.withLock { $0.others += 1 }
        return try inner.increment(key, by: delta, ttl: ttl)
    }
    public func decrement(_ key: String, by delta: UInt64) throws(StoreError) -> UInt64 {
        state.withLock { $0.others += 1 }
        return try inner.decrement(key, by: delta)
    }
    public func append(_ key: String, _ value: [UInt8]) throws(StoreError) -> Bool {
        state.withLock { $0.others += 1 }
        return try inner.append(key, value)
    }
    public func touch(_ key: String, ttl: Int) throws(StoreError) -> Bool {
        state.withLock { $0.others += 1 }
        return try inner.touch(key, ttl: ttl)
    }
}
