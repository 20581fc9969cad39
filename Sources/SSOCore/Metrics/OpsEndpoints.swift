import FastCGI
import SSOStore

/// `/_sso/metrics` and `/_sso/health`, answered the same way by both programs. The web server decides who may ask
/// (nginx/sso-metrics-access.conf, apache/sso-metrics-access.conf); the programs answer whoever reaches them.
public enum OpsEndpoints {
    /// The paths, as the snippets route them.
    public static let metricsPath = "/_sso/metrics"
    public static let healthPath = "/_sso/health"

    /// The key the health probe reads (never written: absent is an answer).
    static func probeKey(_ prefix: String) -> String { prefix + "~health" }

    /// Whether this worker's store answers a read now. With replicas, a read answers when one of the probe key's copies
    /// answers (`ReplicatedStore`); which servers failed is in `sso_memcached_errors_total`.
    public static func storeAnswers(_ context: RequestContext, prefix: String) -> Bool {
        do {
            _ = try context.store.get(probeKey(prefix))
            return true
        } catch {
            return false
        }
    }

    /// 200 "ok" when the store answers, 503 otherwise; never cached.
    public static func health(_ context: RequestContext, prefix: String) -> HTTPResponse {
        let up = storeAnswers(context, prefix: prefix)
        return HTTPResponse.text(up ? .ok : .serviceUnavailable, up ? "ok\n" : "store unavailable\n")
            .adding(.cacheControl, "no-store")
    }

    /// The whole program's counts in Prometheus' text format (GET or HEAD).
    public static func metrics(_ context: RequestContext, prefix: String) -> HTTPResponse {
        let body = MetricsExposition.render(context.metrics, storeUp: storeAnswers(context, prefix: prefix))
        var response = HTTPResponse(status: .ok)
        response.body = body
        return response.adding(.contentType, MetricsExposition.contentType).adding(.cacheControl, "no-store")
    }
}
