import SSOStore
import Synchronization

/// A `KeyValueStore` in process memory with TTLs on an injected clock: the test double for handlers. Also one server of
/// a `ReplicatedStore` (`StoreNode`), with flags and CAS ids as memcached keeps them. Thread-safe, so one instance can
/// stand in for every worker's connection in a concurrency test.
public final class InMemoryStore: KeyValueStore, StoreNode, Sendable {
    private struct Item {
        var value: [UInt8]
        var expires: Int64
        var flags: UInt32
        var cas: UInt64
    }
    private struct State {
        var items: [String: Item] = [:]
        var isDown = false
        var nextCAS: UInt64 = 1
    }
    private let state = Mutex(State())
    /// The current time in seconds since 1970; tests move it.
    private let now: @Sendable () -> Int64
    public let name: String

    public init(name: String = "memory", now: @escaping @Sendable () -> Int64) {
        self.name = name
        self.now = now
    }

    /// When true every call throws, as a stopped (or hung) memcached would; the items stay, as a hung one keeps them.
    public var isDown: Bool {
        get { state.withLock { $0.isDown } }
        set { state.withLock { $0.isDown = newValue } }
    }

    /// Forgets every item, as a memcached restarted after a crash.
    public func restart() { state.withLock { $0.items = [:] } }

    /// The raw item under `key` whatever the server's state (tests look at each copy).
    public func peekItem(_ key: String) -> NodeItem? {
        state.withLock { s in s.items[key].map { NodeItem(value: $0.value, flags: $0.flags, cas: $0.cas) } }
    }

    private func locked<T>(_ body: (inout State, Int64) -> T) throws(StoreError) -> T {
        let time = now()
        return try state.withLock { (s: inout State) throws(StoreError) -> T in
            if s.isDown { throw StoreError("in-memory store \(name) is down") }
            // Expired items are dropped before every operation, as memcached would never return them.
            s.items = s.items.filter { $0.value.expires == 0 || $0.value.expires > time }
            return body(&s, time)
        }
    }

    private static func expiry(_ ttl: Int, _ now: Int64) -> Int64 {
        let sent = MemcachedTTL.expiration(ttl, now: Int(now))
        return sent == 0 ? 0 : (sent > MemcachedTTL.longestRelative ? Int64(sent) : now + Int64(sent))
    }

    private static func store(_ s: inout State, _ key: String, _ value: [UInt8], _ flags: UInt32, _ expires: Int64) {
        s.items[key] = Item(value: value, expires: expires, flags: flags, cas: s.nextCAS)
        s.nextCAS += 1
    }

    // MARK: StoreNode

    public func fetch(_ keys: [String]) throws(StoreError) -> [String: NodeItem] {
        try locked { s, _ in
            var out: [String: NodeItem] = [:]
            for k in keys { if let i = s.items[k] { out[k] = NodeItem(value: i.value, flags: i.flags, cas: i.cas) } }
            return out
        }
    }

    public func write(_ mode: NodeWriteMode, _ key: String, _ value: [UInt8], flags: UInt32, ttl: Int) throws(StoreError) -> NodeWriteResult {
        try locked { s, now in
            switch mode {
            case .set: break
            case .add: if s.items[key] != nil { return .notStored }
            case .cas(let cas):
                guard let item = s.items[key] else { return .notFound }
                if item.cas != cas { return .exists }
            case .append:
                guard let item = s.items[key] else { return .notStored }
                Self.store(&s, key, item.value + value, item.flags, item.expires)
                return .stored
            }
            Self.store(&s, key, value, flags, Self.expiry(ttl, now))
            return .stored
        }
    }

    public func incr(_ key: String, by delta: UInt64, ttl: Int) throws(StoreError) -> UInt64 {
        try locked { s, now in
            let current = s.items[key].flatMap { UInt64(String(decoding: $0.value, as: UTF8.self)) } ?? 0
            let next = current &+ delta
            Self.store(&s, key, Array(String(next).utf8), 0, s.items[key]?.expires ?? Self.expiry(ttl, now))
            return next
        }
    }

    public func decr(_ key: String, by delta: UInt64) throws(StoreError) -> UInt64? {
        try locked { s, _ in
            guard let item = s.items[key] else { return nil }
            let current = UInt64(String(decoding: item.value, as: UTF8.self)) ?? 0
            let next = current >= delta ? current - delta : 0
            Self.store(&s, key, Array(String(next).utf8), item.flags, item.expires)
            return next
        }
    }

    public func flushAll() throws(StoreError) {
        try locked { s, _ in s.items = [:] }
    }

    // MARK: KeyValueStore

    public func get(_ key: String) throws(StoreError) -> [UInt8]? { try read(key)?.value }

    public func read(_ key: String) throws(StoreError) -> VersionedValue? {
        try fetch([key])[key].map { VersionedValue(value: $0.value, version: StoreVersion(cas: $0.cas)) }
    }

    @discardableResult
    public func delete(_ key: String) throws(StoreError) -> Bool {
        try locked { s, _ in s.items.removeValue(forKey: key) != nil }
    }

    public func touch(_ key: String, ttl: Int) throws(StoreError) -> Bool {
        try locked { s, now in
            guard s.items[key] != nil else { return false }
            s.items[key]?.expires = Self.expiry(ttl, now)
            return true
        }
    }

    public func take(_ key: String) throws(StoreError) -> [UInt8]? {
        try locked { s, _ in s.items.removeValue(forKey: key)?.value }
    }

}
