import FastCGI
import SSOCore
import SSOJWT

/// AccountsFCGI's dispatcher: one step per path of the accounts host.
struct AccountsApp: Handler {
    let host: AccountsHost
    let noCookie: NoCookieStep
    let copyCookie: CopyCookieStep
    let login: LoginStep
    let logout: LogoutStep
    let landing: LandingStep

    init(config: SSOConfig, keys: JWTKeySet, users: UsersFile, audit: AuditLog = .off) {
        let host = AccountsHost(config: config, keys: keys, users: users, audit: audit)
        self.host = host
        noCookie = NoCookieStep(host: host)
        copyCookie = CopyCookieStep(host: host)
        login = LoginStep(host: host)
        logout = LogoutStep(host: host)
        landing = LandingStep(host: host)
    }

    func respond(to request: HTTPRequest, context: RequestContext) -> HTTPResponse {
        if request.bodyOmitted {
            return host.page.message(status: .contentTooLarge, title: "Too much data", text: "The form sent more data than sign-in accepts.")
        }
        do {
            switch (request.method, request.path) {
            case ("GET", "/noCookie"), ("HEAD", "/noCookie"):
                return try noCookie.respond(to: request, context: context)
            case ("GET", "/copyCookie"), ("HEAD", "/copyCookie"):
                return try copyCookie.respond(to: request, context: context)
            case ("GET", "/login"), ("HEAD", "/login"):
                return try login.page(request)
            case ("POST", "/login"):
                return try login.respond(to: request, context: context)
            case ("GET", "/logout"), ("HEAD", "/logout"):
                return try logout.page(request, context: context)
            case ("POST", "/logout"):
                return try logout.respond(to: request, context: context)
            case ("GET", "/"), ("HEAD", "/"):
                return try landing.respond(to: request, context: context)
            case ("GET", "/healthz"):
                return .text(.ok, "ok\n")
            case ("GET", OpsEndpoints.metricsPath), ("HEAD", OpsEndpoints.metricsPath):
                return OpsEndpoints.metrics(context, prefix: host.config.keyPrefix)
            case ("GET", OpsEndpoints.healthPath), ("HEAD", OpsEndpoints.healthPath):
                return OpsEndpoints.health(context, prefix: host.config.keyPrefix)
            case (_, "/noCookie"), (_, "/copyCookie"), (_, "/login"), (_, "/logout"), (_, "/"):
                return host.page.message(status: .methodNotAllowed, title: "Not allowed",
                                         text: "This address does not accept \(request.method) requests.")
                    .adding(.allow, "GET")
            default:
                return host.page.message(status: .notFound, title: "Page not found", text: "There is nothing at this address.",
                                         link: ("Go to sign-in", "/"))
            }
        } catch {
            context.logger.debug("store unavailable", metadata: ["error": "\(error)", "path": "\(request.path)"])
            return host.unavailable()
        }
    }
}
