import Foundation
import Glibc

/// A real memcached on a free loopback port for one test (the one non-wrapper target that calls the C library: it starts
/// and stops a process, and only tests link it), stopped in `deinit`. Spawned with posix_spawn and reaped
/// with waitpid, so stopping never depends on Foundation's child-process monitoring.
public final class MemcachedServer {
    public let port: Int
    private var pid: pid_t

    public init() throws {
        port = try Self.freePort()
        pid = try Self.start(port: port)
    }

    deinit { stop() }

    public var address: String { "127.0.0.1:\(port)" }

    /// Stops memcached (SIGTERM, then SIGKILL after 5 s) and reaps it.
    public func stop() {
        guard pid > 0 else { return }
        Self.terminate(pid)
        pid = 0
    }

    /// Hangs memcached (SIGSTOP): connections are accepted by the kernel and never answered; items stay.
    public func pause() { if pid > 0 { kill(pid, SIGSTOP) } }

    /// Lets a paused memcached run again (SIGCONT), with every item it held.
    public func resume() { if pid > 0 { kill(pid, SIGCONT) } }

    /// Kills memcached at once (SIGKILL), as a crash would, and reaps it.
    public func crash() {
        guard pid > 0 else { return }
        kill(pid, SIGCONT)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        pid = 0
    }

    /// Starts a fresh memcached on the same port, as an operator's restart would.
    public func restart() throws {
        stop()
        pid = try Self.start(port: port)
    }

    static func terminate(_ pid: pid_t) {
        kill(pid, SIGCONT)
        kill(pid, SIGTERM)
        var status: Int32 = 0
        for _ in 0..<250 {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid || (reaped == -1 && errno == ECHILD) { return }
            usleep(20_000)
        }
        kill(pid, SIGKILL)
        waitpid(pid, &status, 0)
    }

    static func start(port: Int) throws -> pid_t {
        var args = ["/usr/bin/memcached", "-l", "127.0.0.1", "-p", String(port), "-U", "0", "-m", "16"]
        if geteuid() == 0 { args += ["-u", "root"] }
        var cArgs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // A spawned child inherits this thread's signal mask; the test runner's threads may block SIGTERM.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, args[0], &actions, &attributes, &cArgs, environ)
        guard rc == 0 else { throw NSError(domain: "cannot start memcached: \(String(cString: strerror(rc)))", code: Int(rc)) }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if canConnect(port: port) { return pid }
            usleep(20_000)
        }
        terminate(pid)
        throw NSError(domain: "memcached did not start on \(port)", code: 1)
    }

    static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) == 0 && getsockname(fd, $0, &len) == 0 }
        }
        guard ok else { throw NSError(domain: "no free port", code: 1) }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
