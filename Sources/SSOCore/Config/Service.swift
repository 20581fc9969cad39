/// One protected application in the service registry.
public struct Service: Sendable, Equatable {
    /// The registry name users are registered for (e.g. `infusion`).
    public let name: String
    /// The name shown to people (e.g. `Infusion`).
    public let title: String
    /// Every origin the service is reachable at; `redirectURL` and requestIDs are accepted only for these.
    public let origins: [Origin]
    /// IDLE_TIMEOUT in seconds.
    public let idleTimeout: Int64
}

/// The service registry: which origins exist, and which service each belongs to.
public struct ServiceRegistry: Sendable {
    public let services: [Service]
    private let byOrigin: [Origin: Service]
    /// Every registered origin, for redirect validation.
    public let origins: Set<Origin>

    public init(_ services: [Service]) {
        self.services = services
        var map: [Origin: Service] = [:]
        for service in services { for origin in service.origins { map[origin] = service } }
        self.byOrigin = map
        self.origins = Set(map.keys)
    }

    /// The service at `origin`, if registered.
    public func service(at origin: Origin) -> Service? { byOrigin[origin] }

    /// The service named `name`.
    public func service(named name: String) -> Service? { services.first { $0.name == name } }

    /// SESSION_TIME_OUT for a user registered for `names`: the least IDLE_TIMEOUT among them
    /// (`fallback` seconds when the user has none).
    public func sessionTimeout(for names: [String], fallback: Int64) -> Int64 {
        names.compactMap { service(named: $0)?.idleTimeout }.min() ?? fallback
    }
}
