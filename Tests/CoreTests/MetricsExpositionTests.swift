import FastCGI
import Glibc
import Testing
@testable import SSOCore

/// What a scrape shows is what was counted, from any mapping of the region, in Prometheus' text format as
/// swift-prometheus writes it: counters per label, the latency histogram's cumulative buckets, sum and count, memcached
/// failures per server, and the busy gauge summed over the worker processes.
@Suite struct MetricsExpositionTests {
    func lines(_ metrics: SSOMetrics, storeUp: Bool? = true) -> Set<String> {
        Set(String(decoding: MetricsExposition.render(metrics, storeUp: storeUp), as: UTF8.self).split(separator: "\n").map(String.init))
    }

    @Test func countsShowUnderTheirNamesAndLabels() throws {
        let region = try SharedCounters.create(count: MetricsLayout.count)
        let m = SSOMetrics(counters: region, servers: ["10.0.0.1:11211", "10.0.0.2:11211"])
        let started = SSOMetrics.now()
        m.check(.valid, startedAt: started)
        m.check(.valid, startedAt: started)
        m.check(.expiredAbsolute, startedAt: started)
        m.signIn(.badPassword)
        m.handoff(.issued)
        m.kept(.delivered)
        m.dropped(.crossOrigin)
        m.failed(server: 1)
        m.failed(server: 1)
        m.ejected(server: 1)
        m.failed(server: 99)  // past the list: counted on the last server, never a trap
        let text = lines(m)
        #expect(text.contains(#"sso_checks_total{result="valid"} 2"#))
        #expect(text.contains(#"sso_checks_total{result="expired_absolute"} 1"#))
        #expect(text.contains(#"sso_checks_total{result="no_cookie"} 0"#))
        #expect(text.contains(#"sso_signins_total{result="bad_password"} 1"#))
        #expect(text.contains(#"sso_handoffs_total{event="issued"} 1"#))
        #expect(text.contains(#"sso_kept_submissions_total{event="delivered"} 1"#))
        #expect(text.contains(#"sso_kept_submissions_dropped_total{reason="cross_origin"} 1"#))
        #expect(text.contains(#"sso_memcached_errors_total{server="10.0.0.2:11211"} 3"#))
        #expect(text.contains(#"sso_memcached_errors_total{server="10.0.0.1:11211"} 0"#))
        #expect(text.contains(#"sso_memcached_ejections_total{server="10.0.0.2:11211"} 1"#))
        #expect(text.contains(#"sso_check_duration_seconds_bucket{le="+Inf"} 3"#))
        #expect(text.contains("sso_check_duration_seconds_count 3"))
        #expect(text.contains("sso_store_up 1.0"))
        #expect(text.contains("# TYPE sso_checks_total counter"))
    }

    @Test func histogramBucketsAreCumulativeWithTheSumInSeconds() throws {
        let region = try SharedCounters.create(count: MetricsLayout.count)
        let m = SSOMetrics(counters: region, servers: [])
        for nanos: Int64 in [50_000, 200_000, 200_000, 3_000_000, 5_000_000_000] { m.checkLatency.recordNanoseconds(nanos) }
        let text = lines(m, storeUp: nil)
        #expect(text.contains(#"sso_check_duration_seconds_bucket{le="0.0001"} 1"#))
        #expect(text.contains(#"sso_check_duration_seconds_bucket{le="0.00025"} 3"#))
        #expect(text.contains(#"sso_check_duration_seconds_bucket{le="0.001"} 3"#))
        #expect(text.contains(#"sso_check_duration_seconds_bucket{le="0.005"} 4"#))
        #expect(text.contains(#"sso_check_duration_seconds_bucket{le="1.0"} 4"#))
        #expect(text.contains(#"sso_check_duration_seconds_bucket{le="+Inf"} 5"#))
        #expect(text.contains("sso_check_duration_seconds_sum 5.00345"))
        #expect(!text.contains { $0.hasPrefix("sso_store_up") })
    }

    @Test func aWorkerMappingSeesTheSupervisorsCountsAndBusyIsSummed() throws {
        let region = try SharedCounters.create(count: MetricsLayout.count)
        let worker = SSOMetrics(counters: try SharedCounters.attach(fd: dup(region.fd), count: MetricsLayout.count), servers: [])
        let other = SSOMetrics(counters: region, servers: [])
        worker.signIn(.ok)
        other.signIn(.ok)
        region.add(MetricsLayout.busySlots.lowerBound, 2)
        region.add(MetricsLayout.busySlots.lowerBound + 5, 1)
        #expect(lines(worker).contains(#"sso_signins_total{result="ok"} 2"#))
        #expect(lines(other).contains("sso_workers_busy 3.0"))
    }
}
