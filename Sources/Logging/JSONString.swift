/// Appends `value` as a JSON string literal (quotes included), escaping `"`, `\` and control
/// characters (RFC 8259 §7), so log lines and error bodies are always valid JSON.
///
/// `package`: HTTP writes its error bodies with it too.
package func appendJSONString(_ value: String, to output: inout String) {
    output += "\""
    var plainStart = value.utf8.startIndex
    let utf8 = value.utf8
    var index = utf8.startIndex
    while index != utf8.endIndex {
        let byte = utf8[index]
        if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 {
            output += value[plainStart..<index]
            switch byte {
            case UInt8(ascii: "\""): output += "\\\""
            case UInt8(ascii: "\\"): output += "\\\\"
            case UInt8(ascii: "\n"): output += "\\n"
            case UInt8(ascii: "\r"): output += "\\r"
            case UInt8(ascii: "\t"): output += "\\t"
            default:
                let hex = Array("0123456789abcdef")
                output += "\\u00" + String(hex[Int(byte >> 4)]) + String(hex[Int(byte & 0xF)])
            }
            plainStart = utf8.index(after: index)
        }
        index = utf8.index(after: index)
    }
    output += value[plainStart..<utf8.endIndex]
    output += "\""
}
