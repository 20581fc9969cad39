import Foundation
import Yams

/// Reads a YAML file into a `Decodable`, reporting unknown keys and type errors as `ConfigError` problems.
enum YAMLFile {
    static func read(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, problems: [.init(key: "(file)", value: "\"\(path)\"", expected: "a readable file")])
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw ConfigError(file: path, problems: [.init(key: "(file)", value: "non-UTF-8 bytes", expected: "UTF-8 text")])
        }
        return text
    }

    static func decode<T: Decodable>(_ type: T.Type, from text: String, file: String, schema: [String: Set<String>]) throws -> T {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ConfigError(file: file, problems: [.init(key: "(syntax)", value: "\(error)".replacingOccurrences(of: "\n", with: " "),
                                                           expected: "valid YAML")])
        }
        var problems = ProblemList()
        if let node { unknownKeys(node, path: "", schema: schema, into: &problems) }
        if !problems.problems.isEmpty { throw ConfigError(file: file, problems: problems.problems) }
        do {
            return try YAMLDecoder().decode(T.self, from: text)
        } catch let error as DecodingError {
            throw ConfigError(file: file, problems: [describe(error)])
        } catch {
            throw ConfigError(file: file, problems: [.init(key: "(file)", value: "\(error)", expected: "a valid file")])
        }
    }

    private static func unknownKeys(_ node: Node, path: String, schema: [String: Set<String>], into problems: inout ProblemList) {
        switch node {
        case .mapping(let mapping):
            guard let allowed = schema[path] else { return }
            for (key, value) in mapping {
                let name = key.string ?? "?"
                if !allowed.contains(name) {
                    problems.add(path.isEmpty ? name : "\(path).\(name)", "(unknown key)", expected: "one of: \(allowed.sorted().joined(separator: ", "))")
                    continue
                }
                unknownKeys(value, path: path.isEmpty ? name : "\(path).\(name)", schema: schema, into: &problems)
            }
        case .sequence(let sequence):
            for item in sequence { unknownKeys(item, path: path + "[]", schema: schema, into: &problems) }
        default:
            return
        }
    }

    private static func keyPath(_ path: [CodingKey]) -> String {
        var out = ""
        for key in path {
            if let index = key.intValue { out += "[\(index)]" } else { out += out.isEmpty ? key.stringValue : ".\(key.stringValue)" }
        }
        return out.isEmpty ? "(top level)" : out
    }

    private static func describe(_ error: DecodingError) -> ConfigError.Problem {
        switch error {
        case .typeMismatch(let type, let context):
            return .init(key: keyPath(context.codingPath), value: "a value of another type", expected: "\(type)")
        case .valueNotFound(let type, let context):
            return .init(key: keyPath(context.codingPath), value: "(empty)", expected: "\(type)")
        case .keyNotFound(let key, let context):
            return .init(key: keyPath(context.codingPath + [key]), value: "(missing)", expected: "a value")
        case .dataCorrupted(let context):
            return .init(key: keyPath(context.codingPath), value: "unreadable", expected: context.debugDescription)
        @unknown default:
            return .init(key: "(file)", value: "unreadable", expected: "a valid file")
        }
    }
}
