/// Reading a fuzzer's bytes as the product receives them.
enum FuzzInput {
    /// The bytes as a `String` the way the FastCGI layer makes one (invalid UTF-8 repaired, never refused).
    static func text(_ bytes: some Collection<UInt8>) -> String { String(decoding: Array(bytes), as: UTF8.self) }

    /// `bytes` cut at every NUL: one input carrying several values (a NUL never occurs in the text the targets read).
    static func fields(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
        bytes.split(separator: 0, maxSplits: 8, omittingEmptySubsequences: false)
    }
}
