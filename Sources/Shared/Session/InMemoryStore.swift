import Foundation

/// A `KeyValueStore` in process memory with TTLs on an injected clock: the test double for responders.
/// Thread-safe, so one instance can stand in for every worker's connection in a concurrency test.
public final class InMemoryStore: KeyValueStore, @unchecked Sendable {
    private var items: [String: (value: [UInt8], expires: Int64)] = [:]
    private let lock = NSLock()
    /// The current time in seconds since 1970; tests move it.
    public var now: () -> Int64
    /// When true every call throws, as a stopped memcached would.
    public var isDown = false

    public init(now: @escaping () -> Int64) { self.now = now }

    private func live(_ key: String) -> [UInt8]? {
        guard let item = items[key] else { return nil }
        if item.expires != 0 && item.expires <= now() {
            items[key] = nil
            return nil
        }
        return item.value
    }

    private func expiry(_ ttl: Int) -> Int64 { ttl == 0 ? 0 : now() + Int64(ttl) }

    private func checkUp() throws(StoreError) { if isDown { throw StoreError("in-memory store is down") } }

    public func get(_ key: String) throws(StoreError) -> [UInt8]? {
        try checkUp()
        lock.lock(); defer { lock.unlock() }
        return live(key)
    }

    public func set(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) {
        try checkUp()
        lock.lock(); defer { lock.unlock() }
        items[key] = (value, expiry(ttl))
    }

    public func add(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) -> Bool {
        try checkUp()
        lock.lock(); defer { lock.unlock() }
        if live(key) != nil { return false }
        items[key] = (value, expiry(ttl))
        return true
    }

    public func delete(_ key: String) throws(StoreError) -> Bool {
        try checkUp()
        lock.lock(); defer { lock.unlock() }
        guard live(key) != nil else { return false }
        items[key] = nil
        return true
    }

    public func increment(_ key: String, by delta: UInt64, ttl: Int) throws(StoreError) -> UInt64 {
        try checkUp()
        lock.lock(); defer { lock.unlock() }
        let current = live(key).flatMap { UInt64(String(decoding: $0, as: UTF8.self)) } ?? 0
        let next = current &+ delta
        let expires = items[key]?.expires ?? expiry(ttl)
        items[key] = (Array(String(next).utf8), expires)
        return next
    }
}
