import CFastCGI
import Glibc

/// Who may connect to a TCP listener. A unix socket is guarded by its owner, group and mode; a TCP port on 127.0.0.1
/// is open to every local process, so it is checked here: by peer address (as libfcgi's `FCGI_WEB_SERVER_ADDRS`), and
/// by the user owning the peer's socket, which the kernel tells for connections from this host (NETLINK_SOCK_DIAG; the
/// same fact nftables' `meta skuid` matches). Both empty: anyone may connect.
///
/// The two lists together: the address must be listed (when `addresses` is set) and a socket of this host must belong
/// to one of the users (when `uids` is set). A peer on another host has no owner here: it is admitted only when
/// `addresses` names it. A peer from an address of this host whose owner cannot be found is refused.
public struct PeerFilter: Sendable, Equatable {
    /// Peer addresses allowed (IPv4 or IPv6, as `inet_ntop` writes them); empty: any address.
    public var addresses: [String]
    /// Users (uids) whose sockets on this host may connect; empty: any user. When set, a peer on another host is
    /// admitted only if `addresses` names it (an empty `addresses` then admits no remote peer).
    public var uids: [UInt32]

    public init(addresses: [String] = [], uids: [UInt32] = []) {
        self.addresses = addresses.map(Self.normalized)
        self.uids = uids
    }

    /// The addresses of libfcgi's `FCGI_WEB_SERVER_ADDRS` (comma-separated), which the runtime honours as libfcgi did.
    public static func webServerAddresses(fromEnvironment value: String?) -> [String] {
        (value ?? "").split(separator: ",").map { $0.trimmingSpaces }.filter { !$0.isEmpty }
    }

    /// True when nothing is restricted.
    public var admitsAll: Bool { addresses.isEmpty && uids.isEmpty }

    /// `::ffff:127.0.0.1` and `127.0.0.1` are the same peer.
    static func normalized(_ address: String) -> String {
        address.lowercased().hasPrefix("::ffff:") && address.contains(".") ? String(address.dropFirst(7)) : address.lowercased()
    }
}

/// One worker thread's means of applying a `PeerFilter`: its own netlink socket for the owner lookups.
final class PeerGate {
    let filter: PeerFilter
    private var netlink: Int32 = -1
    private var sequence: UInt32 = 0
    /// This host's interface addresses and when they were read (monotonic ns): read again after `addressesLifetime`.
    private var ownAddresses: (readAt: UInt64, addresses: Set<[UInt8]>)?
    /// How long the interface addresses read are used: 1 s. `getifaddrs` took about 66 µs here, once per connection
    /// from another host without it; an address added to this host counts from at most a second later.
    static let addressesLifetime = Monotonic.seconds(1)
    /// Reads this host's interface addresses: `hostAddresses` (a test gives one that fails).
    private let readAddresses: () -> Set<[UInt8]>?

    init(_ filter: PeerFilter, readAddresses: @escaping () -> Set<[UInt8]>? = PeerGate.hostAddresses) {
        self.filter = filter
        self.readAddresses = readAddresses
    }

    deinit { if netlink >= 0 { close(netlink) } }

    /// Why the peer of `fd` (accepted from `peer`) is refused; nil when it may connect. Unix-socket peers always may.
    func refusal(_ fd: Int32, peer: sockaddr_storage) -> String? {
        let family = Int32(peer.ss_family)
        guard family == AF_INET || family == AF_INET6, !filter.admitsAll else { return nil }
        var peerCopy = peer
        var local = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let gotLocal = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        let (peerAddress, peerPort, peerBytes) = Self.parts(&peerCopy)
        if !filter.addresses.isEmpty && !filter.addresses.contains(PeerFilter.normalized(peerAddress)) {
            return "address \(peerAddress) is not allowed"
        }
        guard !filter.uids.isEmpty else { return nil }
        guard gotLocal else { return "its local address is unknown" }
        let (_, localPort, localBytes) = Self.parts(&local)
        if let uid = owner(family: family, peer: peerBytes, peerPort: peerPort, local: localBytes, localPort: localPort) {
            return filter.uids.contains(uid) ? nil : "user \(uid) is not allowed"
        }
        // No socket of this host found at the other end: a web server on another host, which only the address list can
        // admit (it did, above). A peer from an address of this host is a local process whose socket the lookup did not
        // find (one bound to a device is skipped by it, and binding one needs no privilege): refused.
        let port = UInt16(bigEndian: peerPort)
        if Self.isLoopback(peerBytes) || peerBytes == localBytes {
            return "the owner of \(peerAddress) port \(port) is unknown, and the address is this host's"
        }
        guard let own = thisHostsAddresses() else {
            return "the owner of \(peerAddress) port \(port) is unknown, and this host's addresses could not be read"  // fail closed
        }
        if own.contains(Self.unmapped(peerBytes)) {
            return "the owner of \(peerAddress) port \(port) is unknown, and the address is this host's"
        }
        return filter.addresses.isEmpty ? "\(peerAddress) port \(port) is not a socket of this host, and allowed_addresses is empty" : nil
    }

    /// This host's interface addresses, as read at most `addressesLifetime` ago (this gate is one thread's); nil when
    /// they cannot be read now (not remembered: the next connection asks again).
    private func thisHostsAddresses() -> Set<[UInt8]>? {
        let now = Monotonic.now()
        if let known = ownAddresses, now &- known.readAt < Self.addressesLifetime { return known.addresses }
        guard let addresses = readAddresses() else { return nil }
        ownAddresses = (now, addresses)
        return addresses
    }

    /// The addresses of this host's interfaces (4 bytes for IPv4, 16 for IPv6), read now: asked only for a peer whose
    /// owner is unknown (a web server on another host), never for a local one. Nil when `getifaddrs` fails.
    static func hostAddresses() -> Set<[UInt8]>? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return nil }
        defer { freeifaddrs(list) }
        var found: Set<[UInt8]> = []
        var next = list
        while let entry = next {
            defer { next = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr else { continue }
            switch Int32(address.pointee.sa_family) {
            case AF_INET:
                address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
                    var a = p.pointee.sin_addr
                    found.insert(withUnsafeBytes(of: &a) { Array($0) })
                }
            case AF_INET6:
                address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                    var a = p.pointee.sin6_addr
                    found.insert(withUnsafeBytes(of: &a) { Array($0) })
                }
            default: continue
            }
        }
        return found
    }

    /// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) as its 4 IPv4 bytes; any other address as it is.
    static func unmapped(_ address: [UInt8]) -> [UInt8] {
        guard address.count == 16, address[0..<10].allSatisfy({ $0 == 0 }), address[10] == 0xFF, address[11] == 0xFF else { return address }
        return Array(address[12...])
    }

    /// 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104: addresses only this host's own sockets connect from.
    static func isLoopback(_ address: [UInt8]) -> Bool {
        if address.count == 4 { return address[0] == 127 }
        guard address.count == 16 else { return false }
        if address[0..<15].allSatisfy({ $0 == 0 }) && address[15] == 1 { return true }
        return address[0..<10].allSatisfy({ $0 == 0 }) && address[10] == 0xFF && address[11] == 0xFF && address[12] == 127
    }

    /// Address text, port (network order) and raw address bytes of an IPv4 or IPv6 socket address.
    private static func parts(_ address: inout sockaddr_storage) -> (String, UInt16, [UInt8]) {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        if Int32(address.ss_family) == AF_INET {
            return withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p in
                    var a = p.pointee.sin_addr
                    inet_ntop(AF_INET, &a, &text, socklen_t(text.count))
                    let bytes = withUnsafeBytes(of: &a) { Array($0) }
                    return (text.cText, p.pointee.sin_port, bytes)
                }
            }
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p in
                var a = p.pointee.sin6_addr
                inet_ntop(AF_INET6, &a, &text, socklen_t(text.count))
                let bytes = withUnsafeBytes(of: &a) { Array($0) }
                return (text.cText, p.pointee.sin6_port, bytes)
            }
        }
    }

    private func owner(family: Int32, peer: [UInt8], peerPort: UInt16, local: [UInt8], localPort: UInt16) -> UInt32? {
        if netlink < 0 {
            netlink = socket(AF_NETLINK, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), Int32(NETLINK_SOCK_DIAG))
            guard netlink >= 0 else { return nil }
            var tv = timeval(tv_sec: 0, tv_usec: 200_000)
            setsockopt(netlink, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        sequence = sequence &+ 1
        var uid: UInt32 = 0
        let rc = sso_fcgi_tcp_peer_uid(netlink, family, peer, peerPort, local, localPort, sequence, &uid)
        return rc == 0 ? uid : nil
    }
}

extension Array where Element == CChar {
    /// The text up to the first NUL.
    var cText: String { String(decoding: prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self) }
}
