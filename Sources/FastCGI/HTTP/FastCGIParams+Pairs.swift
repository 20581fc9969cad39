import Glibc

extension FastCGIParams {
    /// Why the name-value pairs of a params stream could not be read here.
    enum PairsRefusal: Error, Equatable {
        /// The entries together are longer than the limit.
        case tooLarge
        /// A length or a pair runs past the end of the stream.
        case truncated
    }

    /// The params of a FastCGI params stream (the contents of the PARAMS records, joined): name-value pairs, each a name
    /// length and a value length (one byte, or four with the top bit set), then the name, then the value. Read to the
    /// same entries libfcgi's `envp` gives `init(copying:)`: libfcgi puts `first` (its `FCGI_ROLE=…`) ahead of the
    /// pairs and makes each pair the C string `NAME=VALUE`, so an entry ends at its first NUL byte and its name at its
    /// first `=`, and an entry with no `=` left is left out. `last` is added as `init(copying:)` adds it. The limit
    /// counts what `init(copying:)` counts (each entry's C-string length, `first` included, `last` not).
    ///
    /// One allocation for the bytes, of a size known up front: each pair takes at least two length bytes from the
    /// stream and writes one `=`, so the entries never outgrow the stream plus `first` and `last`.
    init(pairs stream: UnsafeRawBufferPointer, limit: Int, first: String,
         last: (name: String, value: String)) throws(PairsRefusal) {
        var first = first, lastName = last.name, lastValue = last.value
        let capacity = stream.count + first.utf8.count + lastName.utf8.count + 1 + lastValue.utf8.count
        var result: (entries: [Entry], failure: PairsRefusal?) = ([], nil)
        // Local variables passed inout to static helpers (no nested function captures them): the loop runs without
        // the runtime's exclusivity checks on boxed variables, which cost a bare check 3% of its instructions.
        let bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, initialized in
            initialized = 0
            guard let out = buffer.baseAddress else { return }
            var entries: [Entry] = []
            entries.reserveCapacity(48)
            var used = 0
            defer { initialized = used; result.entries = entries }
            first.withUTF8 { Self.put($0.baseAddress, $0.count, out, &used) }
            guard Self.close(out, from: 0, &used, limit: limit, &entries) else { result.failure = .tooLarge; return }
            var at = 0
            while at < stream.count {
                guard let nameLength = Self.pairLength(stream, &at), let valueLength = Self.pairLength(stream, &at),
                      nameLength <= stream.count - at, valueLength <= stream.count - at - nameLength,
                      let source = stream.baseAddress else {
                    result.failure = .truncated
                    return
                }
                let start = used
                Self.put(source + at, nameLength, out, &used)
                out[used] = UInt8(ascii: "=")
                used += 1
                Self.put(source + at + nameLength, valueLength, out, &used)
                at += nameLength + valueLength
                guard Self.close(out, from: start, &used, limit: limit, &entries) else { result.failure = .tooLarge; return }
            }
            let start = used
            lastName.withUTF8 { Self.put($0.baseAddress, $0.count, out, &used) }
            out[used] = UInt8(ascii: "=")
            used += 1
            lastValue.withUTF8 { Self.put($0.baseAddress, $0.count, out, &used) }
            entries.append(Entry(nameStart: Int32(start), nameCount: Int32(lastName.utf8.count),
                                 valueStart: Int32(start + lastName.utf8.count + 1), valueCount: Int32(lastValue.utf8.count)))
        }
        if let failure = result.failure { throw failure }
        self.init()
        self.bytes = bytes
        self.entries = result.entries
    }

    /// Copies `count` bytes to `out[used...]` and moves `used` past them.
    private static func put(_ source: UnsafeRawPointer?, _ count: Int, _ out: UnsafeMutablePointer<UInt8>, _ used: inout Int) {
        if count > 0, let source { memcpy(out + used, source, count) }
        used += count
    }

    /// The entry just written at `out[start..<used]`, cut at its first NUL (`used` moves back to its end) and split at
    /// its first `=` (none: left out of `entries`). False once the entries so far are longer than `limit`.
    private static func close(_ out: UnsafeMutablePointer<UInt8>, from start: Int, _ used: inout Int, limit: Int,
                              _ entries: inout [Entry]) -> Bool {
        var length = used - start
        if length > 0, let nul = memchr(out + start, 0, length) {
            length = UnsafeRawPointer(out + start).distance(to: UnsafeRawPointer(nul))
        }
        used = start + length
        guard used <= limit else { return false }
        if length > 0, let equals = memchr(out + start, Int32(UInt8(ascii: "=")), length) {
            let name = UnsafeRawPointer(out + start).distance(to: UnsafeRawPointer(equals))
            entries.append(Entry(nameStart: Int32(start), nameCount: Int32(name), valueStart: Int32(start + name + 1),
                                 valueCount: Int32(length - name - 1)))
        }
        return true
    }

    /// A name or value length at `stream[at...]` (one byte, or four with the top bit set), moving `at` past it; nil
    /// when the stream ends inside it.
    private static func pairLength(_ stream: UnsafeRawBufferPointer, _ at: inout Int) -> Int? {
        guard at < stream.count else { return nil }
        let b = Int(stream[at])
        guard b & 0x80 != 0 else { at += 1; return b }
        guard stream.count - at >= 4 else { return nil }
        defer { at += 4 }
        return (b & 0x7f) << 24 | Int(stream[at + 1]) << 16 | Int(stream[at + 2]) << 8 | Int(stream[at + 3])
    }

    /// True when both hold the same entries (names and values, in order), wherever their bytes sit.
    func sameEntries(as other: FastCGIParams) -> Bool {
        guard entries.count == other.entries.count else { return false }
        return bytes.withUnsafeBufferPointer { a in
            other.bytes.withUnsafeBufferPointer { b in
                zip(entries, other.entries).allSatisfy { x, y in
                    a[Int(x.nameStart)..<Int(x.nameStart + x.nameCount)].elementsEqual(b[Int(y.nameStart)..<Int(y.nameStart + y.nameCount)])
                        && a[Int(x.valueStart)..<Int(x.valueStart + x.valueCount)].elementsEqual(b[Int(y.valueStart)..<Int(y.valueStart + y.valueCount)])
                }
            }
        }
    }
}
