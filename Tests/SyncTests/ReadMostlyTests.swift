import Glibc
import SSOSync
import Synchronization
import Testing

/// The lock behind the caches every check reads (verified tokens, fingerprints): readers together, writers alone and
/// first.
@Suite struct ReadMostlyTests {
    /// Two readers are inside at once: each waits (up to 5 s) for the other to arrive. A lock that lets one reader in at
    /// a time (as `Mutex` did) makes both time out.
    @Test func readersShareTheLock() {
        let lock = ReadMostly(0)
        let inside = Atomic<Int>(0)
        let met = Atomic<Int>(0)
        let threads = (0..<2).map { _ in
            spawn {
                lock.read { _ in
                    inside.wrappingAdd(1, ordering: .sequentiallyConsistent)
                    if waitUntil(seconds: 5, { inside.load(ordering: .sequentiallyConsistent) == 2 }) {
                        met.wrappingAdd(1, ordering: .sequentiallyConsistent)
                    }
                }
            }
        }
        threads.forEach { pthread_join($0, nil) }
        #expect(met.load(ordering: .sequentiallyConsistent) == 2)
    }

    /// A writer waiting for a reader goes before a reader that comes after it: a steady stream of checks cannot keep a
    /// new entry out. With glibc's default (readers first), the late reader would get in at once and see 0.
    @Test func aWaitingWriterGoesBeforeLaterReaders() {
        let lock = ReadMostly(0)
        let release = Atomic<Bool>(false)
        let seenByLateReader = Atomic<Int>(-1)
        let first = spawn { lock.read { _ in _ = waitUntil(seconds: 5, { release.load(ordering: .sequentiallyConsistent) }) } }
        usleep(100_000)
        let writer = spawn { lock.write { $0 = 1 } }
        usleep(200_000)  // the writer is waiting for the first reader now
        let late = spawn { seenByLateReader.store(lock.read { $0 }, ordering: .sequentiallyConsistent) }
        usleep(200_000)
        release.store(true, ordering: .sequentiallyConsistent)
        [first, writer, late].forEach { pthread_join($0, nil) }
        #expect(seenByLateReader.load(ordering: .sequentiallyConsistent) == 1)
    }

    /// Writers from many threads lose no update.
    @Test func writersAreAlone() {
        let lock = ReadMostly(0)
        let threads = (0..<4).map { _ in spawn { for _ in 0..<10_000 { lock.write { $0 += 1 } } } }
        threads.forEach { pthread_join($0, nil) }
        #expect(lock.read { $0 } == 40_000)
    }
}

/// Polls `condition` every millisecond until it holds (true) or `seconds` pass (false).
private func waitUntil(seconds: Int, _ condition: () -> Bool) -> Bool {
    for _ in 0..<(seconds * 1_000) {
        if condition() { return true }
        usleep(1_000)
    }
    return condition()
}

/// Runs `body` on a new thread; join it with `pthread_join`.
private func spawn(_ body: @escaping @Sendable () -> Void) -> pthread_t {
    final class Box: @unchecked Sendable { let body: @Sendable () -> Void; init(_ b: @escaping @Sendable () -> Void) { body = b } }
    var id = pthread_t()
    let box = Unmanaged.passRetained(Box(body)).toOpaque()
    let created = pthread_create(&id, nil, { raw in
        guard let raw else { return nil }
        Unmanaged<Box>.fromOpaque(raw).takeRetainedValue().body()
        return nil
    }, box)
    precondition(created == 0, "pthread_create failed")
    return id
}
