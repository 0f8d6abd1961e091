import Foundation
import HTTP
import Testing
@testable import Service

/// `openapi.yaml` and the route table agree: every route of `ServiceRoute.table` is documented
/// with exactly the statuses the table says it can answer, and every documented operation is a
/// route of the table.
@Suite struct OpenAPIRouteTests {
    /// `METHOD /pattern` → documented statuses, read from the `paths` section: path keys at two
    /// spaces, operations at four, `responses:` at six and the status keys at eight.
    static func documentedOperations() throws -> [String: Set<Int>] {
        let url = InspectorAssetTests.root.appendingPathComponent("openapi.yaml")
        let lines = try String(contentsOf: url, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        var operations: [String: Set<Int>] = [:]
        var inPaths = false, inResponses = false
        var path: String?, operation: String?
        for line in lines {
            let indent = line.prefix { $0 == " " }.count
            let text = line.dropFirst(indent)
            if text.isEmpty || text.hasPrefix("#") { continue }
            if indent == 0 { inPaths = text == "paths:"; continue }
            guard inPaths else { continue }
            switch indent {
            case 2:
                path = text.hasPrefix("/") && text.hasSuffix(":") ? String(text.dropLast()) : nil
                operation = nil
            case 4:
                let method = text.hasSuffix(":") ? String(text.dropLast()) : ""
                operation = ["get", "put", "post", "delete", "patch", "head", "options"].contains(method) ? method.uppercased() : nil
                if let path, let operation { operations["\(operation) \(path)", default: []] = [] }
            case 6:
                inResponses = text == "responses:"
            case 8 where inResponses:
                guard let path, let operation, text.hasPrefix("\""), text.hasSuffix("\":"), let status = Int(text.dropFirst().dropLast(2)) else { continue }
                operations["\(operation) \(path)", default: []].insert(status)
            default:
                continue
            }
        }
        return operations
    }

    @Test func everyRouteIsDocumentedWithItsStatuses() throws {
        let documented = try Self.documentedOperations()
        #expect(documented.count > 30, "the reader found only \(documented.count) operations in openapi.yaml")
        var table: [String: Set<Int>] = [:]
        for route in ServiceRoute.table { table["\(route.method) \(route.pattern)"] = route.statuses }
        for (operation, statuses) in table.sorted(by: { $0.key < $1.key }) {
            guard let listed = documented[operation] else {
                Issue.record("\(operation) is a route but not in openapi.yaml")
                continue
            }
            #expect(listed.subtracting(statuses).isEmpty, "\(operation): openapi.yaml documents \(listed.subtracting(statuses).sorted()), which the route table does not list")
            #expect(statuses.subtracting(listed).isEmpty, "\(operation): openapi.yaml lacks \(statuses.subtracting(listed).sorted())")
        }
        for operation in documented.keys.sorted() where table[operation] == nil {
            Issue.record("\(operation) is in openapi.yaml but not a route")
        }
    }
}
