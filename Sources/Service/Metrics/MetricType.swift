/// The Prometheus metric types this registry exposes.
public enum MetricType: String, Sendable {
    case counter
    case gauge
    case histogram
}
