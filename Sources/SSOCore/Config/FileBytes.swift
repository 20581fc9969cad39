import Glibc

/// Reads a whole file the programs are configured with (the config, the users file, a key), with a size limit: such a
/// file is a few KiB, and one that is not (a log written over it, a value pasted a million times) is refused before it
/// is read, rather than held in memory and served.
public enum FileBytes {
    /// Why a file was not read.
    public enum Refusal: Error, Equatable, Sendable {
        /// It does not exist, or cannot be opened or read.
        case unreadable
        /// Not a regular file (a folder, a FIFO, a device such as /dev/zero), or larger than the limit, in bytes.
        case notRegularOrOver(limit: Int)

        /// The expectation a config problem states: "a readable file", "a regular file of at most 1 MiB".
        public var expected: String {
            switch self {
            case .unreadable: "a readable file"
            case .notRegularOrOver(let limit): "a regular file of at most \(FileBytes.describe(limit))"
            }
        }
    }

    /// The limit for the config file and a key file: 1 MiB.
    public static let configLimit = 1 << 20
    /// The limit for the users file: 64 MiB (about 300,000 users).
    public static let usersLimit = 64 << 20

    /// The bytes of `path` (links followed), if it is a regular file of at most `limit` bytes.
    public static func read(_ path: String, limit: Int) -> Result<[UInt8], Refusal> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { return .failure(.unreadable) }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { return .failure(.unreadable) }
        guard (info.st_mode & S_IFMT) == S_IFREG, Int(info.st_size) <= limit else { return .failure(.notRegularOrOver(limit: limit)) }
        // The size can change while it is read: reading stops one chunk past the limit, so a file grown past it is refused too.
        var bytes: [UInt8] = []
        bytes.reserveCapacity(Int(info.st_size))
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while bytes.count <= limit {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                return .failure(.unreadable)
            }
            if n == 0 { return .success(bytes) }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return .failure(.notRegularOrOver(limit: limit))
    }

    /// Bytes a caller already holds, as `read` would give them: nil (the file could not be read) is `.unreadable`.
    public static func given(_ contents: [UInt8]?) -> Result<[UInt8], Refusal> {
        contents.map { .success($0) } ?? .failure(.unreadable)
    }

    /// `1048576` -> "1 MiB", `1000` -> "1000 bytes".
    static func describe(_ bytes: Int) -> String {
        bytes >= 1 << 20 && bytes % (1 << 20) == 0 ? "\(bytes >> 20) MiB" : "\(bytes) bytes"
    }
}
