import Testing
@testable import SSOCore
import SSOStore
import SSOTesting

/// The store's outage is logged once when it starts and once when it ends, whatever order the workers' clock reads
/// reach it in.
@Suite struct StoreHealthTests {
    @Test func backOnlyAfterAQuietSettleAndNeverOnAnEarlierClockRead() {
        let sink = LogSink()
        let health = StoreHealth(logger: sink.logger(), settleNanoseconds: 1_000)
        let failure = StoreError("get: timeout")
        health.record(failure: failure, now: 10_000)
        health.record(failure: failure, now: 10_500)
        #expect(health.isDown)
        // A worker read the clock (10,400) before another's failure (10,500), then succeeded: not a recovery.
        health.record(failure: nil, now: 10_400)
        #expect(health.isDown)
        health.record(failure: nil, now: 11_000)  // 500 ns after the last failure: not settled yet
        #expect(health.isDown)
        health.record(failure: nil, now: 11_600)
        #expect(!health.isDown)
        #expect(sink.lines.filter { $0.contains("store unavailable") }.count == 1)
        #expect(sink.lines.filter { $0.contains("store available again") }.count == 1)
    }
}
