/// Something that contributes families to an exposition when it is scraped (process metrics).
public protocol MetricsCollector: Sendable {
    func collect() -> [MetricFamilySnapshot]
}
