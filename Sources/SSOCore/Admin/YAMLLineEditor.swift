import FoundationEssentials
import Glibc
import SSOYAML

/// Edits a block-style YAML file line by line, so its comments, order and layout stay as the operator wrote them: the
/// parser says where each key is (its line and column), the edit replaces or inserts whole lines. Flow-style parts
/// (`{a: 1}`) are refused rather than rewritten. The result is written atomically: a temporary file in the same folder,
/// fsync, rename over the original (keeping its mode and owner).
public struct YAMLLineEditor {
    public let path: String
    public private(set) var lines: [String]
    /// The parse of `lines`, made again after every edit so the next one finds keys where they are now.
    private var root: YAMLMapping

    /// Reads and parses `path` (a regular file of at most `FileBytes.usersLimit` bytes, the larger of the files it edits).
    public init(path: String) throws(AdminError) {
        let bytes: [UInt8]
        switch FileBytes.read(path, limit: FileBytes.usersLimit) {
        case .success(let read): bytes = read
        case .failure(let refusal): throw AdminError("cannot read \(path): expected \(refusal.expected)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else { throw AdminError("cannot read \(path): it is not UTF-8 text") }
        try self.init(path: path, text: text)
    }

    /// Parses `text` as the contents of `path` (nothing is read).
    public init(path: String, text: String) throws(AdminError) {
        self.path = path
        // YAML also breaks lines at CR, NEL, LS and PS; the edits count lines at LF only. A file with any of them would
        // put the parser's line numbers and ours apart (an edit on the wrong line, or past the end), so it is refused.
        if let other = text.unicodeScalars.first(where: { ["\r", "\u{85}", "\u{2028}", "\u{2029}"].contains($0) }) {
            let what = other == "\r" ? "Windows (CRLF) or CR line ends" : "a U+\(String(other.value, radix: 16, uppercase: true)) line break"
            throw AdminError("\(path) has \(what); ssoctl edits files whose lines end in LF only: convert it (e.g. sed -i 's/\\r$//' \(path)) and run again")
        }
        var split = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if split.last == "" { split.removeLast() }
        lines = split
        root = try Self.parse(text, path: path)
    }

    private static func parse(_ text: String, path: String) throws(AdminError) -> YAMLMapping {
        let node: YAMLNode?
        do { node = try YAMLParser.compose(text) } catch { throw AdminError("\(path) is not valid YAML: \(error)") }
        guard let mapping = node?.mapping else { throw AdminError("\(path): expected a mapping of keys at the top") }
        return mapping
    }

    /// Parses the edited lines again; an edit that broke the YAML is reported here.
    private mutating func reparse() throws(AdminError) { root = try Self.parse(text, path: path) }

    /// The text as edited.
    public var text: String { lines.joined(separator: "\n") + "\n" }

    // MARK: - Finding things

    /// The value node at a dotted path of mapping keys from the top (`keys.signing_kid`).
    public func node(_ path: String) -> YAMLNode? {
        var current: YAMLNode? = .mapping(root)
        for part in path.split(separator: ".") {
            guard let mapping = current?.mapping else { return nil }
            current = mapping[String(part)]
        }
        return current
    }

    /// The items of the list at `path`, each a block-style mapping.
    public func items(_ path: String) throws(AdminError) -> [YAMLMapping] {
        guard let sequence = node(path)?.sequence else { return [] }
        return try sequence.map { item throws(AdminError) in
            guard let mapping = item.mapping else { throw AdminError("\(self.path): \(path) holds something other than mappings") }
            guard !mapping.isFlow else {
                throw AdminError("\(self.path): an item of \(path) is written in flow style ({…}); edit it by hand, or write it as a block")
            }
            return mapping
        }
    }

    /// The 0-based line of `key` in `mapping`, and its column.
    func keyPosition(_ key: String, in mapping: YAMLMapping) -> (line: Int, column: Int)? {
        guard let keyNode = mapping.keys.first(where: { $0.string == key }) else { return nil }
        let mark = keyNode.mark
        return (mark.line - 1, mark.column - 1)
    }

    // MARK: - Edits

    /// Sets `key` of `mapping` to the YAML text `value` (already quoted as needed), replacing its line and keeping a
    /// trailing comment; adds the key after `after` (or at the end of the mapping) when it is not there.
    public mutating func set(_ key: String, to value: String, in mapping: YAMLMapping, after: String? = nil) throws(AdminError) {
        if let (line, column) = keyPosition(key, in: mapping) {
            guard let valueNode = mapping[key], valueNode.scalar != nil else {
                throw AdminError("\(path): \(key) on line \(line + 1) is not a single value")
            }
            let old = lines[line]
            let comment = Self.trailingComment(old)
            lines[line] = String(repeating: " ", count: column) + "\(key): \(value)" + comment
            try reparse()
            return
        }
        guard let (anchorLine, column) = (after.flatMap { keyPosition($0, in: mapping) }) ?? lastKeyPosition(in: mapping) else {
            throw AdminError("\(path): cannot find where to add \(key)")
        }
        lines.insert(String(repeating: " ", count: column) + "\(key): \(value)", at: endOfEntry(startingAt: anchorLine, column: column) + 1)
        try reparse()
    }

    /// Removes the whole item `index` of the list at `path` (its lines, and comment lines right above it stay).
    public mutating func removeItem(_ index: Int, of path: String) throws(AdminError) {
        let all = try items(path)
        guard all.indices.contains(index), let first = all[index].keys.first?.mark else { throw AdminError("\(self.path): no item \(index) in \(path)") }
        let start = first.line - 1
        let dash = lines[start].firstIndex(of: "-").map { lines[start].distance(from: lines[start].startIndex, to: $0) } ?? (first.column - 1)
        var end = start + 1
        while end < lines.count, Self.isInside(lines[end], deeperThan: dash) { end += 1 }
        lines.removeSubrange(start..<end)
        try reparse()
    }

    /// Appends `itemLines` (already indented as block YAML, the first starting with `- `) at the end of the list at `path`.
    /// An empty list written `key: []` (as the package's users file is) becomes a block list holding the item.
    public mutating func appendItem(_ itemLines: [String], to path: String) throws(AdminError) {
        let all = try items(path)
        if all.isEmpty, node(path)?.sequence?.isEmpty == true {
            try fillEmptyList(path, with: itemLines)
            return
        }
        guard let last = all.last, let lastKey = last.keys.first?.mark else { throw AdminError("\(self.path): \(path) has no items to add after") }
        let start = lastKey.line - 1
        let dash = lines[start].firstIndex(of: "-").map { lines[start].distance(from: lines[start].startIndex, to: $0) } ?? 0
        var end = start + 1
        while end < lines.count, Self.isInside(lines[end], deeperThan: dash) { end += 1 }
        // Trailing comment and blank lines belong to what follows: insert before them.
        while end > start + 1, Self.isCommentOrBlank(lines[end - 1]) { end -= 1 }
        let indent = String(repeating: " ", count: dash)
        lines.insert(contentsOf: itemLines.map { indent + $0 }, at: end)
        try reparse()
    }

    /// `key: []` (with any trailing comment) becomes `key:` followed by `itemLines`, indented two more than the key.
    private mutating func fillEmptyList(_ path: String, with itemLines: [String]) throws(AdminError) {
        let parts = path.split(separator: ".").map(String.init)
        let parent = parts.count == 1 ? root : node(parts.dropLast().joined(separator: "."))?.mapping
        guard let key = parts.last, let parent, let (line, column) = keyPosition(key, in: parent),
              lines[line].drop(while: { $0 == " " }).hasPrefix("\(key): []") else {
            throw AdminError("\(self.path): \(path) is an empty list not written as `\(parts.last ?? path): []`; add the first item by hand")
        }
        let indent = String(repeating: " ", count: column)
        lines[line] = indent + "\(key):" + Self.trailingComment(lines[line])
        lines.insert(contentsOf: itemLines.map { indent + "  " + $0 }, at: line + 1)
        try reparse()
    }

    /// The dash column of the list items at `path`.
    private func lastKeyPosition(in mapping: YAMLMapping) -> (line: Int, column: Int)? {
        mapping.keys.map(\.mark).max { $0.line < $1.line }.map { ($0.line - 1, $0.column - 1) }
    }

    /// The last line of the entry whose key is on `line` at `column` (its value may go on, indented deeper).
    private func endOfEntry(startingAt line: Int, column: Int) -> Int {
        var end = line
        while end + 1 < lines.count, Self.isInside(lines[end + 1], deeperThan: column) { end += 1 }
        return end
    }

    /// True for a line holding only blanks, or a comment after them.
    private static func isCommentOrBlank(_ line: String) -> Bool {
        let rest = line.drop { $0 == " " || $0 == "\t" }
        return rest.isEmpty || rest.hasPrefix("#")
    }

    /// True for a line that is part of a block indented deeper than `column` (blank lines count as inside).
    private static func isInside(_ line: String, deeperThan column: Int) -> Bool {
        let trimmed = line.drop { $0 == " " }
        if trimmed.isEmpty { return false }
        return line.count - trimmed.count > column
    }

    /// ` # comment` at the end of a line, outside quotes; empty when there is none.
    static func trailingComment(_ line: String) -> String {
        var quote: Character? = nil
        var previous: Character = " "
        for (offset, c) in line.enumerated() {
            if let q = quote { if c == q { quote = nil } }
            else if c == "'" || c == "\"" { quote = c }
            else if c == "#" && (previous == " " || previous == "\t") {
                var start = line.index(line.startIndex, offsetBy: offset)
                while start > line.startIndex, line[line.index(before: start)] == " " { start = line.index(before: start) }
                return String(line[start...])
            }
            previous = c
        }
        return ""
    }

    // MARK: - Writing

    /// Writes the edited text atomically over `path`, keeping its permissions and owner. `validate` is given the path of
    /// the written temporary file first: if it throws, the original stays as it was.
    public func write(validate: (String) throws -> Void = { _ in }) throws(AdminError) {
        let folder = FilePaths.folder(of: path)
        let temp = (folder.isEmpty ? "." : folder) + "/." + FilePaths.name(of: path) + ".\(getpid()).tmp"
        let facts = FileFacts(path: path)
        let mode = facts?.permissions ?? 0o640
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw AdminError("cannot write \(temp): \(String(cString: strerror(errno)))") }
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress.map { $0 + written }, bytes.count - written) }
            if n <= 0 { close(fd); unlink(temp); throw AdminError("cannot write \(temp): \(String(cString: strerror(errno)))") }
            written += n
        }
        fchmod(fd, mode)
        if let facts { _ = fchown(fd, facts.owner, facts.group) }
        guard fsync(fd) == 0 else { close(fd); unlink(temp); throw AdminError("cannot sync \(temp)") }
        close(fd)
        do { try validate(temp) } catch {
            unlink(temp)
            throw AdminError("the edited file would not load, so \(path) was left as it was:\n\(error)")
        }
        guard rename(temp, path) == 0 else { unlink(temp); throw AdminError("cannot replace \(path): \(String(cString: strerror(errno)))") }
        // The rename itself is durable only once the folder is synced.
        let dir = open(folder.isEmpty ? "." : folder, O_RDONLY | O_DIRECTORY)
        if dir >= 0 { fsync(dir); close(dir) }
    }
}
