import Testing
@testable import FastCGI
@testable import SSOCore

/// Origins, redirect targets, query helpers and how the SSO reads a request: outside data that must parse or be
/// refused, never crash.
@Suite struct WebPolicyTests {
    @Test func originsParseStrictly() {
        #expect(Origin(parsing: "https://A.Example.test:8443")?.serialized == "https://a.example.test:8443")
        #expect(Origin(parsing: "https://a.example.test:443")?.serialized == "https://a.example.test")
        for bad in ["https://", "https://a b", "https://u@a", "https://a:99999", "https://a:", "ftp://a", "https://a/b",
                    "https://[::1]", "https://a..b", "https://.a", "https://a:8443x"] {
            #expect(Origin(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func redirectTargetsAcceptOnlyRegisteredOrigins() throws {
        let allowed: Set<Origin> = [try #require(Origin(parsing: "https://app.example.test:8443"))]
        let ok = try #require(RedirectTarget.validate("https://app.example.test:8443/a?b=c#d", allowedOrigins: allowed))
        #expect(ok.url == "https://app.example.test:8443/a?b=c#d")
        #expect(ok.appendingQuery("requestID", "r-1") == "https://app.example.test:8443/a?b=c&requestID=r-1#d")
        #expect(RedirectTarget.validate("https://APP.example.test:8443", allowedOrigins: allowed)?.url == "https://app.example.test:8443/")
        let hostile = ["//evil.test", "/\\evil.test", "https://evil.test", "https://app.example.test", "http://app.example.test:8443/",
                       "https://u@app.example.test:8443/", "https://app.example.test:8443@evil.test/", "https://app.example.test:8443\\@evil.test",
                       "https://app.example.test:8443/\n", "https://app.example.test:8443\t/", "javascript:alert(1)",
                       "https://app.example.test:8443//evil.test", "https://app.example.test:8444/", "https://app.example.test.evil:8443/",
                       "https://app.example.test%3a8443/", "https://app.example.test:8443/é", "", " https://app.example.test:8443/"]
        for h in hostile { #expect(RedirectTarget.validate(h, allowedOrigins: allowed) == nil, "\(h)") }
    }

    @Test func queryHelpers() {
        #expect(URLQuery.removing("requestID", from: "/p?a=1&requestID=x&b=2") == "/p?a=1&b=2")
        #expect(URLQuery.removing("requestID", from: "/p?requestID=x") == "/p")
        #expect(URLQuery.removing("requestID", from: "/p?request%49D=x") == "/p")
        #expect(URLQuery.appending("a", "b c&", to: "/p") == "/p?a=b%20c%26")
        #expect(PercentEncoding.decode("%") == nil && PercentEncoding.decode("%C3") == nil)
    }

    @Test func requestOriginAndAPICalls() {
        let r = HTTPRequest(params: ["REQUEST_URI": "/x?requestID=1&a=2", "SERVER_NAME": "App.example.test", "SERVER_PORT": "8443",
                                     "HTTPS": "on", "HTTP_ACCEPT": "application/json", "HTTP_HOST": "evil.example.test"])
        #expect(r.origin?.serialized == "https://app.example.test:8443" && r.isAPIRequest && r.carriesRequestID)
        // The Host header never names the origin; SSO_ORIGIN from the web server wins over the server name.
        #expect(HTTPRequest(params: ["HTTP_HOST": "app.example.test", "HTTPS": "on"]).origin == nil)
        #expect(HTTPRequest(params: ["SSO_ORIGIN": "https://a.example.test", "SERVER_NAME": "b.example.test"]).origin?.host == "a.example.test")
        #expect(HTTPRequest(params: ["HTTP_SEC_FETCH_MODE": "navigate", "HTTP_ACCEPT": "text/html"]).isAPIRequest == false)
        #expect(HTTPRequest(params: ["SERVER_NAME": "a b"]).origin == nil)
        #expect(!HTTPRequest(params: ["REQUEST_URI": "/x?norequestIDhere=1"]).carriesRequestID)
        // The byte test that skips the parse agrees with it wherever the query comes from.
        #expect(!HTTPRequest(params: ["REQUEST_URI": "/x?a=1"]).carriesRequestID)
        #expect(HTTPRequest(params: ["REQUEST_URI": "/x", "QUERY_STRING": "requestID=1"]).carriesRequestID)
        #expect(HTTPRequest(params: ["SCRIPT_NAME": "/x?request", "PATH_INFO": "ID=1"]).carriesRequestID)
        #expect(HTTPRequest(params: ["REQUEST_URI": "", "SCRIPT_NAME": "/x", "QUERY_STRING": "requestID=2"]).carriesRequestID)
        #expect(!HTTPRequest(params: ["REQUEST_URI": "/x?request%49D=1"]).carriesRequestID)
        #expect(JSONString.quote("a\"<\n\u{01}") == "\"a\\\"\\u003c\\n\\u0001\"")
    }
}
