import CoreMetrics
import FastCGI
import Glibc
import SSOStore

/// What the steps count, as swift-metrics counters and a timer whose values live in the program's `SharedCounters`
/// (`SlotCounter`, `SlotHistogram`): every worker process of the program adds to the same counts, and a scrape answered
/// by any of them sees the whole program's. One per process, shared by its worker threads; each call is one or three
/// relaxed atomic adds.
public final class SSOMetrics: @unchecked Sendable {
    /// The region the counts live in.
    public let counters: SharedCounters
    /// The `server` label of each memcached slot: `memcached.servers` with replicas; without them, one entry naming the
    /// whole pool (libmemcached does not say which server of a pool failed).
    public let servers: [String]
    let checks: [Counter]
    let signIns: [Counter]
    let handoffs: [Counter]
    let keptEvents: [Counter]
    let drops: [Counter]
    let storeErrors: [Counter]
    let storeEjections: [Counter]
    let checkLatency: CoreMetrics.Timer

    public init(counters: SharedCounters, servers: [String]) {
        self.counters = counters
        self.servers = servers
        func family(_ name: String, _ label: String, _ values: [String], base: Int) -> [Counter] {
            values.enumerated().map { index, value in
                Counter(label: name, dimensions: [(label, value)], handler: SlotCounter(counters, slot: base + index))
            }
        }
        typealias L = MetricsLayout
        checks = family("sso_checks_total", "result", CheckResult.allCases.map(\.label), base: L.checks)
        signIns = family("sso_signins_total", "result", SignInResult.allCases.map(\.label), base: L.signIns)
        handoffs = family("sso_handoffs_total", "event", HandoffEvent.allCases.map(\.label), base: L.handoffs)
        keptEvents = family("sso_kept_submissions_total", "event", KeptEvent.allCases.map(\.label), base: L.kept)
        drops = family("sso_kept_submissions_dropped_total", "reason", DropReason.allCases.map(\.label), base: L.dropped)
        let named = Array(servers.prefix(L.maxServers))
        storeErrors = family("sso_memcached_errors_total", "server", named, base: L.storeErrors)
        storeEjections = family("sso_memcached_ejections_total", "server", named, base: L.storeEjections)
        checkLatency = CoreMetrics.Timer(label: "sso_check_duration_seconds", dimensions: [], handler: SlotHistogram(
            counters, base: L.checkHistogram, sumSlot: L.checkSum, countSlot: L.checkCount, bounds: L.checkBucketNanos))
    }

    /// Counts that go nowhere anyone reads: for tests and tools that run steps outside a server.
    public static let discard: SSOMetrics = {
        // A region of this process alone; creating one fails only without memory, and then nothing can run.
        guard let region = try? SharedCounters.create(count: MetricsLayout.count) else { fatalError("cannot map the metrics region") }
        return SSOMetrics(counters: region, servers: [])
    }()

    /// Monotonic nanoseconds, for `check(_:startedAt:)`.
    @inline(__always)
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// One check the web server asked for ended with `result`; it started at `startedAt` (`now()`).
    public func check(_ result: CheckResult, startedAt: UInt64) {
        checks[result.rawValue].increment()
        checkLatency.recordNanoseconds(Int64(clamping: Self.now() &- startedAt))
    }

    public func signIn(_ result: SignInResult) { signIns[result.rawValue].increment() }
    public func handoff(_ event: HandoffEvent) { handoffs[event.rawValue].increment() }
    public func kept(_ event: KeptEvent) { keptEvents[event.rawValue].increment() }
    public func dropped(_ reason: DropReason) { drops[reason.rawValue].increment() }

    /// Worker threads answering a request now, over every worker process.
    public var workersBusy: UInt64 { MetricsLayout.busySlots.reduce(0) { $0 &+ counters.value($1) } }
}

/// memcached failures and ejections per server, from the pool (`PoolState`) or, without replicas, the store itself.
extension SSOMetrics: StoreEvents {
    public func failed(server: Int) {
        guard !storeErrors.isEmpty else { return }
        storeErrors[min(server, storeErrors.count - 1)].increment()
    }

    public func ejected(server: Int) {
        guard !storeEjections.isEmpty else { return }
        storeEjections[min(server, storeEjections.count - 1)].increment()
    }
}
