import Foundation
import Testing
@testable import SSOCore

/// `config/sso.example.yaml` is what operators copy: it must load, hold every key the program knows (set, or shown in a
/// commented-out alternative), say what each one does, and state the same defaults as `Settings`.
@Suite struct ExampleConfigTests {
    static let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("config/sso.example.yaml").path

    @Test func theExampleLoads() throws {
        let config = try ConfigLoader.load(path: Self.path)
        #expect(config.registry.services.map(\.name) == ["infusion", "dextor"])
    }

    @Test func everyKeyIsThereAndDocumented() throws {
        let lines = try ExampleLines(text: String(contentsOfFile: Self.path, encoding: .utf8))
        for spec in Settings.all {
            let found = lines.entries[spec.key]
            #expect(found != nil, "\(spec.key) is missing from config/sso.example.yaml")
            guard let found else { continue }
            #expect(!found.comment.isEmpty, "\(spec.key) has no comment in config/sso.example.yaml")
            guard let stated = found.comment.range(of: "Default: ").map({ String(found.comment[$0.upperBound...]) }) else { continue }
            switch spec.defaultValue {
            case .value(let value):
                #expect(stated.hasPrefix(value.isEmpty ? "empty" : value), "\(spec.key): example says Default: \(stated), Settings says \(value)")
            case .computed(let how):
                #expect(stated.hasPrefix(how), "\(spec.key): example says Default: \(stated), Settings says \(how)")
            case .required, .optional:
                Issue.record("\(spec.key) has no default, yet the example states one: \(stated)")
            }
        }
    }

    @Test func theExampleUsersFileLoadsAndShowsEveryKey() throws {
        let usersPath = Self.path.replacingOccurrences(of: "sso.example.yaml", with: "users.example.yaml")
        let directory = try UsersFileLoader.load(path: usersPath, registry: try ConfigLoader.load(path: Self.path).registry)
        #expect(directory.user("alice")?.services == ["infusion", "dextor"])
        let lines = try ExampleLines(text: String(contentsOfFile: usersPath, encoding: .utf8))
        for spec in Settings.usersFile { #expect(lines.entries[spec.key] != nil, "\(spec.key) is missing from config/users.example.yaml") }
    }

    @Test func theCheckFailsWhenAKeyIsMissingOrUndocumented() throws {
        var lines = try ExampleLines(text: "memcached:\n  servers: []   # where\n  prefix: x\n")
        #expect(lines.entries["memcached.servers"]?.comment == "where")
        #expect(lines.entries["memcached.prefix"]?.comment == "")
        #expect(lines.entries["memcached.replicas"] == nil)
        lines = try ExampleLines(text: "keys:\n  list:\n    - kid: a   # id\n    # - kid: b\n    #   secret_file: s   # secret\n")
        #expect(lines.entries["keys.list[].secret_file"]?.comment == "secret")
    }
}

/// The keys of a block-style YAML file by dotted path (`services[].name`), each with the comment on its line or on the
/// comment lines just above it. A commented-out key (`#   secret_file: …`) counts as shown, with its own comment.
struct ExampleLines {
    struct Entry { let comment: String }
    private(set) var entries: [String: Entry] = [:]

    init(text: String) throws {
        var stack: [(indent: Int, path: String)] = []
        var pending: [String] = []
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            var line = raw
            let trimmed = line.drop { $0 == " " }
            if trimmed.hasPrefix("#") {
                let inner = trimmed.dropFirst().drop { $0 == " " }
                guard Self.key(in: String(inner.drop { $0 == "-" || $0 == " " })) != nil else {
                    pending.append(String(inner))
                    continue
                }
                // A commented-out key, "#   - kid: b": read as the line it would be without "# ".
                var rest = trimmed.dropFirst()
                if rest.first == " " { rest = rest.dropFirst() }
                line = String(repeating: " ", count: raw.count - trimmed.count) + rest
            }
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { pending = []; continue }
            var indent = line.prefix { $0 == " " }.count
            var body = String(line.dropFirst(indent))
            var listItem = false
            if body.hasPrefix("- ") {
                listItem = true
                body = String(body.dropFirst(2))
                indent += 2
            }
            guard let key = Self.key(in: body) else { pending = []; continue }
            while let last = stack.last, last.indent >= indent { stack.removeLast() }
            if listItem, let last = stack.last, !last.path.hasSuffix("[]") { stack[stack.count - 1].path = last.path + "[]" }
            let parent = stack.last?.path ?? ""
            let path = parent.isEmpty ? key : parent + "." + key
            let trailing = Self.trailingComment(body)
            let comment = trailing.isEmpty ? pending.joined(separator: " ") : trailing
            if entries[path] == nil || (entries[path]?.comment.isEmpty ?? false) { entries[path] = Entry(comment: comment) }
            stack.append((indent, path))
            pending = []
        }
    }

    private static func key(in body: String) -> String? {
        guard let colon = body.firstIndex(of: ":") else { return nil }
        let key = body[..<colon]
        // Config keys are lower-case snake_case; "AccountsFCGI: where it listens" is prose.
        guard !key.isEmpty, key.allSatisfy({ ("a"..."z").contains($0) || $0.isNumber || $0 == "_" }) else { return nil }
        return String(key)
    }

    private static func trailingComment(_ body: String) -> String {
        guard let hash = body.range(of: " #") else { return "" }
        return body[hash.upperBound...].trimmingCharacters(in: .whitespaces)
    }
}
