import Glibc

/// Paths and file metadata from the C library, so the programs need no Foundation (whose static copy costs every
/// process about 4 MB of memory at start; BENCHMARKS.md "Issue 15, target 5").
public enum FilePaths {
    /// The folder part of `path`, as `dirname` but textual: `/etc/sso/sso.yaml` -> `/etc/sso`, `/sso.yaml` -> `/`,
    /// `sso.yaml` -> `` (empty: the current folder). Trailing slashes are ignored.
    public static func folder(of path: String) -> String {
        let text = withoutTrailingSlashes(Substring(path))
        guard let slash = text.lastIndex(of: "/") else { return "" }
        if slash == text.startIndex { return "/" }
        return String(withoutTrailingSlashes(text[..<slash]))
    }

    /// The last part of `path`: `/etc/sso/sso.yaml` -> `sso.yaml`. Trailing slashes are ignored.
    public static func name(of path: String) -> String {
        let text = withoutTrailingSlashes(Substring(path))
        guard let slash = text.lastIndex(of: "/"), text != "/" else { return String(text) }
        return String(text[text.index(after: slash)...])
    }

    /// `a//` -> `a`; a lone `/` stays.
    private static func withoutTrailingSlashes(_ text: Substring) -> Substring {
        var text = text
        while text.count > 1, text.hasSuffix("/") { text = text.dropLast() }
        return text
    }
}

/// What `stat(2)` says of a file (links followed).
public struct FileFacts: Equatable, Sendable {
    /// Permission bits (and set-id and sticky bits): `st_mode & 0o7777`.
    public let permissions: mode_t
    public let owner: uid_t
    public let group: gid_t
    /// Bytes.
    public let size: Int64
    public let inode: UInt64
    /// Last modification: seconds since 1970 and nanoseconds.
    public let modifiedSeconds: Int64
    public let modifiedNanoseconds: Int64
    public let isFolder: Bool

    /// Nil when `path` cannot be looked at (it does not exist, or a folder on the way cannot be searched).
    public init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        permissions = info.st_mode & 0o7777
        owner = info.st_uid
        group = info.st_gid
        size = Int64(info.st_size)
        inode = UInt64(info.st_ino)
        modifiedSeconds = Int64(info.st_mtim.tv_sec)
        modifiedNanoseconds = Int64(info.st_mtim.tv_nsec)
        isFolder = (info.st_mode & S_IFMT) == S_IFDIR
    }
}
