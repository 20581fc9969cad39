/// One memcached server as `ReplicatedStore` drives it: plain commands, the item's client flags and CAS id visible.
/// A thrown `StoreError` means the server did not answer (down, hung, broken connection); every answer is a value.
public protocol StoreNode: AnyObject {
    /// `host:port` or the socket path, as configured.
    var name: String { get }
    /// The items under `keys` that exist (one round trip).
    func fetch(_ keys: [String]) throws(StoreError) -> [String: NodeItem]
    /// One storage command.
    func write(_ mode: NodeWriteMode, _ key: String, _ value: [UInt8], flags: UInt32, ttl: Int) throws(StoreError) -> NodeWriteResult
    /// Adds `delta` to the counter, creating it at 0 with `ttl` first when absent.
    func incr(_ key: String, by delta: UInt64, ttl: Int) throws(StoreError) -> UInt64
    /// Takes `delta` from the counter (never below 0); nil when it is absent (an absent counter stays absent).
    func decr(_ key: String, by delta: UInt64) throws(StoreError) -> UInt64?
    /// Invalidates every item on this server at once (`flush_all`).
    func flushAll() throws(StoreError)
}

/// An item as one server holds it.
public struct NodeItem: Sendable, Equatable {
    public let value: [UInt8]
    public let flags: UInt32
    public let cas: UInt64
    public init(value: [UInt8], flags: UInt32, cas: UInt64) {
        self.value = value
        self.flags = flags
        self.cas = cas
    }
}

/// memcached's storage commands; `cas` carries the id the item must still have; `append` keeps the item's flags and
/// lifetime (its TTL argument is ignored) and answers NOT_STORED when there is no item.
public enum NodeWriteMode: Sendable, Equatable {
    case set, add, cas(UInt64), append
}

/// memcached's answers to a storage command.
public enum NodeWriteResult: Sendable, Equatable {
    /// STORED.
    case stored
    /// NOT_STORED (`add` on an existing key).
    case notStored
    /// EXISTS (`cas` on an item changed since).
    case exists
    /// NOT_FOUND (`cas` on an item gone since).
    case notFound
}

/// memcached reads an expiration over 30 days as a Unix time: such TTLs are sent as one.
public enum MemcachedTTL {
    /// The longest TTL memcached takes as seconds from now (30 days).
    public static let longestRelative = 2_592_000

    /// The expiration to send for `ttl` seconds from `now` (seconds since 1970): `ttl` itself up to 30 days, the
    /// absolute time after that; 0 stays 0 (no expiry).
    public static func expiration(_ ttl: Int, now: Int) -> Int {
        ttl > longestRelative ? now + ttl : max(0, ttl)
    }
}
