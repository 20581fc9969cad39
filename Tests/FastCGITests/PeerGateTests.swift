import CFastCGI
import Glibc
import Testing
@testable import FastCGI

/// `allowed_users` and `allowed_addresses` together, on a real loopback connection whose owner the kernel names (this
/// test's own user): the address must be listed, a socket of this host must belong to a listed user, and a web server
/// on another host (an address no socket here connects from) is admitted when the address list names it. A listed
/// address never lets another local user in.
@Suite struct PeerGateTests {
    /// A connected loopback pair: the accepted side's descriptor and its peer address, as the listener sees them.
    final class Connection {
        let listener: Int32
        let client: Int32
        let accepted: Int32
        let peer: sockaddr_storage

        init() throws {
            let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            let client = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            self.listener = listener
            self.client = client
            var address = PeerGateTests.ipv4("127.0.0.1", port: 0)
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
            }
            let listening = bound == 0 && listen(listener, 1) == 0 && withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
            } == 0
            let connected = listening && withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(client, $0, length) }
            } == 0
            var from = sockaddr_storage()
            var fromLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
            accepted = connected ? withUnsafeMutablePointer(to: &from) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(listener, $0, &fromLength) }
            } : -1
            peer = from
            try #require(accepted >= 0)
        }

        deinit { close(accepted); close(client); close(listener) }
    }

    static func ipv4(_ text: String, port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        inet_pton(AF_INET, text, &address.sin_addr)
        return address
    }

    /// `address` (IPv4) as a peer the listener could have accepted: the kernel has no socket of this host there.
    static func elsewhere(_ text: String, port: UInt16 = 40_001) -> sockaddr_storage {
        var storage = sockaddr_storage()
        var address = ipv4(text, port: port)
        withUnsafeMutableBytes(of: &storage) { target in
            withUnsafeBytes(of: &address) { target.copyMemory(from: $0) }
        }
        return storage
    }

    /// This test's user: the owner the kernel names for its own loopback sockets.
    var me: UInt32 { geteuid() }
    var someoneElse: UInt32 { geteuid() &+ 12_345 }

    @Test func aLocalPeerPassesOnlyAsAListedUser() throws {
        let connection = try Connection()
        #expect(PeerGate(PeerFilter(uids: [me])).refusal(connection.accepted, peer: connection.peer) == nil)
        let refused = PeerGate(PeerFilter(uids: [someoneElse])).refusal(connection.accepted, peer: connection.peer)
        #expect(refused == "user \(me) is not allowed")
        // Listing the loopback address (every local process connects from it) lets no other user in.
        let listed = PeerGate(PeerFilter(addresses: ["127.0.0.1"], uids: [someoneElse]))
        #expect(listed.refusal(connection.accepted, peer: connection.peer) == "user \(me) is not allowed")
        let unlisted = PeerGate(PeerFilter(addresses: ["192.0.2.7"], uids: [me]))
        #expect(unlisted.refusal(connection.accepted, peer: connection.peer) == "address 127.0.0.1 is not allowed")
    }

    @Test func aWebServerOnAnotherHostPassesWhenItsAddressIsListed() throws {
        let connection = try Connection()
        let remote = Self.elsewhere("192.0.2.7")
        // The local web server's user and the remote web server's address, as docs/apache.md sets them up.
        #expect(PeerGate(PeerFilter(addresses: ["192.0.2.7", "127.0.0.1"], uids: [me])).refusal(connection.accepted, peer: remote) == nil)
        // Not listed, or no address list at all: refused.
        #expect(PeerGate(PeerFilter(addresses: ["127.0.0.1"], uids: [me])).refusal(connection.accepted, peer: remote)
            == "address 192.0.2.7 is not allowed")
        #expect(PeerGate(PeerFilter(uids: [me])).refusal(connection.accepted, peer: remote)
            == "192.0.2.7 port 40001 is not a socket of this host, and allowed_addresses is empty")
    }

    @Test func aLoopbackPeerWithNoOwnerIsRefusedEvenWhenListed() throws {
        let connection = try Connection()
        let ghost = Self.elsewhere("127.0.0.2")
        #expect(PeerGate(PeerFilter(addresses: ["127.0.0.2"], uids: [me])).refusal(connection.accepted, peer: ghost)
            == "the owner of 127.0.0.2 port 40001 is unknown, and the address is this host's")
        // Any address of this host's interfaces: a local process whose socket the lookup does not find.
        let addresses = try #require(PeerGate.hostAddresses())
        #expect(addresses.contains([127, 0, 0, 1]))
        for own in addresses where own.count == 4 && own[0] != 127 {
            let text = own.map(String.init).joined(separator: ".")
            let refusal = PeerGate(PeerFilter(addresses: [text], uids: [me])).refusal(connection.accepted, peer: Self.elsewhere(text))
            #expect(refusal == "the owner of \(text) port 40001 is unknown, and the address is this host's")
        }
    }

    /// When this host's interface addresses cannot be read, a peer with no owner found cannot be told from a local
    /// process hiding its socket: refused, though its address is listed (and admitted again once they can be read).
    @Test func aPeerWithNoOwnerIsRefusedWhenThisHostsAddressesCannotBeRead() throws {
        let connection = try Connection()
        let remote = Self.elsewhere("192.0.2.7")
        let filter = PeerFilter(addresses: ["192.0.2.7", "127.0.0.1"], uids: [me])
        #expect(PeerGate(filter, readAddresses: { nil }).refusal(connection.accepted, peer: remote)
            == "the owner of 192.0.2.7 port 40001 is unknown, and this host's addresses could not be read")
        // A local peer's owner is found without them: still admitted.
        #expect(PeerGate(filter, readAddresses: { nil }).refusal(connection.accepted, peer: connection.peer) == nil)
        #expect(PeerGate(filter, readAddresses: { [[10, 0, 0, 1]] }).refusal(connection.accepted, peer: remote) == nil)
    }

    /// The kernel's owner lookup skips a socket bound to a device (SO_BINDTODEVICE needs no privilege) and answered
    /// with a listener on the peer's port instead: a daemon of an allowed user listening on the port the attacker's
    /// socket was bound to first (SO_REUSEADDR lets both) lent the attacker its uid. Only the peer's own connected
    /// socket counts now; here nothing is found, and a loopback peer whose owner is unknown is refused.
    @Test func aListenerOnThePeersPortDoesNotLendItsOwner() throws {
        let server = try Connection()  // the FastCGI listener: its address and a first connection
        var serverAddress = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &serverAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(server.listener, $0, &length) }
        }
        var on: Int32 = 1
        let attacker = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let daemon = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(attacker); close(daemon) }
        setsockopt(attacker, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        setsockopt(daemon, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        let device = Array("lo".utf8CString)
        try #require(setsockopt(attacker, SOL_SOCKET, SO_BINDTODEVICE, device, socklen_t(device.count)) == 0)
        var bound = Self.ipv4("127.0.0.1", port: 0)
        try #require(withUnsafeMutablePointer(to: &bound) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(attacker, $0, length) == 0 && getsockname(attacker, $0, &length) == 0 }
        })
        var everywhere = Self.ipv4("0.0.0.0", port: UInt16(bigEndian: bound.sin_port))
        try #require(withUnsafePointer(to: &everywhere) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.bind(daemon, $0, length) }
        } == 0 && listen(daemon, 1) == 0)
        try #require(withUnsafePointer(to: &serverAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(attacker, $0, length) }
        } == 0)
        var from = sockaddr_storage()
        var fromLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let accepted = withUnsafeMutablePointer(to: &from) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { accept(server.listener, $0, &fromLength) }
        }
        try #require(accepted >= 0)
        defer { close(accepted) }
        let port = UInt16(bigEndian: bound.sin_port)
        #expect(PeerGate(PeerFilter(uids: [someoneElse])).refusal(accepted, peer: from)
            == "the owner of 127.0.0.1 port \(port) is unknown, and the address is this host's")
    }

    @Test func loopbackAddressesAreKnownInEveryForm() {
        #expect(PeerGate.isLoopback([127, 0, 0, 1]) && PeerGate.isLoopback([127, 9, 8, 7]))
        #expect(!PeerGate.isLoopback([10, 0, 0, 1]) && !PeerGate.isLoopback([192, 0, 2, 127]))
        #expect(PeerGate.isLoopback(Array(repeating: 0, count: 15) + [1]))
        #expect(PeerGate.isLoopback(Array(repeating: 0, count: 10) + [0xFF, 0xFF, 127, 0, 0, 1]))
        #expect(!PeerGate.isLoopback(Array(repeating: 0, count: 10) + [0xFF, 0xFF, 10, 0, 0, 1]))
        #expect(!PeerGate.isLoopback([0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [1]))
    }
}
