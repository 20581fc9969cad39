import SSOStore

/// A `KeyValueStore` around another that lets a test run another caller's steps at an exact point of this one's: before
/// each write (`set`, `add`, `replace`, `rewrite`, `delete`, `take`), `before(operation, key)` runs first. What it does
/// goes straight to `inner`, so it lands between this caller's read and its write, as another process's would.
public final class InterleavingStore: KeyValueStore, Sendable {
    public let inner: any KeyValueStore & Sendable
    private let before: @Sendable (String, String) throws(StoreError) -> Void

    /// `before(operation, key)`: `operation` is the method's name ("set", "replace", …).
    public init(_ inner: any KeyValueStore & Sendable, before: @escaping @Sendable (String, String) throws(StoreError) -> Void) {
        self.inner = inner
        self.before = before
    }

    private func hook(_ operation: String, _ key: String) throws(StoreError) { try before(operation, key) }

    public func get(_ key: String) throws(StoreError) -> [UInt8]? { try inner.get(key) }
    public func read(_ key: String) throws(StoreError) -> VersionedValue? { try inner.read(key) }
    public func set(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) {
        try hook("set", key)
        try inner.set(key, value, ttl: ttl)
    }
    public func add(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) -> Bool {
        try hook("add", key)
        return try inner.add(key, value, ttl: ttl)
    }
    public func replace(_ key: String, _ value: [UInt8], ttl: Int, ifUnchanged version: StoreVersion) throws(StoreError) -> Bool {
        try hook("replace", key)
        return try inner.replace(key, value, ttl: ttl, ifUnchanged: version)
    }
    public func rewrite(_ key: String, from current: VersionedValue, ttl: Int, _ rewrite: ([UInt8]) -> [UInt8]) throws(StoreError) -> Bool {
        try hook("rewrite", key)
        return try inner.rewrite(key, from: current, ttl: ttl, rewrite)
    }
    public func delete(_ key: String) throws(StoreError) -> Bool {
        try hook("delete", key)
        return try inner.delete(key)
    }
    public func take(_ key: String) throws(StoreError) -> [UInt8]? {
        try hook("take", key)
        return try inner.take(key)
    }
    public func append(_ key: String, _ value: [UInt8]) throws(StoreError) -> Bool { try inner.append(key, value) }
    public func touch(_ key: String, ttl: Int) throws(StoreError) -> Bool { try inner.touch(key, ttl: ttl) }
    public func increment(_ key: String, by delta: UInt64, ttl: Int) throws(StoreError) -> UInt64 {
        try inner.increment(key, by: delta, ttl: ttl)
    }
    public func decrement(_ key: String, by delta: UInt64) throws(StoreError) -> UInt64 { try inner.decrement(key, by: delta) }
}
