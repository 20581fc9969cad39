import FoundationEssentials
import Glibc
import SSOCrypto

/// Reads the users file: YAML with a `users` list of `username`, `password_hash`, `name`, `email`, `services`
/// (declared in `Settings.usersFile`).
public enum UsersFileLoader {
    /// Loads and checks the file against `registry`; throws `ConfigError` with every problem (an unknown hash format among them).
    /// The file is read only if it is a regular file of at most `FileBytes.usersLimit` bytes.
    public static func load(path: String, registry: ServiceRegistry) throws -> UserDirectory {
        try load(read: FileBytes.read(path, limit: FileBytes.usersLimit), file: path, registry: registry)
    }

    /// `load(path:registry:)` over `contents`, the bytes of the file at `file` (nil: it could not be read).
    public static func load(contents: [UInt8]?, file: String, registry: ServiceRegistry) throws -> UserDirectory {
        try load(read: FileBytes.given(contents), file: file, registry: registry)
    }

    private static func load(read bytes: Result<[UInt8], FileBytes.Refusal>, file: String, registry: ServiceRegistry) throws -> UserDirectory {
        let read = self.read(bytes, file: file, registry: registry)
        var problems = read.problems
        // One real hash per scheme and cost proves the parameters usable (hashing every user's would take minutes).
        var proven: [String: Bool] = [:]
        for (i, user) in read.users.enumerated() {
            let signature = PasswordHash.costSignature(user.passwordHash)
            if proven[signature] == nil { proven[signature] = PasswordHash.canHash(likeThis: user.passwordHash) }
            if proven[signature] == false {
                problems.add("users[\(i)].password_hash", String(user.passwordHash.prefix(7)) + "…", expected: "parameters libxcrypt can hash with")
            }
        }
        guard problems.problems.isEmpty else { throw ConfigError(file: file, problems: problems.problems) }
        return try UserDirectory(users: read.users)
    }

    /// The users written in `contents` and every problem with them, without computing a hash (the part of loading that
    /// depends on the file alone; `load` then proves the hash parameters and makes the decoy).
    public static func users(contents: [UInt8]?, file: String, registry: ServiceRegistry) -> (users: [User], problems: [ConfigError.Problem]) {
        let read = self.read(FileBytes.given(contents), file: file, registry: registry)
        return (read.users, read.problems.problems)
    }

    private static func read(_ bytes: Result<[UInt8], FileBytes.Refusal>, file: String, registry: ServiceRegistry) -> (users: [User], problems: ProblemList) {
        let reader = ConfigReader(file: file, read: bytes, specs: Settings.usersFile)
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
        return (users, reader.problems)
    }
}
