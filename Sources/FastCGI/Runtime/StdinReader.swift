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
    /// True once the empty STDIN record was taken; `finished` once its padding is dropped too.
    private var ending = false
    /// True once the empty STDIN record that ends the body was read (with its padding): the connection is in step for
    /// a next request.
    private(set) var finished = false
    /// Bytes taken off the socket so far: record headers, contents and padding.
    private(set) var consumed = 0

    /// Most bytes looked at once at a record boundary. Default: 8,192 (as libfcgi's read buffer): a body sent as tiny
    /// records costs two system calls per look, not two per record (a million one-byte records cost 1.1 s of CPU read
    /// one by one, against libfcgi's 0.02 s).
    static let lookBytes = 8_192

    init(fd: Int32, requestID: UInt16) {
        self.fd = fd
        self.requestID = requestID
    }

    /// Fills `buffer` with the next body bytes: how many, 0 at the end of the body, -1 when the connection failed or
    /// sent anything but a STDIN record of this request.
    mutating func next(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = buffer.baseAddress, !buffer.isEmpty else { return -1 }
        while !finished {
            if left > 0 {
                let n = recv(fd, base, min(buffer.count, left), 0)
                if n < 0 && errno == EINTR { continue }
                guard n > 0 else { return -1 }
                left -= n
                consumed += n
                return n
            }
            guard let copied = look(into: buffer) else { return -1 }
            if copied > 0 { return copied }
        }
        return 0
    }

    /// At a record boundary (after `padding` bytes still to drop): peeks at what has come, takes every whole record in
    /// it at once (their contents copied to `buffer` while they fit) and the header of a record whose content has not
    /// all come (its content then comes by direct reads), and consumes exactly what it took: never a byte past this
    /// request's empty STDIN record. With less than a header there, waits for one. Returns the bytes copied (0:
    /// progress only); nil when the connection failed or sent anything but a STDIN record of this request.
    private mutating func look(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        withUnsafeTemporaryAllocation(byteCount: Self.lookBytes, alignment: 8) { peek -> Int? in
            guard let p = peek.baseAddress, let out = buffer.baseAddress else { return nil }
            var got = -1
            repeat { got = recv(fd, p, peek.count, Int32(MSG_PEEK)) } while got < 0 && errno == EINTR
            guard got > 0 else { return nil }
            var at = min(padding, got)
            padding -= at
            var copied = 0
            while padding == 0 && !ending && left == 0 && at + 8 <= got {
                guard let (content, pad) = header(UnsafeRawBufferPointer(rebasing: peek[at..<(at + 8)])) else { return nil }
                if content == 0 {
                    at += 8
                    let drop = min(pad, got - at)
                    at += drop
                    padding = pad - drop
                    ending = true
                } else if at + 8 + content + pad <= got && copied + content <= buffer.count {
                    memcpy(out + copied, p + at + 8, content)
                    copied += content
                    at += 8 + content + pad
                } else {
                    at += 8
                    left = content
                    padding = pad
                }
            }
            if at == 0 {
                // Less than a header here: wait for one, as it comes.
                guard Self.receive(fd, p, 8), let (content, pad) = header(UnsafeRawBufferPointer(rebasing: peek[0..<8])) else {
                    return nil
                }
                consumed += 8
                left = content
                padding = pad
                ending = content == 0
            } else if Self.receive(fd, p, at) {
                consumed += at
            } else {
                return nil
            }
            if ending && padding == 0 { finished = true }
            return copied
        }
    }

    /// Content and padding lengths of a STDIN record of this request from its 8-byte header; nil for any other record.
    private func header(_ h: UnsafeRawBufferPointer) -> (Int, Int)? {
        guard h[0] == 1, h[1] == RecordScanner.RecordType.stdin.rawValue, UInt16(h[2]) << 8 | UInt16(h[3]) == requestID else {
            return nil
        }
        return (Int(h[4]) << 8 | Int(h[5]), Int(h[6]))
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
