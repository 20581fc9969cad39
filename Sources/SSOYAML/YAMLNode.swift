/// Where a node starts in the text: 1-based line and column (columns count characters, not bytes).
public struct YAMLMark: Equatable, Sendable {
    public let line: Int
    public let column: Int
}

/// A scalar as written: its text, how it was written, and its explicit tag if it has one.
public struct YAMLScalar: Equatable, Sendable {
    public enum Style: Sendable { case plain, singleQuoted, doubleQuoted, literal, folded }

    public let string: String
    public let style: Style
    /// `tag:yaml.org,2002:str` for `!!str x`; nil when the scalar has none (the usual case).
    public let tag: String?
    public let mark: YAMLMark

    /// A quoted, block or `!!str`-tagged scalar is text, whatever it looks like (YAML 1.1's resolution).
    var isText: Bool { style != .plain || tag == YAMLScalar.stringTag }
    static let stringTag = "tag:yaml.org,2002:str"
}

/// A mapping's pairs in the order written (keys are unique: the parser refuses a repeated one).
public struct YAMLMapping: Sendable {
    public let pairs: [(key: YAMLNode, value: YAMLNode)]
    public let mark: YAMLMark
    /// Written `{a: 1}` rather than as a block.
    public let isFlow: Bool

    /// The value of the scalar key `key`.
    public subscript(key: String) -> YAMLNode? {
        pairs.first { $0.key.string == key }?.value
    }

    public var keys: [YAMLNode] { pairs.map(\.key) }
}

/// One node of a YAML document: what `YAMLParser.compose` returns. Scalars keep their text; `int` and `bool` read it
/// with YAML 1.1's rules, as the config has always been read.
public indirect enum YAMLNode: Sendable {
    case scalar(YAMLScalar)
    case sequence([YAMLNode], YAMLMark)
    case mapping(YAMLMapping)

    public var scalar: YAMLScalar? { if case .scalar(let s) = self { s } else { nil } }
    public var mapping: YAMLMapping? { if case .mapping(let m) = self { m } else { nil } }
    public var sequence: [YAMLNode]? { if case .sequence(let items, _) = self { items } else { nil } }

    /// A scalar's text; nil for a list or mapping.
    public var string: String? { scalar?.string }

    public var mark: YAMLMark {
        switch self {
        case .scalar(let s): s.mark
        case .sequence(_, let mark): mark
        case .mapping(let m): m.mark
        }
    }

    /// `true`, `yes`, `on` and `false`, `no`, `off` in any case, written plain; nil for anything else.
    public var bool: Bool? {
        guard let s = scalar, !s.isText else { return nil }
        switch s.string.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: return nil
        }
    }

    /// A plain scalar read as a YAML 1.1 integer: an optional sign, `_` anywhere, `0x` hex, `0b` binary, `0o` or a
    /// leading `0` octal, `a:b:c` base 60, otherwise decimal. Nil when it is not one or does not fit an `Int`.
    public var int: Int? {
        guard let s = scalar, s.style == .plain else { return nil }
        return YAMLInteger.parse(s.string)
    }
}

enum YAMLInteger {
    static func parse(_ written: String) -> Int? {
        let text = written.replacing("_", with: "")
        if text == "0" { return 0 }
        let negative = text.hasPrefix("-")
        let hasSign = negative || text.hasPrefix("+")
        let digits = text.dropFirst(hasSign ? 1 : 0)
        let sign = negative ? "-" : ""
        for (prefix, radix) in [("0x", 16), ("0b", 2), ("0o", 8), ("0", 8)] where digits.hasPrefix(prefix) {
            return Int(sign + digits.dropFirst(prefix.count), radix: radix)
        }
        if digits.contains(":") {
            var value = 0
            for part in digits.split(separator: ":", omittingEmptySubsequences: false) {
                guard let n = Int(part), n >= 0 else { return nil }
                let (times, o1) = value.multipliedReportingOverflow(by: 60)
                let (sum, o2) = times.addingReportingOverflow(n)
                guard !o1, !o2 else { return nil }
                value = sum
            }
            return negative ? -value : value
        }
        return Int(sign + digits)
    }
}
