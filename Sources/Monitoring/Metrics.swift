import CoreMetrics
import Prometheus

/// The process-wide Prometheus registry behind swift-metrics. Libraries (capture, fan-out,
/// upload) record through swift-metrics; only `logbook run --metrics-address` bootstraps it.
public enum MetricsBackend {
    /// Bootstraps swift-metrics with a Prometheus registry once and returns it.
    public static func bootstrapPrometheus() -> PrometheusCollectorRegistry {
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
    }
}
