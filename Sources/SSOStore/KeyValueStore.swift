/// The few operations the SSO needs from memcached. One instance per worker thread; not shared between threads.
public protocol KeyValueStore: AnyObject {
    /// The value under `key`, or nil when absent or expired.
    func get(_ key: String) throws(StoreError) -> [UInt8]?
    /// Stores `value` under `key` for `ttl` seconds (0 = no expiry).
    func set(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError)
    /// Stores only when `key` is absent; false when it already exists.
    func add(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) -> Bool
    /// Removes `key`; true only for the one caller whose delete removed it (the single-use primitive).
    func delete(_ key: String) throws(StoreError) -> Bool
    /// Adds `delta` to the counter under `key`, creating it at 0 with `ttl` seconds when absent; returns the new value.
    func increment(_ key: String, by delta: UInt64, ttl: Int) throws(StoreError) -> UInt64
    /// Takes `delta` from the counter under `key` (never below 0); an absent counter stays absent. Returns the new value.
    func decrement(_ key: String, by delta: UInt64) throws(StoreError) -> UInt64
    /// Adds `value` to the end of the item under `key`, atomically; false when there is no such item.
    func append(_ key: String, _ value: [UInt8]) throws(StoreError) -> Bool
    /// Gives the item under `key` a new lifetime of `ttl` seconds; false when there is no such item.
    func touch(_ key: String, ttl: Int) throws(StoreError) -> Bool
}

/// The store could not answer. Callers turn this into a refusal (fail closed), never into a yes.
public struct StoreError: Error, CustomStringConvertible, Sendable, Equatable {
    /// What failed, with the server's reason; never a key's value.
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "store unavailable: \(message)" }
}
