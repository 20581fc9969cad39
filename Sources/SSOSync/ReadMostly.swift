import Glibc

/// A value that many threads read on every request and few threads change: a cache whose entries are added once and
/// then only looked up. Readers share the lock, so they never wait for one another and make no system call while no
/// writer is waiting; a writer waits for the readers already inside and goes before readers that come after it, so a
/// steady stream of reads cannot keep it out.
///
/// `Synchronization.Mutex` serialises readers too: eight worker threads on two cores looking up the same entry took
/// turns, and every contended turn cost a futex call and a context switch (1.6 futex calls per check in
/// BENCHMARKS.md's profile). This is a thin wrapper over glibc's `pthread_rwlock_t`, preferring writers.
public final class ReadMostly<Value: Sendable>: @unchecked Sendable {
    private let lock: UnsafeMutablePointer<pthread_rwlock_t>
    private var value: Value

    public init(_ value: Value) {
        lock = .allocate(capacity: 1)
        var attributes = pthread_rwlockattr_t()
        pthread_rwlockattr_init(&attributes)
        pthread_rwlockattr_setkind_np(&attributes, Int32(PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP))
        // glibc's init cannot fail for a process-private lock with these attributes (it allocates nothing).
        pthread_rwlock_init(lock, &attributes)
        pthread_rwlockattr_destroy(&attributes)
        self.value = value
    }

    deinit {
        pthread_rwlock_destroy(lock)
        lock.deallocate()
    }

    /// Runs `body` on the value, alongside other readers. `body` must not call `write` on the same instance.
    public func read<T>(_ body: (Value) throws -> T) rethrows -> T {
        pthread_rwlock_rdlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(value)
    }

    /// Runs `body` with the value to change, alone.
    public func write<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        pthread_rwlock_wrlock(lock)
        defer { pthread_rwlock_unlock(lock) }
        return try body(&value)
    }
}
