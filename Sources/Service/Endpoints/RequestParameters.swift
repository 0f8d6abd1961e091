import HTTP

/// Reading path and query parameters with 400s that name the parameter.
enum RequestParameters {
    /// A version number from a path parameter: `[1-9][0-9]{0,9}` (openapi.yaml's pattern).
    static func pathVersion(_ request: HTTPRequest, name: String = "version") throws(ServiceError) -> Int {
        let text = request.pathParameter(name)
        let digits = Array(text.utf8)
        guard (1...10).contains(digits.count), digits[0] >= 0x31 && digits[0] <= 0x39,
              digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let version = Int(text) else {
            throw .invalidParameter(name: name, problem: "'\(text)' is not a version number (an integer ≥ 1)")
        }
        return version
    }

    /// The optional `version` query parameter (≥ 1).
    static func queryVersion(_ request: HTTPRequest) throws(ServiceError) -> Int? {
        guard let text = request.head.queryValue(named: "version") else { return nil }
        guard let version = Int(text), version >= 1 else {
            throw .invalidParameter(name: "version", problem: "'\(text)' is not a version number (an integer ≥ 1)")
        }
        return version
    }

    /// A boolean query parameter (`true`/`false`, also `1`/`0`).
    static func queryBool(_ request: HTTPRequest, _ name: String) throws(ServiceError) -> Bool? {
        guard let text = request.head.queryValue(named: name) else { return nil }
        switch text.lowercased() {
        case "true", "1": return true
        case "false", "0": return false
        default: throw .invalidParameter(name: name, problem: "'\(text)' is not true or false")
        }
    }

    /// The media type of the body (`Content-Type` without parameters, lower case), nil when absent.
    static func mediaType(_ request: HTTPRequest) -> String? {
        guard let value = request.headers["content-type"] else { return nil }
        let type = value.split(separator: ";", maxSplits: 1).first.map(String.init) ?? value
        let trimmed = type.trimmingASCIISpaces().lowercased()
        return trimmed.isEmpty ? nil : trimmed
    }
}
