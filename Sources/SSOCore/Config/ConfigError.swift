/// Everything wrong with a configuration or users file, each problem naming the key, the value and what is expected.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    /// One problem.
    public struct Problem: Sendable, CustomStringConvertible {
        /// The key path, e.g. `services[1].idle_timeout`.
        public let key: String
        /// The value found (never a secret: file paths, numbers, names), or `(missing)`.
        public let value: String
        /// What would be accepted.
        public let expected: String
        public var description: String { "\(key): got \(value); expected \(expected)" }
    }

    /// The file the problems are in.
    public let file: String
    public let problems: [Problem]

    public init(file: String, problems: [Problem]) {
        self.file = file
        self.problems = problems
    }

    public var description: String {
        "\(file): \(problems.count) problem(s)\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}

/// Collects problems while a file is validated.
struct ProblemList {
    var problems: [ConfigError.Problem] = []
    mutating func add(_ key: String, _ value: String?, expected: String) {
        problems.append(.init(key: key, value: value.map { "\"\($0)\"" } ?? "(missing)", expected: expected))
    }
    /// `shown` as it is: a shape (`a list`) or a value already quoted, never read as if the file held that text.
    mutating func add(_ key: String, shown: String, expected: String) {
        problems.append(.init(key: key, value: shown, expected: expected))
    }
}
