import CoreMetrics
import FastCGI

/// A swift-metrics counter whose value is one slot of the program's `SharedCounters`, so every worker process adds to
/// the same count. `reset` is not offered to a shared count (a scrape would see it drop) and does nothing.
final class SlotCounter: CounterHandler, @unchecked Sendable {
    let counters: SharedCounters
    let slot: Int

    init(_ counters: SharedCounters, slot: Int) {
        self.counters = counters
        self.slot = slot
    }

    func increment(by amount: Int64) { counters.add(slot, UInt64(clamping: amount)) }
    func reset() {}
}

/// A swift-metrics timer kept as a histogram in `SharedCounters`: one slot per bucket (non-cumulative), one past the
/// last bound, the sum in nanoseconds and the count, starting at slot `base` (`MetricsLayout.checkHistogram`).
final class SlotHistogram: TimerHandler, @unchecked Sendable {
    let counters: SharedCounters
    let base: Int
    let sumSlot: Int
    let countSlot: Int
    /// Upper bounds, nanoseconds, ascending.
    let bounds: [Int64]

    init(_ counters: SharedCounters, base: Int, sumSlot: Int, countSlot: Int, bounds: [Int64]) {
        self.counters = counters
        self.base = base
        self.sumSlot = sumSlot
        self.countSlot = countSlot
        self.bounds = bounds
    }

    func recordNanoseconds(_ duration: Int64) {
        let nanos = max(0, duration)
        var bucket = 0
        while bucket < bounds.count && nanos > bounds[bucket] { bucket += 1 }
        counters.add(base + bucket)
        counters.add(sumSlot, UInt64(nanos))
        counters.add(countSlot)
    }
}
