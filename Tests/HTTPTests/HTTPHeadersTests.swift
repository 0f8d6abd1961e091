import Testing
@testable import HTTP

@Suite struct HTTPHeadersTests {
    @Test func lookupIsCaseInsensitiveAndOrdered() {
        var headers: HTTPHeaders = ["Content-Type": "text/plain", "X-A": "1"]
        headers.add(name: "x-a", value: "2")
        #expect(headers["content-TYPE"] == "text/plain")
        #expect(headers.values(for: "X-a") == ["1", "2"])
        #expect(headers.contains("X-A") && !headers.contains("X-B"))
        headers.replaceOrAdd(name: "X-A", value: "3")
        #expect(headers.values(for: "x-a") == ["3"])
        headers.remove(name: "CONTENT-type")
        #expect(headers.count == 1)
    }

    @Test func commaSeparatedValuesSplitEveryOccurrence() {
        let headers: HTTPHeaders = HTTPHeaders([("Connection", "keep-alive, Upgrade"), ("connection", " close ,, ")])
        #expect(headers.commaSeparatedValues(for: "Connection") == ["keep-alive", "Upgrade", "close"])
    }

    @Test(arguments: [("Content-Length", "content-length", true), ("A", "B", false), ("@", "`", false), ("X-1", "x-1", true), ("ab", "abc", false)])
    func namesEqual(lhs: String, rhs: String, expected: Bool) {
        #expect(HTTPHeaders.namesEqual(lhs, rhs) == expected)
    }
}
