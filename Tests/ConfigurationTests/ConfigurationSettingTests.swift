import Foundation
import Testing
@testable import Configuration

@Suite struct ConfigurationSettingTests {
    @Test func environmentVariableNamesFollowTheKey() {
        #expect(PeriscopeConfiguration.setting(named: "data_dir")?.environmentVariable == "PERISCOPE_DATA_DIR")
        #expect(PeriscopeConfiguration.setting(named: "http.max_body_bytes")?.environmentVariable == "PERISCOPE_HTTP_MAX_BODY_BYTES")
    }

    @Test func keysAreUniqueSnakeCase() {
        let keys = PeriscopeConfiguration.settings.map(\.key)
        #expect(Set(keys).count == keys.count)
        for key in keys { #expect(key.allSatisfy { $0.isLowercase || $0.isNumber || $0 == "_" || $0 == "." }, "\(key)") }
    }

    /// Every documented default parses as a file value of its own kind.
    @Test(arguments: PeriscopeConfiguration.settings.map(\.key))
    func defaultsParse(key: String) throws {
        let setting = try #require(PeriscopeConfiguration.setting(named: key))
        let value = try JSONDecoder().decode(ConfigurationValue.self, from: Data(setting.defaultValue.utf8))
        _ = try setting.parse(value, source: "default")
    }

    @Test(arguments: [("1_000", 1000), (" 42 ", 42), ("0", 0)])
    func integersFromText(text: String, value: Int) throws {
        let setting = try #require(PeriscopeConfiguration.setting(named: "queue_size") ?? nil)
        if value == 0 {
            #expect(throws: ConfigurationError.self) { try setting.parse(text: text, source: "test") }
        } else {
            #expect(try setting.parse(text: text, source: "test") == .integer(value))
        }
    }

    @Test(arguments: ["true", "1", "yes", "on", "TRUE"])
    func booleansFromText(text: String) throws {
        let setting = try #require(PeriscopeConfiguration.setting(named: "batching.enabled"))
        #expect(try setting.parse(text: text, source: "test") == .boolean(true))
    }

    @Test func closestKeySuggestsOnlyNearMisses() {
        #expect(ConfigurationLayer.closestKey(to: "modelroot") == "model_root")
        #expect(ConfigurationLayer.closestKey(to: "zzzzzzzzzzzzzzzz") == nil)
    }
}
