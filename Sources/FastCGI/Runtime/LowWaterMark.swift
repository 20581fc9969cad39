import Glibc

/// A TCP socket's receive low-water mark (`SO_RCVLOWAT`): epoll reports the socket readable only once at least this
/// many bytes are waiting (or the peer hangs up). A connection with part of a request can then wait in epoll for the
/// next bytes, though the bytes it has are unread. Unix sockets ignore it in epoll: it is for TCP only.
enum LowWaterMark {
    /// Requests `bytes` (at least 1). False when the kernel refused it.
    static func set(_ fd: Int32, bytes: Int) -> Bool {
        var value = Int32(clamping: max(1, bytes))
        return setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &value, socklen_t(MemoryLayout<Int32>.size)) == 0
    }

    /// Back to the default, 1 byte, before anything reads the connection: with a higher mark a blocking read would
    /// wait for that many bytes. False when the kernel refused it.
    static func reset(_ fd: Int32) -> Bool { set(fd, bytes: 1) }
}
