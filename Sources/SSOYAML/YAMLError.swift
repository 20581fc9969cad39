/// Why a text is not a YAML document the config readers accept: a syntax error (libyaml's words), a repeated key, an
/// unknown alias, more than one document, or more nesting or aliases than `YAMLParser.Limits` allow.
public struct YAMLError: Error, CustomStringConvertible, Sendable {
    public let problem: String
    /// Where it was found, when known.
    public let mark: YAMLMark?

    public var description: String {
        guard let mark else { return problem }
        return "line \(mark.line), column \(mark.column): \(problem)"
    }
}
