import Logging
import Synchronization

/// What the runtime turns away (malformed records, stalled connections, peers outside the allow-list), logged without
/// letting whoever sends it flood the log: the first of each kind at once, then at most one line a minute with a count.
final class RuntimeNotes: Sendable {
    private struct Kind {
        var unlogged = 0
        var lastLogged: UInt64 = 0
    }

    private let logger: Logger
    private let kinds = Mutex<[String: Kind]>([:])
    /// Nanoseconds between two lines of one kind. Default: 60 s.
    private let interval: UInt64 = 60_000_000_000

    init(logger: Logger) { self.logger = logger }

    /// Records one event of `kind` ("connection dropped", "peer refused") with why.
    func note(_ kind: String, _ why: String) {
        let now = Monotonic.now()
        let count: Int? = kinds.withLock { kinds in
            var k = kinds[kind] ?? Kind()
            k.unlogged += 1
            defer { kinds[kind] = k }
            guard k.lastLogged == 0 || now - k.lastLogged >= interval else { return nil }
            let n = k.unlogged
            k.unlogged = 0
            k.lastLogged = now
            return n
        }
        guard let count else { return }
        logger.notice("\(kind)", metadata: ["reason": "\(why)", "count": "\(count)", "per": "\(interval / 1_000_000_000) s"])
    }
}
