import SSOStore
import Synchronization

/// A `KeyValueStore` in process memory with TTLs on an injected clock: the test double for handlers.
/// Thread-safe, so one instance can stand in for every worker's connection in a concurrency test.
public final class InMemoryStore: KeyValueStore, Sendable {
    private struct State {
        var items: [String: (value: [UInt8], expires: Int64)] = [:]
        var isDown = false
    }
    private let state = Mutex(State())
    /// The current time in seconds since 1970; tests move it.
    private let now: @Sendable () -> Int64

    public init(now: @escaping @Sendable () -> Int64) { self.now = now }

    /// When true every call throws, as a stopped memcached would.
    public var isDown: Bool {
        get { state.withLock { $0.isDown } }
        set { state.withLock { $0.isDown = newValue } }
    }

    private func locked<T>(_ body: (inout [String: (value: [UInt8], expires: Int64)], Int64) -> T) throws(StoreError) -> T {
        let time = now()
        return try state.withLock { (s: inout State) throws(StoreError) -> T in
            if s.isDown { throw StoreError("in-memory store is down") }
            // Expired items are dropped before every operation, as memcached would never return them.
            s.items = s.items.filter { $0.value.expires == 0 || $0.value.expires > time }
            return body(&s.items, time)
        }
    }

    private static func expiry(_ ttl: Int, _ now: Int64) -> Int64 { ttl == 0 ? 0 : now + Int64(ttl) }

    public func get(_ key: String) throws(StoreError) -> [UInt8]? {
        try locked { items, _ in items[key]?.value }
    }

    public func set(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) {
        try locked { items, now in items[key] = (value, Self.expiry(ttl, now)) }
    }

    public func add(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) -> Bool {
        try locked { items, now in
            if items[key] != nil { return false }
            items[key] = (value, Self.expiry(ttl, now))
            return true
        }
    }

    public func delete(_ key: String) throws(StoreError) -> Bool {
        try locked { items, _ in items.removeValue(forKey: key) != nil }
    }

    public func increment(_ key: String, by delta: UInt64, ttl: Int) throws(StoreError) -> UInt64 {
        try locked { items, now in
            let current = items[key].flatMap { UInt64(String(decoding: $0.value, as: UTF8.self)) } ?? 0
            let next = current &+ delta
            items[key] = (Array(String(next).utf8), items[key]?.expires ?? Self.expiry(ttl, now))
            return next
        }
    }

    public func decrement(_ key: String, by delta: UInt64) throws(StoreError) -> UInt64 {
        try locked { items, _ in
            guard let item = items[key] else { return 0 }
            let current = UInt64(String(decoding: item.value, as: UTF8.self)) ?? 0
            let next = current >= delta ? current - delta : 0
            items[key] = (Array(String(next).utf8), item.expires)
            return next
        }
    }

    public func append(_ key: String, _ value: [UInt8]) throws(StoreError) -> Bool {
        try locked { items, _ in
            guard let item = items[key] else { return false }
            items[key] = (item.value + value, item.expires)
            return true
        }
    }

    public func touch(_ key: String, ttl: Int) throws(StoreError) -> Bool {
        try locked { items, now in
            guard let item = items[key] else { return false }
            items[key] = (item.value, Self.expiry(ttl, now))
            return true
        }
    }
}
