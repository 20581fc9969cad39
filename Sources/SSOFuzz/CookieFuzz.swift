import FastCGI
import SSOCore

/// The request values read on every request: the `Cookie` header, query strings and form bodies, percent-encoding,
/// removing `requestID` from a URL, the client address a throttle counts by.
enum CookieFuzz {
    static let target = FuzzTarget(
        name: "cookies",
        covers: "Cookies.parse/value/values, HTTPRequest.cookie(s)/query, FormFields, PercentEncoding, URLQuery.removing/appending, ClientAddress.throttleKey",
        maxLength: Cookies.maxHeaderLength + 256,
        dictionary: ["; ", "=", "\"", "%", "%C3%A9", "%ZZ", "%00", "+", "&", "requestID=", "sso_switch=", "sso=", "::", "::ffff:",
                     "%eth0", "\t"],
        run: { bytes in run(bytes) })

    static func run(_ bytes: [UInt8]) {
        let text = FuzzInput.text(bytes)
        cookies(text)
        forms(text, bytes)
        percent(text)
        query(text)
        _ = ClientAddress.throttleKey(text)
    }

    /// One pass for one cookie, one for two, and the dictionary must all agree.
    static func cookies(_ header: String) {
        let all = Cookies.parse(header)
        for name in Array(all.keys.sorted().prefix(4)) + ["sso", "absent"] {
            FuzzCheck.require(Cookies.value(named: name, in: header) == all[name], "Cookies.value disagrees with parse")
        }
        if let first = all.keys.min(), let last = all.keys.max(), first != last {
            let (a, b) = Cookies.values(named: first, last, in: header)
            FuzzCheck.require(a == all[first] && b == all[last], "Cookies.values disagrees with parse")
        }
        let request = HTTPRequest(params: ["HTTP_COOKIE": header])
        FuzzCheck.require(request.cookies == all, "HTTPRequest.cookies disagrees with Cookies.parse")
        FuzzCheck.require(request.cookie("sso") == all["sso"], "HTTPRequest.cookie disagrees with Cookies.parse")
    }

    static func forms(_ text: String, _ bytes: [UInt8]) {
        let form = FormFields(parsing: text)
        for pair in form.pairs.prefix(4) {
            FuzzCheck.require(form[pair.name] != nil && form.count(pair.name) >= 1, "a parsed form field cannot be found")
        }
        _ = FormFields(body: bytes).pairs.count
    }

    static func percent(_ text: String) {
        FuzzCheck.require(PercentEncoding.decode(PercentEncoding.encode(text)) == text, "percent-encoding does not round-trip")
        if let decoded = PercentEncoding.decode(text, plusIsSpace: true) {
            FuzzCheck.require(PercentEncoding.decode(PercentEncoding.encode(decoded)) == decoded, "percent-encoding does not round-trip")
        }
    }

    /// After `URLQuery.removing(name, …)` the request's query has no `name` left, and removing again changes nothing.
    static func query(_ text: String) {
        let uri = "/p?" + text
        var names = ["requestID", "sso_switch"]
        if let first = FormFields(parsing: text).pairs.first?.name { names.append(first) }
        for name in names {
            let removed = URLQuery.removing(name, from: uri)
            FuzzCheck.require(HTTPRequest(params: ["REQUEST_URI": removed]).query.count(name) == 0, "URLQuery.removing left the parameter")
            FuzzCheck.require(URLQuery.removing(name, from: removed) == removed, "URLQuery.removing is not idempotent")
        }
        _ = URLQuery.appending("requestID", text, to: uri)
    }
}
