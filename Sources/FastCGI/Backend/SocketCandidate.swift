import CFastCGI
import Glibc

/// One address to try when connecting to an app's backend: what `socket(2)` and `connect(2)` need.
struct SocketCandidate: Sendable, Equatable {
    var family: Int32
    var type: Int32
    var `protocol`: Int32
    /// The `sockaddr` bytes (`sockaddr_in`, `sockaddr_in6` or `sockaddr_un`).
    var address: [UInt8]

    /// `connect(2)` of `fd` to this address: true once connected. Blocking; SO_SNDTIMEO bounds it (Linux).
    func connect(_ fd: Int32) -> Bool {
        address.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return false }
            return Glibc.connect(fd, base.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count)) == 0
        }
    }

    /// Every address `getaddrinfo` gives for `host` and `port`, in its order (IPv6 and IPv4 of one name, say).
    @Sendable static func resolved(_ host: String, _ port: Int) throws(BackendError) -> [SocketCandidate] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>? = nil
        guard getaddrinfo(host, String(port), &hints, &result) == 0, let first = result else {
            throw BackendError(message: "cannot resolve \(host)", beforeSending: true)
        }
        defer { freeaddrinfo(first) }
        var out: [SocketCandidate] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let info = cursor {
            if let address = info.pointee.ai_addr {
                let bytes = UnsafeRawBufferPointer(start: address, count: Int(info.pointee.ai_addrlen))
                out.append(SocketCandidate(family: info.pointee.ai_family, type: info.pointee.ai_socktype,
                                           protocol: info.pointee.ai_protocol, address: Array(bytes)))
            }
            cursor = info.pointee.ai_next
        }
        return out
    }
}
