import Testing

@testable import FastCGI

/// A worker that keeps dying within 5 s of its start is started again after a pause that doubles up to 30 s
/// (docs/runtime.md, docs/operations.md).
@Suite struct RestartPauseTests {
    @Test func doublesFrom200MillisecondsAndStopsAt30Seconds() {
        let ms: [UInt64] = (1...12).map { Supervisor.restartPause(failures: $0) / 1_000_000 }
        #expect(ms == [200, 400, 800, 1_600, 3_200, 6_400, 12_800, 25_600, 30_000, 30_000, 30_000, 30_000])
        #expect(Supervisor.restartPause(failures: Int.max) == 30_000_000_000)
    }
}
