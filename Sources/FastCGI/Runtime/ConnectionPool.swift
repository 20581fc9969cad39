import CFastCGI
import Glibc
import Synchronization

/// Every open connection of a process and what it is waiting for, so that no connection holds a worker thread while it
/// waits: a connection is handed to a worker only when a whole request header is there (see `RecordScanner`), and taken
/// back between requests. Every wait has a deadline, enforced by the `Reaper`.
///
/// A connection is known by its token (fd and a generation number), so an event or a deadline meant for a connection
/// that has since closed never touches a new connection that got the same fd.
final class ConnectionPool: Sendable {
    /// What a connection is doing.
    enum Phase: Sendable, Equatable {
        /// Armed in epoll, no byte of a request yet (fresh, or kept alive after a request). Closed at its deadline.
        case idle
        /// Part of a request header is here; the reaper looks again for more bytes. Closed at its deadline.
        case receiving
        /// Owned by a worker thread. Shut down (not closed: the worker owns the fd) at its deadline, if it has one.
        case busy
        /// Answered and half-closed; what the peer still sends is read and dropped until it closes. Closed at its deadline.
        case closing
    }

    /// How long each wait may last.
    struct Timeouts: Sendable {
        /// A connection with no request started, in nanoseconds.
        var idle: UInt64
        /// From a request's first byte until it is all read, and for writing the answer, in nanoseconds.
        var io: UInt64
        /// Reading and dropping what a peer still sends after the answer, in nanoseconds. Default: 2 s (as libfcgi).
        var linger: UInt64 = 2_000_000_000
        /// Most open connections; beyond it the oldest one that is not being served is closed.
        var maxConnections: Int
    }

    struct Entry: Sendable {
        var generation: UInt32
        var phase: Phase
        /// Monotonic nanoseconds; 0: none.
        var deadline: UInt64
        /// `receiving`: when the reaper looks for more bytes next; 0: not waiting for a look.
        var recheckAt: UInt64 = 0
        var backoff: UInt64 = 1_000_000
        /// `receiving`: bytes that were waiting when the connection was last scanned.
        var readable: Int32 = 0
        var registered = false
        /// `busy` past its deadline: already shut down once.
        var shutDown = false
        /// A request has been answered on it (a kept-alive connection).
        var served = false
        /// `closing`: bytes read and dropped so far.
        var drained = 0
        var opened: UInt64
    }

    private struct Table {
        var entries: [Int32: Entry] = [:]
        var nextGeneration: UInt32 = 1
        var stopping = false
        /// When the reaper plans to look next (monotonic nanoseconds).
        var reaperWake: UInt64 = .max
    }

    let poller: Poller
    let timeouts: Timeouts
    /// An eventfd the reaper sleeps on: written when a connection needs a look sooner than planned.
    let reaperBell: Int32
    private let table = Mutex(Table())

    init(poller: Poller, timeouts: Timeouts) throws(FastCGIError) {
        self.poller = poller
        self.timeouts = timeouts
        reaperBell = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard reaperBell >= 0 else { throw FastCGIError("eventfd: \(String(cString: strerror(errno)))") }
    }

    deinit { close(reaperBell) }

    static func token(_ fd: Int32, _ generation: UInt32) -> UInt64 { UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd)) }
    static func fd(of token: UInt64) -> Int32 { Int32(bitPattern: UInt32(truncatingIfNeeded: token)) }
    private static func generation(of token: UInt64) -> UInt32 { UInt32(truncatingIfNeeded: token >> 32) }

    /// True once the process is stopping.
    var isStopping: Bool { table.withLock { $0.stopping } }
    /// Open connections.
    var count: Int { table.withLock { $0.entries.count } }

    /// Takes a just-accepted connection, owned by the calling worker (`busy`). Nil when the pool is full of
    /// connections being served: the caller closes it.
    func adopt(_ fd: Int32) -> UInt64? {
        let now = Monotonic.now()
        var evicted: Int32 = -1
        let token: UInt64? = table.withLock { t in
            if t.entries.count >= timeouts.maxConnections {
                // The oldest connection that is only waiting makes room: a flood of stalled connections cannot lock out
                // the web server's fresh ones.
                guard let oldest = t.entries.filter({ $0.value.phase != .busy }).min(by: { $0.value.opened < $1.value.opened })
                else { return nil }
                t.entries[oldest.key] = nil
                evicted = oldest.key
            }
            let generation = t.nextGeneration
            t.nextGeneration = t.nextGeneration &+ 1 == 0 ? 1 : t.nextGeneration &+ 1
            t.entries[fd] = Entry(generation: generation, phase: .busy, deadline: now + timeouts.io, opened: now)
            return Self.token(fd, generation)
        }
        if evicted >= 0 { close(evicted) }
        return token
    }

    /// A readable event for `token`: the connection becomes the caller's (`busy`). Returns it as it was, or nil when
    /// the token is stale or another thread has it.
    func claim(_ token: UInt64) -> Entry? {
        table.withLock { t in
            let fd = Self.fd(of: token)
            guard var entry = t.entries[fd], entry.generation == Self.generation(of: token), entry.phase != .busy else { return nil }
            let before = entry
            entry.phase = .busy
            entry.recheckAt = 0
            t.entries[fd] = entry
            return before
        }
    }

    /// Sets the deadline of a `busy` connection (0: none). False when it was already shut down for being late.
    @discardableResult
    func setDeadline(_ token: UInt64, _ deadline: UInt64) -> Bool {
        let ok = table.withLock { t -> Bool in
            let fd = Self.fd(of: token)
            guard var entry = t.entries[fd], entry.generation == Self.generation(of: token) else { return false }
            entry.deadline = deadline
            t.entries[fd] = entry
            return !entry.shutDown
        }
        if deadline != 0 { ringIfSooner(deadline) }
        return ok
    }

    /// True when the reaper shut the connection down for being late.
    func wasShutDown(_ token: UInt64) -> Bool {
        table.withLock { t in t.entries[Self.fd(of: token)].map { $0.generation == Self.generation(of: token) && $0.shutDown } ?? true }
    }

    /// Hands a connection back to wait: `idle` and `closing` are armed in epoll at once; `receiving` is looked at again
    /// by the reaper after a short, growing pause (its bytes are still unread, so epoll would report it at once).
    func park(_ token: UInt64, _ phase: Phase, deadline: UInt64, readable: Int32 = 0, served: Bool = false, drained: Int = 0) {
        let fd = Self.fd(of: token)
        var ring: UInt64 = 0
        let arm: Bool? = table.withLock { t in
            guard var entry = t.entries[fd], entry.generation == Self.generation(of: token) else { return nil }
            let wasRegistered = entry.registered
            entry.deadline = deadline
            entry.served = entry.served || served
            entry.drained = drained
            if phase == .receiving {
                // New bytes were just scanned: more are likely soon. The reaper doubles the pause while none come.
                entry.backoff = 1_000_000
                entry.recheckAt = Monotonic.now() + entry.backoff
                entry.readable = readable
                ring = entry.recheckAt
            } else {
                entry.registered = true
                ring = deadline
            }
            entry.phase = phase
            t.entries[fd] = entry
            return phase == .receiving ? nil : wasRegistered
        }
        if let wasRegistered = arm {
            if wasRegistered { poller.rearm(fd, token: token) } else { poller.add(fd, token: token) }
        }
        if ring != 0 { ringIfSooner(ring) }
    }

    /// Forgets a connection; the caller closes (or has closed) its fd.
    func forget(_ token: UInt64) {
        table.withLock { t in
            let fd = Self.fd(of: token)
            if t.entries[fd]?.generation == Self.generation(of: token) { t.entries[fd] = nil }
        }
    }

    /// The stop begins: kept-alive connections waiting between requests are closed (the web server opens new ones to
    /// the next process); connections with a request under way are left to finish.
    func beginStop() {
        let idle: [Int32] = table.withLock { t in
            t.stopping = true
            let fds = t.entries.filter { $0.value.phase == .idle && $0.value.served }.map(\.key)
            for fd in fds { t.entries[fd] = nil }
            return fds
        }
        for fd in idle { close(fd) }
    }

    /// Closes what is past its deadline, shuts down late busy connections, hands `receiving` connections that got more
    /// bytes back to the workers. Returns when it should run next (monotonic nanoseconds).
    func sweep() -> UInt64 {
        let now = Monotonic.now()
        var late: [Int32] = []
        var rearm: [(Int32, UInt64, Bool)] = []
        let next: UInt64 = table.withLock { t in
            var next = now + 1_000_000_000
            for (fd, var entry) in t.entries {
                switch entry.phase {
                case .busy:
                    if entry.deadline != 0 && !entry.shutDown {
                        if now >= entry.deadline {
                            // The worker blocked in a read or write gets an error at once and gives the connection up.
                            shutdown(fd, Int32(SHUT_RDWR))
                            entry.shutDown = true
                            t.entries[fd] = entry
                        } else {
                            next = min(next, entry.deadline)
                        }
                    }
                case .idle, .closing, .receiving:
                    if now >= entry.deadline {
                        t.entries[fd] = nil
                        late.append(fd)
                        continue
                    }
                    next = min(next, entry.deadline)
                    guard entry.phase == .receiving, entry.recheckAt != 0 else { continue }
                    if now >= entry.recheckAt {
                        let readable = sso_fcgi_bytes_readable(fd)
                        if readable == entry.readable && sso_fcgi_peer_closed(fd) != 0 {
                            // Half a request, nothing more came, and the peer is gone: it can never complete.
                            t.entries[fd] = nil
                            late.append(fd)
                            continue
                        }
                        if readable != entry.readable {
                            // More bytes came: a worker scans it again.
                            entry.recheckAt = 0
                            rearm.append((fd, Self.token(fd, entry.generation), entry.registered))
                            entry.registered = true
                        } else {
                            entry.backoff = min(entry.backoff * 2, 250_000_000)
                            entry.recheckAt = now + entry.backoff
                        }
                        t.entries[fd] = entry
                    }
                    if entry.recheckAt != 0 { next = min(next, entry.recheckAt) }
                }
            }
            t.reaperWake = next
            return next
        }
        // Closed outside the lock; their entries are gone, so no event or deadline can reach them (or a reused fd).
        for fd in late { close(fd) }
        for (fd, token, registered) in rearm {
            if registered { poller.rearm(fd, token: token) } else { poller.add(fd, token: token) }
        }
        return next
    }

    /// Wakes the reaper when `when` is sooner than it planned to look.
    private func ringIfSooner(_ when: UInt64) {
        let sooner = table.withLock { t -> Bool in
            guard when < t.reaperWake else { return false }
            t.reaperWake = when
            return true
        }
        if sooner {
            var one: UInt64 = 1
            _ = write(reaperBell, &one, 8)
        }
    }
}
