/// `application/x-www-form-urlencoded` fields (and query strings), in order, repeated names kept.
public struct FormFields: Sendable {
    /// Every (name, value) pair in order, decoded. Pairs that do not decode to UTF-8 are skipped.
    public let pairs: [(name: String, value: String)]

    /// Parses `a=1&b=%C3%A9&a=2`; `+` is a space.
    public init(parsing text: String) {
        var pairs: [(String, String)] = []
        for part in text.split(separator: "&", omittingEmptySubsequences: true) {
            let name: Substring
            let value: Substring
            if let eq = part.firstIndex(of: "=") {
                name = part[..<eq]
                value = part[part.index(after: eq)...]
            } else {
                name = part
                value = ""
            }
            guard let n = PercentEncoding.decode(name, plusIsSpace: true),
                  let v = PercentEncoding.decode(value, plusIsSpace: true) else { continue }
            pairs.append((n, v))
        }
        self.pairs = pairs
    }

    /// Parses a form body (bytes that must be UTF-8 to yield fields).
    public init(body: [UInt8]) {
        self.init(parsing: String(decoding: body, as: UTF8.self))
    }

    /// The first value for `name`.
    public subscript(name: String) -> String? { pairs.first { $0.name == name }?.value }

    /// How many times `name` occurs.
    public func count(_ name: String) -> Int { pairs.filter { $0.name == name }.count }
}
