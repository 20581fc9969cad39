import HTTPTypes

/// A status code with its reason phrase, from apple/swift-http-types (`.ok`, `.found`, `.badGateway`, …): the one table
/// of statuses, so no status goes out as a bare number with a made-up reason.
public typealias HTTPStatus = HTTPTypes.HTTPResponse.Status
/// A header field name, from apple/swift-http-types (`.location`, `.setCookie`, …); compared case-insensitively.
public typealias HTTPHeaderName = HTTPField.Name
/// One header field, name and value, from apple/swift-http-types.
public typealias HTTPHeaderField = HTTPField
/// Ordered header fields, from apple/swift-http-types: repeatable names (several `Set-Cookie`), values kept as bytes.
public typealias HTTPHeaders = HTTPFields

/// What a responder answers: status, headers (repeatable, e.g. several `Set-Cookie`) and body.
public struct HTTPResponse: Sendable, Equatable {
    public var status: HTTPStatus
    /// Header values are legalised by swift-http-types: CR, LF and NUL become spaces, so a value from outside can never
    /// split the response or start a header of its own.
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: HTTPStatus, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public static func == (a: HTTPResponse, b: HTTPResponse) -> Bool {
        a.status == b.status && a.body == b.body && a.headers == b.headers
    }

    /// The first value of a header.
    public func header(_ name: HTTPHeaderName) -> String? { headers[name] }

    /// Every value of a header, in order.
    public func headerValues(_ name: HTTPHeaderName) -> [String] { headers[values: name] }

    /// Adds a header field.
    public mutating func add(_ name: HTTPHeaderName, _ value: String) {
        headers.append(HTTPField(name: name, value: value))
    }

    /// A copy with one more header field.
    public func adding(_ name: HTTPHeaderName, _ value: String) -> HTTPResponse {
        var copy = self
        copy.add(name, value)
        return copy
    }

    /// A copy with another status.
    public func with(status: HTTPStatus) -> HTTPResponse {
        var copy = self
        copy.status = status
        return copy
    }

    /// A redirect (`302 Found` unless told otherwise) to `location`, uncacheable.
    public static func redirect(to location: String, status: HTTPStatus = .found) -> HTTPResponse {
        HTTPResponse(status: status).adding(.location, location).adding(.cacheControl, "no-store")
    }

    /// An empty answer with `status`: the auth check's yes (200) or no (401).
    public static func empty(_ status: HTTPStatus) -> HTTPResponse { HTTPResponse(status: status) }

    /// A plain-text answer (`text/plain; charset=utf-8`).
    public static func text(_ status: HTTPStatus, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, body: Array(text.utf8)).adding(.contentType, "text/plain; charset=utf-8")
    }
}

extension HTTPHeaderName {
    /// A header name known when the program is written (not taken from a request). A literal that is not a valid
    /// field name is a programmer error and stops the program at its first use.
    public static func known(_ name: String) -> HTTPHeaderName {
        guard let parsed = HTTPHeaderName(name) else { preconditionFailure("not an HTTP field name: \(name)") }
        return parsed
    }
}
