/// One request as the FastCGI server hands it to a responder: the CGI params, the headers, the body.
/// A plain value, so responders are testable without libfcgi.
public struct HTTPRequest: Sendable {
    /// The FastCGI role the web server asked for.
    public enum Role: String, Sendable { case responder = "RESPONDER", authorizer = "AUTHORIZER" }

    /// Every FastCGI param as received (`REQUEST_METHOD`, `HTTP_COOKIE`, …), read by name; a header sent on several
    /// lines reads as one param, its values joined as the web server joins them. Kept as bytes: a `String` is made
    /// only for a param that is read.
    public let params: FastCGIParams
    /// The request body (empty for authorizers and for auth subrequests).
    public let body: [UInt8]
    /// True when the body was larger than the configured maximum and was read and discarded, not kept.
    public let bodyOmitted: Bool

    public init(params: FastCGIParams, body: [UInt8] = [], bodyOmitted: Bool = false) {
        self.params = params
        self.body = body
        self.bodyOmitted = bodyOmitted
    }

    /// A request with these params (`rawParams`: the exact bytes of values that are not UTF-8, which `params` has
    /// with U+FFFD in their place).
    public init(params: [String: String], rawParams: [String: [UInt8]] = [:], body: [UInt8] = [], bodyOmitted: Bool = false) {
        self.init(params: FastCGIParams(params, raw: rawParams), body: body, bodyOmitted: bodyOmitted)
    }

    /// The exact bytes of the params whose value is not UTF-8 (`params` reads them with U+FFFD); usually empty.
    public var rawParams: [String: [UInt8]] { params.rawParams }

    /// The FastCGI role (`FCGI_ROLE`); RESPONDER when absent.
    public var role: Role { params["FCGI_ROLE"].flatMap(Role.init(rawValue:)) ?? .responder }
    /// `REQUEST_METHOD`, upper-case; GET when absent.
    public var method: String { (params["REQUEST_METHOD"] ?? "GET").uppercased() }
    /// The path and query as the client sent them (`REQUEST_URI`, or `SCRIPT_NAME`+`PATH_INFO`+`?QUERY_STRING`).
    public var requestURI: String {
        if let uri = params["REQUEST_URI"], !uri.isEmpty { return uri }
        let path = (params["SCRIPT_NAME"] ?? "") + (params["PATH_INFO"] ?? "")
        let query = params["QUERY_STRING"] ?? ""
        return (path.isEmpty ? "/" : path) + (query.isEmpty ? "" : "?" + query)
    }
    /// The path part of `requestURI`, still percent-encoded.
    public var path: String {
        let uri = requestURI
        if let q = uri.firstIndex(of: "?") { return String(uri[..<q]) }
        return uri
    }
    /// The raw query string (without `?`).
    public var queryString: String {
        let uri = requestURI
        if let q = uri.firstIndex(of: "?") { return String(uri[uri.index(after: q)...]) }
        return params["QUERY_STRING"] ?? ""
    }
    /// Decoded query parameters (first value wins in `query[name]`).
    public var query: FormFields { FormFields(parsing: queryString) }

    /// A request header by case-insensitive name, from the `HTTP_*` params.
    public func header(_ name: String) -> String? {
        var key: [UInt8] = Array("HTTP_".utf8)
        key.reserveCapacity(5 + name.utf8.count)
        for c in name.utf8 {
            switch c {
            case UInt8(ascii: "-"): key.append(UInt8(ascii: "_"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): key.append(c - 32)
            default: key.append(c)
            }
        }
        let paramName = String(decoding: key, as: UTF8.self)
        if let value = params[paramName] { return value }
        if paramName == "HTTP_CONTENT_TYPE" { return params["CONTENT_TYPE"] }
        if paramName == "HTTP_CONTENT_LENGTH" { return params["CONTENT_LENGTH"] }
        return nil
    }

    /// One cookie by name, without parsing the others (the auth check's hot path).
    public func cookie(_ name: String) -> String? {
        guard let header = params["HTTP_COOKIE"] else { return nil }
        return Cookies.value(named: name, in: header)
    }

    /// Two cookies by name in one pass over the header.
    public func cookies(_ first: String, _ second: String) -> (String?, String?) {
        guard let header = params["HTTP_COOKIE"] else { return (nil, nil) }
        return Cookies.values(named: first, second, in: header)
    }

    /// Every request header as (lower-case name with `-`, value), rebuilt from the `HTTP_*` params plus content type and
    /// length, each once (nginx sends both `CONTENT_TYPE` and `HTTP_CONTENT_TYPE`; the CGI one wins).
    public var headers: [(name: String, value: String)] {
        headerFields.map { ($0.name, String(decoding: $0.value, as: UTF8.self)) }
    }

    /// `headers` with each value's exact bytes: what a replay sends on, even when a value is not UTF-8. Sorted by name;
    /// made in one pass over the params (`FastCGIParams.all`).
    public var headerFields: [(name: String, value: [UInt8])] {
        let all = params.all
        let cgi = { (name: String) in all.first { $0.name == name && !$0.value.isEmpty } }
        let type = cgi("CONTENT_TYPE"), length = cgi("CONTENT_LENGTH")
        var out: [(name: String, value: [UInt8])] = []
        for (key, value) in all where key.hasPrefix("HTTP_") {
            if (key == "HTTP_CONTENT_TYPE" && type != nil) || (key == "HTTP_CONTENT_LENGTH" && length != nil) { continue }
            out.append((Self.headerName(fromParam: key), value))
        }
        if let type { out.append(("content-type", type.value)) }
        if let length { out.append(("content-length", length.value)) }
        return out.sorted { $0.name < $1.name }
    }

    /// `HTTP_X_FORWARDED_FOR` -> `x-forwarded-for`.
    static func headerName(fromParam key: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(key.utf8.count)
        for c in key.utf8.dropFirst(5) {
            switch c {
            case UInt8(ascii: "_"): bytes.append(UInt8(ascii: "-"))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): bytes.append(c + 32)
            default: bytes.append(c)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Cookies from the `Cookie` header.
    public var cookies: [String: String] { Cookies.parse(header("Cookie") ?? "") }

    /// True when the client came over TLS (`HTTPS=on` or `REQUEST_SCHEME=https`).
    public var isHTTPS: Bool {
        (params["HTTPS"].map { $0.lowercased() == "on" || $0 == "1" } ?? false) || params["REQUEST_SCHEME"] == "https"
    }

    /// The client address (`REMOTE_ADDR`), for throttling and logs.
    public var remoteAddress: String { params["REMOTE_ADDR"] ?? "" }
}
