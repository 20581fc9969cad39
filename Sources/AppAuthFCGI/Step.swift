import FastCGI
import SSOCore

/// What the web server asked for, decided once per request: from the FastCGI role (Apache's authorizer), the
/// `SSO_ACTION` param (nginx's locations; Apache's replay rule and capture location), or the path (`/_sso/metrics`,
/// `/_sso/health`).
enum Step: Equatable {
    /// nginx `auth_request`: the yes/no oracle.
    case check
    /// Where a 401 lands: redeem a requestID, keep a submission, or send the browser to sign in.
    case signIn
    /// Apache mod_authnz_fcgi: the check and the sign-in path in one answer.
    case authorize
    /// Apache: the browser re-sent a form here after the authorizer's 307.
    case capture
    /// A signed-in request for which a kept submission may wait.
    case replay
    /// `/_sso/metrics` (nginx: `SSO_ACTION metrics`; Apache: the path, proxied): the program's counts.
    case metrics
    /// `/_sso/health`: 200 while the store answers, 503 otherwise.
    case health

    init(_ request: HTTPRequest) {
        if request.role == .authorizer { self = .authorize; return }
        switch request.params["SSO_ACTION"] {
        case "check": self = .check
        case "replay": self = .replay
        case "capture": self = .capture
        case "metrics": self = .metrics
        case "health": self = .health
        case nil where request.path == OpsEndpoints.metricsPath: self = .metrics
        case nil where request.path == OpsEndpoints.healthPath: self = .health
        default: self = .signIn
        }
    }
}
