import Glibc
import Logging
import Testing
@testable import FastCGI

/// The runtime's rate-limited notes are written by every worker thread at once, under attack most of all.
@Suite struct RuntimeNotesTests {
    /// A worker that read the clock, then lost the lock to one that read it later and wrote a line, once computed
    /// `now - lastLogged` below zero: an arithmetic overflow trap that ended the worker process (seen in CI under the
    /// hostile-records test through Apache). With no interval every note is a line, so threads race for it constantly.
    @Test func notesFromManyThreadsAtOnceNeverTrap() throws {
        var logger = Logger(label: "notes")
        logger.logLevel = .critical  // the lines themselves are not the point
        let notes = RuntimeNotes(logger: logger, interval: 0)
        final class Box: @unchecked Sendable { let notes: RuntimeNotes; init(_ n: RuntimeNotes) { notes = n } }
        var ids: [pthread_t] = []
        for _ in 0..<4 {
            var id = pthread_t()
            let box = Unmanaged.passRetained(Box(notes)).toOpaque()
            #expect(pthread_create(&id, nil, { raw in
                let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
                for _ in 0..<50_000 { box.notes.note("connection dropped", "test") }
                return nil
            }, box) == 0)
            ids.append(id)
        }
        for id in ids { pthread_join(id, nil) }
    }

    /// The first event is a line; then one line per interval with the count of events since the last; a time before
    /// the last line (a clock read out of order) counts but is no line.
    @Test func oneLinePerIntervalAndTimesOutOfOrder() {
        var kind = RuntimeNotes.Kind()
        #expect(kind.count(at: 1_000, interval: 60) == 1)
        #expect(kind.count(at: 1_010, interval: 60) == nil)
        #expect(kind.count(at: 990, interval: 60) == nil)
        #expect(kind.count(at: 1_060, interval: 60) == 3)
        #expect(kind.count(at: 1_059, interval: 60) == nil)
    }
}
