/// Every key of the SSO config file (`sso.yaml`), declared once. `ConfigLoader` reads through this list;
/// `config/sso.example.yaml` is checked against it by a test (every key present and commented).
public enum Settings {
    public static let all: [SettingSpec] = general + servers + memcached + keys + cookie + sessions + login + services
        + requestCache + decisionCache + branding + audit

    static let general: [SettingSpec] = [
        .init("accounts_url", .text, .required,
              doc: "The accounts server's public origin (https://host[:port]); also the JWT issuer (iss)."),
        .init("audience", .text, .value("sso"), doc: "JWT audience (aud) every host checks: one name per SSO realm."),
        .init("log_level", .choice(["trace", "debug", "info", "notice", "warning", "error", "critical"]), .value("info"),
              doc: "Passwords, JWTs, cookies and requestIDs are never logged at any level."),
        .init("users_file", .text, .required,
              doc: "The users file (YAML: username, password_hash, name, email, services); relative to this file."),
        .init("users_reload_interval", .integer(0...3600), .value("2"), unit: "seconds",
              doc: "How often AccountsFCGI looks for a changed users file; a user removed, disabled, or given another password or other services loses every session within this bound (0: never)."),
        .init("limits", .section, .optional, doc: "Request limits."),
        .init("limits.max_body_bytes", .integer(1024...(64 << 20)), .value("1048576"), unit: "bytes",
              doc: "Largest request body read; a larger one is read and discarded (413 on the accounts host)."),
    ]

    static func server(_ name: String, socket: String, what: String) -> [SettingSpec] {
        [
            .init(name, .section, .optional, doc: "\(what): where it listens and how many workers it runs."),
            .init("\(name).listen", .text, .value("unix:/run/sso/\(socket).sock"),
                  doc: "unix:/path, host:port (Apache's mod_authnz_fcgi needs TCP), or fd:0 (spawn-fcgi). Under systemd socket activation (LISTEN_FDS) the socket systemd passes is used, and must be this address."),
            .init("\(name).workers", .integer(1...1024), .computed("the number of cores"), unit: "threads",
                  doc: "Worker threads in each worker process, each with its own memcached connection."),
            .init("\(name).socket_mode", .octal, .value("0660"), doc: "Permission bits of a unix socket; never write for others."),
            .init("\(name).socket_group", .text, .value(""),
                  doc: "Group of a unix socket (a name or number): the web server's workers must be in it. Empty: the program's own group."),
            .init("\(name).processes", .integer(0...64), .value("1"), unit: "processes",
                  doc: "Worker processes under a supervisor that owns the socket and replaces any that ends (2: one keeps serving while another is replaced); 0: serve in one process, no supervisor."),
            .init("\(name).idle_timeout", .integer(1...3600), .value("5"), unit: "seconds",
                  doc: "A connection with no request started (fresh, or kept alive between requests) is closed after this."),
            .init("\(name).io_timeout", .integer(1...3600), .value("5"), unit: "seconds",
                  doc: "A request must arrive whole within this from its first byte, and its answer be taken within this; else the connection is dropped."),
            .init("\(name).max_connections", .integer(16...65_536), .value("1024"), unit: "connections",
                  doc: "Open connections per worker process; beyond it the oldest one not being served is closed."),
            .init("\(name).allowed_users", .textList, .value("[]"),
                  doc: "TCP only: connections from this host are accepted only from sockets of these users (names or uids; the kernel tells the owner); when set, a peer on another host needs allowed_addresses. Empty: any user."),
            .init("\(name).allowed_addresses", .textList, .value("[]"),
                  doc: "TCP only: peer addresses accepted (with allowed_users, both must pass); FCGI_WEB_SERVER_ADDRS (comma-separated) adds to them. Empty: any address."),
        ]
    }

    static let servers = server("accounts", socket: "accounts", what: "AccountsFCGI")
        + server("app_auth", socket: "appauth", what: "AppAuthFCGI")

    static let memcached: [SettingSpec] = [
        .init("memcached", .section, .optional, doc: "The shared store of sessions, hand-offs and kept requests."),
        .init("memcached.servers", .textList, .required,
              doc: "host:port or /path/to/socket; several spread the keys by consistent hashing (ketama)."),
        .init("memcached.prefix", .text, .value("sso:"), doc: "Key namespace, so several realms can share one memcached."),
        .init("memcached.replicas", .integer(0...15), .value("0"),
              doc: "Extra copies of every item, each on another server: N copies can be lost at once (fewer than servers)."),
        .init("memcached.connect_timeout_ms", .integer(1...60_000), .value("250"), unit: "milliseconds",
              doc: "Longest wait to connect to a memcached server."),
        .init("memcached.poll_timeout_ms", .integer(1...60_000), .value("500"), unit: "milliseconds",
              doc: "Longest wait for one memcached operation: a hung server is ejected after this long."),
        .init("memcached.retry_timeout", .integer(0...3600), .value("1"), unit: "seconds",
              doc: "How long a failed server is left alone before it is tried again."),
        .init("memcached.fence_lease_ms", .integer(100...60_000), .value("1000"), unit: "milliseconds",
              doc: "With replicas: how long a process trusts its list of servers that missed a write; an end that misses a copy waits this long."),
    ]

    static let keys: [SettingSpec] = [
        .init("keys", .section, .optional, doc: "JWT keys: sign with one, verify with every listed one (rotation)."),
        .init("keys.signing_kid", .text, .optional, doc: "Accounts host only: the kid new tokens are signed with."),
        .init("keys.list", .list, .required, doc: "Every key still accepted; rotate by adding one, switching signing_kid, removing the old later."),
        .init("keys.list[].kid", .text, .required, doc: "The key id carried in the token header (1 to 64 characters)."),
        .init("keys.list[].private_key_file", .text, .optional,
              doc: "PEM private key (Ed25519 or P-256); only on the accounts host, app hosts never open it."),
        .init("keys.list[].public_key_file", .text, .optional, doc: "PEM public key: what app hosts verify with."),
        .init("keys.list[].secret_file", .text, .optional,
              doc: "HS256 shared secret of at least 32 bytes; every host that verifies with it could also mint tokens."),
        .init("keys.list[].retired_at", .integer(0...(1 << 40)), .optional, unit: "seconds since 1970",
              doc: "When the key stopped signing (set by ssoctl keys rotate); ssoctl keys prune drops it once every token it signed has expired."),
    ]

    static let cookie: [SettingSpec] = [
        .init("cookie", .section, .optional, doc: "The SSO cookies (host-only, Secure, HttpOnly, Path=/ on every host)."),
        .init("cookie.name", .text, .value("__Host-sso"), doc: "The JWT cookie on every host."),
        .init("cookie.csrf_name", .text, .value("__Host-sso_csrf"), doc: "The sign-in and sign-out forms' CSRF cookie."),
        .init("cookie.device_name", .text, .value("__Host-sso_device"),
              doc: "On the accounts host: marks a browser that has signed in as a user before (a year), so others' failures never slow it."),
        .init("cookie.state_name", .text, .value("__Host-sso_state"),
              doc: "The short-lived cookie on an app host that binds a sign-in to the browser that started it."),
        .init("cookie.same_site", .choice(["Lax", "Strict"]), .value("Lax"), doc: "SameSite of the JWT cookie."),
    ]

    static let sessions: [SettingSpec] = [
        .init("sessions", .section, .optional, doc: "Session lifetimes."),
        .init("sessions.lifetime", .integer(5...(86_400 * 90)), .value("43200"), unit: "seconds",
              doc: "Absolute session lifetime, however active the session is."),
        .init("sessions.last_access_interval", .integer(0...3600), .value("60"), unit: "seconds",
              doc: "LAST_ACCESSED_TIME is written at most this often (0: on every check); less than the shortest idle timeout."),
        .init("sessions.request_id_ttl", .integer(1...600), .value("60"), unit: "seconds", doc: "How long a requestID lives."),
        .init("sessions.default_idle_timeout", .integer(1...86_400), .value("900"), unit: "seconds",
              doc: "SESSION_TIME_OUT of a user registered for no service."),
    ]

    static let login: [SettingSpec] = [
        .init("login", .section, .optional, doc: "Sign-in throttling."),
        .init("login.max_failures", .integer(1...1000), .value("5"),
              doc: "Failed sign-ins per user name and client address (or per device cookie) within the window before more are refused unseen."),
        .init("login.max_address_failures", .integer(1...100_000), .value("20"),
              doc: "Failed sign-ins per client address (IPv6 by /64), whatever the user names, within the window; not applied to a browser with the user's device cookie."),
        .init("login.user_soft_limit", .integer(1...100_000), .value("20"),
              doc: "Failed sign-ins per user name from browsers that never signed in as that user; past it each such attempt waits a doubling delay (the user's own browsers are not slowed)."),
        .init("login.max_delay", .integer(1...3600), .value("60"), unit: "seconds", doc: "The longest of those delays."),
        .init("login.failure_window", .integer(1...86_400), .value("300"), unit: "seconds", doc: "Window of the failure counts."),
    ]

    static let services: [SettingSpec] = [
        .init("services", .list, .required,
              doc: "The service registry: redirectURLs and requestIDs are accepted only for these exact origins."),
        .init("services[].name", .text, .required, doc: "The registry name users are registered for (letters, digits, - and _)."),
        .init("services[].title", .text, .computed("the name"), doc: "The name shown to people."),
        .init("services[].origins", .textList, .required, doc: "Every https origin the service is reachable at."),
        .init("services[].idle_timeout", .integer(1...(86_400 * 30)), .required, unit: "seconds",
              doc: "IDLE_TIMEOUT; a user's SESSION_TIME_OUT is the least of their services'."),
    ]

    static let requestCache: [SettingSpec] = [
        .init("request_cache", .section, .optional,
              doc: "A form sent after the session ended is kept, the user signs in, and it is delivered once."),
        .init("request_cache.enabled", .flag, .value("true"), doc: "Keep and replay such requests at all."),
        .init("request_cache.max_body_bytes", .integer(1...(64 << 20)), .value("1048576"), unit: "bytes",
              doc: "Largest body kept (at most limits.max_body_bytes); the user is told after sign-in when one is not."),
        .init("request_cache.max_entry_bytes", .integer(1...(64 << 20)),
              .computed("1572864, or max_body_bytes + 65536 when that is more"), unit: "bytes",
              doc: "Largest whole kept entry: body, headers and URL."),
        .init("request_cache.ttl", .integer(1...86_400), .value("600"), unit: "seconds",
              doc: "How long a kept request waits for the sign-in."),
        .init("request_cache.max_per_user", .integer(1...1000), .value("5"),
              doc: "Submissions kept per user within the ttl; more are not kept (the user is told), so nobody can fill memcached."),
        .init("request_cache.max_per_address", .integer(1...100_000), .value("20"),
              doc: "Submissions kept per client address (IPv6 by /64) within the ttl, signed in before or not; beyond it nothing is stored."),
        .init("request_cache.cookie_name", .text, .value("__Host-sso_replay"),
              doc: "The HttpOnly cookie that binds a kept request to the browser."),
        .init("request_cache.backend_timeout", .integer(1...70), .value("60"), unit: "seconds",
              doc: "Longest a delivery of a kept request may take in all: connecting, sending it, and the app's whole answer. At most 70: nginx's @sso_replay waits 75 s (fastcgi_read_timeout)."),
        .init("request_cache.max_response_bytes", .integer(1024...(1 << 30)), .value("16777216"), unit: "bytes",
              doc: "Largest app answer relayed after a delivery."),
    ]

    static let decisionCache: [SettingSpec] = [
        .init("decision_cache", .section, .optional,
              doc: "nginx only, opt-in: nginx keeps AppAuthFCGI's 200s of /_sso/auth for a few seconds (docs/nginx.md). Set the same on every app host's AppAuthFCGI and regenerate sso-http.conf."),
        .init("decision_cache.seconds", .integer(0...5), .value("0"), unit: "seconds",
              doc: "Longest time nginx answers a check from a kept 200 (never past the session's idle or absolute end); a sign-out or revocation takes effect on each host within this. 0: off."),
        .init("decision_cache.path", .text, .value("/var/lib/nginx/sso-auth-cache"),
              doc: "Absolute path of the folder nginx keeps the entries in (created 0700 for nginx's user; each file holds a session cookie: tmpfs is best)."),
        .init("decision_cache.zone_mb", .integer(1...1024), .value("10"), unit: "megabytes",
              doc: "nginx's shared-memory index of the entries (about 8,000 entries a megabyte)."),
    ]

    static let branding: [SettingSpec] = [
        .init("branding", .section, .optional, doc: "How the sign-in and error pages look."),
        .init("branding.product_name", .text, .value("Single Sign-On"), doc: "Product name in titles and headings."),
        .init("branding.accent_color", .text, .value("#2f5bea"), doc: "Accent colour, a CSS hex colour."),
        .init("branding.logo_url", .text, .value(""),
              doc: "A path on the accounts host (/logo.svg) or a data:image/ URL; empty shows a monogram."),
    ]

    static let audit: [SettingSpec] = [
        .init("audit", .section, .optional, doc: "The audit trail, apart from the debug log."),
        .init("audit.log_file", .text, .value(""),
              doc: "JSON lines of sign-ins, refusals, sign-outs, hand-offs, revocations and admin actions; never a secret. Empty: off."),
    ]

    /// Every key of the users file, declared the same way.
    public static let usersFile: [SettingSpec] = [
        .init("users", .list, .required, doc: "Everyone who can sign in."),
        .init("users[].username", .text, .required, doc: "The name typed at sign-in (1 to 128 visible characters)."),
        .init("users[].password_hash", .text, .required,
              doc: "crypt(3) hash: yescrypt ($y$), bcrypt ($2b$, $2y$, $2a$) or sha512crypt ($6$)."),
        .init("users[].name", .text, .computed("the username"), doc: "Display name, for X-Remote-Name."),
        .init("users[].email", .text, .value(""), doc: "E-mail address, for X-Remote-Email."),
        .init("users[].services", .textList, .value("[]"), doc: "Registry names of the services the user may use."),
        .init("users[].disabled", .flag, .value("false"), doc: "A disabled user cannot sign in; their sessions end when the file is reloaded."),
    ]
}
