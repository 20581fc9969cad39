import Glibc

/// Reads a request's body as it comes, record by record, straight from the socket, after its params were taken off:
/// every record must be a STDIN record of the same request, or the request is given up. libfcgi would read whatever
/// came next, a management record (request id 0) among them, and the same INT_MAX lengths that the scanner refuses in
/// the params abort it there (`test_hostile_records.py`). The socket blocks; the worker's watch shuts it down when the
/// body is late, which ends any read here with an error.
struct StdinReader {
    let fd: Int32
    let requestID: UInt16
    /// Content bytes of the current record not read yet.
    private var left = 0
    /// Padding bytes after the current record's content.
    private var padding = 0
    /// True once the empty STDIN record that ends the body was read (with its padding): the connection is in step for
    /// a next request.
    private(set) var finished = false

    init(fd: Int32, requestID: UInt16) {
        self.fd = fd
        self.requestID = requestID
    }

    /// Fills `buffer` with the next body bytes: how many, 0 at the end of the body, -1 when the connection failed or
    /// sent anything but a STDIN record of this request.
    mutating func next(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return -1 }
        if finished { return 0 }
        while left == 0 {
            if padding > 0 && !skip(padding) { return -1 }
            padding = 0
            let header = withUnsafeTemporaryAllocation(byteCount: 8, alignment: 8) { raw -> (Int, Int)? in
                guard let h = raw.baseAddress, Self.receive(fd, h, 8) else { return nil }
                guard raw[0] == 1, raw[1] == RecordScanner.RecordType.stdin.rawValue,
                      UInt16(raw[2]) << 8 | UInt16(raw[3]) == requestID else { return nil }
                return (Int(raw[4]) << 8 | Int(raw[5]), Int(raw[6]))
            }
            guard let (content, pad) = header else { return -1 }
            left = content
            padding = pad
            if left == 0 {
                guard padding == 0 || skip(padding) else { return -1 }
                padding = 0
                finished = true
                return 0
            }
        }
        let n = recv(fd, base, min(buffer.count, left), 0)
        guard n > 0 else { return -1 }
        left -= n
        return n
    }

    /// Reads and drops `count` bytes (a record's padding: at most 255).
    private func skip(_ count: Int) -> Bool {
        withUnsafeTemporaryAllocation(byteCount: 256, alignment: 8) { raw in
            guard let p = raw.baseAddress, count <= raw.count else { return false }
            return Self.receive(fd, p, count)
        }
    }

    /// Receives exactly `count` bytes (the socket blocks); false when the connection ends or fails first.
    static func receive(_ fd: Int32, _ into: UnsafeMutableRawPointer, _ count: Int) -> Bool {
        var got = 0
        while got < count {
            let n = recv(fd, into + got, count - got, 0)
            if n > 0 { got += n; continue }
            if n < 0 && errno == EINTR { continue }
            return false
        }
        return true
    }
}
