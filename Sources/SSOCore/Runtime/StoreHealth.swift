import Glibc
import Logging
import SSOStore
import Synchronization

/// Whether this process's store answers, shared by its workers, so that an outage is logged once when it starts and
/// once when it ends, not on every request that meets it (thousands of lines a second under load). While it recovers,
/// workers disagree for a moment (each connection comes back after its own retry timeout): it counts as back only once
/// no operation has failed for `settleNanoseconds`, so the log does not flap.
public final class StoreHealth: Sendable {
    private let logger: Logger
    /// True from the first failure until an operation succeeds after a quiet `settleNanoseconds`.
    private let down = Atomic<Bool>(false)
    /// Monotonic nanoseconds of the outage's first and latest failure.
    private let since = Atomic<UInt64>(0)
    private let lastFailure = Atomic<UInt64>(0)
    /// Nanoseconds without a failure before the store counts as back. Default: 1 s.
    let settleNanoseconds: UInt64

    public init(logger: Logger, settleNanoseconds: UInt64 = 1_000_000_000) {
        self.logger = logger
        self.settleNanoseconds = settleNanoseconds
    }

    /// True while the store is taken to be unreachable.
    public var isDown: Bool { down.load(ordering: .relaxed) }

    /// Records one operation's outcome; logs when it changes the state. `now`: monotonic nanoseconds, read only when the
    /// state may change (default: the clock).
    func record(failure: StoreError?, now clock: @autoclosure () -> UInt64 = StoreHealth.now()) {
        // The common case, the store answering and known to be up, is one relaxed load.
        let isDown = down.load(ordering: .relaxed)
        if failure == nil && !isDown { return }
        let now = clock()
        if let failure {
            lastFailure.store(now, ordering: .relaxed)
            guard !isDown, down.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
            since.store(now, ordering: .relaxed)
            logger.error("store unavailable: requests are refused until it answers again", metadata: ["error": "\(failure.message)"])
            return
        }
        // A success whose clock was read before another worker's latest failure is no sign of recovery (its time since
        // that failure would be negative: it once wrapped round to "long ago" and logged the store back mid-outage).
        let last = lastFailure.load(ordering: .relaxed)
        guard now >= last, now - last >= settleNanoseconds,
              down.compareExchange(expected: true, desired: false, ordering: .relaxed).exchanged else { return }
        let seconds = Double((now &- since.load(ordering: .relaxed)) / 1_000_000) / 1_000
        logger.notice("store available again", metadata: ["unavailable_s": "\(seconds)"])
    }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// A worker's store, reporting each operation's outcome to the process's `StoreHealth`. Every operation of
/// `KeyValueStore` goes through `observe`; a new one in the protocol needs its line here.
public final class MonitoredStore: KeyValueStore {
    private let inner: KeyValueStore
    private let health: StoreHealth
    /// Told of each failed operation as server 0 (a store without replicas; with replicas the pool tells per server).
    private let events: StoreEvents?

    public init(_ inner: KeyValueStore, health: StoreHealth, events: StoreEvents? = nil) {
        self.inner = inner
        self.health = health
        self.events = events
    }

    private func observe<T>(_ operation: () throws(StoreError) -> T) throws(StoreError) -> T {
        do {
            let value = try operation()
            health.record(failure: nil)
            return value
        } catch {
            health.record(failure: error)
            events?.failed(server: 0)
            throw error
        }
    }

    public func get(_ key: String) throws(StoreError) -> [UInt8]? { try observe { () throws(StoreError) in try inner.get(key) } }
    public func read(_ key: String) throws(StoreError) -> VersionedValue? { try observe { () throws(StoreError) in try inner.read(key) } }
    public func replace(_ key: String, _ value: [UInt8], ttl: Int, ifUnchanged version: StoreVersion) throws(StoreError) -> Bool {
        try observe { () throws(StoreError) in try inner.replace(key, value, ttl: ttl, ifUnchanged: version) }
    }
    public func rewrite(_ key: String, from current: VersionedValue, ttl: Int, _ rewrite: ([UInt8]) -> [UInt8]) throws(StoreError) -> Bool {
        try observe { () throws(StoreError) in try inner.rewrite(key, from: current, ttl: ttl, rewrite) }
    }
    public func take(_ key: String) throws(StoreError) -> [UInt8]? { try observe { () throws(StoreError) in try inner.take(key) } }
    public func set(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) {
        try observe { () throws(StoreError) in try inner.set(key, value, ttl: ttl) }
    }
    public func add(_ key: String, _ value: [UInt8], ttl: Int) throws(StoreError) -> Bool {
        try observe { () throws(StoreError) in try inner.add(key, value, ttl: ttl) }
    }
    @discardableResult
    public func delete(_ key: String) throws(StoreError) -> Bool { try observe { () throws(StoreError) in try inner.delete(key) } }
    public func increment(_ key: String, by delta: UInt64, ttl: Int) throws(StoreError) -> UInt64 {
        try observe { () throws(StoreError) in try inner.increment(key, by: delta, ttl: ttl) }
    }
    public func decrement(_ key: String, by delta: UInt64) throws(StoreError) -> UInt64 {
        try observe { () throws(StoreError) in try inner.decrement(key, by: delta) }
    }
    public func append(_ key: String, _ value: [UInt8]) throws(StoreError) -> Bool {
        try observe { () throws(StoreError) in try inner.append(key, value) }
    }
    public func touch(_ key: String, ttl: Int) throws(StoreError) -> Bool {
        try observe { () throws(StoreError) in try inner.touch(key, ttl: ttl) }
    }
}
