import SSOCrypto
import SSOYAML

/// What `ssoctl users` does to the users file: add a user, set a password, disable or enable one, list them. Every edit
/// keeps the file's comments and order, is checked by loading the result before it replaces the file, and lands
/// atomically; the accounts host picks it up within `users_reload_interval` (a new password or a disabled user ends
/// that user's sessions then).
public struct UsersAdmin {
    public let path: String
    let registry: ServiceRegistry

    public init(path: String, registry: ServiceRegistry) {
        self.path = path
        self.registry = registry
    }

    /// Everyone in the file.
    public func list() throws -> [User] { try UsersFileLoader.load(path: path, registry: registry).all }

    /// Adds a user with a new yescrypt hash of `password`.
    public func add(username: String, password: String, name: String?, email: String?, services: [String]) throws {
        var editor = try YAMLLineEditor(path: path)
        guard try entry(of: username, in: editor) == nil else { throw AdminError("\(username) is already in \(path)") }
        for s in services where registry.service(named: s) == nil {
            throw AdminError("no service named \(s) in the config (\(registry.services.map(\.name).joined(separator: ", ")))")
        }
        var item = ["- username: \(JSONString.quote(username))", "  password_hash: '\(try PasswordHash.make(password: password))'"]
        if let name { item.append("  name: \(JSONString.quote(name))") }
        if let email { item.append("  email: \(JSONString.quote(email))") }
        item.append("  services: [\(services.joined(separator: ", "))]")
        try editor.appendItem(item, to: "users")
        try save(editor)
    }

    /// Gives `username` a new yescrypt hash of `password`.
    public func setPassword(username: String, password: String) throws {
        var editor = try YAMLLineEditor(path: path)
        guard let entry = try entry(of: username, in: editor) else { throw AdminError("no user \(username) in \(path)") }
        try editor.set("password_hash", to: "'\(try PasswordHash.make(password: password))'", in: entry)
        try save(editor)
    }

    /// Disables (or enables again) `username`.
    public func setDisabled(username: String, _ disabled: Bool) throws {
        var editor = try YAMLLineEditor(path: path)
        guard let entry = try entry(of: username, in: editor) else { throw AdminError("no user \(username) in \(path)") }
        try editor.set("disabled", to: disabled ? "true" : "false", in: entry, after: "password_hash")
        try save(editor)
    }

    private func entry(of username: String, in editor: YAMLLineEditor) throws(AdminError) -> YAMLMapping? {
        try editor.items("users").first { $0["username"]?.string == username }
    }

    private func save(_ editor: YAMLLineEditor) throws {
        let registry = self.registry
        try editor.write { temp in _ = try UsersFileLoader.load(path: temp, registry: registry) }
    }
}
