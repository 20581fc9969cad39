import CFastCGI
import Glibc

/// Nanoseconds on the monotonic clock: deadlines that wall-clock changes cannot move.
enum Monotonic {
    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static func seconds(_ s: Int) -> UInt64 { UInt64(max(0, s)) * 1_000_000_000 }
    static func milliseconds(_ ms: Int) -> UInt64 { UInt64(max(0, ms)) * 1_000_000 }
}

/// One epoll instance shared by every worker thread of a process. Everything is registered one-shot: an event goes to
/// exactly one thread, which owns the connection until it arms it again.
final class Poller: Sendable {
    /// The token of the listening socket's events.
    static let listenerToken = UInt64.max

    let fd: Int32

    init() throws(FastCGIError) {
        fd = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard fd >= 0 else { throw FastCGIError("epoll_create1: \(String(cString: strerror(errno)))") }
    }

    deinit { close(fd) }

    private func control(_ op: Int32, _ socket: Int32, token: UInt64) -> Bool {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLRDHUP.rawValue | EPOLLONESHOT.rawValue
        event.data.u64 = token
        return epoll_ctl(fd, op, socket, &event) == 0
    }

    /// Registers `socket`, armed for its next readable event.
    @discardableResult
    func add(_ socket: Int32, token: UInt64) -> Bool { control(EPOLL_CTL_ADD, socket, token: token) }

    /// Arms a registered `socket` again for one more event.
    @discardableResult
    func rearm(_ socket: Int32, token: UInt64) -> Bool { control(EPOLL_CTL_MOD, socket, token: token) }

    /// Registers the listening socket, level-triggered and exclusive: each new connection wakes one waiting thread of
    /// one of the processes sharing the socket, not every thread of every process.
    @discardableResult
    func addListener(_ socket: Int32) -> Bool {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue
        event.data.u64 = Self.listenerToken
        return epoll_ctl(fd, EPOLL_CTL_ADD, socket, &event) == 0
    }

    /// Stops watching `socket` (closing it does the same).
    func remove(_ socket: Int32) {
        var event = epoll_event()
        _ = epoll_ctl(fd, EPOLL_CTL_DEL, socket, &event)
    }

    /// Waits for one event, up to `timeoutMS` (-1: no limit). Returns its token and whether the peer has hung up.
    func wait(timeoutMS: Int32) -> (token: UInt64, hangUp: Bool)? {
        var event = epoll_event()
        let n = epoll_wait(fd, &event, 1, timeoutMS)
        guard n == 1 else { return nil }
        let hangUp = event.events & (EPOLLRDHUP.rawValue | EPOLLHUP.rawValue | EPOLLERR.rawValue) != 0
        return (event.data.u64, hangUp)
    }
}
