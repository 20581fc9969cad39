/// The config file as written: every field optional, so validation can report all that is missing at once.
struct RawConfig: Decodable {
    struct Server: Decodable { var listen: String?; var workers: Int?; var socket_mode: String? }
    struct Memcached: Decodable {
        var servers: [String]?; var prefix: String?; var replicas: Int?
        var connect_timeout_ms: Int?; var poll_timeout_ms: Int?; var retry_timeout: Int?
    }
    struct Key: Decodable { var kid: String?; var private_key_file: String?; var public_key_file: String?; var secret_file: String? }
    struct Keys: Decodable { var signing_kid: String?; var list: [Key]? }
    struct Cookie: Decodable { var name: String?; var csrf_name: String?; var same_site: String? }
    struct Sessions: Decodable {
        var lifetime: Int?; var last_access_interval: Int?; var request_id_ttl: Int?; var default_idle_timeout: Int?
    }
    struct Login: Decodable { var max_failures: Int?; var failure_window: Int? }
    struct Limits: Decodable { var max_body_bytes: Int? }
    struct ServiceEntry: Decodable { var name: String?; var title: String?; var origins: [String]?; var idle_timeout: Int? }
    struct Branding: Decodable { var product_name: String?; var accent_color: String?; var logo_url: String? }
    struct RequestCache: Decodable {
        var enabled: Bool?; var max_body_bytes: Int?; var max_entry_bytes: Int?; var ttl: Int?; var cookie_name: String?
        var backend_timeout: Int?; var max_response_bytes: Int?
    }

    var accounts_url: String?
    var audience: String?
    var accounts: Server?
    var app_auth: Server?
    var memcached: Memcached?
    var keys: Keys?
    var cookie: Cookie?
    var sessions: Sessions?
    var login: Login?
    var limits: Limits?
    var services: [ServiceEntry]?
    var users_file: String?
    var log_level: String?
    var branding: Branding?
    var request_cache: RequestCache?

    /// Every key the file may hold, by mapping path; anything else is reported as unknown (a typo would otherwise be ignored).
    static let schema: [String: Set<String>] = [
        "": ["accounts_url", "audience", "accounts", "app_auth", "memcached", "keys", "cookie", "sessions", "login",
             "limits", "services", "users_file", "log_level", "branding", "request_cache"],
        "request_cache": ["enabled", "max_body_bytes", "max_entry_bytes", "ttl", "cookie_name", "backend_timeout", "max_response_bytes"],
        "accounts": ["listen", "workers", "socket_mode"],
        "app_auth": ["listen", "workers", "socket_mode"],
        "memcached": ["servers", "prefix", "replicas", "connect_timeout_ms", "poll_timeout_ms", "retry_timeout"],
        "keys": ["signing_kid", "list"],
        "keys.list[]": ["kid", "private_key_file", "public_key_file", "secret_file"],
        "cookie": ["name", "csrf_name", "same_site"],
        "sessions": ["lifetime", "last_access_interval", "request_id_ttl", "default_idle_timeout"],
        "login": ["max_failures", "failure_window"],
        "limits": ["max_body_bytes"],
        "services[]": ["name", "title", "origins", "idle_timeout"],
        "branding": ["product_name", "accent_color", "logo_url"],
    ]
}
