import Testing
@testable import Shared

/// Outside data that must parse or be refused, never crash: base64url, query strings, forms, cookies, origins, params.
@Suite struct HTTPParsingTests {
    @Test func base64urlIsStrict() {
        #expect(Base64URL.decode("") == [])
        #expect(Base64URL.decode("QQ") == Array("A".utf8))
        #expect(Base64URL.decode("QR") == nil)            // non-zero trailing bits
        #expect(Base64URL.decode("QQ==") == nil)          // padding
        #expect(Base64URL.decode("Q") == nil)             // impossible length
        #expect(Base64URL.decode("a+b/") == nil)          // standard alphabet
        #expect(Base64URL.decode("a b") == nil)
        #expect(Base64URL.decode([0xFF, 0xFE]) == nil)    // non-ASCII bytes
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
        }
    }

    @Test func formFieldsKeepOrderRepeatsAndUnicode() {
        let f = FormFields(parsing: "a=1&b=%C3%A9t%C3%A9&a=2&c=x+y&d&=e&f=%ZZ&g=%FF")
        #expect(f.pairs.map(\.name) == ["a", "b", "a", "c", "d", ""])
        #expect(f["b"] == "été")
        #expect(f["c"] == "x y")
        #expect(f["d"] == "")
        #expect(f.count("a") == 2)
        #expect(f["f"] == nil && f["g"] == nil)   // broken escape, not UTF-8: skipped
    }

    @Test func cookiesParseDefensively() {
        #expect(Cookies.parse("a=1; b=2") == ["a": "1", "b": "2"])
        #expect(Cookies.parse("a=1; a=2") == ["a": "1"])
        #expect(Cookies.parse("junk; =x; b=\"q\"; c==d") == ["b": "q", "c": "=d"])
        #expect(Cookies.parse(String(repeating: "a=b; ", count: 5000)) == [:])
        let set = Cookies.setCookie(name: "__Host-sso", value: "v")
        #expect(set == "__Host-sso=v; Path=/; Secure; HttpOnly; SameSite=Lax")
        #expect(Cookies.setCookie(name: "n", value: "", maxAge: 0).contains("Max-Age=0"))
    }

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

    @Test func requestViewOfParams() {
        let r = HTTPRequest(params: ["REQUEST_URI": "/x?requestID=1&a=2", "HTTP_HOST": "App.example.test:8443", "HTTPS": "on",
                                     "HTTP_ACCEPT": "application/json", "HTTP_COOKIE": "a=b", "CONTENT_TYPE": "text/plain"])
        #expect(r.path == "/x" && r.query["a"] == "2" && r.origin?.serialized == "https://app.example.test:8443")
        #expect(r.isAPIRequest && r.cookies["a"] == "b" && r.header("content-type") == "text/plain")
        #expect(HTTPRequest(params: ["HTTP_SEC_FETCH_MODE": "navigate", "HTTP_ACCEPT": "text/html"]).isAPIRequest == false)
        #expect(HTTPRequest(params: ["HTTP_HOST": "a b"]).origin == nil)
        #expect(HTTPRequest(params: [:]).method == "GET" && HTTPRequest(params: [:]).requestURI == "/")
    }

    @Test func responseHeadersRefuseLineBreaks() {
        var r = HTTPResponse(status: 200)
        r.add("X-A", "ok")
        r.add("X-B", "bad\r\nSet-Cookie: x=1")
        r.add("X-C", "bad\nx")
        r.add("X-D", "bad\rx")
        r.add("X-E\r\n", "x")
        #expect(r.headers.count == 1)
        #expect(JSONString.quote("a\"<\n\u{01}") == "\"a\\\"\\u003c\\n\\u0001\"")
    }
}

@Suite struct CookiePairTests {
    @Test func twoCookiesInOnePass() {
        #expect(Cookies.values(named: "a", "b", in: "x=1; b=2; a=3; a=4") == ("3", "2"))
        #expect(Cookies.values(named: "a", "b", in: "a=1") == ("1", nil))
        #expect(Cookies.values(named: "a", "b", in: "") == (nil, nil))
        #expect(HTTPRequest(params: ["HTTP_COOKIE": "b=2; a=1"]).cookies("a", "b") == ("1", "2"))
    }
}
