import Testing
@testable import HTTP

@Suite struct HTTPDateTests {
    @Test func httpDateIsIMFFixdate() {
        #expect(httpDate(784_111_777) == "Sun, 06 Nov 1994 08:49:37 GMT")
    }
}
