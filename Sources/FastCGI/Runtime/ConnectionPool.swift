import CFastCGI
import Glibc
import Synchronization

/// The connections of a process that are waiting, and what for, so that no connection holds a worker thread while it
/// waits: a connection is handed to a worker only when a whole request header is there (see `RecordScanner`), and
/// taken back between requests. Every wait has a deadline, enforced by the `Reaper`; a connection being served is the
/// worker's own, watched through its `BusyWatch`. A request that arrives whole on a fresh connection never touches the
/// shared table.
///
/// A waiting connection is known by its token (fd and a generation number), so an event or a deadline meant for a
/// connection that has since closed never touches a new connection that got the same fd.
final class ConnectionPool: Sendable {
    /// What a waiting connection waits for.
    enum Phase: Sendable, Equatable {
        /// Armed in epoll, no byte of a request yet (fresh, or kept alive after a request). Closed at its deadline.
        case idle
        /// Part of a request header is here; the reaper looks again for more bytes. Closed at its deadline.
        case receiving
        /// Part of a request header is here, over TCP: armed in epoll with the socket's low-water mark one byte above
        /// what is here (`LowWaterMark`), so its next bytes wake a worker at once. A web server that sends a request in
        /// a few writes (mod_authnz_fcgi: three) is read as each comes, not at the reaper's next look. Only for the
        /// first `quickLooks` looks at a request and a start under `quickLookBytes`; then `receiving`. Closed at its
        /// deadline.
        case arriving
        /// Answered and half-closed; what the peer still sends is read and dropped until it closes. Closed at its deadline.
        case closing
        /// Answered and half-closed, and as much was dropped as will be: nothing more is read; closed when the peer
        /// closes (the reaper looks), or at its deadline.
        case quiet
    }

    /// Looks at one request's header that may each wait in epoll (`arriving`) before the reaper's growing pauses take
    /// over: a sender adding a byte at a time gets only these few scans at once.
    static let quickLooks: UInt8 = 3
    /// Bytes of an incomplete request beyond which it waits for the reaper (`receiving`), in bytes: a web server's
    /// request start is far shorter; a larger one is more likely a trickle.
    static let quickLookBytes = 16_384

    /// How long each wait may last.
    struct Timeouts: Sendable {
        /// A connection with no request started, in nanoseconds.
        var idle: UInt64
        /// From a request's first byte until it is all read, and for writing the answer, in nanoseconds.
        var io: UInt64
        /// Reading and dropping what a peer still sends after the answer, in nanoseconds. Default: 2 s (as libfcgi).
        var linger: UInt64 = 2_000_000_000
        /// Most waiting connections; beyond it the oldest one is closed.
        var maxConnections: Int
    }

    /// One connection: kept in the table while it waits, carried by a worker while it is served.
    struct Connection: Sendable {
        let fd: Int32
        let generation: UInt32
        /// Monotonic nanoseconds it was accepted.
        let opened: UInt64
        /// A TCP connection (a unix socket's epoll ignores the low-water mark, so it never waits `arriving`).
        let tcp: Bool
        var phase = Phase.idle
        /// Monotonic nanoseconds; 0: none.
        var deadline: UInt64 = 0
        /// `receiving`: when the reaper looks for more bytes next; 0: armed in epoll instead.
        var recheckAt: UInt64 = 0
        var backoff: UInt64 = 1_000_000
        /// `receiving`: bytes that were waiting when the connection was last scanned.
        var readable: Int32 = 0
        /// Added to the epoll set (afterwards it is armed again, not added).
        var registered = false
        /// A request has been answered on it (a kept-alive connection).
        var served = false
        /// `closing`: bytes read and dropped so far.
        var drained = 0
        /// Looks at the current request that waited `arriving`.
        var quickLooksTaken: UInt8 = 0

        var token: UInt64 { UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd)) }
    }

    private struct Table {
        var entries: [Int32: Connection] = [:]
        /// When the reaper plans to look next (monotonic nanoseconds).
        var reaperWake: UInt64 = .max
    }

    let poller: Poller
    let timeouts: Timeouts
    /// One per worker thread: the connection it serves and that connection's deadline.
    let watches: [BusyWatch]
    /// An eventfd the reaper sleeps on: written when a connection needs a look sooner than planned.
    let reaperBell: Int32
    private let table = Mutex(Table())
    private let stopping = Atomic<Bool>(false)
    /// Worker threads holding a connection outside the table: from before they accept one or claim one from the table
    /// until they park or close it. Sequentially consistent with `stopping` (see `hold()`).
    private let held = Atomic<Int>(0)
    private let generations = Atomic<UInt32>(1)

    init(poller: Poller, timeouts: Timeouts, workers: Int) throws(FastCGIError) {
        self.poller = poller
        self.timeouts = timeouts
        watches = (0..<workers).map { _ in BusyWatch() }
        reaperBell = eventfd(0, Int32(EFD_CLOEXEC | EFD_NONBLOCK))
        guard reaperBell >= 0 else { throw FastCGIError("eventfd: \(String(cString: strerror(errno)))") }
    }

    deinit { close(reaperBell) }

    static func fd(of token: UInt64) -> Int32 { Int32(bitPattern: UInt32(truncatingIfNeeded: token)) }

    /// True once the process is stopping.
    var isStopping: Bool { stopping.load(ordering: .sequentiallyConsistent) }
    /// Open connections: waiting ones, and those a worker holds (being served, or just accepted or claimed). Never 0
    /// while a worker holds one, so a stop that sees 0 cannot exit under a connection it would drop unanswered.
    /// Both are read under the table's lock: a worker holds before claim's lock and releases after park's, so one
    /// look under the lock always sees a connection on its way between them (read apart, a park and a release between
    /// the two reads could make it 0).
    var count: Int { table.withLock { $0.entries.count + held.load(ordering: .sequentiallyConsistent) } }

    /// A worker is about to take a connection (accept one, or claim one from the table); `release()` when it has
    /// parked or closed it. A worker that holds and then finds `isStopping` false is counted by any stop that follows:
    /// both sides use sequentially consistent order (the stop sets `stopping`, then reads `count`).
    func hold() { held.wrappingAdd(1, ordering: .sequentiallyConsistent) }
    func release() { held.wrappingSubtract(1, ordering: .sequentiallyConsistent) }

    /// A just-accepted connection, the calling worker's until it parks it.
    func open(_ fd: Int32, tcp: Bool) -> Connection {
        var generation = generations.wrappingAdd(1, ordering: .relaxed).newValue
        if generation == 0 { generation = generations.wrappingAdd(1, ordering: .relaxed).newValue }
        return Connection(fd: fd, generation: generation, opened: Monotonic.now(), tcp: tcp)
    }

    /// A readable event for `token`: the waiting connection becomes the caller's. Nil when the token is stale (the
    /// connection closed, or its fd is now another connection's).
    func claim(_ token: UInt64) -> Connection? {
        table.withLock { t in
            let fd = Self.fd(of: token)
            guard let c = t.entries[fd], c.token == token else { return nil }
            t.entries[fd] = nil
            return c
        }
    }

    /// Hands a connection back to wait: `idle`, `arriving` and `closing` are armed in epoll at once; `receiving` is
    /// looked at again by the reaper after a short, growing pause (its bytes are still unread, so epoll would report it
    /// at once). With the table full, the oldest waiting connection is closed to make room: stalled connections cannot
    /// lock out the web server's fresh ones.
    func park(_ connection: Connection, _ phase: Phase, deadline: UInt64) {
        var c = connection
        let fd = c.fd
        let stillReceiving = c.phase == .receiving && phase == .receiving
        c.phase = phase
        c.deadline = deadline
        let wasRegistered = c.registered
        let watched = phase == .receiving || phase == .quiet
        if watched {
            // The reaper looks soon (1 ms), then less often. A request still incomplete after a look keeps the pause it
            // had, doubled (up to 250 ms): each look scans everything sent so far, and a sender adding a byte after each
            // one once had its whole start scanned every millisecond (thousands of times, every core busy). A web
            // server sends a request in a few writes at once: its second or third look finds it whole.
            c.backoff = stillReceiving ? min(c.backoff * 2, 250_000_000) : 1_000_000
            c.recheckAt = Monotonic.now() + c.backoff
        } else {
            c.recheckAt = 0
            c.registered = true
        }
        let wake = watched ? c.recheckAt : deadline
        var evicted: Int32 = -1
        var dropped = false
        let sooner = table.withLock { t -> Bool in
            // A kept-alive connection between requests, once the stop has begun, is closed as `beginStop` closes those
            // it found (the web server opens a new one to the next process), not kept until its idle deadline.
            if phase == .idle && c.served && stopping.load(ordering: .sequentiallyConsistent) {
                dropped = true
                return false
            }
            if t.entries.count >= timeouts.maxConnections, let oldest = t.entries.min(by: { $0.value.opened < $1.value.opened }) {
                t.entries[oldest.key] = nil
                evicted = oldest.key
            }
            // Armed while the table holds it: once the lock is gone another thread may evict it and close its fd, and
            // an accept may reuse the number; arming after that would give the new connection this one's token (its
            // events then match no entry: it would stall until its deadline). A watched connection is not armed (its
            // unread bytes would make epoll report it again at once); one armed before is disarmed already, its
            // one-shot event having been taken. One epoll cannot take (out of memory, `max_user_watches`) would never
            // get an event: it is closed.
            if !watched && !(wasRegistered ? poller.rearm(fd, token: c.token) : poller.add(fd, token: c.token)) {
                dropped = true
                return false
            }
            t.entries[fd] = c
            guard wake < t.reaperWake else { return false }
            t.reaperWake = wake
            return true
        }
        if evicted >= 0 { close(evicted) }
        if dropped { close(fd) }
        if sooner { ringReaper() }
    }

    /// The stop begins: kept-alive connections waiting between requests are closed (the web server opens new ones to
    /// the next process); connections with a request under way are left to finish.
    func beginStop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        let idle: [Int32] = table.withLock { t in
            let fds = t.entries.filter { $0.value.phase == .idle && $0.value.served }.map(\.key)
            for fd in fds { t.entries[fd] = nil }
            return fds
        }
        for fd in idle { close(fd) }
    }

    /// Closes what is past its deadline, shuts down late served connections, hands `receiving` connections that got
    /// more bytes back to the workers. Returns when it should run next (monotonic nanoseconds).
    func sweep() -> UInt64 {
        let now = Monotonic.now()
        var next = now + 1_000_000_000
        for watch in watches {
            if let deadline = watch.enforce(now: now) { next = min(next, deadline) }
        }
        var late: [Int32] = []
        next = table.withLock { t in
            for (fd, var c) in t.entries {
                if now >= c.deadline {
                    t.entries[fd] = nil
                    late.append(fd)
                    continue
                }
                next = min(next, c.deadline)
                guard c.phase == .receiving || c.phase == .quiet, c.recheckAt != 0 else { continue }
                if c.phase == .quiet {
                    if now >= c.recheckAt {
                        if sso_fcgi_peer_closed(fd) != 0 {
                            t.entries[fd] = nil
                            late.append(fd)
                            continue
                        }
                        c.backoff = min(c.backoff * 2, 250_000_000)
                        c.recheckAt = now + c.backoff
                        t.entries[fd] = c
                    }
                    next = min(next, c.recheckAt)
                    continue
                }
                if now >= c.recheckAt {
                    let readable = sso_fcgi_bytes_readable(fd)
                    if readable == c.readable && sso_fcgi_peer_closed(fd) != 0 {
                        // Half a request, nothing more came, and the peer is gone: it can never complete.
                        t.entries[fd] = nil
                        late.append(fd)
                        continue
                    }
                    if readable != c.readable {
                        // More bytes came: a worker scans it again (armed under the lock, as in `park`).
                        c.recheckAt = 0
                        guard c.registered ? poller.rearm(fd, token: c.token) : poller.add(fd, token: c.token) else {
                            t.entries[fd] = nil
                            late.append(fd)
                            continue
                        }
                        c.registered = true
                    } else {
                        c.backoff = min(c.backoff * 2, 250_000_000)
                        c.recheckAt = now + c.backoff
                    }
                    t.entries[fd] = c
                }
                if c.recheckAt != 0 { next = min(next, c.recheckAt) }
            }
            t.reaperWake = next
            return next
        }
        // Closed outside the lock; their entries are gone, so no event or deadline can reach them (or a reused fd).
        for fd in late { close(fd) }
        return next
    }

    /// Wakes the reaper: a connection needs a look sooner than it planned.
    private func ringReaper() {
        var one: UInt64 = 1
        _ = write(reaperBell, &one, 8)
    }
}

/// The connection one worker thread is serving, and until when it may take: the reaper shuts it down (not closes: the
/// worker owns the fd) once late, so a worker blocked in a read or write gets an error at once. Each worker has its
/// own, so serving a request takes no lock another worker wants.
final class BusyWatch: Sendable {
    private struct State {
        var fd: Int32 = -1
        /// Monotonic nanoseconds; 0: none.
        var deadline: UInt64 = 0
        var shutDown = false
    }

    private let state = Mutex(State())

    /// The worker starts serving `fd`, which must be done by `deadline`.
    func begin(_ fd: Int32, until deadline: UInt64) {
        state.withLock { $0 = State(fd: fd, deadline: deadline) }
    }

    /// A new deadline for what the worker does next (0: none).
    func extend(until deadline: UInt64) { state.withLock { $0.deadline = deadline } }

    /// True when the reaper shut the connection down for being late.
    var wasShutDown: Bool { state.withLock { $0.shutDown } }

    /// The worker is done with the connection: from here on the reaper cannot touch its fd.
    func end() { state.withLock { $0 = State() } }

    /// The reaper's look: shuts the connection down when it is late. Returns the deadline still ahead, if any.
    func enforce(now: UInt64) -> UInt64? {
        state.withLock { s in
            guard s.fd >= 0, s.deadline != 0, !s.shutDown else { return nil }
            guard now >= s.deadline else { return s.deadline }
            shutdown(s.fd, Int32(SHUT_RDWR))
            s.shutDown = true
            return nil
        }
    }
}
