import Foundation
import Testing
@testable import Service

@Suite struct ProcessMetricsTests {
    private func value(_ name: String) -> Double? {
        ProcessMetrics().collect().first { $0.name == name }?.samples.first?.value
    }

    @Test func readsThisProcess() throws {
        let resident = try #require(value("process_resident_memory_bytes"))
        #expect(resident > Double(1 << 20))
        #expect(try #require(value("process_virtual_memory_bytes")) >= resident)
        #expect(try #require(value("process_cpu_seconds_total")) > 0)
        let start = try #require(value("process_start_time_seconds"))
        let now = Date().timeIntervalSince1970
        #expect(start <= now + 1 && start > now - 86_400 * 30)
        #expect(try #require(value("process_max_fds")) >= 64)
    }

    @Test func openDescriptorsFollowOpenAndClose() throws {
        let before = try #require(ProcessMetrics.openFileDescriptors())
        let descriptors = (0..<5).map { _ in open("/dev/null", O_RDONLY) }
        defer { descriptors.forEach { close($0) } }
        #expect(descriptors.allSatisfy { $0 >= 0 })
        // Other tests run in parallel and open files too: at least our five are visible.
        #expect(try #require(ProcessMetrics.openFileDescriptors()) >= before + 5 - 2)
        let text = MetricsRegistry.exposition(ProcessMetrics().collect())
        #expect(text.contains("# TYPE process_open_fds gauge\nprocess_open_fds "))
        _ = try ExpositionParser.parse(text)
    }
}
