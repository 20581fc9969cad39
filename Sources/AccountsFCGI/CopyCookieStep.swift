import FastCGI
import SSOCore
import SSOCrypto

/// Steps 4–5: `copyCookie` gives a signed-in user registered for the target a requestID (a one-time hand-off of a JWT
/// minted for the target origin alone, with the same TokenID, so one logout still ends it) and sends them back; anyone
/// else gets the sign-in form or a 403 page.
struct CopyCookieStep: AccountsStep {
    let host: AccountsHost

    func respond(to request: HTTPRequest, context: RequestContext) throws -> HTTPResponse {
        guard let target = host.redirectTarget(request.query["redirectURL"]),
              let service = host.config.registry.service(at: target.origin) else { return host.badRedirect() }
        let state = host.state(request.query["state"])
        switch try host.session(request, context: context) {
        case .valid(let identity):
            guard identity.claims.svc.contains(service.name) else {
                context.logger.notice("not registered", metadata: ["user": "\(identity.claims.sub)", "service": "\(service.name)"])
                return host.noAccess(service: service, user: identity.claims.name)
            }
            // A requestID is only for the browser the app host sent here: without its state, the browser is sent to the
            // app, which starts the sign-in properly (and comes back here with one).
            guard let state else { return .redirect(to: target.url) }
            let requestID = try SecureRandom.uuidV4()
            let origin = target.origin.serialized
            let token = try host.gate.check.codec.sign(identity.claims.addressed(to: origin, realm: host.config.audience, now: context.now))
            try host.gate.store(context).putHandoff(RequestHandoff(jwt: token, origin: origin, state: state),
                                                   requestID: requestID, ttl: host.config.requestIDTTL)
            context.metrics.handoff(.issued)
            return .redirect(to: target.appendingQuery("requestID", requestID))
        case .refused:
            return try host.form(request, target: target, service: service, state: state, status: .ok, message: nil)
        }
    }
}
