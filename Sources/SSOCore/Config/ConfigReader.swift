import FoundationEssentials
import SSOYAML

/// Reads a YAML file through a list of `SettingSpec`s. Every unknown key, misplaced mapping and wrong type becomes a
/// problem, all of them in one pass; values come back typed, with the spec's default when the key is absent. The reader
/// holds no default or range of its own: they are all in the specs.
final class ConfigReader {
    let file: String
    private let specs: [String: SettingSpec]
    var problems = ProblemList()
    private var root: YAMLMapping?

    /// Reads `path` (at most `FileBytes.configLimit` bytes) and checks its shape against `specs`; a file that cannot be
    /// read or parsed is one problem.
    convenience init(path: String, specs: [SettingSpec]) {
        self.init(file: path, read: FileBytes.read(path, limit: FileBytes.configLimit), specs: specs)
    }

    /// Checks `contents`, the bytes of `file` (nil: the file could not be read), against `specs`. `file` only names the
    /// file in problems and anchors relative paths; nothing is read from it.
    convenience init(file: String, contents: [UInt8]?, specs: [SettingSpec]) {
        self.init(file: file, read: FileBytes.given(contents), specs: specs)
    }

    /// Checks what reading `file` gave against `specs`: a refusal is the one problem.
    init(file: String, read: Result<[UInt8], FileBytes.Refusal>, specs: [SettingSpec]) {
        self.file = file
        self.specs = Dictionary(specs.map { ($0.key, $0) }, uniquingKeysWith: { first, _ in first })
        let contents: [UInt8]
        switch read {
        case .success(let bytes): contents = bytes
        case .failure(let refusal):
            problems.add("(file)", file, expected: refusal.expected)
            return
        }
        guard let text = String(data: Data(contents), encoding: .utf8) else {
            problems.add("(file)", "non-UTF-8 bytes", expected: "UTF-8 text")
            return
        }
        let node: YAMLNode?
        do {
            node = try YAMLParser.compose(text)
        } catch {
            problems.add("(syntax)", error.description.replacing("\n", with: " "), expected: "valid YAML")
            return
        }
        guard let node else { return }  // an empty file: every required key is reported missing
        guard let mapping = node.mapping else {
            problems.add("(top level)", shown: "a \(Self.shape(node))", expected: "a mapping of keys, e.g. \(specs.first?.key ?? "key"): …")
            return
        }
        root = mapping
        walk(mapping, specPath: "", keyPath: "")
    }

    /// The whole file as a scope.
    var top: Scope { Scope(reader: self, mapping: root, specPrefix: "", keyPrefix: "") }

    func spec(_ key: String) -> SettingSpec? { specs[key] }

    // MARK: - Shape

    private func walk(_ mapping: YAMLMapping, specPath: String, keyPath: String) {
        for (keyNode, value) in mapping.pairs {
            let name = keyNode.string ?? "?"
            let specKey = specPath + name
            let key = keyPath + name
            guard let spec = specs[specKey] else {
                let siblings = specs.keys.filter { $0.hasPrefix(specPath) && !$0.dropFirst(specPath.count).contains(".") }
                    .map { String($0.dropFirst(specPath.count)) }.sorted()
                problems.add(key, "(unknown key)", expected: "one of: \(siblings.joined(separator: ", "))")
                continue
            }
            check(value, against: spec, key: key)
        }
    }

    private func check(_ node: YAMLNode, against spec: SettingSpec, key: String) {
        switch spec.kind {
        case .section:
            guard let mapping = node.mapping else { return problems.add(key, shown: "a \(Self.shape(node))", expected: spec.expectation) }
            walk(mapping, specPath: spec.key + ".", keyPath: key + ".")
        case .list:
            guard let sequence = node.sequence else { return problems.add(key, shown: "a \(Self.shape(node))", expected: spec.expectation) }
            for (i, item) in sequence.enumerated() {
                guard let mapping = item.mapping else {
                    problems.add("\(key)[\(i)]", shown: "a \(Self.shape(item))", expected: "a mapping of keys")
                    continue
                }
                walk(mapping, specPath: spec.key + "[].", keyPath: "\(key)[\(i)].")
            }
        case .textList:
            guard let sequence = node.sequence else { return problems.add(key, shown: "a \(Self.shape(node))", expected: spec.expectation) }
            for (i, item) in sequence.enumerated() where item.scalar == nil {
                problems.add("\(key)[\(i)]", shown: "a \(Self.shape(item))", expected: "a string")
            }
        case .integer(let range):
            guard let value = node.int else { return problems.add(key, shown: Self.shown(node), expected: spec.expectation) }
            guard node.string.map(Self.isDecimal) ?? true else {
                // YAML 1.1 reads 060 as octal 48 and 1:30 as 90: a setting in seconds or bytes is meant in decimal.
                return problems.add(key, shown: Self.shown(node), expected: spec.expectation + ", written in decimal (YAML reads 060 as 48)")
            }
            if !range.contains(value) { problems.add(key, String(value), expected: spec.expectation) }
        case .flag:
            if node.bool == nil { problems.add(key, shown: Self.shown(node), expected: spec.expectation) }
        case .choice(let words):
            if !(node.string.map { words.contains($0) } ?? false) { problems.add(key, shown: Self.shown(node), expected: spec.expectation) }
        case .octal:
            if Self.octal(node) == nil { problems.add(key, shown: Self.shown(node), expected: spec.expectation) }
        case .text:
            if node.scalar == nil { problems.add(key, shown: "a \(Self.shape(node))", expected: spec.expectation) }
        }
    }

    /// Digits (and `_`) with an optional sign, and no leading 0 unless it is the number 0.
    static func isDecimal(_ written: String) -> Bool {
        let digits = written.drop { $0 == "-" || $0 == "+" }.filter { $0 != "_" }
        return !digits.isEmpty && digits.allSatisfy(\.isASCII) && digits.allSatisfy(\.isNumber) && (digits.count == 1 || digits.first != "0")
    }

    static func octal(_ node: YAMLNode) -> Int? {
        guard let text = node.string, !text.isEmpty, let value = Int(text, radix: 8), (0...0o777).contains(value) else {
            return nil
        }
        return value
    }

    private static func shape(_ node: YAMLNode) -> String {
        switch node {
        case .mapping: return "mapping"
        case .sequence: return "list"
        default: return "value"
        }
    }

    /// A value as found, for a problem message: a scalar quoted and never longer than 80 characters, anything else
    /// named by its shape (`a list`).
    private static func shown(_ node: YAMLNode) -> String {
        guard let text = node.string else { return "a \(shape(node))" }
        return "\"" + (text.count > 80 ? String(text.prefix(80)) + "…" : text) + "\""
    }

    // MARK: - Values

    /// One mapping of the file (the top level, or one item of a list) and typed getters over it. A getter reports a
    /// missing required key; a wrong type was already reported by the shape check, and then the default comes back.
    struct Scope {
        let reader: ConfigReader
        let mapping: YAMLMapping?
        /// `services[].` for the items of `services`.
        let specPrefix: String
        /// `services[2].` for the third item.
        let keyPrefix: String

        /// The key path as problems name it, e.g. `services[2].idle_timeout`.
        func key(_ name: String) -> String { keyPrefix + name }

        private func spec(_ name: String) -> SettingSpec {
            guard let spec = reader.spec(specPrefix + name) else { preconditionFailure("no SettingSpec for \(specPrefix + name)") }
            return spec
        }

        /// The node at a dotted `name` under this scope.
        private func node(_ name: String) -> YAMLNode? {
            var current: YAMLMapping? = mapping
            var found: YAMLNode? = nil
            for part in name.split(separator: ".") {
                guard let map = current, let next = map[String(part)] else { return nil }
                found = next
                current = next.mapping
            }
            return found
        }

        /// True when the key is written in the file.
        func has(_ name: String) -> Bool { node(name) != nil }

        /// The node, or nil after reporting a missing required key.
        private func present(_ name: String) -> YAMLNode? {
            if let found = node(name) { return found }
            if spec(name).defaultValue == .required { reader.problems.add(key(name), nil, expected: spec(name).expectation) }
            return nil
        }

        private func defaultText(_ name: String) -> String? {
            if case .value(let text) = spec(name).defaultValue { return text }
            return nil
        }

        func integer(_ name: String) -> Int {
            present(name)?.int ?? defaultText(name).flatMap { Int($0) } ?? 0
        }

        /// An integer whose default is worked out by the caller (`.computed` specs).
        func integer(_ name: String, computedDefault: @autoclosure () -> Int) -> Int {
            present(name)?.int ?? computedDefault()
        }

        func text(_ name: String) -> String {
            present(name)?.string ?? defaultText(name) ?? ""
        }

        /// A string with no default: nil when absent.
        func optionalText(_ name: String) -> String? {
            present(name)?.string
        }

        func flag(_ name: String) -> Bool {
            present(name)?.bool ?? (defaultText(name) == "true")
        }

        func octal(_ name: String) -> Int {
            present(name).flatMap(ConfigReader.octal) ?? defaultText(name).flatMap { Int($0, radix: 8) } ?? 0
        }

        func textList(_ name: String) -> [String] {
            present(name)?.sequence?.compactMap { $0.string } ?? []
        }

        /// The items of a list of mappings, each as its own scope.
        func items(_ name: String) -> [Scope] {
            guard let sequence = present(name)?.sequence else { return [] }
            return sequence.enumerated().map { i, item in
                Scope(reader: reader, mapping: item.mapping, specPrefix: specPrefix + name + "[].",
                      keyPrefix: "\(keyPrefix)\(name)[\(i)].")
            }
        }
    }
}
