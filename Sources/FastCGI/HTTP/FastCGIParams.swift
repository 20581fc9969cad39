import Glibc

/// The FastCGI params of one request as received: every `NAME=VALUE` entry's bytes in one buffer, in the order the web
/// server sent them. A `String` is made only for a param that is read: the auth check reads about eight of the ~40
/// params nginx sends, so a request costs two allocations here instead of a dictionary of ~80 strings, each hashed.
///
/// Reading follows the web server's rules for a repeated param (see `ParamsReader`): a header sent on several lines
/// (`HTTP_*`, but not `HTTP_HOST`) is its values joined, `; ` for `Cookie` and `, ` for any other; any other repeated
/// param is its last value. A value that is not UTF-8 reads with U+FFFD in place of its bad bytes, never traps, and
/// `rawValue(_:)` has its exact bytes.
public struct FastCGIParams: Sendable {
    /// Where one entry's name and value are in `bytes`.
    struct Entry: Sendable, Equatable {
        let nameStart: Int32
        let nameCount: Int32
        let valueStart: Int32
        let valueCount: Int32
    }

    var bytes: [UInt8] = []
    var entries: [Entry] = []

    /// No params.
    public init() {}

    /// The params of `values`, each once; `raw` gives the exact bytes of those whose value is not UTF-8 (and wins over
    /// `values` for them). For tests and in-process callers; the server builds them with `ParamsReader`.
    public init(_ values: [String: String], raw: [String: [UInt8]] = [:]) {
        for (name, value) in values { append(name: Array(name.utf8), value: raw[name] ?? Array(value.utf8)) }
        for (name, value) in raw where values[name] == nil { append(name: Array(name.utf8), value: value) }
    }

    /// The params of NUL-terminated `NAME=VALUE` entries (libfcgi's `envp`, ended by a null pointer), copied into one
    /// buffer of the exact size, then `last` (an entry that wins over any earlier one of its name). An entry without `=`
    /// is left out. Nil when the entries together (not counting `last`) are longer than `limit` bytes.
    init?(copying envp: UnsafePointer<UnsafeMutablePointer<CChar>?>, limit: Int, last: (name: String, value: String)) {
        let lastEntry = Array(last.name.utf8) + [UInt8(ascii: "=")] + Array(last.value.utf8)
        // First pass: where each entry goes and where its `=` is; nothing is copied past the limit.
        var entries: [Entry] = []
        entries.reserveCapacity(48)
        var total = 0
        var cursor = envp
        while let entry = cursor.pointee {
            let length = strlen(entry)
            if let equals = memchr(entry, Int32(UInt8(ascii: "=")), length) {
                let name = UnsafeRawPointer(entry).distance(to: UnsafeRawPointer(equals))
                entries.append(Entry(nameStart: Int32(total), nameCount: Int32(name), valueStart: Int32(total + name + 1),
                                     valueCount: Int32(length - name - 1)))
            }
            total += length
            guard total <= limit else { return nil }
            cursor += 1
        }
        entries.append(Entry(nameStart: Int32(total), nameCount: Int32(last.name.utf8.count),
                             valueStart: Int32(total + last.name.utf8.count + 1), valueCount: Int32(last.value.utf8.count)))
        // Second pass: the bytes, in one allocation of the exact size.
        bytes = [UInt8](unsafeUninitializedCapacity: total + lastEntry.count) { buffer, initialized in
            guard let base = buffer.baseAddress else { return }
            var at = 0
            var cursor = envp
            while let entry = cursor.pointee {
                let length = strlen(entry)
                memcpy(base + at, entry, length)
                at += length
                cursor += 1
            }
            lastEntry.withUnsafeBytes { if let source = $0.baseAddress { memcpy(base + at, source, $0.count) } }
            initialized = at + lastEntry.count
        }
        self.entries = entries
    }

    /// Adds one entry from a name and a value.
    private mutating func append(name: [UInt8], value: [UInt8]) {
        let start = bytes.count
        bytes += name
        bytes.append(UInt8(ascii: "="))
        bytes += value
        entries.append(Entry(nameStart: Int32(start), nameCount: Int32(name.count), valueStart: Int32(start + name.count + 1),
                             valueCount: Int32(value.count)))
    }

    /// The value of param `name` (repeated headers joined), or nil when it was not sent.
    public subscript(name: String) -> String? {
        withValue(of: name) { String(decoding: $0, as: UTF8.self) }
    }

    /// The exact bytes of param `name` (repeated headers joined), or nil when it was not sent.
    public func rawValue(_ name: String) -> [UInt8]? {
        withValue(of: name) { Array($0) }
    }

    /// True when param `name` was sent (even empty).
    public func contains(_ name: String) -> Bool {
        var name = name
        return name.withUTF8 { key in bytes.withUnsafeBufferPointer { all in firstMatch(key, in: all, from: 0) != nil } }
    }

    /// True when the value of param `name` (repeated headers joined) holds the bytes of `needle`; false when it was
    /// not sent. No `String` is made: a cheap test before parsing a value that seldom matters.
    public func value(of name: String, containsBytesOf needle: String) -> Bool {
        var needle = needle
        return needle.withUTF8 { pattern in
            withValue(of: name) { value -> Bool in
                guard !pattern.isEmpty else { return true }
                guard let v = value.baseAddress, let p = pattern.baseAddress, value.count >= pattern.count else { return false }
                // memchr for the first byte, memcmp for the rest (Glibc's Swift module has no memmem).
                let last = value.count - pattern.count
                var at = 0
                while at <= last {
                    guard let hit = memchr(v + at, Int32(p[0]), last - at + 1) else { return false }
                    let i = UnsafeRawPointer(v).distance(to: UnsafeRawPointer(hit))
                    if memcmp(v + i, p, pattern.count) == 0 { return true }
                    at = i + 1
                }
                return false
            } ?? false
        }
    }

    /// How many bytes the value of param `name` has (repeated headers joined), or nil when it was not sent.
    public func byteCount(of name: String) -> Int? {
        withValue(of: name) { $0.count }
    }

    /// The names of the params sent, each once, in the order they first came. Not for the hot path: a `String` each.
    public var names: [String] {
        var out: [String] = []
        var seen = Set<String>()
        bytes.withUnsafeBufferPointer { all in
            for e in entries {
                let name = String(decoding: UnsafeBufferPointer(rebasing: all[Int(e.nameStart)..<Int(e.nameStart + e.nameCount)]),
                                  as: UTF8.self)
                if seen.insert(name).inserted { out.append(name) }
            }
        }
        return out
    }

    /// How many distinct params were sent.
    public var count: Int { names.count }

    /// Every param once, in the order it first came, with its value's bytes as `rawValue` reads them (a header sent on
    /// several lines joined, any other repeat its last value), in one pass: looking each name up instead costs a pass
    /// over all params per name, and thousands of distinct headers (64 KiB of params) took 175 ms.
    public var all: [(name: String, value: [UInt8])] {
        var out: [(name: String, value: [UInt8])] = []
        var index: [String: Int] = [:]
        bytes.withUnsafeBufferPointer { all in
            for e in entries {
                let nameBytes = UnsafeBufferPointer(rebasing: all[Int(e.nameStart)..<Int(e.nameStart + e.nameCount)])
                let name = String(decoding: nameBytes, as: UTF8.self)
                let value = value(e, in: all)
                guard let i = index[name] else {
                    index[name] = out.count
                    out.append((name, Array(value)))
                    continue
                }
                if Self.joinsRepeats(nameBytes) {
                    out[i].value += Self.separator(nameBytes)
                    out[i].value += value
                } else {
                    out[i].value = Array(value)
                }
            }
        }
        return out
    }

    /// Every param once, with its value as read through the subscript.
    public var dictionary: [String: String] {
        Dictionary(all.map { ($0.name, String(decoding: $0.value, as: UTF8.self)) }, uniquingKeysWith: { _, last in last })
    }

    /// The exact bytes of every param whose value is not valid UTF-8 (usually none).
    public var rawParams: [String: [UInt8]] {
        var out: [String: [UInt8]] = [:]
        for (name, value) in all {
            let valid = value.withUnsafeBufferPointer { ParamsReader.isASCII($0) || String(validating: $0, as: UTF8.self) != nil }
            if !valid { out[name] = value }
        }
        return out
    }

    /// Calls `body` with the value of param `name`: the bytes of its last entry in place, or, for a header sent on
    /// several lines, its values joined. Nil when no entry has that name.
    private func withValue<T>(of name: String, _ body: (UnsafeBufferPointer<UInt8>) -> T) -> T? {
        var name = name
        return name.withUTF8 { key in
            bytes.withUnsafeBufferPointer { all -> T? in
                guard var last = firstMatch(key, in: all, from: 0) else { return nil }
                var matches = 1
                while let next = firstMatch(key, in: all, from: last + 1) {
                    last = next
                    matches += 1
                }
                if matches == 1 || !Self.joinsRepeats(key) { return body(value(entries[last], in: all)) }
                let separator = Self.separator(key)
                var joined: [UInt8] = []
                var index = firstMatch(key, in: all, from: 0)
                var first = true
                while let i = index {
                    if !first { joined.append(contentsOf: separator) }
                    first = false
                    joined.append(contentsOf: value(entries[i], in: all))
                    index = firstMatch(key, in: all, from: i + 1)
                }
                return joined.withUnsafeBufferPointer { body($0) }
            }
        }
    }

    /// A header sent on several lines is joined; any other repeated param (a `fastcgi_param` set twice, `HTTP_HOST`
    /// among them) is its last value.
    private static func joinsRepeats(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        name.starts(with: "HTTP_".utf8) && !name.elementsEqual("HTTP_HOST".utf8)
    }

    /// What joins the lines of a repeated header: `; ` for `Cookie` (RFC 6265), `, ` for any other (RFC 9110, 5.3).
    private static func separator(_ name: UnsafeBufferPointer<UInt8>) -> [UInt8] {
        name.elementsEqual("HTTP_COOKIE".utf8) ? Array("; ".utf8) : Array(", ".utf8)
    }

    private func value(_ e: Entry, in all: UnsafeBufferPointer<UInt8>) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(rebasing: all[Int(e.valueStart)..<Int(e.valueStart + e.valueCount)])
    }

    /// The index of the first entry at or after `start` named `key`.
    private func firstMatch(_ key: UnsafeBufferPointer<UInt8>, in all: UnsafeBufferPointer<UInt8>, from start: Int) -> Int? {
        guard start < entries.count else { return nil }
        let count = Int32(key.count)
        for i in start..<entries.count where entries[i].nameCount == count {
            if count == 0 { return i }
            guard let base = all.baseAddress, let keyBase = key.baseAddress else { return nil }
            if memcmp(base + Int(entries[i].nameStart), keyBase, key.count) == 0 { return i }
        }
        return nil
    }
}
