import Testing
@testable import FastCGI
@testable import SSOCore

/// Every HTML page (sign-in form, messages, the 503 and 403 pages) carries the same security headers: no framing by
/// any site (CSP frame-ancestors and X-Frame-Options for browsers without CSP 2), no caching, no Referer to where its
/// links lead (the sign-in URLs carry a redirectURL and a state), no MIME sniffing, and a CSP that allows nothing but
/// the page's own stylesheet, named by a nonce that is new on every page.
@Suite struct PageSecurityHeadersTests {
    let page = Page(branding: SSOConfig.Branding(productName: "Acme SSO", accentColor: "#123456", logoURL: ""),
                    formTargets: [Origin(parsing: "https://app.example.test:8443")!])

    func pages() -> [(String, HTTPResponse)] {
        [("login", page.login(status: .ok, target: "Infusion", redirectURL: "https://app.example.test:8443/a", state: "s",
                              csrf: "c")),
         ("message", page.message(status: .serviceUnavailable, title: "Sign-in is unavailable", text: "later",
                                  link: ("Try again", "/x"))),
         ("render", page.render(status: .forbidden, title: "No access", content: "<p>no</p>"))]
    }

    /// The directives of a CSP header, by name.
    func directives(_ csp: String) -> [String: String] {
        var out: [String: String] = [:]
        for part in csp.split(separator: ";") {
            let words = part.split(separator: " ", maxSplits: 1).map(String.init)
            guard let name = words.first else { continue }
            out[name] = words.count > 1 ? words[1] : ""
        }
        return out
    }

    @Test func everyPageRefusesFramingCachingSniffingAndReferrers() {
        for (name, r) in pages() {
            #expect(r.header(.xFrameOptions) == "DENY", "\(name)")
            #expect(r.header(.cacheControl) == "no-store", "\(name)")
            #expect(r.header(.referrerPolicy) == "no-referrer", "\(name)")
            #expect(r.header(.xContentTypeOptions) == "nosniff", "\(name)")
            #expect(r.header(.contentType) == "text/html; charset=utf-8", "\(name)")
        }
    }

    @Test func theCSPAllowsOnlyThePagesOwnStyleAndForms() throws {
        for (name, r) in pages() {
            let csp = try #require(r.header(.contentSecurityPolicy), "\(name)")
            let d = directives(csp)
            #expect(d["default-src"] == "'none'", "\(name): \(csp)")
            #expect(d["frame-ancestors"] == "'none'", "\(name): \(csp)")
            #expect(d["base-uri"] == "'none'", "\(name): \(csp)")
            #expect(d["img-src"] == "'self' data:", "\(name): \(csp)")
            #expect(d["form-action"] == "'self' https://app.example.test:8443", "\(name): \(csp)")
            let style = try #require(d["style-src"], "\(name): \(csp)")
            #expect(style.hasPrefix("'nonce-") && style.hasSuffix("'") && !style.contains(" "), "\(name): \(csp)")
            // The nonce in the header is the one on the page's <style>, and nowhere is script allowed.
            let nonce = String(style.dropFirst("'nonce-".count).dropLast())
            #expect(String(decoding: r.body, as: UTF8.self).contains("<style nonce=\"\(nonce)\">"), "\(name)")
            #expect(d["script-src"] == nil && !csp.contains("unsafe-inline") && !csp.contains("*"), "\(name): \(csp)")
        }
    }

    @Test func theNonceIsNewOnEveryPage() throws {
        var seen = Set<String>()
        for _ in 0..<20 {
            let r = page.render(status: .ok, title: "t", content: "")
            let csp = try #require(r.header(.contentSecurityPolicy))
            let nonce = try #require(directives(csp)["style-src"])
            #expect(nonce.count >= "'nonce-'".count + 16, "\(nonce)")  // 16 random bytes, base64url
            seen.insert(nonce)
        }
        #expect(seen.count == 20)
    }
}
