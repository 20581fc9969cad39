import CFastCGI
import Glibc
import HTTPTypes
import Testing
@testable import FastCGI

/// A replayed form reaches an app whose name has several addresses, the first of them blackholed (a dual-stack host
/// with IPv6 dropped, say), within the one `timeoutSeconds` of the whole send; and when no address answers, the tab is
/// told "nothing was sent" within that time, not "may or may not have been received" after several of them.
@Suite struct BackendConnectTests {
    /// A loopback listener whose queue is full: a connect to it is neither accepted nor refused (the kernel drops the
    /// handshake), as a host that drops packets.
    final class Blackhole {
        let listener: Int32
        let filler: Int32
        let candidate: SocketCandidate

        init() throws {
            (listener, candidate) = try BackendConnectTests.listening(queue: 0)
            filler = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            // The one connection a queue of 0 holds; every later handshake is dropped.
            try #require(candidate.connect(filler))
        }

        deinit { close(filler); close(listener) }
    }

    /// A loopback app that answers one request with `200 OK`, on a thread of its own.
    final class OneAnswer: @unchecked Sendable {
        let listener: Int32
        let candidate: SocketCandidate
        var thread = pthread_t()

        init() throws {
            (listener, candidate) = try BackendConnectTests.listening(queue: 8)
            let box = Unmanaged.passRetained(self).toOpaque()
            try #require(pthread_create(&thread, nil, { raw in
                guard let raw else { return nil }
                Unmanaged<OneAnswer>.fromOpaque(raw).takeRetainedValue().serve()
                return nil
            }, box) == 0)
        }

        func serve() {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            var head: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4_096)
            while !head.suffix(3).elementsEqual(BackendConnectTests.request.body) {  // read whole before the answer
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                head += buffer[0..<n]
            }
            let answer = Array("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok".utf8)
            _ = answer.withUnsafeBytes { sso_fcgi_send(fd, $0.baseAddress, $0.count, 0) }
            close(fd)
        }

        func finish() {
            pthread_join(thread, nil)
            close(listener)
        }
    }

    /// A socket listening on 127.0.0.1 on a port of the kernel's choosing, with a queue of `queue` connections, and the
    /// address to connect to it.
    static func listening(queue: Int32) throws -> (Int32, SocketCandidate) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        let any = try #require(try SocketCandidate.resolved("127.0.0.1", 0).first)
        let bound = any.address.withUnsafeBytes { raw in
            bind(fd, raw.baseAddress?.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        try #require(fd >= 0 && bound == 0 && listen(fd, queue) == 0)
        var addr = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let candidate = try #require(try SocketCandidate.resolved("127.0.0.1", Int(UInt16(bigEndian: addr.sin_port))).first)
        return (fd, candidate)
    }

    /// A hostile loopback app: reads the request, then answers a header and a body that does not end (up to
    /// `limit` bytes, so a client without a bound cannot exhaust the machine; then it holds the connection open,
    /// sending nothing, until the client closes it).
    final class EndlessAnswer: @unchecked Sendable {
        let listener: Int32
        let candidate: SocketCandidate
        let limit: Int
        var thread = pthread_t()
        /// Bytes of the answer the client took before it closed the connection.
        var sent = 0

        init(limit: Int) throws {
            self.limit = limit
            (listener, candidate) = try BackendConnectTests.listening(queue: 8)
            let box = Unmanaged.passRetained(self).toOpaque()
            try #require(pthread_create(&thread, nil, { raw in
                guard let raw else { return nil }
                Unmanaged<EndlessAnswer>.fromOpaque(raw).takeRetainedValue().serve()
                return nil
            }, box) == 0)
        }

        func serve() {
            let fd = accept(listener, nil, nil)
            guard fd >= 0 else { return }
            defer { close(fd) }
            var head: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4_096)
            while !head.suffix(3).elementsEqual(BackendConnectTests.request.body) {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { return }
                head += buffer[0..<n]
            }
            let start = Array("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n".utf8)
            sent = start.withUnsafeBytes { sso_fcgi_send(fd, $0.baseAddress, $0.count, 0) }
            let chunk = [UInt8](repeating: 0x78, count: 65_536)
            while sent < limit {
                let n = chunk.withUnsafeBytes { sso_fcgi_send(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return }  // the client closed: it stopped reading
                sent += n
            }
            while recv(fd, &buffer, buffer.count, 0) > 0 {}  // never ends the answer: waits for the client to close
        }

        func finish() {
            pthread_join(thread, nil)
            close(listener)
        }
    }

    /// After a delivery the app's answer is read into memory to be relayed: an app that answers without end (hostile,
    /// or looping) must cost AppAuthFCGI at most `maxResponseBytes` (and a head), an error as soon as that is passed,
    /// not memory without bound until the timeout.
    @Test func anEndlessAnswerIsCutOffAtTheResponseLimit() throws {
        let app = try EndlessAnswer(limit: 32 << 20)
        var client = SocketBackendClient(timeoutSeconds: 3, maxResponseBytes: 1_024)
        let address = app.candidate
        client.resolve = { _, _ in [address] }
        let started = Monotonic.now()
        do {
            let response = try client.send(Self.request, to: .tcp(host: "app.internal", port: 1))
            Issue.record("an endless answer was relayed: \(response.body.count) bytes")
        } catch {
            #expect(error.message.contains("larger than 1024 bytes"), "\(error)")
            #expect(!error.beforeSending)
        }
        let seconds = Double(Monotonic.now() - started) / 1e9
        app.finish()
        #expect(seconds < 2, "took \(seconds) s of a 3 s timeout")
        #expect(app.sent < app.limit, "the client read all \(app.sent) bytes")
    }

    static let request = BackendRequest(method: "POST", uri: "/form", headers: [], body: Array("a=1".utf8))

    @Test func aBlackholedFirstAddressLeavesTheNextItsTurnWithinTheTimeout() throws {
        let hole = try Blackhole()
        let app = try OneAnswer()
        var client = SocketBackendClient(timeoutSeconds: 2, maxResponseBytes: 1_000)
        let addresses = [hole.candidate, app.candidate]
        client.resolve = { _, _ in addresses }
        let started = Monotonic.now()
        let response = try client.send(Self.request, to: .tcp(host: "app.internal", port: 1))
        let seconds = Double(Monotonic.now() - started) / 1e9
        app.finish()
        #expect(response.status == .ok && response.body == Array("ok".utf8))
        #expect(seconds < 2, "took \(seconds) s of a 2 s timeout")
    }

    @Test func noAddressAnsweringIsNothingSentWithinTheTimeout() throws {
        let holes = [try Blackhole(), try Blackhole()]
        var client = SocketBackendClient(timeoutSeconds: 1, maxResponseBytes: 1_000)
        let addresses = holes.map(\.candidate)
        client.resolve = { _, _ in addresses }
        let started = Monotonic.now()
        do {
            _ = try client.send(Self.request, to: .tcp(host: "app.internal", port: 1))
            Issue.record("a blackholed app answered")
        } catch {
            #expect(error.beforeSending, "\(error)")
        }
        let seconds = Double(Monotonic.now() - started) / 1e9
        #expect(seconds < 1.6, "took \(seconds) s of a 1 s timeout")
    }
}

