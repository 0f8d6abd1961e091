import Foundation
import Testing
@testable import Logging

@Suite struct LoggerTests {
    @Test func linesAreJSONWithFieldsInOrder() throws {
        let sink = CapturingLogSink()
        let logger = Logger(label: "svc", sink: sink)
        logger.warning("queue \"full\"", ["depth": 12, "ratio": 0.5, "ok": false, "name": "a\nb", "nan": .double(.nan), "none": .null])
        let line = try #require(sink.lines.first)
        #expect(line.hasPrefix("{\"ts\":\""))
        #expect(line.hasSuffix(",\"depth\":12,\"ratio\":0.5,\"ok\":false,\"name\":\"a\\nb\",\"nan\":null,\"none\":null}"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(object["msg"] as? String == "queue \"full\"")
        #expect(object["level"] as? String == "warning")
        #expect(object["logger"] as? String == "svc")
    }

    @Test func levelsBelowTheMinimumAreDropped() {
        let sink = CapturingLogSink()
        let logger = Logger(label: "svc", minimumLevel: .warning, sink: sink)
        logger.debug("no")
        logger.info("no")
        logger.error("yes")
        #expect(sink.lines.count == 1)
        #expect(!Logger.disabled.isEnabled(.error))
    }

    @Test func timestampIsISO8601UTC() {
        let stamp = Logger.timestamp()
        #expect(stamp.count == 24)
        #expect(stamp.hasSuffix("Z") && stamp.dropFirst(10).first == "T")
    }
}
