import CFastCGI
import Glibc

/// The socket a program accepts on, and whether it is this process's own.
struct ListeningSocket {
    let fd: Int32
    /// Made by this process: it removes a unix socket's path at a stop and serves what is queued. Not owned: inherited
    /// (fd 0 from a supervisor or spawn-fcgi, fd 3 from systemd), which outlives the process; its queue waits for the
    /// next one and its path stays.
    let owned: Bool
    /// Where it came from, for the log: "config", "fd:0" or "systemd".
    let origin: String
}

/// Opens the listening socket the workers accept on.
enum FastCGIListener {
    /// Returns the listening socket, non-blocking: the one systemd passed (when it passed one to this process), a fresh
    /// unix socket (created with `socketMode` and `group`, never briefly open to others), a TCP socket, or fd 0 when
    /// inherited.
    static func open(_ address: ListenAddress, socketMode: Int, group: UInt32?, backlog: Int32 = 1024) throws(FastCGIError) -> ListeningSocket {
        if case .inherited = address {
            return prepared(ListeningSocket(fd: 0, owned: false, origin: "fd:0"), address)
        }
        if let fd = try SystemdSocket.take(for: address) {
            return prepared(ListeningSocket(fd: fd, owned: false, origin: "systemd"), address)
        }
        let fd: Int32
        switch address {
        case .inherited:
            fd = 0  // returned above
        case .unix(let path):
            // libfcgi prints a bare "bind/listen" and exits the process when it cannot create the socket: say which path
            // and why here instead, as an error the caller reports.
            let folder = Self.folder(of: path)
            guard access(folder, W_OK | X_OK) == 0 else {
                throw FastCGIError("cannot listen on unix:\(path): its folder \(folder): \(String(cString: strerror(errno)))")
            }
            unlink(path)
            // Created owner-only, then given its group and mode: no moment where another user could connect.
            let mask = umask(0o177)
            fd = FCGX_OpenSocket(path, backlog)
            umask(mask)
            guard fd >= 0 else { throw FastCGIError("cannot listen on unix:\(path): \(String(cString: strerror(errno)))") }
            if let group, chown(path, uid_t.max, group) != 0 {
                throw FastCGIError("cannot give unix:\(path) group \(group): \(String(cString: strerror(errno)))")
            }
            chmod(path, mode_t(socketMode))
        case .tcp(let host, let port):
            fd = FCGX_OpenSocket("\(host):\(port)", backlog)
            guard fd >= 0 else { throw FastCGIError("cannot listen on \(host):\(port): \(String(cString: strerror(errno)))") }
        }
        return prepared(ListeningSocket(fd: fd, owned: true, origin: "config"), address)
    }

    /// Non-blocking, not inherited by anything this process starts (a supervisor hands it to its workers explicitly as
    /// fd 0), and over TCP with a receive buffer that accepted sockets inherit: a whole request header (up to the
    /// params limit) fits unread in it.
    private static func prepared(_ socket: ListeningSocket, _ address: ListenAddress) -> ListeningSocket {
        let fd = socket.fd
        if case .tcp = address {
            var size: Int32 = 512 << 10
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        if fd != 0 { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return socket
    }

    /// The folder a socket path is in ("/" for a path at the root, "." for a bare name).
    static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// Accepts every connection already queued on `fd` into the pool (at a stop, when the socket is this process's own).
    static func takeQueued(_ fd: Int32, pool: ConnectionPool, peers: PeerGate, notes: RuntimeNotes) -> Int {
        var taken = 0
        while true {
            var peer = sockaddr_storage()
            var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let conn = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { sso_fcgi_accept(fd, $0, &length) }
            }
            if conn < 0 {
                if errno == EINTR || errno == ECONNABORTED { continue }
                return taken
            }
            guard admit(conn, peer: peer, gate: peers, notes: notes) else { continue }
            pool.park(pool.open(conn, tcp: isTCP(peer)), .idle, deadline: Monotonic.now() + pool.timeouts.io)
            taken += 1
        }
    }

    /// Raises the soft limit on open files to the hard one: each waiting connection costs a descriptor, not a thread.
    static func raiseDescriptorLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}
