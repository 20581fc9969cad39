import FastCGI

/// The header fields the SSO reads and writes that swift-http-types has no name for: one table, so no header name is
/// spelled twice.
extension HTTPHeaderName {
    /// The signed-in user's name, set for the app (nginx `auth_request_set`, Apache `RequestHeader`).
    public static let xRemoteUser = known("X-Remote-User")
    /// The signed-in user's e-mail address.
    public static let xRemoteEmail = known("X-Remote-Email")
    /// The signed-in user's display name.
    public static let xRemoteName = known("X-Remote-Name")
    /// nginx: how many seconds it may keep this answer (decision cache, docs/nginx.md); `0`: never.
    public static let xAccelExpires = known("X-Accel-Expires")
    /// Apache mod_authnz_fcgi: `Variable-SSO_USER` in an authorizer's 200 becomes the env var `SSO_USER`.
    public static let variableSSOUser = known("Variable-SSO_USER")
    /// Apache mod_authnz_fcgi: the env var `SSO_EMAIL`.
    public static let variableSSOEmail = known("Variable-SSO_EMAIL")
    /// Apache mod_authnz_fcgi: the env var `SSO_NAME`.
    public static let variableSSOName = known("Variable-SSO_NAME")
    /// Apache mod_authnz_fcgi: a refusal's own Content-Type, which Apache would replace with
    /// `text/html; charset=iso-8859-1`; `apache/sso-protect.conf` puts it back and removes this header.
    public static let xSSOContentType = known("X-SSO-Content-Type")
    public static let xFrameOptions = known("X-Frame-Options")
    public static let referrerPolicy = known("Referrer-Policy")
    public static let xForwardedFor = known("X-Forwarded-For")
    public static let xForwardedProto = known("X-Forwarded-Proto")
}
