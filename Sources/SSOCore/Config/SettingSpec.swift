/// One key of a config file, declared once: where it is, what it holds, its default, its unit and what it is for.
/// The reader takes types, ranges and defaults from here; unknown keys are the ones with no spec; the example config is
/// checked against the list by a test.
public struct SettingSpec: Sendable {
    /// What a key holds.
    public enum Kind: Sendable, Equatable {
        /// A whole number within the range.
        case integer(ClosedRange<Int>)
        /// A string, checked further where it is used (an origin, a path, a name).
        case text
        /// One of the listed words, exactly.
        case choice([String])
        /// `true` or `false`.
        case flag
        /// A list of strings.
        case textList
        /// Permission bits written in octal, like `"0660"`.
        case octal
        /// A mapping of further keys.
        case section
        /// A list of mappings of further keys (`name[].key`).
        case list
    }

    /// What happens when the key is absent.
    public enum Default: Sendable, Equatable {
        /// The key must be present.
        case required
        /// The key may be absent and then means nothing (e.g. a key file that is not used).
        case optional
        /// This value, written as it would be in the file.
        case value(String)
        /// A value worked out from elsewhere, described for people (e.g. "the number of cores").
        case computed(String)
    }

    /// Dotted path, with `[]` for the items of a list: `memcached.poll_timeout_ms`, `services[].idle_timeout`.
    public let key: String
    public let kind: Kind
    public let defaultValue: Default
    /// `seconds`, `milliseconds`, `bytes`, `threads`, or nil.
    public let unit: String?
    /// What it is for, in one or two sentences.
    public let doc: String

    public init(_ key: String, _ kind: Kind, _ defaultValue: Default, unit: String? = nil, doc: String) {
        self.key = key
        self.kind = kind
        self.defaultValue = defaultValue
        self.unit = unit
        self.doc = doc
    }

    /// What the reader expects, for problem messages: "seconds, 1 to 600", "one of: Lax, Strict".
    public var expectation: String {
        switch kind {
        case .integer(let range):
            let bounds = "\(range.lowerBound) to \(range.upperBound)"
            return unit.map { "\($0), \(bounds)" } ?? "a whole number, \(bounds)"
        case .text: return "a string"
        case .choice(let words): return "one of: \(words.joined(separator: ", "))"
        case .flag: return "true or false"
        case .textList: return "a list of strings"
        case .octal: return "octal permission bits like \"0660\""
        case .section: return "a mapping of keys"
        case .list: return "a list of mappings"
        }
    }
}
