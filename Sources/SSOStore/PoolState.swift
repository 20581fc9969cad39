import Glibc
import Synchronization

/// What every worker of one process knows about the servers, shared so that one worker's discovery spares the others:
/// which servers are ejected and until when, which are fenced (missed a write, so their copies must not be read until
/// they are cleaned), and until when the list of fenced servers may be trusted without reading it again.
public final class PoolState: Sendable {
    private struct Node {
        /// Monotonic seconds until which the server is ejected (0: in use).
        var downUntil: Double = 0
        /// One request is trying an ejected server again; the others keep skipping it.
        var probing = false
        /// Since when the server has answered without a failure (monotonic seconds).
        var upSince: Double
        /// When this process last learned that the server is fenced (nil: not fenced).
        var fencedAt: Double?
        /// Until when the server is taken to be missing copies (it came back, or was cleaned): reads copy what they find
        /// to it.
        var recoveringUntil: Double = 0
    }
    private struct State {
        var nodes: [Node]
        /// Monotonic seconds until which `fencedAt` may be trusted (the fence list's lease).
        var leaseUntil: Double = -.infinity
        /// One worker is reading the fence list ahead of the lease's end.
        var renewing = false
    }

    private let state: Mutex<State>
    /// Seconds an ejected server is left alone. Default: 1.
    public let retryTimeout: Double
    /// Seconds a read of the fence list is trusted. Default: 1.
    public let lease: Double
    /// Seconds after a server comes back (or is cleaned) during which reads copy items to it. Default: 600.
    public let repairWindow: Double
    /// Monotonic seconds; tests move it.
    public let clock: @Sendable () -> Double
    /// Told of every failure and ejection (metrics); nil: nobody.
    let events: StoreEvents?

    public init(servers: Int, retryTimeout: Double, lease: Double, repairWindow: Double = 600,
                clock: @escaping @Sendable () -> Double = PoolState.monotonic, events: StoreEvents? = nil) {
        self.events = events
        let now = clock()
        state = Mutex(State(nodes: Array(repeating: Node(upSince: now), count: servers)))
        self.retryTimeout = retryTimeout
        self.lease = lease
        self.repairWindow = repairWindow
        self.clock = clock
    }

    /// Seconds from CLOCK_MONOTONIC.
    public static let monotonic: @Sendable () -> Double = {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Whether a request may send to server `i` now. True for a server in use; for an ejected one, true for exactly one
    /// request once its retry timeout is over (the probe). Every true must be followed by `succeeded` or `failed`.
    public func mayUse(_ i: Int) -> Bool {
        let now = clock()
        return state.withLock { s in
            if s.nodes[i].downUntil == 0 { return true }
            if s.nodes[i].probing || now < s.nodes[i].downUntil { return false }
            s.nodes[i].probing = true
            return true
        }
    }

    /// Server `i` answered.
    public func succeeded(_ i: Int) {
        let now = clock()
        state.withLock { s in
            if s.nodes[i].downUntil != 0 {
                s.nodes[i].upSince = now
                s.nodes[i].recoveringUntil = now + repairWindow
            }
            s.nodes[i].downUntil = 0
            s.nodes[i].probing = false
        }
    }

    /// Server `i` did not answer: it is ejected for the retry timeout.
    public func failed(_ i: Int) {
        let now = clock()
        // Ejected anew: it was in use, or its one probe failed.
        let ejected = state.withLock { s in
            let wasServing = s.nodes[i].downUntil == 0 || s.nodes[i].probing
            s.nodes[i].downUntil = now + retryTimeout
            s.nodes[i].probing = false
            return wasServing
        }
        events?.failed(server: i)
        if ejected { events?.ejected(server: i) }
    }

    /// Whether server `i` is ejected now.
    public func isEjected(_ i: Int) -> Bool { state.withLock { $0.nodes[i].downUntil != 0 } }

    /// Whether copies on server `i` may be read: not fenced as far as this process knows.
    public func isTrusted(_ i: Int) -> Bool { state.withLock { $0.nodes[i].fencedAt == nil } }

    /// Whether server `i` came back (or was cleaned) within the repair window and is trusted: reads copy items to it.
    public func isRecovering(_ i: Int) -> Bool {
        let now = clock()
        return state.withLock { now < $0.nodes[i].recoveringUntil && $0.nodes[i].fencedAt == nil }
    }

    /// What a worker must do about the fence list before it reads a copy.
    public enum LeaseCheck: Sendable, Equatable {
        /// The list is fresh.
        case valid
        /// The last quarter of the lease: this worker reads the list again while the others go on with it.
        case renew
        /// The lease is over: no copy may be read before the list is read again.
        case expired
    }

    /// Whether the fence list may be trusted now; under load one worker per process renews it before it runs out.
    public func leaseCheck() -> LeaseCheck {
        let now = clock()
        return state.withLock { s in
            if now >= s.leaseUntil { return .expired }
            if now < s.leaseUntil - lease / 4 || s.renewing { return .valid }
            s.renewing = true
            return .renew
        }
    }

    /// A renewal that could not read the list ends; the lease runs out as it would have.
    public func renewalFailed() { state.withLock { $0.renewing = false } }

    /// This process fenced server `i` itself (a write missed it): no worker reads from it from now on.
    public func fenced(_ i: Int) {
        let now = clock()
        state.withLock { s in s.nodes[i].fencedAt = now }
    }

    /// The fence list as read from the servers, reading started at `start`: servers fenced there are fenced here; a
    /// server fenced here before `start` and clear there was cleaned by someone. The lease runs from `start`.
    public func refreshed(start: Double, fenced: Set<Int>) {
        state.withLock { s in
            for i in s.nodes.indices {
                if fenced.contains(i) {
                    if s.nodes[i].fencedAt == nil { s.nodes[i].fencedAt = start }
                } else if let at = s.nodes[i].fencedAt, at < start {
                    s.nodes[i].fencedAt = nil
                    s.nodes[i].recoveringUntil = start + repairWindow
                }
            }
            s.leaseUntil = max(s.leaseUntil, start + lease)
            s.renewing = false
        }
    }

    /// Server `i` was cleaned (flushed, its fences cleared) by this process, in a round that started at `start`.
    public func cleaned(_ i: Int, start: Double) {
        state.withLock { s in
            if let at = s.nodes[i].fencedAt, at < start {
                s.nodes[i].fencedAt = nil
                s.nodes[i].recoveringUntil = start + repairWindow
            }
        }
    }

    /// Whether server `i` has answered without a failure for at least `seconds`.
    public func hasBeenUp(_ i: Int, for seconds: Double) -> Bool {
        let now = clock()
        return state.withLock { s in s.nodes[i].downUntil == 0 && now - s.nodes[i].upSince >= seconds }
    }
}
