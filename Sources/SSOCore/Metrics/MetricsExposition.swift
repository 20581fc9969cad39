import FastCGI
import Prometheus

/// Renders the program's counts in Prometheus' text format with swift-prometheus, read from `SharedCounters` at the time
/// of the scrape.
///
/// Why not swift-prometheus' own registry as the swift-metrics backend (`PrometheusMetricsFactory`): its counters and
/// histograms live in the memory of one process, and a scrape reaches one worker process of several (`processes`), so
/// it would show that process's share only, and lose it when the worker is restarted. The counts are therefore kept in
/// the supervisor's shared memory (`SlotCounter`, `SlotHistogram`) and copied into a fresh registry per scrape, which
/// renders them. One thing swift-prometheus cannot take as a copy: a histogram's state (its `Histogram` only records
/// observations one at a time, O(observations) to rebuild). The check latency histogram is therefore rendered as the
/// counters a classic Prometheus histogram consists of: `sso_check_duration_seconds_bucket{le=…}` (cumulative),
/// `_sum` (seconds) and `_count`. `histogram_quantile()` works on them as on any classic histogram; only the `# TYPE`
/// line says `counter` instead of `histogram`.
public enum MetricsExposition {
    /// The content type of `render`'s text.
    public static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    /// The text of a scrape, with `storeUp` (the health probe's answer, nil when not probed) as `sso_store_up`.
    public static func render(_ metrics: SSOMetrics, storeUp: Bool?) -> [UInt8] {
        let registry = PrometheusCollectorRegistry()
        let counters = metrics.counters
        func family<Label>(_ name: String, _ help: String, _ label: String, _ cases: [Label], base: Int,
                           value: (Label) -> String) {
            let descriptor = MetricNameDescriptor(metricName: name, unitName: "total", helpText: help)
            for (index, item) in cases.enumerated() {
                registry.makeCounter(descriptor: descriptor, labels: [(label, value(item))])
                    .increment(by: Int64(clamping: counters.value(base + index)))
            }
        }
        typealias L = MetricsLayout
        family("sso_checks", "Checks the web server asked for, by result.", "result", CheckResult.allCases,
               base: L.checks) { $0.label }
        family("sso_signins", "Sign-in form submissions on the accounts host, by result.", "result", SignInResult.allCases,
               base: L.signIns) { $0.label }
        family("sso_handoffs", "Hand-offs (requestIDs): issued by the accounts host, redeemed or refused on app hosts.",
               "event", HandoffEvent.allCases, base: L.handoffs) { $0.label }
        family("sso_kept_submissions", "Form submissions kept across a sign-in, and delivered to the app after it.", "event",
               KeptEvent.allCases, base: L.kept) { $0.label }
        family("sso_kept_submissions_dropped", "Form submissions not kept, or kept and not delivered, by reason.", "reason",
               DropReason.allCases, base: L.dropped) { $0.label }
        let servers = Array(metrics.servers.prefix(L.maxServers))
        family("sso_memcached_errors", "memcached operations a server did not answer, by server.", "server", servers,
               base: L.storeErrors) { $0 }
        family("sso_memcached_ejections", "Times a memcached server was ejected (left alone for the retry timeout).", "server",
               servers, base: L.storeEjections) { $0 }
        renderLatency(registry, counters)
        registry.makeGauge(descriptor: MetricNameDescriptor(
            metricName: "sso_workers_busy", unitName: "", helpText: "Worker threads answering a request now, over every worker process."))
            .set(to: Double(metrics.workersBusy))
        if let storeUp {
            registry.makeGauge(descriptor: MetricNameDescriptor(
                metricName: "sso_store_up", unitName: "", helpText: "1 when the store answered this scrape's probe, else 0."))
                .set(to: storeUp ? 1.0 : 0.0)
        }
        return registry.emitToBuffer()
    }

    /// The check latency histogram as classic histogram series (see the type's comment).
    private static func renderLatency(_ registry: PrometheusCollectorRegistry, _ counters: SharedCounters) {
        typealias L = MetricsLayout
        let help = "Time to answer a check, in seconds (a classic histogram: _bucket, _sum, _count)."
        let bucket = MetricNameDescriptor(metricName: "sso_check_duration_seconds", unitName: "bucket", helpText: help)
        var cumulative: UInt64 = 0
        for (index, bound) in L.checkBuckets.enumerated() {
            cumulative &+= counters.value(L.checkHistogram + index)
            registry.makeCounter(descriptor: bucket, labels: [("le", "\(bound)")]).increment(by: Int64(clamping: cumulative))
        }
        let count = counters.value(L.checkCount)
        registry.makeCounter(descriptor: bucket, labels: [("le", "+Inf")]).increment(by: Int64(clamping: count))
        registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "sso_check_duration_seconds", unitName: "sum", helpText: help))
            .increment(by: Double(counters.value(L.checkSum)) / 1e9)
        registry.makeCounter(descriptor: MetricNameDescriptor(metricName: "sso_check_duration_seconds", unitName: "count", helpText: help))
            .increment(by: Int64(clamping: count))
    }
}
