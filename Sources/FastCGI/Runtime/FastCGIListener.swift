import CFastCGI
import Glibc

/// Opens the listening socket libfcgi accepts on.
enum FastCGIListener {
    /// Returns the listening fd: a fresh unix or TCP socket, or fd 0 when inherited.
    static func open(_ address: ListenAddress, socketMode: Int, backlog: Int32 = 1024) throws -> Int32 {
        switch address {
        case .inherited:
            return 0
        case .unix(let path):
            unlink(path)
            let fd = FCGX_OpenSocket(path, backlog)
            guard fd >= 0 else { throw FastCGIError("cannot listen on unix:\(path): \(String(cString: strerror(errno)))") }
            chmod(path, mode_t(socketMode))
            return fd
        case .tcp(let host, let port):
            let fd = FCGX_OpenSocket("\(host):\(port)", backlog)
            guard fd >= 0 else { throw FastCGIError("cannot listen on \(host):\(port): \(String(cString: strerror(errno)))") }
            return fd
        }
    }
}
