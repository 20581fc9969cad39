import FastCGI
import FoundationEssentials
import Glibc
import SSOStore

/// Loads and validates the config file; relative paths in it are resolved against the file's folder. Types, ranges and
/// defaults come from `Settings`; what is checked here is what one key alone cannot say (an origin's form, a cookie
/// name, limits that depend on each other).
public enum ConfigLoader {
    /// Reads `path` and returns a valid config, or throws `ConfigError` listing every problem found in the file.
    public static func load(path: String) throws(ConfigError) -> SSOConfig {
        try load(ConfigReader(path: path, specs: Settings.all))
    }

    /// The config in `contents`, the bytes of a file at `file` (which names it in problems and anchors its relative
    /// paths; it is not read). Throws `ConfigError` listing every problem, as `load(path:)` does. `environment` is
    /// where `FCGI_WEB_SERVER_ADDRS` is read (default: this process's; a test gives its own rather than `setenv`, which
    /// is unsafe while other threads read the environment).
    public static func load(contents: [UInt8], file: String, environment: [String: String]) throws(ConfigError) -> SSOConfig {
        try load(ConfigReader(file: file, contents: contents, specs: Settings.all), environment: environment)
    }

    /// `load(contents:file:environment:)` with this process's environment.
    public static func load(contents: [UInt8], file: String) throws(ConfigError) -> SSOConfig {
        try load(contents: contents, file: file, environment: ProcessInfo.processInfo.environment)
    }

    private static func load(_ reader: ConfigReader,
                             environment: [String: String] = ProcessInfo.processInfo.environment) throws(ConfigError) -> SSOConfig {
        let config = build(reader.top, environment: environment)
        guard reader.problems.problems.isEmpty else { throw ConfigError(file: reader.file, problems: heard(reader.problems.problems)) }
        return config
    }

    /// What `--check-config` needs: the config as far as it could be built, even with problems (a missing or wrong value
    /// has its default or a placeholder), and every problem in the file. The config is for finding more problems (in
    /// the files it names), never for serving.
    public static func inspect(path: String) -> (config: SSOConfig, problems: [ConfigError.Problem]) {
        let reader = ConfigReader(path: path, specs: Settings.all)
        let config = build(reader.top)
        return (config, heard(reader.problems.problems))
    }

    /// The problems worth saying: a file that could not be read or parsed as a mapping says nothing about its keys, so
    /// only that is said (not every required key as missing).
    static func heard(_ problems: [ConfigError.Problem]) -> [ConfigError.Problem] {
        let unreadable = problems.filter(isUnreadable)
        return unreadable.isEmpty ? problems : unreadable
    }

    static func resolve(_ path: String, relativeTo file: String) -> String {
        if path.hasPrefix("/") { return path }
        let folder = FilePaths.folder(of: file)
        return folder.isEmpty ? path : folder + "/" + path
    }

    /// Builds the config, adding a problem for every value that is well typed but still wrong. A value the config cannot
    /// exist without that is missing or wrong (its problem is listed) has a placeholder: only a config without problems
    /// is served.
    static func build(_ c: ConfigReader.Scope, environment: [String: String] = ProcessInfo.processInfo.environment) -> SSOConfig {
        let file = c.reader.file
        func problem(_ key: String, _ value: String?, _ expected: String) { c.reader.problems.add(key, value, expected: expected) }
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

        let accountsText = c.text("accounts_url")
        let accountsURL = Origin(parsing: accountsText)
        if c.has("accounts_url") {
            if accountsURL == nil { problem("accounts_url", accountsText, "an origin like https://accounts.example.com") }
            else if accountsURL?.scheme != "https" { problem("accounts_url", accountsText, "an https:// origin") }
        }

        func server(_ name: String) -> SSOConfig.Server {
            let listenText = c.text("\(name).listen")
            let listen = ListenAddress(parsing: listenText)
            if let listen, let why = Self.listenProblem(listen) { problem("\(name).listen", listenText, why) }
            else if listen == nil { problem("\(name).listen", listenText, "unix:/path, host:port or fd:0") }
            var out = SSOConfig.Server(listen: listen ?? .inherited, workers: c.integer("\(name).workers", computedDefault: cores),
                                       socketMode: c.octal("\(name).socket_mode"))
            if case .unix? = listen, out.socketMode & 0o002 != 0 {
                // Anyone on the host could then send FastCGI requests with params of their choosing (REMOTE_ADDR...).
                problem("\(name).socket_mode", String(out.socketMode, radix: 8), "a mode without write for others (0660: the web server's group only)")
            }
            let group = c.text("\(name).socket_group")
            if !group.isEmpty {
                out.socketGroup = SystemAccounts.gid(group)
                if out.socketGroup == nil { problem("\(name).socket_group", group, "a group name or number known to this system") }
            }
            out.processes = c.integer("\(name).processes")
            out.idleTimeout = c.integer("\(name).idle_timeout")
            out.ioTimeout = c.integer("\(name).io_timeout")
            out.maxConnections = c.integer("\(name).max_connections")
            var uids: [UInt32] = []
            for (i, user) in c.textList("\(name).allowed_users").enumerated() {
                if let uid = SystemAccounts.uid(user) { uids.append(uid) }
                else { problem("\(name).allowed_users[\(i)]", user, "a user name or number known to this system") }
            }
            var addresses = c.textList("\(name).allowed_addresses")
            for (i, address) in addresses.enumerated() where !SystemAccounts.isIPAddress(address) {
                problem("\(name).allowed_addresses[\(i)]", address, "an IPv4 or IPv6 address")
            }
            let fromEnvironment = PeerFilter.webServerAddresses(fromEnvironment: environment["FCGI_WEB_SERVER_ADDRS"])
            for address in fromEnvironment where !SystemAccounts.isIPAddress(address) {
                problem("FCGI_WEB_SERVER_ADDRS (environment)", address, "IPv4 or IPv6 addresses, comma-separated")
            }
            addresses += fromEnvironment
            out.peers = PeerFilter(addresses: addresses, uids: uids)
            return out
        }

        let servers = c.textList("memcached.servers")
        if c.has("memcached.servers") && servers.isEmpty { problem("memcached.servers", "[]", "at least one host:port or /path/to/socket") }
        for (i, s) in servers.enumerated() where !s.hasPrefix("/") {
            if ListenAddress(parsing: s).map({ if case .tcp = $0 { return true } else { return false } }) != true {
                problem("memcached.servers[\(i)]", s, "host:port or /path/to/socket")
            }
        }
        let prefix = c.text("memcached.prefix")
        if prefix.utf8.count > 64 || !prefix.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            problem("memcached.prefix", prefix, "up to 64 printable ASCII characters without spaces")
        }
        let memcached = MemcachedOptions(
            servers: servers, replicas: c.integer("memcached.replicas"),
            connectTimeoutMS: c.integer("memcached.connect_timeout_ms"), pollTimeoutMS: c.integer("memcached.poll_timeout_ms"),
            retryTimeoutSeconds: c.integer("memcached.retry_timeout"), fenceLeaseMS: c.integer("memcached.fence_lease_ms"),
            prefix: prefix, tombstoneTTL: longestItemTTL(c))
        checkPool(memcached, problem)

        var keys: [SSOConfig.KeyEntry] = []
        for k in c.items("keys.list") {
            let kid = k.text("kid")
            guard !kid.isEmpty, kid.utf8.count <= 64 else {
                if k.has("kid") { problem(k.key("kid"), kid, "a key id of 1 to 64 characters") }
                continue
            }
            let privateFile = k.optionalText("private_key_file"), publicFile = k.optionalText("public_key_file")
            let secretFile = k.optionalText("secret_file")
            if secretFile == nil && publicFile == nil && privateFile == nil {
                problem(k.key("kid"), kid, "public_key_file (and private_key_file on accounts), or secret_file")
            }
            if secretFile != nil && (publicFile != nil || privateFile != nil) {
                problem(k.key("kid"), kid, "either secret_file or key files, not both")
            }
            keys.append(.init(kid: kid, privateKeyFile: privateFile.map { resolve($0, relativeTo: file) },
                              publicKeyFile: publicFile.map { resolve($0, relativeTo: file) },
                              secretFile: secretFile.map { resolve($0, relativeTo: file) },
                              retiredAt: k.has("retired_at") ? Int64(k.integer("retired_at")) : nil))
        }
        if c.has("keys.list") && keys.isEmpty { problem("keys.list", "[]", "at least one key") }
        if let twice = Self.repeated(keys.map(\.kid)) { problem("keys.list", twice, "unique kids (this kid is listed twice)") }
        let signingKID = c.optionalText("keys.signing_kid")
        if let signingKID, !keys.contains(where: { $0.kid == signingKID }) {
            problem("keys.signing_kid", signingKID, "the kid of a listed key")
        }

        let cookieKeys = ["cookie.name", "cookie.csrf_name", "cookie.state_name", "cookie.device_name", "request_cache.cookie_name"]
        // `__Host-`: a host-only cookie (Secure, Path=/, no Domain) that no other subdomain can set or shadow. The defences
        // against cookie tossing (a sign-in forged with a planted form cookie, a session swapped in) rest on it.
        for name in cookieKeys where !(isToken(c.text(name)) && c.text(name).hasPrefix("__Host-") && c.text(name).utf8.count > 7) {
            problem(name, c.text(name), "a cookie name starting with __Host- (then letters, digits and -_), which no other subdomain can set")
        }
        if Set(cookieKeys.map { c.text($0) }).count != cookieKeys.count {
            problem("cookie", cookieKeys.map { c.text($0) }.joined(separator: ", "), "a different name for each cookie")
        }

        var services: [Service] = []
        for s in c.items("services") {
            let name = s.text("name")
            guard isToken(name) else {
                if s.has("name") { problem(s.key("name"), name, "a name of letters, digits and -_") }
                continue
            }
            var origins: [Origin] = []
            for (j, o) in s.textList("origins").enumerated() {
                if let origin = Origin(parsing: o), origin.scheme == "https" { origins.append(origin) }
                else { problem(s.key("origins[\(j)]"), o, "an https origin like https://app.example.com") }
            }
            if s.has("origins") && s.textList("origins").isEmpty { problem(s.key("origins"), "[]", "at least one https origin") }
            let title = s.has("title") ? s.text("title") : name
            services.append(Service(name: name, title: title, origins: origins, idleTimeout: Int64(s.integer("idle_timeout"))))
        }
        if c.has("services") && services.isEmpty { problem("services", "[]", "at least one service") }
        if let twice = Self.repeated(services.map(\.name)) { problem("services", twice, "unique names (this name is listed twice)") }
        if let twice = Self.repeated(services.flatMap(\.origins).map(\.serialized)) {
            problem("services", twice, "each origin in one service, once (this origin is listed twice)")
        }

        let accent = c.text("branding.accent_color")
        if !(accent.hasPrefix("#") && (accent.count == 4 || accent.count == 7) && accent.dropFirst().allSatisfy(\.isHexDigit)) {
            problem("branding.accent_color", accent, "a CSS hex colour like #2f5bea")
        }
        let logo = c.text("branding.logo_url")
        if !logo.isEmpty && !(logo.hasPrefix("/") || logo.hasPrefix("data:image/")) || logo.contains("\"") {
            problem("branding.logo_url", logo, "a path on the accounts host (/logo.svg) or a data:image/ URL")
        }

        let maxBody = c.integer("limits.max_body_bytes")
        let cacheBody = c.integer("request_cache.max_body_bytes")
        if cacheBody > maxBody {
            problem("request_cache.max_body_bytes", String(cacheBody), "bytes, 1 to limits.max_body_bytes (\(maxBody))")
        }
        // max_body_bytes may still be out of range here (its problem is listed): the default saturates, never overflows.
        let cacheEntryDefault = cacheBody.addingReportingOverflow(65_536)
        let cacheEntry = c.integer("request_cache.max_entry_bytes",
                                   computedDefault: cacheEntryDefault.overflow ? Int.max : max(1_572_864, cacheEntryDefault.partialValue))
        if cacheEntry < cacheBody {
            problem("request_cache.max_entry_bytes", String(cacheEntry), "bytes, at least request_cache.max_body_bytes")
        }
        let requestCache = SSOConfig.RequestCache(
            enabled: c.flag("request_cache.enabled"), maxBodyBytes: cacheBody, maxEntryBytes: cacheEntry,
            ttl: c.integer("request_cache.ttl"), maxPerUser: c.integer("request_cache.max_per_user"),
            maxPerAddress: c.integer("request_cache.max_per_address"), cookieName: c.text("request_cache.cookie_name"),
            backendTimeout: c.integer("request_cache.backend_timeout"), maxResponseBytes: c.integer("request_cache.max_response_bytes"))

        let cachePath = c.text("decision_cache.path")
        // nginx takes the path as one word: no spaces, quotes, `;` or braces, and not relative (nginx's prefix would move it).
        if !cachePath.hasPrefix("/") || cachePath.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F || Array("\"';{}\\$#".utf8).contains($0) }) {
            problem("decision_cache.path", cachePath, "an absolute path without spaces, quotes, ;, {}, $ or #")
        }
        let decisionCache = SSOConfig.DecisionCache(seconds: c.integer("decision_cache.seconds"), path: cachePath,
                                                    zoneMB: c.integer("decision_cache.zone_mb"))

        let accountsServer = server("accounts"), appAuthServer = server("app_auth")
        if Self.shareASocket(accountsServer.listen, appAuthServer.listen) {
            problem("app_auth.listen", appAuthServer.listen.description,
                    "an address other than accounts.listen (\(accountsServer.listen)): the two programs cannot share a socket")
        }
        // LAST_ACCESSED_TIME is written at most once an interval: an interval as long as an idle timeout ends sessions in use.
        let idleTimeouts = [(c.integer("sessions.default_idle_timeout"), "sessions.default_idle_timeout")]
            + services.enumerated().map { (Int($0.element.idleTimeout), "services[\($0.offset)].idle_timeout") }
        if let shortest = idleTimeouts.min(by: { $0.0 < $1.0 }), c.integer("sessions.last_access_interval") >= shortest.0 {
            problem("sessions.last_access_interval", String(c.integer("sessions.last_access_interval")),
                    "less than the shortest idle timeout (\(shortest.1): \(shortest.0) s): the last access of a user in the middle of their work is written only this often")
        }

        var config = SSOConfig(
            file: file, accountsURL: accountsURL ?? Origin.placeholder, audience: c.text("audience"), accounts: accountsServer,
            appAuth: appAuthServer, memcached: memcached, keyPrefix: prefix, keys: keys, signingKID: signingKID,
            cookieName: c.text("cookie.name"), csrfCookieName: c.text("cookie.csrf_name"), stateCookieName: c.text("cookie.state_name"),
            deviceCookieName: c.text("cookie.device_name"),
            cookieSameSite: c.text("cookie.same_site"),
            registry: ServiceRegistry(services), usersFile: resolve(c.text("users_file"), relativeTo: file),
            usersReloadInterval: c.integer("users_reload_interval"),
            requestIDTTL: c.integer("sessions.request_id_ttl"), sessionLifetime: Int64(c.integer("sessions.lifetime")),
            lastAccessInterval: Int64(c.integer("sessions.last_access_interval")),
            defaultIdleTimeout: Int64(c.integer("sessions.default_idle_timeout")),
            signInLimits: .init(pairFailures: c.integer("login.max_failures"), addressFailures: c.integer("login.max_address_failures"),
                                userSoftLimit: c.integer("login.user_soft_limit"), maxDelay: c.integer("login.max_delay"),
                                window: c.integer("login.failure_window")),
            maxBodyBytes: maxBody, logLevel: c.text("log_level"),
            auditLogFile: c.text("audit.log_file").isEmpty ? "" : resolve(c.text("audit.log_file"), relativeTo: file),
            branding: .init(productName: c.text("branding.product_name"), accentColor: accent, logoURL: logo),
            requestCache: requestCache)
        config.decisionCache = decisionCache
        return config
    }

    /// Why a parsed `listen` cannot be opened, or nil. libfcgi listens on IPv4 only; a unix socket path holds at most 107
    /// bytes (`sun_path`). A host name is judged by its spelling only: loading a config never asks a name server
    /// (`--check-config` does: `ConfigCheck.listenNameWarning`).
    static func listenProblem(_ listen: ListenAddress) -> String? {
        switch listen {
        case .inherited: return nil
        case .unix(let path):
            return path.utf8.count <= 107 ? nil : "a unix socket path of at most 107 bytes"
        case .tcp(let host, _):
            let expected = "host:port with an IPv4 address or a host name of this machine (libfcgi listens on IPv4 only), or fd:0"
            var address = in_addr()
            if inet_pton(AF_INET, host, &address) == 1 { return nil }
            let isName = host.utf8.count <= 253 && !host.hasPrefix("-") && host.utf8.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x2E
            }
            return isName && host != "fd" ? nil : expected
        }
    }

    /// True for a problem that says the file was not read as a mapping at all (missing, not YAML, not a mapping).
    static func isUnreadable(_ problem: ConfigError.Problem) -> Bool {
        ["(file)", "(syntax)", "(top level)"].contains(problem.key)
    }

    /// The first value that appears twice in `values`, or nil.
    static func repeated(_ values: [String]) -> String? {
        var seen: Set<String> = []
        return values.first { !seen.insert($0).inserted }
    }

    /// True when two programs' `listen` would take the same socket: one path, or one TCP port.
    static func shareASocket(_ a: ListenAddress, _ b: ListenAddress) -> Bool {
        switch (a, b) {
        case (.unix(let x), .unix(let y)): return x == y
        case (.tcp(_, let x), .tcp(_, let y)): return x == y
        default: return false
        }
    }

    /// True for a cookie or service name: 1 to 64 of letters, digits, `-` and `_`.
    static func isToken(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F
        }
    }
}
