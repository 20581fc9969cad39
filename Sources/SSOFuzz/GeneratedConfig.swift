import SSOCore

/// A config made from fuzz bytes: a minimal valid config, then every two bytes set one key of `Settings.all` (the first
/// byte picks the key, the second the value). Coverage guidance rarely spells a whole key path with an extreme value
/// in the right place of a YAML file; here every key meets every value, and a key added to Settings is fuzzed at once.
enum GeneratedConfig {
    static let base: [(key: String, value: String)] = [
        ("accounts_url", "https://accounts.example.test"), ("users_file", "users.yaml"),
        ("memcached.servers", "['127.0.0.1:11211']"), ("keys.list[].kid", "k1"), ("keys.list[].public_key_file", "k1.pub"),
        ("services[].name", "infusion"), ("services[].origins", "['https://infusion.example.test']"),
        ("services[].idle_timeout", "900"),
    ]

    /// YAML scalars and shapes: the integer extremes, wrong types, and texts each kind of key checks for.
    static let values: [String] = [
        "9223372036854775807", "-9223372036854775808", "9223372036854710000", "-1", "0", "1", "2", "65536", "4294967296",
        "1e400", ".nan", "0o777", "0777", "0x7fffffff", "true", "~", "''", "[]", "{}", "['']", "[1, 2]", "'unix:/tmp/s'",
        "'fd:0'", "'127.0.0.1:0'", "'[::1]:9000'", "'/run/m.sock'", "'https://app.example.test'", "'http://app.example.test'",
        "'https://app.example.test/x'", "['https://infusion.example.test', 'https://infusion.example.test']",
        "'" + String(repeating: "x", count: 300) + "'", "'#zzz'", "'#abc'", "'data:image/x'", "'/logo\"'", "'sso'", "'a b'",
        "'é'", "'k1'", "'trace'", "'Strict'", "[{kid: k1, secret_file: s}, {kid: k1, public_key_file: p}]",
        "[{name: infusion, origins: ['https://a.test'], idle_timeout: 1}, {name: infusion, origins: ['https://a.test'], idle_timeout: 1}]",
    ]

    static let keys: [String] = Settings.all.map(\.key)

    /// The YAML text for `bytes`.
    static func yaml(from bytes: [UInt8]) -> String {
        var settings = base
        var i = 0
        while i + 1 < bytes.count {
            let key = keys[Int(bytes[i]) % keys.count], value = values[Int(bytes[i + 1]) % values.count]
            settings.removeAll { $0.key == key }
            settings.append((key, value))
            i += 2
        }
        return render(settings).joined(separator: "\n") + "\n"
    }

    /// One line per top-level key; `a.b` becomes `a: {b: …}` and `a[].b` the first item of the list `a`.
    static func render(_ settings: [(key: String, value: String)]) -> [String] {
        var order: [String] = []
        var groups: [String: [(key: String, value: String)]] = [:]
        for (key, value) in settings {
            let head = key.split(separator: ".", maxSplits: 1).first.map(String.init) ?? key
            let rest = key.count > head.count ? String(key.dropFirst(head.count + 1)) : ""
            if groups[head] == nil { order.append(head) }
            groups[head, default: []].append((rest, value))
        }
        return order.flatMap { head -> [String] in
            let entries = groups[head] ?? []
            let name = head.hasSuffix("[]") ? String(head.dropLast(2)) : head
            let scalars = entries.filter { $0.key.isEmpty }.map { "\(name): \($0.value)" }
            let nested = entries.filter { !$0.key.isEmpty }
            guard !nested.isEmpty else { return scalars }
            let mapping = "{" + render(nested).joined(separator: ", ") + "}"
            return scalars + ["\(name): " + (head.hasSuffix("[]") ? "[\(mapping)]" : mapping)]
        }
    }
}
