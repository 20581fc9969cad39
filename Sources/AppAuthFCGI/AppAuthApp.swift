import FastCGI
import SSOCore
import SSOJWT

/// AppAuthFCGI's dispatcher: finds the site the request is for, decides the step once, and hands over to that step.
struct AppAuthApp: Handler {
    let host: AppHost
    let check: AuthCheckStep
    let signIn: SignInStep
    let authorizer: AuthorizerStep
    let capture: CaptureStep
    let replay: ReplayStep

    init(config: SSOConfig, keys: JWTKeySet, backend: (any BackendClient)? = nil, audit: AuditLog = .off) {
        let host = AppHost(config: config, keys: keys, backend: backend ?? SocketBackendClient(
            timeoutSeconds: config.requestCache.backendTimeout, maxResponseBytes: config.requestCache.maxResponseBytes),
            audit: audit)
        self.host = host
        let route = ReplayRoute(host: host)
        self.check = AuthCheckStep(host: host, route: route)
        self.capture = CaptureStep(host: host)
        self.signIn = SignInStep(host: host, capture: capture)
        self.authorizer = AuthorizerStep(host: host, signIn: signIn, route: route)
        self.replay = ReplayStep(host: host, capture: capture)
    }

    func respond(to request: HTTPRequest, context: RequestContext) -> HTTPResponse {
        let step = Step(request)
        // Not for a site: the same answer on every protected host.
        if step == .metrics { return OpsEndpoints.metrics(context, prefix: host.config.keyPrefix) }
        if step == .health { return OpsEndpoints.health(context, prefix: host.config.keyPrefix) }
        guard let origin = request.origin, let service = host.config.registry.service(at: origin) else {
            context.logger.error("origin not in the service registry", metadata: ["origin": "\(request.origin?.serialized ?? "(none)")"])
            // The auth check's answers have empty bodies (nginx discards them); its 403 asks @sso_replay for this page.
            if step == .check { return AuthCheckStep.notKept(HTTPResponse.empty(.forbidden).adding(.ssoRoute, "page")) }
            return host.page.message(status: .forbidden, title: "Sign-in is not set up for this site",
                                     text: "This address is not registered with the single sign-on. Contact the administrator of this site.")
        }
        let site = Site(origin: origin, service: service)
        switch step {
        case .check: return check.respond(to: request, at: site, context: context)
        case .signIn: return signIn.respond(to: request, at: site, context: context)
        case .authorize: return authorizer.respond(to: request, at: site, context: context)
        case .capture: return capture.respond(to: request, at: site, context: context)
        case .replay: return replay.respond(to: request, at: site, context: context)
        case .metrics, .health: return .empty(.notFound)  // answered above
        }
    }
}
