import Glibc
import Testing
@testable import FastCGI

/// A body read as it comes, record by record: the same bytes whatever the records' sizes and padding, however they
/// arrive, and never a byte past the request's empty STDIN record.
@Suite struct StdinReaderTests {
    typealias R = RecordScannerTests

    /// Reads the whole body from `fd`; nil when the reader gave the request up.
    func readAll(_ fd: Int32, id: UInt16 = 1) -> [UInt8]? {
        var reader = StdinReader(fd: fd, requestID: id)
        var body: [UInt8] = []
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 16_384, alignment: 8)
        defer { buffer.deallocate() }
        while true {
            let n = reader.next(into: buffer)
            if n < 0 { return nil }
            if n == 0 { return reader.finished ? body : nil }
            body += buffer[0..<n]
        }
    }

    /// What is left in the socket (non-blocking).
    func rest(_ fd: Int32) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 65_536)
        let n = out.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        return Array(out[..<max(0, n)])
    }

    /// Records of every size from 1 byte to 20,000 (bigger than a look, bigger than the caller's buffer), padded from 0
    /// to 255, the empty record padded too, then the next request's first bytes: sent at once, and sent in pieces of
    /// 1 to 3,000 bytes a millisecond apart.
    @Test(arguments: [false, true]) func theBodyIsExactAndNothingPastItIsRead(inPieces: Bool) throws {
        var records: [UInt8] = []
        var expected: [UInt8] = []
        for (i, size) in ([1, 1, 2, 7, 8, 9, 100, 5_000, 9_000, 20_000] + Array(repeating: 1, count: 3_000)).enumerated() {
            let content = (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ i) }
            expected += content
            records += R.record(5, content, padding: UInt8(i % 256))
        }
        records += R.record(5, padding: 9) + Array("NEXT".utf8)
        var pair: [Int32] = [-1, -1]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
        defer { close(pair[0]); close(pair[1]) }
        var size = Int32(records.count + 4_096)
        _ = setsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        let sender = Sender(fd: pair[1], bytes: records, pieces: inPieces)
        var thread = pthread_t()
        let box = Unmanaged.passRetained(sender).toOpaque()
        try #require(pthread_create(&thread, nil, { raw in
            guard let raw else { return nil }
            Unmanaged<Sender>.fromOpaque(raw).takeRetainedValue().run()
            return nil
        }, box) == 0)
        let body = readAll(pair[0])
        pthread_join(thread, nil)
        #expect(body == expected)
        #expect(rest(pair[0]) == Array("NEXT".utf8))
    }

    /// A record that is not this request's STDIN, anywhere among many small ones, gives the request up.
    @Test func aForeignRecordAmongTinyOnesGivesTheRequestUp() throws {
        for foreign in [R.record(5, [1], id: 2), R.record(9, [0, 0], id: 0), R.record(4, [1], id: 1), [2, 5, 0, 1, 0, 1, 0, 0, 9]] {
            var bytes: [UInt8] = []
            for _ in 0..<500 { bytes += R.record(5, [0x61]) }
            bytes += foreign + R.record(5, [0x62]) + R.record(5)
            var pair: [Int32] = [-1, -1]
            try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &pair) == 0)
            defer { close(pair[0]); close(pair[1]) }
            #expect(bytes.withUnsafeBytes { send(pair[1], $0.baseAddress, $0.count, 0) } == bytes.count)
            close(pair[1])
            pair[1] = -1
            #expect(readAll(pair[0]) == nil)
        }
    }
}

/// Sends bytes on a socket from another thread: at once, or in pieces of 1 to 3,000 bytes a millisecond apart.
private final class Sender: @unchecked Sendable {
    let fd: Int32, bytes: [UInt8], pieces: Bool
    init(fd: Int32, bytes: [UInt8], pieces: Bool) { self.fd = fd; self.bytes = bytes; self.pieces = pieces }
    func run() {
        var at = 0
        var step = 1
        while at < bytes.count {
            let count = pieces ? min(step, bytes.count - at) : bytes.count - at
            let sent = bytes[at..<(at + count)].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
            if sent <= 0 { return }
            at += sent
            if pieces { usleep(1_000); step = step * 7 % 3_001 + 1 }
        }
    }
}
