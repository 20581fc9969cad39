import Foundation

/// Loads and validates the config file; relative paths in it are resolved against the file's folder.
public enum ConfigLoader {
    /// Reads `path` and returns a valid config, or throws `ConfigError` listing every problem.
    public static func load(path: String) throws -> SSOConfig {
        let text = try YAMLFile.read(path)
        let raw = try YAMLFile.decode(RawConfig.self, from: text, file: path, schema: RawConfig.schema)
        return try validate(raw, file: path)
    }

    static func resolve(_ path: String, relativeTo file: String) -> String {
        if path.hasPrefix("/") { return path }
        let folder = (file as NSString).deletingLastPathComponent
        return folder.isEmpty ? path : folder + "/" + path
    }

    static func validate(_ raw: RawConfig, file: String) throws -> SSOConfig {
        var p = ProblemList()
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)

        let accountsURL = raw.accounts_url.flatMap(Origin.init(parsing:))
        if accountsURL == nil { p.add("accounts_url", raw.accounts_url, expected: "an origin like https://accounts.example.com") }
        else if accountsURL?.scheme != "https" { p.add("accounts_url", raw.accounts_url, expected: "an https:// origin") }

        func server(_ raw: RawConfig.Server?, key: String, defaultListen: String) -> SSOConfig.Server {
            let listenText = raw?.listen ?? defaultListen
            let listen = ListenAddress(parsing: listenText)
            if listen == nil { p.add("\(key).listen", listenText, expected: "unix:/path, host:port or fd:0") }
            let workers = raw?.workers ?? cores
            if workers < 1 || workers > 1024 { p.add("\(key).workers", String(workers), expected: "1 to 1024") }
            let modeText = raw?.socket_mode ?? "0660"
            let mode = Int(modeText, radix: 8)
            if !(mode.map { (0...0o777).contains($0) } ?? false) {
                p.add("\(key).socket_mode", modeText, expected: "octal permission bits like 0660")
            }
            return .init(listen: listen ?? .inherited, workers: workers, socketMode: mode ?? 0o660)
        }
        let accounts = server(raw.accounts, key: "accounts", defaultListen: "unix:/run/sso/accounts.sock")
        let appAuth = server(raw.app_auth, key: "app_auth", defaultListen: "unix:/run/sso/appauth.sock")

        let servers = raw.memcached?.servers ?? []
        if servers.isEmpty { p.add("memcached.servers", nil, expected: "a list of host:port entries") }
        for (i, s) in servers.enumerated() where !s.hasPrefix("/") {
            if ListenAddress(parsing: s).map({ if case .tcp = $0 { return true } else { return false } }) != true {
                p.add("memcached.servers[\(i)]", s, expected: "host:port or /path/to/socket")
            }
        }
        let memcached = MemcachedOptions(
            servers: servers, replicas: raw.memcached?.replicas ?? 0,
            connectTimeoutMS: raw.memcached?.connect_timeout_ms ?? 250, pollTimeoutMS: raw.memcached?.poll_timeout_ms ?? 500,
            retryTimeoutSeconds: raw.memcached?.retry_timeout ?? 1)
        if memcached.replicas < 0 || memcached.replicas >= max(1, servers.count) && memcached.replicas != 0 {
            p.add("memcached.replicas", String(memcached.replicas), expected: "0 to (number of servers - 1)")
        }
        let prefix = raw.memcached?.prefix ?? "sso:"
        if prefix.utf8.count > 64 || !prefix.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
            p.add("memcached.prefix", prefix, expected: "up to 64 printable ASCII characters without spaces")
        }

        var keys: [SSOConfig.KeyEntry] = []
        for (i, k) in (raw.keys?.list ?? []).enumerated() {
            guard let kid = k.kid, !kid.isEmpty, kid.utf8.count <= 64 else {
                p.add("keys.list[\(i)].kid", k.kid, expected: "a key id of 1 to 64 characters"); continue
            }
            if k.secret_file == nil && k.public_key_file == nil && k.private_key_file == nil {
                p.add("keys.list[\(i)]", kid, expected: "public_key_file (and private_key_file on accounts), or secret_file")
            }
            if k.secret_file != nil && (k.public_key_file != nil || k.private_key_file != nil) {
                p.add("keys.list[\(i)]", kid, expected: "either secret_file or key files, not both")
            }
            keys.append(.init(kid: kid, privateKeyFile: k.private_key_file.map { resolve($0, relativeTo: file) },
                              publicKeyFile: k.public_key_file.map { resolve($0, relativeTo: file) },
                              secretFile: k.secret_file.map { resolve($0, relativeTo: file) }))
        }
        if keys.isEmpty { p.add("keys.list", nil, expected: "at least one key") }
        if Set(keys.map(\.kid)).count != keys.count { p.add("keys.list", "duplicate kid", expected: "unique kids") }
        let signingKID = raw.keys?.signing_kid
        if let signingKID, !keys.contains(where: { $0.kid == signingKID }) {
            p.add("keys.signing_kid", signingKID, expected: "the kid of a listed key")
        }

        let sameSite = raw.cookie?.same_site ?? "Lax"
        if !["Lax", "Strict"].contains(sameSite) { p.add("cookie.same_site", sameSite, expected: "Lax or Strict") }
        let cookieName = raw.cookie?.name ?? "__Host-sso"
        let csrfName = raw.cookie?.csrf_name ?? "__Host-sso_csrf"
        for (key, name) in [("cookie.name", cookieName), ("cookie.csrf_name", csrfName)] where !isToken(name) {
            p.add(key, name, expected: "a cookie name of letters, digits and -_")
        }

        var services: [Service] = []
        for (i, s) in (raw.services ?? []).enumerated() {
            let key = "services[\(i)]"
            guard let name = s.name, isToken(name) else { p.add("\(key).name", s.name, expected: "a name of letters, digits and -_"); continue }
            var origins: [Origin] = []
            for (j, o) in (s.origins ?? []).enumerated() {
                if let origin = Origin(parsing: o), origin.scheme == "https" { origins.append(origin) }
                else { p.add("\(key).origins[\(j)]", o, expected: "an https origin like https://app.example.com") }
            }
            if (s.origins ?? []).isEmpty { p.add("\(key).origins", nil, expected: "at least one https origin") }
            let idle = s.idle_timeout ?? 0
            if idle < 1 || idle > 86_400 * 30 { p.add("\(key).idle_timeout", s.idle_timeout.map(String.init), expected: "seconds, 1 to 2592000") }
            services.append(Service(name: name, title: s.title ?? name, origins: origins, idleTimeout: Int64(idle)))
        }
        if services.isEmpty { p.add("services", nil, expected: "at least one service") }
        if Set(services.map(\.name)).count != services.count { p.add("services", "duplicate name", expected: "unique names") }
        let allOrigins = services.flatMap(\.origins)
        if Set(allOrigins).count != allOrigins.count { p.add("services", "an origin listed twice", expected: "each origin in one service") }

        func seconds(_ value: Int?, key: String, default d: Int, range: ClosedRange<Int>) -> Int {
            let v = value ?? d
            if !range.contains(v) { p.add(key, String(v), expected: "seconds, \(range.lowerBound) to \(range.upperBound)") }
            return v
        }
        let lifetime = seconds(raw.sessions?.lifetime, key: "sessions.lifetime", default: 43_200, range: 5...(86_400 * 90))
        let interval = seconds(raw.sessions?.last_access_interval, key: "sessions.last_access_interval", default: 60, range: 0...3600)
        let ttl = seconds(raw.sessions?.request_id_ttl, key: "sessions.request_id_ttl", default: 60, range: 1...600)
        let defaultIdle = seconds(raw.sessions?.default_idle_timeout, key: "sessions.default_idle_timeout", default: 900, range: 1...86_400)
        let maxFailures = raw.login?.max_failures ?? 5
        if maxFailures < 1 || maxFailures > 1000 { p.add("login.max_failures", String(maxFailures), expected: "1 to 1000") }
        let window = seconds(raw.login?.failure_window, key: "login.failure_window", default: 300, range: 1...86_400)
        let maxBody = raw.limits?.max_body_bytes ?? 1_048_576
        if maxBody < 1024 || maxBody > 64 << 20 { p.add("limits.max_body_bytes", String(maxBody), expected: "bytes, 1024 to 67108864") }

        guard let usersFile = raw.users_file else { p.add("users_file", nil, expected: "path of the users file"); throw ConfigError(file: file, problems: p.problems) }
        let logLevel = raw.log_level ?? "info"
        if !["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(logLevel) {
            p.add("log_level", logLevel, expected: "trace, debug, info, notice, warning, error or critical")
        }
        let accent = raw.branding?.accent_color ?? "#2f5bea"
        if !(accent.hasPrefix("#") && (accent.count == 4 || accent.count == 7) && accent.dropFirst().allSatisfy(\.isHexDigit)) {
            p.add("branding.accent_color", accent, expected: "a CSS hex colour like #2f5bea")
        }
        let logo = raw.branding?.logo_url ?? ""
        if !logo.isEmpty && !(logo.hasPrefix("/") || logo.hasPrefix("data:image/")) || logo.contains("\"") {
            p.add("branding.logo_url", logo, expected: "a path on the accounts host (/logo.svg) or a data:image/ URL")
        }

        let rc = raw.request_cache
        let cacheBody = rc?.max_body_bytes ?? 1_048_576
        if cacheBody < 1 || cacheBody > maxBody {
            p.add("request_cache.max_body_bytes", String(cacheBody), expected: "bytes, 1 to limits.max_body_bytes (\(maxBody))")
        }
        let cacheEntry = rc?.max_entry_bytes ?? max(1_572_864, cacheBody + 65_536)
        if cacheEntry < cacheBody || cacheEntry > 64 << 20 {
            p.add("request_cache.max_entry_bytes", String(cacheEntry), expected: "bytes, at least request_cache.max_body_bytes, at most 67108864")
        }
        let cacheTTL = seconds(rc?.ttl, key: "request_cache.ttl", default: 600, range: 1...86_400)
        let cacheCookie = rc?.cookie_name ?? "__Host-sso_replay"
        if !isToken(cacheCookie) { p.add("request_cache.cookie_name", cacheCookie, expected: "a cookie name of letters, digits and -_") }
        let backendTimeout = seconds(rc?.backend_timeout, key: "request_cache.backend_timeout", default: 60, range: 1...3600)
        let maxResponse = rc?.max_response_bytes ?? 16 << 20
        if maxResponse < 1024 || maxResponse > 1 << 30 { p.add("request_cache.max_response_bytes", String(maxResponse), expected: "bytes, 1024 to 1073741824") }
        let requestCache = SSOConfig.RequestCache(
            enabled: rc?.enabled ?? true, maxBodyBytes: cacheBody, maxEntryBytes: cacheEntry, ttl: cacheTTL, cookieName: cacheCookie,
            backendTimeout: backendTimeout, maxResponseBytes: maxResponse)

        guard p.problems.isEmpty, let accountsURL else { throw ConfigError(file: file, problems: p.problems) }
        return SSOConfig(
            file: file, accountsURL: accountsURL, audience: raw.audience ?? "sso", accounts: accounts, appAuth: appAuth,
            memcached: memcached, keyPrefix: prefix, keys: keys, signingKID: signingKID, cookieName: cookieName,
            csrfCookieName: csrfName, cookieSameSite: sameSite, registry: ServiceRegistry(services),
            usersFile: resolve(usersFile, relativeTo: file), requestIDTTL: ttl, sessionLifetime: Int64(lifetime),
            lastAccessInterval: Int64(interval), defaultIdleTimeout: Int64(defaultIdle), maxLoginFailures: maxFailures,
            loginFailureWindow: window, maxBodyBytes: maxBody, logLevel: logLevel,
            branding: .init(productName: raw.branding?.product_name ?? "Single Sign-On", accentColor: accent, logoURL: logo),
            requestCache: requestCache)
    }

    static func isToken(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.count <= 64 && s.utf8.allSatisfy {
            ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F
        }
    }
}
