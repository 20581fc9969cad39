import Logging
import Synchronization

/// What the runtime turns away (malformed records, stalled connections, peers outside the allow-list), logged without
/// letting whoever sends it flood the log: the first of each kind at once, then at most one line a minute with a count.
final class RuntimeNotes: Sendable {
    struct Kind {
        var unlogged = 0
        var lastLogged: UInt64 = 0

        /// Counts one event at `now` (monotonic nanoseconds); the number of events the line written now stands for, or
        /// nil while the last line is less than `interval` old. A `now` before the last line (a clock read by another
        /// thread, taken out of order) is never a line and never a negative duration.
        mutating func count(at now: UInt64, interval: UInt64) -> Int? {
            unlogged += 1
            guard lastLogged == 0 || (now >= lastLogged && now - lastLogged >= interval) else { return nil }
            let n = unlogged
            unlogged = 0
            lastLogged = now
            return n
        }
    }

    private let logger: Logger
    private let kinds = Mutex<[String: Kind]>([:])
    /// Nanoseconds between two lines of one kind. Default: 60 s.
    private let interval: UInt64

    init(logger: Logger, interval: UInt64 = 60_000_000_000) {
        self.logger = logger
        self.interval = interval
    }

    /// Records one event of `kind` ("connection dropped", "peer refused") with why.
    func note(_ kind: String, _ why: String) {
        // The clock is read under the lock, so each kind sees its times in order.
        let count: Int? = kinds.withLock { kinds in kinds[kind, default: Kind()].count(at: Monotonic.now(), interval: interval) }
        guard let count else { return }
        logger.notice("\(kind)", metadata: ["reason": "\(why)", "count": "\(count)", "per": "\(interval / 1_000_000_000) s"])
    }
}
