import Foundation
import Testing
@testable import SSOCore
@testable import SSOCrypto
@testable import SSOJWT
@testable import SSOStore
@testable import FastCGI
import SSOTesting

@Suite struct PasswordHashTests {
    /// A key or secret file path that names a device or a huge file is refused before it is read: /dev/zero was read
    /// for ever, and a secret of 2 GiB or more trapped in OpenSSL's 32-bit lengths on every token.
    @Test func keyFilesAreRegularAndSmall() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("big-\(UUID().uuidString).key").path
        defer { unlink(path) }
        try Data(repeating: 0x61, count: KeyLoader.maxKeyFileBytes + 1).write(to: URL(fileURLWithPath: path))
        #expect(throws: ConfigError.self) { try KeyLoader.bytesOf(path, key: "keys.list[0].secret_file") }
        #expect(throws: ConfigError.self) { try KeyLoader.bytesOf("/dev/zero", key: "keys.list[0].secret_file") }
        try Data(repeating: 0x61, count: 64).write(to: URL(fileURLWithPath: path))
        #expect(try KeyLoader.bytesOf(path, key: "keys.list[0].secret_file").count == 64)
    }

    /// The config and users files have limits too (a 50 MB product name was loaded and put on every page): a file at
    /// the limit is read, one byte over is refused, and so are a FIFO (without waiting for a writer), a device and a folder.
    @Test func configuredFilesAreReadWithinALimit() throws {
        let scratch = try ScratchFolder("filebytes")
        let path = scratch.url.appendingPathComponent("f").path
        try Data(repeating: 0x61, count: 100_000).write(to: URL(fileURLWithPath: path))
        #expect(try FileBytes.read(path, limit: 100_000).get().count == 100_000)
        #expect(FileBytes.read(path, limit: 99_999) == .failure(.notRegularOrOver(limit: 99_999)))
        let fifo = scratch.url.appendingPathComponent("fifo").path
        #expect(mkfifo(fifo, 0o600) == 0)
        #expect(FileBytes.read(fifo, limit: 10) == .failure(.notRegularOrOver(limit: 10)))
        #expect(FileBytes.read("/dev/zero", limit: 10) == .failure(.notRegularOrOver(limit: 10)))
        #expect(FileBytes.read(scratch.url.path, limit: 10) == .failure(.notRegularOrOver(limit: 10)))
        #expect(FileBytes.read(scratch.url.appendingPathComponent("gone").path, limit: 10) == .failure(.unreadable))
        #expect(FileBytes.Refusal.notRegularOrOver(limit: FileBytes.configLimit).expected == "a regular file of at most 1 MiB")
        // The config reader says it as the file's one problem.
        try Data(repeating: 0x23, count: FileBytes.configLimit + 1).write(to: URL(fileURLWithPath: path))
        let (_, problems) = ConfigLoader.inspect(path: path)
        #expect(problems.map(\.key) == ["(file)"] && problems.first?.expected == "a regular file of at most 1 MiB")
    }

    /// Cheap to crack: bcrypt below cost 10 (htpasswd's default 5), sha512crypt below 5,000 rounds. yescrypt never is.
    @Test func cheapHashesAreNamed() {
        #expect(PasswordHash.cheapness("$2y$05$KHB6zhyKLNLiTNEFJEH8pOHpmbhrttdesMpLH91DUdlz8pyvC/vqC") == "bcrypt cost 5 (at least 10)")
        #expect(PasswordHash.cheapness("$2b$09$1jrKl.yshxs0hGkaVPQiKOTkxFeKIQafLyI063avZpjGeQuOzWQ22") == "bcrypt cost 9 (at least 10)")
        #expect(PasswordHash.cheapness("$2b$10$1jrKl.yshxs0hGkaVPQiKOTkxFeKIQafLyI063avZpjGeQuOzWQ22") == nil)
        #expect(PasswordHash.cheapness("$6$rounds=4999$salt$x") == "sha512crypt 4999 rounds (at least 5000)")
        #expect(PasswordHash.cheapness("$6$rounds=5000$salt$x") == nil)
        #expect(PasswordHash.cheapness("$6$salt$x") == nil)
        #expect(PasswordHash.cheapness("$y$j75$PysOrDAfBm21k8ieDi1tp.$hBdkRYeN0JSP/UHnDhJK0Y5EVdSC194wTOUT.ZWAB56") == nil)
    }

    @Test func verifiesMkpasswdAndHtpasswdHashes() {
        // `mkpasswd -m yescrypt`, `mkpasswd -m bcrypt`, `htpasswd -nbB` of "wonderland".
        for hash in ["$y$j9T$PysOrDAfBm21k8ieDi1tp.$hBdkRYeN0JSP/UHnDhJK0Y5EVdSC194wTOUT.ZWAB56",
                     "$2b$05$1jrKl.yshxs0hGkaVPQiKOTkxFeKIQafLyI063avZpjGeQuOzWQ22",
                     "$2y$05$KHB6zhyKLNLiTNEFJEH8pOHpmbhrttdesMpLH91DUdlz8pyvC/vqC"] {
            #expect(PasswordHash.isSupported(hash))
            #expect(PasswordHash.verify(password: "wonderland", hash: hash))
            #expect(!PasswordHash.verify(password: "Wonderland", hash: hash))
        }
    }

    @Test func makesYescryptAndRefusesUnknownFormats() throws {
        let hash = try PasswordHash.make(password: "builder")
        #expect(hash.hasPrefix("$y$"))
        #expect(PasswordHash.verify(password: "builder", hash: hash))
        for bad in ["", "plain", "$1$abc$def", "$y$", "$2b$99$x", "*"] {
            #expect(!PasswordHash.isSupported(bad), "\(bad)")
            #expect(!PasswordHash.verify(password: "x", hash: bad))
        }
    }

    /// A hash whose cost would hold a worker for minutes or days per sign-in (and the loader's one probe hash as long)
    /// is refused as malformed: bcrypt above cost 17 (`htpasswd -B -C 17`, its highest), sha512crypt above 10,000,000
    /// rounds, yescrypt above 1 GiB of memory (`mkpasswd -R 11`, its highest) or with lanes times passes above 4.
    @Test func costsThatWouldHoldASignInForMinutesAreRefused() {
        let bcryptTail = "1jrKl.yshxs0hGkaVPQiKOTkxFeKIQafLyI063avZpjGeQuOzWQ22"
        let yescryptTail = "PysOrDAfBm21k8ieDi1tp.$hBdkRYeN0JSP/UHnDhJK0Y5EVdSC194wTOUT.ZWAB56"
        let sha512Tail = "saltsalt$" + String(repeating: "a", count: 86)
        #expect(PasswordHash.isSupported("$2b$17$" + bcryptTail))
        #expect(PasswordHash.isSupported("$6$rounds=10000000$" + sha512Tail))
        #expect(PasswordHash.isSupported("$6$" + sha512Tail))
        #expect(PasswordHash.isSupported("$y$jFT$" + yescryptTail))      // N 2^18, r 32: 1 GiB (mkpasswd -R 11)
        #expect(PasswordHash.isSupported("$y$j9T$" + yescryptTail))      // mkpasswd's default: 16 MiB
        for bad in ["$2b$18$" + bcryptTail, "$2y$31$" + bcryptTail, "$6$rounds=10000001$" + sha512Tail,
                    "$6$rounds=999999999$" + sha512Tail, "$y$jGT$" + yescryptTail, "$y$j9T.A$" + yescryptTail,
                    "$y$j9T/9$" + yescryptTail] {
            #expect(!PasswordHash.isSupported(bad), "\(bad)")
        }
        #expect(PasswordHash.yescryptCost("$y$j9T$" + yescryptTail).map { $0.memoryBytes } == 16 << 20)
        #expect(PasswordHash.yescryptCost("$y$jFT$" + yescryptTail).map { $0.memoryBytes } == 1 << 30)
    }

    @Test func unknownUsersAndWrongPasswordsBothFail() throws {
        let user = User(username: "alice", passwordHash: try PasswordHash.make(password: "wonderland"), name: "A", email: "", services: [])
        let dir = try UserDirectory(users: [user])
        #expect(dir.authenticate(username: "alice", password: "wonderland")?.username == "alice")
        #expect(dir.authenticate(username: "alice", password: "nope") == nil)
        #expect(dir.authenticate(username: "nobody", password: "wonderland") == nil)
    }

    /// A user name is its bytes: a canonically equivalent spelling (KELVIN SIGN for K, e + combining diaeresis for ë)
    /// is another name, with its own throttle count, so it must not sign in as the user.
    @Test func aNameSignsInOnlyAsItsExactBytes() throws {
        let hash = try PasswordHash.make(password: "pw")
        let dir = try UserDirectory(users: [User(username: "Kim", passwordHash: hash, name: "K", email: "", services: []),
                                            User(username: "zo\u{EB}", passwordHash: hash, name: "Z", email: "", services: [])])
        #expect(dir.authenticate(username: "Kim", password: "pw")?.username == "Kim")
        #expect(dir.authenticate(username: "\u{212A}im", password: "pw") == nil && dir.user("\u{212A}im") == nil)
        #expect(dir.authenticate(username: "zo\u{EB}", password: "pw") != nil)
        #expect(dir.authenticate(username: "zoe\u{308}", password: "pw") == nil)
    }
}

@Suite struct ConfigTests {
    /// This test's folder, removed when it ends.
    let scratch: ScratchFolder

    init() throws {
        scratch = try ScratchFolder("cfg")
    }

    func write(_ text: String, name: String = "sso.yaml") throws -> String {
        let dir = try scratch.subfolder()
        let path = dir.appendingPathComponent(name).path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static let valid = """
    # comment
    accounts_url: https://accounts.example.test:8443
    memcached: {servers: ["127.0.0.1:11211"]}
    keys:
      signing_kid: k1
      list:
        - {kid: k1, private_key_file: k.pem, public_key_file: k.pub}
    services:
      - {name: app, title: App, origins: ["https://app.example.test:8443"], idle_timeout: 900}
      - {name: other, origins: ["https://other.example.test"], idle_timeout: 300}
    users_file: users.yaml
    """

    @Test func loadsAValidFileWithDefaults() throws {
        let path = try write(Self.valid)
        let c = try ConfigLoader.load(path: path)
        #expect(c.accountsURL.serialized == "https://accounts.example.test:8443")
        #expect(c.cookieName == "__Host-sso" && c.requestIDTTL == 60 && c.lastAccessInterval == 60 && c.maxBodyBytes == 1_048_576)
        #expect(c.usersFile.hasSuffix("/users.yaml") && c.usersFile.hasPrefix("/"))
        #expect(c.keys.first?.privateKeyFile?.hasSuffix("/k.pem") == true)
        #expect(c.registry.sessionTimeout(for: ["app", "other"], fallback: 1) == 300)
        #expect(c.registry.sessionTimeout(for: [], fallback: 77) == 77)
        #expect(c.registry.service(at: Origin(parsing: "https://app.example.test:8443")!)?.name == "app")
    }

    @Test func reportsEveryProblemWithKeyValueAndExpectation() throws {
        let path = try write("""
        accounts_url: http://accounts
        accounts: {listen: "nowhere", workers: 0}
        memcached: {servers: ["no-port"]}
        keys: {signing_kid: missing, list: []}
        services:
          - {name: "bad name", origins: ["https://x"], idle_timeout: 1}
          - {name: ok, origins: ["http://insecure"], idle_timeout: 0}
        sessions: {request_id_ttl: 0}
        users_file: u.yaml
        """)
        do {
            _ = try ConfigLoader.load(path: path)
            Issue.record("expected a ConfigError")
        } catch {
            let keys = Set(error.problems.map(\.key))
            for key in ["accounts_url", "accounts.listen", "accounts.workers", "memcached.servers[0]", "keys.list", "keys.signing_kid",
                        "services[0].name", "services[1].origins[0]", "services[1].idle_timeout", "sessions.request_id_ttl"] {
                #expect(keys.contains(key), "\(key) missing from \(keys)")
            }
            #expect(error.description.contains("expected"))
        }
    }

    @Test func unknownKeysAndWrongTypesAreReported() throws {
        let typo = try write(Self.valid + "\nsesions: {lifetime: 5}\n")
        #expect(throws: ConfigError.self) { try ConfigLoader.load(path: typo) }
        do { _ = try ConfigLoader.load(path: typo) } catch { #expect(error.problems.first?.key == "sesions") }
        let wrongType = try write(Self.valid.replacingOccurrences(of: "idle_timeout: 900", with: "idle_timeout: soon"))
        do { _ = try ConfigLoader.load(path: wrongType); Issue.record("expected error") } catch {
            #expect(error.problems.first?.key == "services[0].idle_timeout")
        }
        let broken = try write("accounts_url: [unclosed")
        #expect(throws: ConfigError.self) { try ConfigLoader.load(path: broken) }
        #expect(throws: ConfigError.self) { try ConfigLoader.load(path: "/nonexistent/sso.yaml") }
    }

    @Test func usersFileRefusesUnknownHashFormatsAndServices() throws {
        let config = try ConfigLoader.load(path: try write(Self.valid))
        let users = try write("""
        users:
          - {username: alice, password_hash: "plaintext", services: [app]}
          - {username: bob, password_hash: "$2b$05$1jrKl.yshxs0hGkaVPQiKOTkxFeKIQafLyI063avZpjGeQuOzWQ22", services: [nope]}
        """, name: "users.yaml")
        do { _ = try UsersFileLoader.load(path: users, registry: config.registry); Issue.record("expected error") } catch let e as ConfigError {
            #expect(e.problems.map(\.key) == ["users[0].password_hash", "users[1].services"])
            #expect(!e.description.contains("plaintext"))
        }
    }

    /// Every SSO cookie is a `__Host-` one, which no other subdomain can set or shadow: the defences against cookie
    /// tossing rest on it, so a name without the prefix is a problem, not a weaker deployment.
    @Test func cookieNamesMustBeHostOnlyOnes() throws {
        for (key, name) in [("cookie.name", "sso"), ("cookie.csrf_name", "__Host-"), ("request_cache.cookie_name", "__host-x"),
                            ("cookie.device_name", "__Secure-sso_device")] {
            let section = key.split(separator: ".")[0], leaf = key.split(separator: ".")[1]
            let text = Self.valid + "\n\(section): {\(leaf): \"\(name)\"}\n"
            do { _ = try ConfigLoader.load(contents: Array(text.utf8), file: "/etc/sso/sso.yaml"); Issue.record("\(key): \(name) loaded") }
            catch { #expect(error.problems.map(\.key).contains(key), "\(key): \(name)") }
        }
        let fine = Self.valid + "\ncookie: {name: \"__Host-acme\"}\n"
        #expect(try ConfigLoader.load(contents: Array(fine.utf8), file: "/etc/sso/sso.yaml").cookieName == "__Host-acme")
    }

    /// A value of the wrong shape is named (`got a list`), a wrong scalar quoted as the file has it (docs/deploy.md
    /// quotes these messages).
    @Test func problemsNameAShapeAndQuoteAValue() throws {
        let users = UsersFileLoader.users(contents: Array("- username: alice\n".utf8), file: "/etc/sso/users.yaml",
                                          registry: try ConfigLoader.load(path: try write(Self.valid)).registry)
        #expect(users.problems.first?.description == "(top level): got a list; expected a mapping of keys, e.g. users: …")
        let text = Self.valid + "\nrequest_cache: {max_body_bytes: lots, cookie_name: {a: b}}\n"
        do { _ = try ConfigLoader.load(contents: Array(text.utf8), file: "/etc/sso/sso.yaml"); Issue.record("expected a ConfigError") }
        catch {
            let shown = Dictionary(uniqueKeysWithValues: error.problems.map { ($0.key, $0.value) })
            #expect(shown["request_cache.max_body_bytes"] == "\"lots\"" && shown["request_cache.cookie_name"] == "a mapping")
        }
    }

    @Test func aUsersFileWithACostlyHashIsAProblemNotAHang() throws {
        let config = try ConfigLoader.load(path: try write(Self.valid))
        let users = try write("""
        users:
          - {username: alice, password_hash: "$2b$31$1jrKl.yshxs0hGkaVPQiKOTkxFeKIQafLyI063avZpjGeQuOzWQ22", services: [app]}
        """, name: "users.yaml")
        let started = ContinuousClock.now
        do { _ = try UsersFileLoader.load(path: users, registry: config.registry); Issue.record("expected error") } catch let e as ConfigError {
            #expect(e.problems.map(\.key) == ["users[0].password_hash"])
        }
        #expect(ContinuousClock.now - started < .seconds(5))
    }

    @Test func bytesLoadAsTheFileWouldWithoutReadingIt() throws {
        let c = try ConfigLoader.load(contents: Array(Self.valid.utf8), file: "/etc/sso/sso.yaml")
        #expect(c.usersFile == "/etc/sso/users.yaml" && c.keys.first?.privateKeyFile == "/etc/sso/k.pem")
        do { _ = try ConfigLoader.load(contents: Array("accounts_url: [unclosed".utf8), file: "/etc/sso/bad.yaml"); Issue.record("expected error") }
        catch { #expect(error.file == "/etc/sso/bad.yaml" && error.problems.first?.key == "(syntax)") }
        do { _ = try ConfigLoader.load(contents: [0x61, 0x3A, 0x20, 0xFF], file: "x.yaml"); Issue.record("expected error") }
        catch { #expect(error.problems.first?.value == "\"non-UTF-8 bytes\"") }

        let users = Array("users:\n  - {username: bob, password_hash: \"$2b$05$1jrKl.yshxs0hGkaVPQiKOTkxFeKIQafLyI063avZpjGeQuOzWQ22\", services: [app, nope]}\n".utf8)
        let read = UsersFileLoader.users(contents: users, file: "/etc/sso/users.yaml", registry: c.registry)
        #expect(read.users.map(\.username) == ["bob"] && read.problems.map(\.key) == ["users[0].services"])
        #expect(UsersFileLoader.users(contents: nil, file: "/gone.yaml", registry: c.registry).problems.first?.key == "(file)")
    }

    /// An integer far out of range is a listed problem, never a crash: request_cache.max_entry_bytes' default was worked
    /// out as max_body_bytes + 65,536 before the range was judged (fuzz/regressions/config/).
    @Test func extremeIntegersAreProblemsNotCrashes() throws {
        for value in ["9223372036854775807", "9223372036854710000", "-9223372036854775808"] {
            let text = Self.valid + "\nrequest_cache: {max_body_bytes: \(value)}\n"
            do { _ = try ConfigLoader.load(contents: Array(text.utf8), file: "/etc/sso/sso.yaml"); Issue.record("expected a ConfigError") }
            catch { #expect(Set(error.problems.map(\.key)) == ["request_cache.max_body_bytes"], "\(value)") }
        }
    }

    /// The problems of `valid` with `extra` appended (nil: it loads).
    func problems(_ extra: String) -> [String: String]? {
        let text = Self.valid + "\n" + extra + "\n"
        do { _ = try ConfigLoader.load(contents: Array(text.utf8), file: "/etc/sso/sso.yaml"); return nil }
        catch { return Dictionary(error.problems.map { ($0.key, $0.expected) }, uniquingKeysWith: { a, _ in a }) }
    }

    /// Mistakes an operator makes that the checks let through, and the program then failed on (or misbehaved with) at
    /// run time: each is now a problem naming its key.
    @Test func mistakesThatOnlyFailedAtRunTimeAreProblems() throws {
        // listen: libfcgi listens on IPv4 only ("[::1]:9001" became a unix socket of that name; "fd:1" was the host
        // "fd", which stopped it at start, restarted for ever), and a unix path holds 107 bytes. (A name that does not
        // resolve is a --check-config warning: loading a config asks no name server.)
        for listen in ["fd:1", "[::1]:9001", "::1:9001", "127.0.0.1 :9001", "-x:9001",
                       "unix:/run/" + String(repeating: "s", count: 100) + ".sock"] {
            #expect(problems("accounts: {listen: \"\(listen)\"}")?["accounts.listen"] != nil, "\(listen)")
        }
        for listen in ["127.0.0.1:9001", "localhost:9001", "unix:/run/sso/a.sock", "fd:0"] {
            #expect(problems("accounts: {listen: \"\(listen)\"}") == nil, "\(listen)")
        }
        // The two programs on one socket: the second to start took the first one's path away.
        #expect(problems("accounts: {listen: \"127.0.0.1:9001\"}\napp_auth: {listen: \"127.0.0.1:9001\"}")?["app_auth.listen"] != nil)
        #expect(problems("accounts: {listen: \"unix:/run/s.sock\"}\napp_auth: {listen: \"unix:/run/s.sock\"}")?["app_auth.listen"] != nil)
        // A unix socket anyone on the host may write to (and send FastCGI params of their choosing).
        #expect(problems("app_auth: {socket_mode: \"0666\"}")?["app_auth.socket_mode"] != nil)
        #expect(problems("app_auth: {listen: \"127.0.0.1:9001\", socket_mode: \"0666\"}") == nil)  // TCP: not a socket file
        // LAST_ACCESSED_TIME written less often than the shortest idle timeout (services[1]: 300 s): active users cut off.
        #expect(problems("sessions: {last_access_interval: 300}")?["sessions.last_access_interval"]?.contains("services[1].idle_timeout") == true)
        #expect(problems("sessions: {last_access_interval: 299}") == nil)
        // A delivery longer than nginx's @sso_replay waits (75 s).
        #expect(problems("request_cache: {backend_timeout: 3600}")?["request_cache.backend_timeout"] != nil)
        // YAML 1.1 octal: 060 was read as 48.
        #expect(problems("login: {max_delay: 060}")?["login.max_delay"]?.contains("decimal") == true)
        #expect(problems("login: {max_delay: 60}") == nil)
    }

    /// `allowed_users` is what keeps every other local user off the app_auth TCP port: a name that is no user here (a
    /// typo) dropped silently would leave the list empty, which admits every user. It must be a problem naming the entry.
    @Test func anUnknownAllowedUserIsAProblemNotDropped() throws {
        #expect(problems("app_auth: {allowed_users: [\"no-such-user-xyz\"]}")?["app_auth.allowed_users[0]"] != nil)
        #expect(problems("accounts: {allowed_users: [\"root\", \"no-such-user-xyz\"]}")?["accounts.allowed_users[1]"] != nil)
        let text = Self.valid + "\napp_auth: {allowed_users: [\"root\"]}\n"
        #expect(try ConfigLoader.load(contents: Array(text.utf8), file: "/etc/sso/sso.yaml").appAuth.peers.uids == [0])
    }

    /// Two cookies of one name overwrite each other in the browser: a state (or replay) cookie named like the session
    /// cookie would replace the session on every sign-in round trip. Each cookie must have its own name.
    @Test func twoCookiesOfOneNameAreAProblem() throws {
        #expect(problems("cookie: {state_name: \"__Host-sso\"}")?["cookie"] != nil)
        #expect(problems("request_cache: {cookie_name: \"__Host-sso\"}")?["cookie"] != nil)
        #expect(problems("cookie: {csrf_name: \"__Host-sso_device\", device_name: \"__Host-sso_device\"}")?["cookie"] != nil)
        #expect(problems("cookie: {state_name: \"__Host-sso_other\"}") == nil)
    }

    /// libfcgi's `FCGI_WEB_SERVER_ADDRS` limits who may connect to a TCP listener; deployments that set it (as they did
    /// for libfcgi) must keep that limit: its addresses join the configured ones in each server's peer filter. Dropped,
    /// the port would admit any address the operator meant to refuse. The test gives the loader an environment of its
    /// own: `setenv` while other tests' threads read the environment is unsafe.
    @Test func theWebServerAddressesFromTheEnvironmentJoinThePeerFilter() throws {
        let environment = ["FCGI_WEB_SERVER_ADDRS": "192.0.2.10, 2001:DB8::7"]
        let text = Self.valid + "\napp_auth: {allowed_addresses: [\"198.51.100.1\"]}\n"
        let c = try ConfigLoader.load(contents: Array(text.utf8), file: "/etc/sso/sso.yaml", environment: environment)
        #expect(c.appAuth.peers.addresses == ["198.51.100.1", "192.0.2.10", "2001:db8::7"])
        #expect(c.accounts.peers.addresses == ["192.0.2.10", "2001:db8::7"])
        // A value that is no address is named, not ignored.
        do {
            _ = try ConfigLoader.load(contents: Array(text.utf8), file: "/etc/sso/sso.yaml", environment: ["FCGI_WEB_SERVER_ADDRS": "web1"])
            Issue.record("loaded")
        } catch { #expect(error.problems.contains { $0.key == "FCGI_WEB_SERVER_ADDRS (environment)" && $0.value == "\"web1\"" }) }
    }

    /// A value listed twice is named in the problem, not described ("duplicate kid").
    @Test func aValueListedTwiceIsNamed() throws {
        let text = Self.valid.replacingOccurrences(of: "name: other, origins: [\"https://other.example.test\"]",
                                                   with: "name: other, origins: [\"https://APP.example.test:8443/\"]")
        do { _ = try ConfigLoader.load(contents: Array(text.utf8), file: "/etc/sso/sso.yaml"); Issue.record("loaded") }
        catch { #expect(error.problems.map(\.value) == ["\"https://app.example.test:8443\""]) }
        let servers = Self.valid.replacingOccurrences(of: "servers: [\"127.0.0.1:11211\"]", with: "servers: [\"127.0.0.1:11211\", \"127.0.0.1:11211\"]")
        do { _ = try ConfigLoader.load(contents: Array(servers.utf8), file: "/etc/sso/sso.yaml"); Issue.record("loaded") }
        catch { #expect(error.problems.map(\.value).contains("\"127.0.0.1:11211\"")) }
    }

    /// A file that cannot be read or parsed is that one problem, not also every required key "missing".
    @Test func anUnreadableFileIsOneProblem() throws {
        for text in ["a: 1\na: 2\n", "- a list\n", "\tkey: tab\n"] {
            do { _ = try ConfigLoader.load(contents: Array(text.utf8), file: "/etc/sso/sso.yaml"); Issue.record("loaded: \(text)") }
            catch { #expect(error.problems.count == 1, "\(text): \(error.problems.map(\.key))") }
        }
    }

    /// The accounts host signs with the private file and the app hosts verify with the public one: two halves of
    /// different pairs passed every check, and no token was accepted anywhere. A bad public file is named as itself.
    @Test func theSigningKeysHalvesMustBeOnePair() throws {
        let folder = try scratch.subfolder().path
        let mine = try KeysAdmin.generate(kid: "k1", kind: .ed25519, folder: folder)
        let other = try KeysAdmin.generate(kid: "k2", kind: .ed25519, folder: folder)
        let config = { (publicFile: String) in
            try ConfigLoader.load(contents: Array((Self.valid.replacingOccurrences(
                of: "private_key_file: k.pem, public_key_file: k.pub", with: "private_key_file: \(mine.privateKeyFile), public_key_file: \(publicFile)")).utf8),
                file: folder + "/sso.yaml")
        }
        #expect(try KeyLoader.load(try config(mine.publicKeyFile), side: .accounts).signingKID == "k1")
        do { _ = try KeyLoader.load(try config(other.publicKeyFile), side: .accounts); Issue.record("a mismatched pair loaded") }
        catch let error as ConfigError { #expect(error.problems.map(\.key) == ["keys.list[0].public_key_file"]) }
        // An app host reads only the public file: a broken one is named, not the private file it never opens.
        let garbage = folder + "/garbage.pub.pem"
        try "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        do { _ = try KeyLoader.load(try config(garbage), side: .appHost); Issue.record("garbage loaded") }
        catch let error as ConfigError {
            #expect(error.problems.map(\.key) == ["keys.list[0].public_key_file"] && error.problems.first?.value == "\"\(garbage)\"")
        }
    }

    /// The audit log is opened without following a link and must be a file of its own: the check says so before the
    /// programs refuse to start.
    @Test func anAuditLogTheProgramsWouldRefuseIsAProblem() throws {
        let folder = try scratch.subfolder().path
        try "x".write(toFile: folder + "/real.log", atomically: true, encoding: .utf8)
        #expect(symlink(folder + "/real.log", folder + "/link.log") == 0)
        #expect(link(folder + "/real.log", folder + "/hard.log") == 0)
        #expect(AuditLog.refusal(atPath: folder + "/link.log")?.contains("symbolic link") == true)
        #expect(AuditLog.refusal(atPath: folder + "/hard.log")?.contains("one link") == true)
        #expect(AuditLog.refusal(atPath: folder)?.contains("plain file") == true)
        #expect(AuditLog.refusal(atPath: folder + "/new.log") == nil)
        try FileManager.default.removeItem(atPath: folder + "/hard.log")
        #expect(AuditLog.refusal(atPath: folder + "/real.log") == nil)
    }

    @Test func listenAddresses() {
        #expect(ListenAddress(parsing: "unix:/run/a.sock") == .unix("/run/a.sock"))
        #expect(ListenAddress(parsing: "/run/a.sock") == .unix("/run/a.sock"))
        #expect(ListenAddress(parsing: "127.0.0.1:9000") == .tcp(host: "127.0.0.1", port: 9000))
        #expect(ListenAddress(parsing: "fd:0") == .inherited)
        for bad in ["", "unix:rel", ":9000", "host:0", "host:70000", "host"] { #expect(ListenAddress(parsing: bad) == nil, "\(bad)") }
    }
}
