import Glibc

/// The listening socket systemd passes to a socket-activated program (sd_listen_fds(3)): `LISTEN_PID` names the
/// process it is for, `LISTEN_FDS` counts the descriptors from fd 3. The program still names its address in the
/// config (the web server's config is made from it), and the passed socket must be that address: a mismatch is an
/// error at start, not a program that listens where no web server looks.
public enum SystemdSocket {
    /// The first passed descriptor (SD_LISTEN_FDS_START).
    public static let firstFD: Int32 = 3

    /// How many sockets `environment` says were passed to `pid`: 0 when none were, or they were for another process
    /// (a worker process started by the supervisor sees its supervisor's pid and takes its socket as fd 0 instead).
    public static func passedCount(listenPID: String?, listenFDs: String?, pid: Int32) -> Int {
        guard let listenPID, let owner = Int32(listenPID), owner == pid, let listenFDs, let count = Int(listenFDs), count > 0 else {
            return 0
        }
        return count
    }

    /// fd 3 when systemd passed this process one socket; nil when it passed none. Throws when it passed several, or
    /// one that is not a listening stream socket at `address`.
    static func take(for address: ListenAddress) throws(FastCGIError) -> Int32? {
        let count = passedCount(listenPID: env("LISTEN_PID"), listenFDs: env("LISTEN_FDS"), pid: getpid())
        guard count > 0 else { return nil }
        guard count == 1 else {
            throw FastCGIError("systemd passed \(count) sockets (LISTEN_FDS); the .socket unit must have one ListenStream=", setup: true)
        }
        let fd = firstFD
        var listening: Int32 = 0
        var size = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &size) == 0, listening == 1 else {
            throw FastCGIError("the socket systemd passed (fd 3) is not a listening stream socket (Accept=no, ListenStream= in the .socket unit)", setup: true)
        }
        if let passed = boundAddress(fd), !passed.serves(address) {
            throw FastCGIError("systemd passed a socket on \(passed) but the config says \(address): make ListenStream= and the config's listen the same", setup: true)
        }
        return fd
    }

    private static func env(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    /// What a passed socket is bound to, from getsockname.
    enum Bound: CustomStringConvertible {
        case unix(String)
        case tcp(port: Int)

        /// True when a program configured to listen on `address` is reached through this socket. TCP compares the
        /// port only: a host name in the config is not resolved here.
        func serves(_ address: ListenAddress) -> Bool {
            switch (self, address) {
            case (.unix(let a), .unix(let b)): return a == b
            case (.tcp(let a), .tcp(_, let b)): return a == b
            default: return false
            }
        }

        var description: String {
            switch self {
            case .unix(let path): return "unix:\(path)"
            case .tcp(let port): return "port \(port)"
            }
        }
    }

    static func boundAddress(_ fd: Int32) -> Bound? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { return nil }
        switch Int32(storage.ss_family) {
        case AF_UNIX:
            let path = withUnsafeBytes(of: &storage) { raw -> String in
                let offset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? 2
                let bytes = raw[offset..<min(raw.count, Int(length))].prefix { $0 != 0 }
                return String(decoding: bytes, as: UTF8.self)
            }
            return .unix(path)
        case AF_INET:
            let port = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in.self).sin_port }
            return .tcp(port: Int(UInt16(bigEndian: port)))
        case AF_INET6:
            let port = withUnsafeBytes(of: &storage) { $0.load(as: sockaddr_in6.self).sin6_port }
            return .tcp(port: Int(UInt16(bigEndian: port)))
        default:
            return nil
        }
    }
}
