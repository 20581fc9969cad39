/// Reads the users file: YAML with a `users` list of `username`, `password_hash`, `name`, `email`, `services`.
public enum UsersFileLoader {
    struct RawFile: Decodable { var users: [RawUser]? }
    struct RawUser: Decodable {
        var username: String?; var password_hash: String?; var name: String?; var email: String?; var services: [String]?
    }
    static let schema: [String: Set<String>] = ["": ["users"], "users[]": ["username", "password_hash", "name", "email", "services"]]

    /// Loads and checks the file against `registry`; throws `ConfigError` with every problem (an unknown hash format among them).
    public static func load(path: String, registry: ServiceRegistry) throws -> UserDirectory {
        let raw = try YAMLFile.decode(RawFile.self, from: try YAMLFile.read(path), file: path, schema: schema)
        var p = ProblemList()
        var users: [User] = []
        var seen = Set<String>()
        for (i, u) in (raw.users ?? []).enumerated() {
            let key = "users[\(i)]"
            guard let username = u.username, !username.isEmpty, username.utf8.count <= 128,
                  username.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
                p.add("\(key).username", u.username, expected: "a user name of 1 to 128 visible characters"); continue
            }
            if !seen.insert(username).inserted { p.add("\(key).username", username, expected: "a name not used before") }
            guard let hash = u.password_hash, PasswordHash.isSupported(hash) else {
                p.add("\(key).password_hash", u.password_hash.map { String($0.prefix(4)) + "…" },
                      expected: "a crypt(3) hash starting with $y$, $2b$, $2y$, $2a$ or $6$ (AccountsFCGI hash-password makes one)")
                continue
            }
            let services = u.services ?? []
            for s in services where registry.service(named: s) == nil {
                p.add("\(key).services", s, expected: "a service named in the config: \(registry.services.map(\.name).joined(separator: ", "))")
            }
            users.append(User(username: username, passwordHash: hash, name: u.name ?? username, email: u.email ?? "", services: services))
        }
        if raw.users == nil { p.add("users", nil, expected: "a list of users") }
        guard p.problems.isEmpty else { throw ConfigError(file: path, problems: p.problems) }
        return try UserDirectory(users: users)
    }
}
