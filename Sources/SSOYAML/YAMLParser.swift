import CYAML

/// Turns YAML text into `YAMLNode`s with libyaml's event parser. Aliases are copied in where they are used; an alias
/// can only name a node that is already complete, so no document is a cycle.
public enum YAMLParser {
    /// Bounds on what a config-sized document may hold, so a hostile file cannot exhaust the stack or memory.
    public struct Limits: Sendable {
        /// Lists and mappings inside each other. Default: 64.
        public var depth = 64
        /// Alias uses (`*name`) in the document. Default: 1,000.
        public var aliases = 1_000
        public init() {}
    }

    /// The single document in `text`, or nil when it holds none (empty, or only comments). Throws on a syntax error, a
    /// key written twice in one mapping, an alias to an unknown anchor, a second document, or a limit passed.
    public static func compose(_ text: String, limits: Limits = Limits()) throws(YAMLError) -> YAMLNode? {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { throw YAMLError(problem: "cannot start the YAML parser", mark: nil) }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { (buffer) throws(YAMLError) -> YAMLNode? in
            // libyaml asserts a non-NULL input; an empty text is an empty stream, so no document.
            guard let start = buffer.baseAddress, !buffer.isEmpty else { return nil }
            yaml_parser_set_input_string(&parser, start, buffer.count)
            yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)
            var composer = Composer(limits: limits)
            return try composer.stream { () throws(YAMLError) -> Event in try Event.next(&parser) }
        }
    }
}

/// One parse event, copied out of libyaml's struct (which is freed right away).
enum Event {
    case streamStart, streamEnd, documentStart, documentEnd
    case alias(String, YAMLMark)
    case scalar(YAMLScalar, anchor: String?)
    case sequenceStart(anchor: String?, YAMLMark)
    case sequenceEnd
    case mappingStart(anchor: String?, flow: Bool, YAMLMark)
    case mappingEnd

    static func next(_ parser: inout yaml_parser_t) throws(YAMLError) -> Event {
        var event = yaml_event_t()
        guard yaml_parser_parse(&parser, &event) == 1 else {
            let problem = parser.problem.map { String(cString: $0) } ?? "not valid YAML"
            let context = parser.context.map { String(cString: $0) + ": " } ?? ""
            throw YAMLError(problem: context + problem, mark: mark(parser.problem_mark))
        }
        defer { yaml_event_delete(&event) }
        let at = mark(event.start_mark)
        switch event.type {
        case YAML_STREAM_START_EVENT: return .streamStart
        case YAML_STREAM_END_EVENT: return .streamEnd
        case YAML_DOCUMENT_START_EVENT: return .documentStart
        case YAML_DOCUMENT_END_EVENT: return .documentEnd
        case YAML_ALIAS_EVENT:
            return .alias(text(event.data.alias.anchor) ?? "", at)
        case YAML_SCALAR_EVENT:
            let s = event.data.scalar
            let string = s.value.map { String(decoding: UnsafeBufferPointer(start: $0, count: s.length), as: UTF8.self) } ?? ""
            let style: YAMLScalar.Style = switch s.style {
            case YAML_SINGLE_QUOTED_SCALAR_STYLE: .singleQuoted
            case YAML_DOUBLE_QUOTED_SCALAR_STYLE: .doubleQuoted
            case YAML_LITERAL_SCALAR_STYLE: .literal
            case YAML_FOLDED_SCALAR_STYLE: .folded
            default: .plain
            }
            return .scalar(YAMLScalar(string: string, style: style, tag: text(s.tag), mark: at), anchor: text(s.anchor))
        case YAML_SEQUENCE_START_EVENT:
            return .sequenceStart(anchor: text(event.data.sequence_start.anchor), at)
        case YAML_SEQUENCE_END_EVENT: return .sequenceEnd
        case YAML_MAPPING_START_EVENT:
            let m = event.data.mapping_start
            return .mappingStart(anchor: text(m.anchor), flow: m.style == YAML_FLOW_MAPPING_STYLE, at)
        case YAML_MAPPING_END_EVENT: return .mappingEnd
        default: throw YAMLError(problem: "an event the parser does not know", mark: at)
        }
    }

    private static func text(_ pointer: UnsafeMutablePointer<yaml_char_t>?) -> String? {
        pointer.map { String(cString: $0) }
    }

    static func mark(_ m: yaml_mark_t) -> YAMLMark { YAMLMark(line: m.line + 1, column: m.column + 1) }
}

/// Builds nodes from events, recursively (depth bounded by `Limits.depth`).
struct Composer {
    let limits: YAMLParser.Limits
    private var anchors: [String: YAMLNode] = [:]
    private var aliasesUsed = 0

    init(limits: YAMLParser.Limits) { self.limits = limits }

    mutating func stream(_ next: () throws(YAMLError) -> Event) throws(YAMLError) -> YAMLNode? {
        guard case .streamStart = try next() else { throw YAMLError(problem: "expected the start of the text", mark: nil) }
        var root: YAMLNode? = nil
        var documents = 0
        while true {
            switch try next() {
            case .streamEnd:
                return root
            case .documentStart:
                documents += 1
                guard documents == 1 else { throw YAMLError(problem: "more than one document (---) in the file", mark: nil) }
                let event = try next()
                if case .documentEnd = event { continue }
                root = try node(event, depth: 0, next)
                guard case .documentEnd = try next() else { throw YAMLError(problem: "expected the end of the document", mark: nil) }
            default:
                throw YAMLError(problem: "expected a document", mark: nil)
            }
        }
    }

    private mutating func node(_ event: Event, depth: Int, _ next: () throws(YAMLError) -> Event) throws(YAMLError) -> YAMLNode {
        switch event {
        case .scalar(let scalar, let anchor):
            return remember(.scalar(scalar), anchor)
        case .alias(let name, let mark):
            aliasesUsed += 1
            guard aliasesUsed <= limits.aliases else { throw YAMLError(problem: "more than \(limits.aliases) aliases", mark: mark) }
            guard let found = anchors[name] else { throw YAMLError(problem: "alias *\(name) names no anchor before it", mark: mark) }
            return found
        case .sequenceStart(let anchor, let mark):
            guard depth < limits.depth else { throw YAMLError(problem: "nested more than \(limits.depth) deep", mark: mark) }
            var items: [YAMLNode] = []
            while true {
                let inner = try next()
                if case .sequenceEnd = inner { break }
                items.append(try node(inner, depth: depth + 1, next))
            }
            return remember(.sequence(items, mark), anchor)
        case .mappingStart(let anchor, let flow, let mark):
            guard depth < limits.depth else { throw YAMLError(problem: "nested more than \(limits.depth) deep", mark: mark) }
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            var seen = Set<String>()
            while true {
                let inner = try next()
                if case .mappingEnd = inner { break }
                let key = try node(inner, depth: depth + 1, next)
                if let name = key.string, !seen.insert(name).inserted {
                    throw YAMLError(problem: "the key \(name) is written twice in one mapping", mark: key.mark)
                }
                let value = try node(try next(), depth: depth + 1, next)
                pairs.append((key, value))
            }
            return remember(.mapping(YAMLMapping(pairs: pairs, mark: mark, isFlow: flow)), anchor)
        default:
            throw YAMLError(problem: "unexpected structure", mark: nil)
        }
    }

    private mutating func remember(_ node: YAMLNode, _ anchor: String?) -> YAMLNode {
        if let anchor { anchors[anchor] = node }
        return node
    }
}
