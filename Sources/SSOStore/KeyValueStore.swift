/// The operations the SSO needs from its store, and the one place their meaning is defined. One instance per worker
/// thread; not shared between threads. Two implementations: `MemcachedClient` (one server, or several sharing the keys
/// out, each item once) and `ReplicatedStore` (every item on `replicas + 1` servers; docs/scaling.md).
///
/// TTLs are seconds from now; any value is accepted (memcached reads more than 30 days as a date: the stores convert).
public protocol KeyValueStore: AnyObject {
    /// The value under `key`, or nil when absent, expired or deleted.
    func get(_ key: String) throws(StoreError) -> [UInt8]?
    /// The value under `key` with its version, for `replace(_:_:ttl:ifUnchanged:)`. Costs what `get` costs.
    func read(_ key: String) throws(StoreError) -> VersionedValue?
    /// Stores `value` under `key` for `ttl` seconds (0 = no expiry).
    func set(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError)
    /// Stores only when `key` is absent (or was deleted); false when it exists.
    func add(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) -> Bool
    /// Overwrites `key` only while it still holds the version `read` returned: false when it was changed, deleted or
    /// expired since. Never creates an item, so an update cannot bring back what `delete` ended.
    func replace(_ key: String, _ value: [UInt8], ttl: Int, ifUnchanged version: StoreVersion) throws(StoreError) -> Bool
    /// As `replace`, with each copy's new value made from what it holds by `rewrite`: the copy `read` returned gets
    /// `rewrite(current.value)` only while it still holds `current.version`; every other copy (`ReplicatedStore`) is
    /// rewritten from its own value by compare-and-swap, so an `append` that reached it after the `read` is kept. For a
    /// list that parallel writers `append` to (the per-user session list's compaction).
    func rewrite(_ key: String, from current: VersionedValue, ttl: Int, _ rewrite: ([UInt8]) -> [UInt8]) throws(StoreError) -> Bool
    /// Ends `key` for good: no later `get`, `read` or `take` returns it, on any server, also after one comes back.
    /// True when there was an item to end.
    @discardableResult
    func delete(_ key: String) throws(StoreError) -> Bool
    /// Single use: returns the value to exactly one caller, however many ask at once, and ends the key.
    func take(_ key: String) throws(StoreError) -> [UInt8]?
    /// Adds `delta` to the counter under `key`, creating it at 0 with `ttl` seconds when absent; returns the new value.
    func increment(_ key: String, by delta: UInt64, ttl: Int) throws(StoreError) -> UInt64
    /// Takes `delta` from the counter under `key` (never below 0); an absent counter stays absent. Returns the new value.
    func decrement(_ key: String, by delta: UInt64) throws(StoreError) -> UInt64
    /// Adds `value` to the end of the item under `key`, atomically; false when there is no such item.
    func append(_ key: String, _ value: [UInt8]) throws(StoreError) -> Bool
    /// Gives the item under `key` a new lifetime of `ttl` seconds; false when there is no such item.
    func touch(_ key: String, ttl: Int) throws(StoreError) -> Bool
}

/// A value and the version it was read at.
public struct VersionedValue: Sendable, Equatable {
    public let value: [UInt8]
    public let version: StoreVersion
    public init(value: [UInt8], version: StoreVersion) {
        self.value = value
        self.version = version
    }
}

/// Opaque to callers: the memcached CAS id of the copy that was read, and which copy that was.
public struct StoreVersion: Sendable, Equatable {
    public let cas: UInt64
    public let copy: Int
    public init(cas: UInt64, copy: Int = 0) {
        self.cas = cas
        self.copy = copy
    }
}

/// The store could not answer. Callers turn this into a refusal (fail closed), never into a yes.
public struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What failed, with the server's reason; never a key's value.
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "store unavailable: \(message)" }
}
