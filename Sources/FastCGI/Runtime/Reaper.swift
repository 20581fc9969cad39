import Glibc

/// The thread that enforces the pool's deadlines: it closes connections that stayed idle or stalled too long, shuts
/// down connections whose worker is blocked past its deadline, and looks again at half-received requests. It runs
/// apart from the workers, so it keeps time even when every worker is blocked.
enum Reaper {
    /// Starts the reaper thread for `pool`; it runs for the life of the process.
    static func start(_ pool: ConnectionPool) throws(FastCGIError) {
        try WorkerThread.start(stackSize: 256 << 10) {
            var bell = pollfd(fd: pool.reaperBell, events: Int16(POLLIN), revents: 0)
            while true {
                let next = pool.sweep()
                let now = Monotonic.now()
                let waitMS = next > now ? Int32(min(1_000, max(1, (next - now + 999_999) / 1_000_000))) : 0
                if poll(&bell, 1, waitMS) > 0 {
                    var count: UInt64 = 0
                    _ = read(pool.reaperBell, &count, 8)
                }
            }
        }
    }
}
