import Testing
@testable import SSOCore

/// `decision_cache.*`: off unless asked, 0 to 5 seconds, an absolute path; and the nginx lines made from it.
@Suite struct DecisionCacheConfigTests {
    func load(_ extra: String) throws(ConfigError) -> SSOConfig {
        try ConfigLoader.load(contents: Array((ConfigTests.valid + "\n" + extra + "\n").utf8), file: "/etc/sso/sso.yaml")
    }

    func problems(_ extra: String) -> [String] {
        do { _ = try load(extra); return [] } catch { return error.problems.map(\.key) }
    }

    @Test func offByDefault() throws {
        let c = try load("")
        #expect(c.decisionCache.seconds == 0 && c.decisionCache.path == "/var/lib/nginx/sso-auth-cache" && c.decisionCache.zoneMB == 10)
        let http = WebServerConfig.nginxHTTP(c, source: "/etc/sso/sso.yaml")
        #expect(!http.contains("fastcgi_cache_path"))
        #expect(http.contains("default off;"))
        // The maps are always there: the shipped sso-auth-location.conf reads them whether the cache is on or not.
        #expect(http.contains("$sso_auth_cache_skip {") && http.contains("$sso_auth_cache {"))
    }

    @Test func onItDeclaresTheZoneAndTheSkipMapNamesTheConfiguredCookies() throws {
        let c = try load("""
        cookie: {name: __Host-sess}
        request_cache: {cookie_name: __Host-kept}
        decision_cache: {seconds: 3, path: /run/nginx/sso-cache, zone_mb: 2}
        """)
        #expect(c.decisionCache.seconds == 3)
        let http = WebServerConfig.nginxHTTP(c, source: "/etc/sso/sso.yaml")
        #expect(http.contains("fastcgi_cache_path /run/nginx/sso-cache levels=1:2 keys_zone=sso_auth:2m inactive=8s use_temp_path=off;"))
        #expect(http.contains("default sso_auth;"))
        #expect(http.contains("\"~__Host-kept\" 1;") && http.contains("\"~__Host-sess=\" $sso_auth_cache_skip_uri;"))
        #expect(http.contains("\"~*requestid\" 1;"))
    }

    @Test func outOfRangeSecondsAndRelativeOrOddPathsAreProblems() {
        #expect(problems("decision_cache: {seconds: 6}") == ["decision_cache.seconds"])
        #expect(problems("decision_cache: {seconds: -1}") == ["decision_cache.seconds"])
        #expect(problems("decision_cache: {path: var/cache}") == ["decision_cache.path"])
        #expect(problems("decision_cache: {path: \"/var/a b\"}") == ["decision_cache.path"])
        #expect(problems("decision_cache: {path: \"/var/a;b\"}") == ["decision_cache.path"])
        #expect(problems("decision_cache: {zone_mb: 0}") == ["decision_cache.zone_mb"])
        #expect(problems("decision_cache: {seconds: 5}").isEmpty)
    }
}
