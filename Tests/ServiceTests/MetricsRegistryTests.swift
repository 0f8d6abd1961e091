import Testing
@testable import Service

@Suite struct MetricsRegistryTests {
    static func nameIsValid(_ name: String) -> Bool {
        guard let first = name.first, first.isLetter || first == "_" || first == ":" else { return false }
        return name.allSatisfy { ($0.isASCII && ($0.isLetter || $0.isNumber)) || $0 == "_" || $0 == ":" }
    }

    @Test func exposesCountersGaugesAndHistograms() throws {
        let registry = MetricsRegistry()
        let requests = registry.counter("app_requests_total", help: "Requests.\nSecond line with a \\ backslash.", labelNames: ["path", "code"])
        requests.labels("/v1/x", "200").increment()
        requests.labels("/v1/x", "200").increment(by: 2)
        requests.labels("quote\" back\\slash\nnewline", "500").increment()
        registry.gauge("app_temperature", help: "A gauge.").labels().set(-1.5)
        let latency = registry.histogram("app_latency_seconds", help: "Latency.", labelNames: ["model"], upperBounds: [0.1, 1])
        for value in [0.05, 0.1, 0.5, 3] { latency.labels("m").observe(value) }
        let text = registry.exposition()
        #expect(text == """
        # HELP app_requests_total Requests.\\nSecond line with a \\\\ backslash.
        # TYPE app_requests_total counter
        app_requests_total{path="/v1/x",code="200"} 3
        app_requests_total{path="quote\\" back\\\\slash\\nnewline",code="500"} 1
        # HELP app_temperature A gauge.
        # TYPE app_temperature gauge
        app_temperature -1.5
        # HELP app_latency_seconds Latency.
        # TYPE app_latency_seconds histogram
        app_latency_seconds_bucket{model="m",le="0.1"} 2
        app_latency_seconds_bucket{model="m",le="1"} 3
        app_latency_seconds_bucket{model="m",le="+Inf"} 4
        app_latency_seconds_sum{model="m"} 3.65
        app_latency_seconds_count{model="m"} 4

        """)
        let (types, samples) = try ExpositionParser.parse(text)
        #expect(types == ["app_requests_total": "counter", "app_temperature": "gauge", "app_latency_seconds": "histogram"])
        #expect(samples.first { $0.labels["code"] == "500" }?.labels["path"] == "quote\" back\\slash\nnewline")
    }

    @Test(arguments: [(3.0, "3"), (0.25, "0.25"), (1e-7, "1e-07"), (Double.infinity, "+Inf"), (-.infinity, "-Inf"), (.nan, "NaN"), (1e20, "1e+20"), (-0.0, "0")])
    func valueFormatting(value: Double, expected: String) {
        #expect(MetricsRegistry.format(value) == expected)
    }

    @Test func namesAreChecked() {
        #expect(MetricsRegistry.isValidName("a_b:c9") && !MetricsRegistry.isValidName("9a") && !MetricsRegistry.isValidName("a-b"))
        #expect(MetricsRegistry.isValidLabelName("model") && !MetricsRegistry.isValidLabelName("__name") && !MetricsRegistry.isValidLabelName("a:b"))
    }

    @Test func collectorsAreAskedAtEveryScrape() {
        struct Ticker: MetricsCollector {
            let counter = Counter()
            func collect() -> [MetricFamilySnapshot] {
                counter.increment()
                return [MetricFamilySnapshot(name: "scrapes", help: "Scrapes.", type: .counter, samples: [.init(value: counter.value)])]
            }
        }
        let registry = MetricsRegistry()
        registry.register(Ticker())
        _ = registry.exposition()
        #expect(registry.exposition().contains("scrapes 2\n"))
    }
}
