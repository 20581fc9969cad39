import SSOCore

/// `redirectURL` as a browser (or an attacker's link) sends it to `noCookie` and `copyCookie`, and origins as the
/// config and the `Origin` header give them.
enum RedirectFuzz {
    static let target = FuzzTarget(
        name: "redirect",
        covers: "RedirectTarget.validate and appendingQuery, Origin(parsing:) and serialized",
        maxLength: 4200,
        dictionary: ["https://", "http://", "app.example.test", "dextor.leantaas.test", ":8443", ":443", ":0", "@", "\\", "//",
                     "%2e", "#", "?", "/", ".", "..", "\t", "\u{7F}", "é"],
        run: { bytes in run(FuzzInput.text(bytes)) })

    static let allowed: Set<Origin> = Set(["https://app.example.test", "https://app.example.test:8443",
                                           "https://dextor.leantaas.test"].compactMap { Origin(parsing: $0) })

    static func run(_ text: String) {
        if let origin = Origin(parsing: text) {
            FuzzCheck.require(Origin(parsing: origin.serialized) == origin, "an origin does not survive its own serialization")
            FuzzCheck.require((1...65535).contains(origin.port), "an origin with port \(origin.port)")
            FuzzCheck.require(!origin.host.isEmpty && origin.host.utf8.allSatisfy {
                ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E
            }, "an origin with a host outside [a-z0-9.-]")
        }
        guard let target = RedirectTarget.validate(text, allowedOrigins: allowed) else { return }
        FuzzCheck.require(allowed.contains(target.origin), "a redirect to an origin outside the registry")
        FuzzCheck.require(target.url == target.origin.serialized + target.pathAndQuery, "url is not origin + path")
        FuzzCheck.require(target.pathAndQuery.hasPrefix("/") && !target.pathAndQuery.hasPrefix("//"), "path does not start with one /")
        FuzzCheck.require(target.url.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F && $0 != "\\" },
                          "a redirect with whitespace, a control character, a backslash or non-ASCII")
        FuzzCheck.require(RedirectTarget.validate(target.url, allowedOrigins: allowed) == target, "validate is not idempotent")
        let withID = target.appendingQuery("requestID", "0123-abcd")
        FuzzCheck.require(withID.hasPrefix(target.origin.serialized + "/"), "appending a query changed the origin")
    }
}
