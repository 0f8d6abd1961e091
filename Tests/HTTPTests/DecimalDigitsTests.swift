import Testing
@testable import HTTP

@Suite struct DecimalDigitsTests {
    @Test(arguments: [0, 7, 10, 99, 100, 12345, 1_000_000, Int.max])
    func appendsDecimalDigits(value: Int) {
        var output: [UInt8] = []
        appendDecimal(value, to: &output)
        #expect(String(decoding: output, as: UTF8.self) == String(value))
    }
}
