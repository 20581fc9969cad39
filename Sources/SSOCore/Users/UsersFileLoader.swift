import SSOCrypto

/// Reads the users file: YAML with a `users` list of `username`, `password_hash`, `name`, `email`, `services`
/// (declared in `Settings.usersFile`).
public enum UsersFileLoader {
    /// Loads and checks the file against `registry`; throws `ConfigError` with every problem (an unknown hash format among them).
    public static func load(path: String, registry: ServiceRegistry) throws -> UserDirectory {
        let reader = ConfigReader(path: path, specs: Settings.usersFile)
        var users: [User] = []
        var seen = Set<String>()
        for u in reader.top.items("users") {
            let username = u.text("username")
            guard !username.isEmpty, username.utf8.count <= 128,
                  username.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F }) else {
                if u.has("username") { reader.problems.add(u.key("username"), username, expected: "a user name of 1 to 128 visible characters") }
                continue
            }
            if !seen.insert(username).inserted { reader.problems.add(u.key("username"), username, expected: "a name not used before") }
            let hash = u.text("password_hash")
            guard PasswordHash.isSupported(hash) else {
                if u.has("password_hash") {
                    reader.problems.add(u.key("password_hash"), String(hash.prefix(4)) + "…",
                                        expected: "a crypt(3) hash starting with $y$, $2b$, $2y$, $2a$ or $6$ (AccountsFCGI hash-password makes one)")
                }
                continue
            }
            let services = u.textList("services")
            for s in services where registry.service(named: s) == nil {
                reader.problems.add(u.key("services"), s,
                                    expected: "a service named in the config: \(registry.services.map(\.name).joined(separator: ", "))")
            }
            users.append(User(username: username, passwordHash: hash, name: u.has("name") ? u.text("name") : username,
                              email: u.text("email"), services: services, disabled: u.flag("disabled")))
        }
        // One real hash per scheme and cost proves the parameters usable (hashing every user's would take minutes).
        var proven: [String: Bool] = [:]
        for (i, user) in users.enumerated() {
            let signature = PasswordHash.costSignature(user.passwordHash)
            if proven[signature] == nil { proven[signature] = PasswordHash.canHash(likeThis: user.passwordHash) }
            if proven[signature] == false {
                reader.problems.add("users[\(i)].password_hash", String(user.passwordHash.prefix(7)) + "…", expected: "parameters libxcrypt can hash with")
            }
        }
        guard reader.problems.problems.isEmpty else { throw ConfigError(file: path, problems: reader.problems.problems) }
        return try UserDirectory(users: users)
    }
}
