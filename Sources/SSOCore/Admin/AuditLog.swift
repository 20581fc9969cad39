import FoundationEssentials
import Glibc
import Synchronization

/// The audit trail: one JSON object a line, separate from the debug log, for sign-ins (and refusals), sign-outs,
/// hand-off redemptions, revocations and every admin action. It never holds a password, token, cookie, requestID or
/// state. Lines are appended with one write each to a file opened with O_APPEND, so several threads and processes can
/// share it. `audit.log_file` names it; empty turns it off.
public final class AuditLog: Sendable {
    /// The open file, or nil when the log is off; closed with the log.
    private let fd: Int32?
    private let lock = Mutex(())
    public let path: String

    /// Opens (or creates, mode 0640) `path` for appending; `""` logs nothing. Throws when the file cannot be opened, or
    /// is not a plain file of its own: the log's folder belongs to the service user, and root's `ssoctl` appends here
    /// too, so a symbolic link (not followed), a second hard link to another file, or a FIFO planted in its place is
    /// refused rather than written through.
    public init(path: String) throws {
        self.path = path
        guard !path.isEmpty else { fd = nil; return }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0o640)
        guard fd >= 0 else { throw AdminError("cannot open the audit log \(path): \(String(cString: strerror(errno)))") }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_nlink == 1 else {
            close(fd)
            throw AdminError("cannot open the audit log \(path): not a plain file with one link")
        }
        self.fd = fd
    }

    deinit {
        if let fd { close(fd) }
    }

    /// Why `init` would refuse what stands at `path` now (a symbolic link, a second hard link, a folder, a FIFO), without
    /// opening or creating anything: for `--check-config`, which runs as another user than the programs. Nil when
    /// nothing is there yet, or a plain file of its own.
    public static func refusal(atPath path: String) -> String? {
        var info = stat()
        guard !path.isEmpty, lstat(path, &info) == 0 else { return nil }
        if info.st_mode & S_IFMT == S_IFLNK { return "a plain file, not a symbolic link (the log is opened without following one)" }
        guard info.st_mode & S_IFMT == S_IFREG else { return "a plain file (this is a folder, a FIFO or a device)" }
        return info.st_nlink == 1 ? nil : "a file with one link (this one has \(info.st_nlink): it is also another file)"
    }

    /// A log that writes nothing.
    public static let off: AuditLog = {
        guard let log = try? AuditLog(path: "") else { preconditionFailure("an empty audit log path never fails") }
        return log
    }()

    /// Longest value written, in UTF-8 bytes: 512. A longer one (a user name someone typed) is cut on a character
    /// boundary and marked `…(N bytes)`, so a request cannot make a line many times its own size.
    static let maxValueBytes = 512

    /// Writes one event: `event` names it (`signin`, `signout`, `handoff`, `revoke`, `admin`), `fields` say the rest.
    public func record(_ event: String, _ fields: [(String, String)], now: Int64) {
        guard let fd else { return }
        var line = "{\"time\":\(JSONString.quote(Self.timestamp(now))),\"event\":\(JSONString.quote(event))"
        for (name, value) in fields { line += ",\(JSONString.quote(name)):\(JSONString.quote(Self.bounded(value)))" }
        line += "}\n"
        // One write(2) per line: with O_APPEND, lines from several processes never interleave.
        let bytes = Array(line.utf8)
        lock.withLock { _ in _ = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) } }
    }

    /// `value`, or its first characters within `maxValueBytes` and how long it was.
    static func bounded(_ value: String) -> String {
        let size = value.utf8.count
        guard size > maxValueBytes else { return value }
        var kept = 0
        let prefix = value.prefix { character in
            kept += character.utf8.count
            return kept <= maxValueBytes
        }
        return prefix + "…(\(size) bytes)"
    }

    /// RFC 3339 in UTC, to the second.
    static func timestamp(_ seconds: Int64) -> String {
        Date(timeIntervalSince1970: TimeInterval(seconds)).ISO8601Format()
    }
}
