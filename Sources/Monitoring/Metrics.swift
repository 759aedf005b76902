import CoreMetrics
import Prometheus

/// The process-wide Prometheus registry behind swift-metrics. Libraries (capture, fan-out,
/// upload) record through swift-metrics; only `logbook run --metrics-address` bootstraps it.
public enum MetricsBackend {
    /// Bootstraps swift-metrics with a Prometheus registry the first time and returns that registry
    /// every time (swift-metrics takes one backend per process; a program may run the sidecar twice).
    public static func bootstrapPrometheus() -> PrometheusCollectorRegistry { shared }

    private static let shared: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        // Fsync and upload latencies: from 100 µs to 10 s.
        factory.defaultDurationHistogramBuckets = [
            .microseconds(100), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .seconds(2), .seconds(5), .seconds(10),
        ]
        MetricsSystem.bootstrap(factory)
        return registry
    }()
}
