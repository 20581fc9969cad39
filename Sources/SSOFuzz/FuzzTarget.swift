/// One fuzz target: a name for `scripts/fuzz`, what it covers, and the function libFuzzer calls with every input.
/// The function must never crash on any input; a broken invariant it checks is reported with `FuzzCheck.fail`.
public struct FuzzTarget: Sendable {
    /// The name `scripts/fuzz` and `SSO_FUZZ_TARGET` use; also the folder under `fuzz/corpus/` and `fuzz/regressions/`.
    public let name: String
    /// The product code it drives.
    public let covers: String
    /// Longest input worth generating, in bytes (libFuzzer's `-max_len`).
    public let maxLength: Int
    /// Words worth inserting whole (JSON keys, YAML keys, extreme numbers): libFuzzer's `-dict`, written by scripts/fuzz.
    public let dictionary: [[UInt8]]
    /// Runs one input.
    public let run: @Sendable ([UInt8]) -> Void

    public init(name: String, covers: String, maxLength: Int, dictionary: [String] = [], binaryWords: [[UInt8]] = [],
                run: @escaping @Sendable ([UInt8]) -> Void) {
        self.name = name
        self.covers = covers
        self.maxLength = maxLength
        self.dictionary = dictionary.map { Array($0.utf8) } + binaryWords
        self.run = run
    }

    /// `dictionary` in libFuzzer's format: one quoted word a line, bytes outside printable ASCII as `\xNN`.
    public var dictionaryFile: String {
        let hex = Array("0123456789ABCDEF")
        return dictionary.map { word in
            var line = "\""
            for b in word {
                if b >= 0x20 && b < 0x7F && b != 0x22 && b != 0x5C { line.append(Character(UnicodeScalar(b))) }
                else { line += "\\x" + String(hex[Int(b >> 4)]) + String(hex[Int(b & 15)]) }
            }
            return line + "\""
        }.joined(separator: "\n") + "\n"
    }

    /// Every target, in the order `scripts/fuzz` runs them.
    public static let all: [FuzzTarget] = [
        JWTFuzz.token, JWTFuzz.claims, CookieFuzz.target, RedirectFuzz.target, SessionRecordFuzz.target,
        RequestCacheFuzz.target, ReceiptFuzz.target, ConfigFuzz.target, FastCGIRecordFuzz.target,
    ]

    /// The target called `name`, if any.
    public static func named(_ name: String) -> FuzzTarget? { all.first { $0.name == name } }
}

/// Words every target that reads JSON or numbers gets: the extremes of the integer types and JSON's own words.
enum FuzzWords {
    static let numbers = ["9223372036854775807", "9223372036854775790", "-9223372036854775808", "18446744073709551615",
                          "999999999999999999", "1700000000", "-1", "0", "1e308", "4294967296"]
    /// Int64.max, Int64.min and Int64.max - 28, big-endian, for targets that read raw integers: a coverage-guided
    /// fuzzer hardly ever reaches the few values where an addition overflows by itself.
    static let int64Extremes: [[UInt8]] = [[0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF], [0x80, 0, 0, 0, 0, 0, 0, 0],
                                           [0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xE3]]
    static let json = ["null", "true", "false", "[]", "{}", "\\u0000", "\\ud800", "\": ", "\",\""]
}

/// The oracle of the targets beyond "does not crash": an invariant that fails stops the fuzzer with this message, so
/// libFuzzer saves the input as a crash.
public enum FuzzCheck {
    /// Stops the process when `condition` is false.
    public static func require(_ condition: Bool, _ message: @autoclosure () -> String) {
        if !condition { fail(message()) }
    }

    /// Stops the process: an invariant does not hold for this input.
    public static func fail(_ message: String) -> Never {
        fatalError("fuzz invariant broken: \(message)")
    }
}
