/// Appends the decimal digits of a non-negative `value`.
func appendDecimal(_ value: Int, to output: inout [UInt8]) {
    precondition(value >= 0, "negative value \(value)")
    var divisor = 1
    while divisor <= value / 10 { divisor *= 10 }
    while divisor > 0 {
        output.append(UInt8(ascii: "0") + UInt8((value / divisor) % 10))
        divisor /= 10
    }
}
