import Testing
@testable import Service

@Suite struct ServiceMetricsTests {
    @Test func everyServiceMetricIsExposedAndParses() throws {
        let metrics = ServiceMetrics()
        metrics.requestStarted()
        metrics.requestStarted()
        metrics.requestFinished(model: "resnet50", endpoint: "features", status: 200, seconds: 0.031, responseBytes: 2_400_000)
        metrics.requestFinished(model: nil, endpoint: "features", status: 404, seconds: 0.0002, responseBytes: 80)
        metrics.setPreprocessingInFlight(2)
        metrics.setPreprocessingQueueDepth(5)
        metrics.countPreprocessingRejection(reason: "preprocessing_full")
        metrics.countPreprocessingRejection(reason: "client_disconnected")
        metrics.observePreprocessingWait(seconds: 0.003)
        metrics.observePreprocessing(seconds: 0.012)
        metrics.setQueueDepth(3)
        metrics.observeQueueWait(model: "resnet50", seconds: 0.002)
        metrics.observeCompute(model: "resnet50", precision: "int8", seconds: 0.028, batchSize: 4)
        metrics.observeEncode(model: "resnet50", seconds: 0.004)
        metrics.addActiveHooks(3)
        metrics.addActiveHooks(-3)
        metrics.setLoadedModels(2)
        metrics.observeModelLoad(model: "resnet50", precision: "int8", seconds: 1.7)
        let (types, samples) = try ExpositionParser.parse(metrics.exposition())
        for (name, type) in [("periscope_requests_total", "counter"), ("periscope_request_duration_seconds", "histogram"),
                             ("periscope_response_bytes_total", "counter"), ("periscope_requests_in_flight", "gauge"),
                             ("periscope_preprocessing_in_flight", "gauge"), ("periscope_preprocessing_queue_depth", "gauge"),
                             ("periscope_preprocessing_rejected_total", "counter"), ("periscope_preprocessing_wait_seconds", "histogram"),
                             ("periscope_preprocessing_seconds", "histogram"), ("periscope_queue_depth", "gauge"), ("periscope_queue_wait_seconds", "histogram"),
                             ("periscope_compute_seconds", "histogram"), ("periscope_encode_seconds", "histogram"),
                             ("periscope_batch_size", "histogram"), ("periscope_active_hooks", "gauge"),
                             ("periscope_models_loaded", "gauge"), ("periscope_model_load_seconds", "histogram"),
                             ("process_resident_memory_bytes", "gauge"), ("process_open_fds", "gauge")] {
            #expect(types[name] == type, "\(name)")
        }
        func sample(_ name: String, _ labels: [String: String] = [:]) -> Double? {
            samples.first { $0.name == name && $0.labels == labels }?.value
        }
        #expect(sample("periscope_requests_total", ["model": "resnet50", "endpoint": "features", "status": "200"]) == 1)
        #expect(sample("periscope_requests_total", ["model": "-", "endpoint": "features", "status": "404"]) == 1)
        #expect(sample("periscope_requests_in_flight") == 0)
        #expect(sample("periscope_response_bytes_total", ["model": "resnet50", "endpoint": "features"]) == 2_400_000)
        #expect(sample("periscope_queue_depth") == 3)
        #expect(sample("periscope_preprocessing_in_flight") == 2 && sample("periscope_preprocessing_queue_depth") == 5)
        #expect(sample("periscope_preprocessing_rejected_total", ["reason": "preprocessing_full"]) == 1)
        #expect(sample("periscope_preprocessing_rejected_total", ["reason": "client_disconnected"]) == 1)
        #expect(sample("periscope_preprocessing_wait_seconds_count") == 1 && sample("periscope_preprocessing_seconds_count") == 1)
        #expect(sample("periscope_active_hooks") == 0 && metrics.activeHookCount == 0)
        #expect(sample("periscope_models_loaded") == 2)
        #expect(sample("periscope_batch_size_bucket", ["model": "resnet50", "le": "2"]) == 0)
        #expect(sample("periscope_batch_size_bucket", ["model": "resnet50", "le": "4"]) == 1)
        #expect(sample("periscope_compute_seconds_count", ["model": "resnet50", "precision": "int8"]) == 1)
        #expect(sample("periscope_model_load_seconds_bucket", ["model": "resnet50", "precision": "int8", "le": "+Inf"]) == 1)
    }
}
