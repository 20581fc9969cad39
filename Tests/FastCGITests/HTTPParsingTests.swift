import Testing
@testable import FastCGI

/// Outside data that must parse or be refused, never crash: query strings, forms, cookies, params, response headers.
@Suite struct HTTPParsingTests {
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
        // A name sent twice is read as absent: a host holds one `__Host-` cookie of a name, a second was tossed in.
        #expect(Cookies.parse("a=1; a=2; b=3") == ["b": "3"] && Cookies.parse("a=1; a=2; a=3") == [:])
        #expect(Cookies.value(named: "a", in: "a=1; b=2; a=1") == nil && Cookies.value(named: "b", in: "a=1; b=2; a=1") == "2")
        // A name is exactly what comes before '=': `a =1` is no cookie `a` (the servers' removal rules would miss it).
        #expect(Cookies.parse("a =1; b=2") == ["a ": "1", "b": "2"] && Cookies.value(named: "a", in: "a =1") == nil)
        #expect(Cookies.parse("  a=1;\tb= 2") == ["a": "1", "b": "2"])
        // A ',' is part of a value: a sibling subdomain's `x=1,__Host-sso=…` is one cookie `x`, not a `__Host-` one.
        #expect(Cookies.parse("a=1; b=2, c=3") == ["a": "1", "b": "2, c=3"])
        #expect(Cookies.value(named: "__Host-sso", in: "x=1,__Host-sso=planted; __Host-sso=real") == "real")
        #expect(Cookies.values(named: "__Host-sso", "__Host-sso_csrf", in: "x=1,__Host-sso_csrf=K, __Host-sso=T") == (nil, nil))
        #expect(Cookies.parse("junk; =x; b=\"q\"; c==d") == ["b": "q", "c": "=d"])
        #expect(Cookies.parse(String(repeating: "a=b; ", count: 5000)) == [:])
        let set = Cookies.setCookie(name: "__Host-sso", value: "v")
        #expect(set == "__Host-sso=v; Path=/; Secure; HttpOnly; SameSite=Lax")
        #expect(Cookies.setCookie(name: "n", value: "", maxAge: 0).contains("Max-Age=0"))
    }

    @Test func requestViewOfParams() {
        let r = HTTPRequest(params: ["REQUEST_URI": "/x?requestID=1&a=2", "HTTP_HOST": "App.example.test:8443", "HTTPS": "on",
                                     "HTTP_ACCEPT": "application/json", "HTTP_COOKIE": "a=b", "CONTENT_TYPE": "text/plain",
                                     "HTTP_X_FORWARDED_FOR": "10.0.0.1"])
        #expect(r.path == "/x" && r.query["a"] == "2" && r.isHTTPS)
        #expect(r.cookies["a"] == "b" && r.header("content-type") == "text/plain")
        #expect(r.headers.contains { $0.name == "x-forwarded-for" && $0.value == "10.0.0.1" })
        #expect(HTTPRequest(params: [:]).method == "GET" && HTTPRequest(params: [:]).requestURI == "/")
    }

    @Test func responseHeadersNeverSplitTheResponse() throws {
        var r = HTTPResponse(status: .ok)
        r.add(.location, "ok")
        r.add(HTTPHeaderName.known("X-B"), "bad\r\nSet-Cookie: x=1")
        r.add(HTTPHeaderName.known("X-C"), "bad\nx")
        #expect(r.headers.count == 3)
        #expect(r.headerValues(.setCookie).isEmpty)
        for field in r.headers {
            field.withUnsafeBytesOfValue { #expect(!$0.contains(13) && !$0.contains(10)) }
        }
        #expect(HTTPHeaderName("X-E\r\n") == nil)
        #expect(r.with(status: .badGateway).status.reasonPhrase == "Bad Gateway")
        #expect(HTTPStatus(code: 431).code == 431 && HTTPStatus.requestHeaderFieldsTooLarge.reasonPhrase == "Request Header Fields Too Large")
    }
}

@Suite struct CookiePairTests {
    @Test func twoCookiesInOnePass() {
        #expect(Cookies.values(named: "a", "b", in: "x=1; b=2; a=3") == ("3", "2"))
        #expect(Cookies.values(named: "a", "b", in: "x=1; b=2; a=3; a=4") == (nil, "2"))
        #expect(Cookies.values(named: "a", "b", in: "b=2; a=3; b=2") == ("3", nil))
        #expect(Cookies.values(named: "a", "b", in: "a=1") == ("1", nil))
        #expect(Cookies.values(named: "a", "b", in: "") == (nil, nil))
        #expect(HTTPRequest(params: ["HTTP_COOKIE": "b=2; a=1"]).cookies("a", "b") == ("1", "2"))
    }
}
