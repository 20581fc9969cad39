import SSOCore
import SSOCrypto

/// The two files an operator writes, read from bytes: the config (and what `ssoctl generate` makes of a config that
/// loads) and the users file. Every input is read as both.
enum ConfigFuzz {
    static let target = FuzzTarget(
        name: "config",
        covers: "ConfigLoader.load(contents:file:) (ConfigReader over Yams, Settings, every check of build) on the input and on a config generated from it (every Settings key meets extreme values), the nginx and Apache values generated from a config that loads; UsersFileLoader.users (parsing and checks, no hashing)",
        maxLength: 16_384,
        dictionary: Set((Settings.all + Settings.usersFile).flatMap { $0.key.split(separator: ".").map { $0.replacing("[]", with: "") } })
            .sorted().map { $0 + ": " }
            + [": ", "- ", "\n  ", "{", "}", "[", "]", "&a ", "*a", "<<: ", "!!binary ", "!!str ", "---\n", "...\n", "%YAML 1.1\n", "|\n",
               ">\n", "'", "\"", "~", "0o777", "0x10", ".inf", "https://", "unix:/", "fd:0", "127.0.0.1:11211", "$y$j9T$",
               "$2b$05$", "$6$rounds=5000$"] + FuzzWords.numbers,
        run: { bytes in run(bytes) })

    /// The services the users file is checked against: `infusion` and `dextor`, as in config/sso.example.yaml.
    static let registry: ServiceRegistry = {
        let yaml = """
        accounts_url: https://accounts.example.test
        users_file: users.yaml
        memcached: {servers: ["127.0.0.1:11211"]}
        keys: {list: [{kid: k1, public_key_file: k1.pub}]}
        services:
          - {name: infusion, origins: ["https://infusion.example.test"], idle_timeout: 900}
          - {name: dextor, origins: ["https://dextor.example.test"], idle_timeout: 1800}
        """
        do { return try ConfigLoader.load(contents: Array(yaml.utf8), file: "/etc/sso/registry.yaml").registry }
        catch { FuzzCheck.fail("the fixed registry config does not load: \(error)") }
    }()

    static func run(_ bytes: [UInt8]) {
        loadConfig(bytes)
        loadConfig(Array(GeneratedConfig.yaml(from: bytes).utf8))
        let read = UsersFileLoader.users(contents: bytes, file: "/etc/sso/users.yaml", registry: registry)
        for user in read.users {
            FuzzCheck.require(!user.username.isEmpty && user.username.utf8.count <= 128, "a user name out of bounds was read")
            FuzzCheck.require(user.services.allSatisfy { registry.service(named: $0) != nil } || !read.problems.isEmpty,
                              "a user of an unknown service was read without a problem")
        }
        let text = FuzzInput.text(bytes)
        if PasswordHash.isSupported(text) { FuzzCheck.require(PasswordHash.costSignature(text).hasPrefix("$"), "a supported hash without a scheme") }
    }

    static func loadConfig(_ bytes: [UInt8]) {
        guard let config = try? ConfigLoader.load(contents: bytes, file: "/etc/sso/sso.yaml") else { return }
        FuzzCheck.require(!config.registry.services.isEmpty, "a config without services loaded")
        _ = WebServerConfig.nginxHTTP(config, source: "/etc/sso/sso.yaml")
        _ = try? WebServerConfig.apacheDefines(config, source: "/etc/sso/sso.yaml")
    }
}
