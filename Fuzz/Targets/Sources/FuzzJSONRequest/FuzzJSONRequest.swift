// Fuzz target: the JSON request path of the service (Sources/Service/Requests): `JSONParser`,
// `FeaturesRequest` (native `/v1/…/features`) and `InferenceRequest` (V2 `/v2/…/infer`, with
// Triton's binary extension), then `RequestTensor.tensor(as:)`, which turns accepted data into the
// tensors a model receives.
//
// Input layout: byte 0 holds options — bit 0: a V2 inference request (else a native features
// request); bit 1: small parser limits (depth 8, 64 numbers, 256-byte strings) so the limit checks
// are reached; bit 2 (V2): the JSON part ends at the first 0x00 byte and the rest is binary data
// (`Inference-Header-Content-Length`). The rest is the body. Findings: memory errors, traps, and
// broken contracts:
// - every number converts exactly as Swift's correctly rounded `Float(_:)` / `Double(_:)` read
//   its literal (nil only where those overflow), for single numbers and numeric arrays alike;
// - an accepted request's tensors have the declared shape and element count, and the strides
//   and dtype conversions a model applies to them work.
import Foundation
import FuzzDriver
import Service
import Tensors

let smallLimits = JSONParserLimits(maximumDepth: 8, maximumBytes: 1 << 16, maximumNumberCount: 64, maximumStringBytes: 256)

// MARK: - Numbers

func checkFloat(_ value: Float?, literal: String) {
    guard let reference = Float(literal) else { invariantFailure("Swift cannot read the literal '\(literal)' as a Float") }
    if reference.isFinite {
        guard let value, value.bitPattern == reference.bitPattern else {
            invariantFailure("'\(literal)' as float32: \(String(describing: value)), Float(_:) says \(reference)")
        }
    } else if value != nil {
        invariantFailure("'\(literal)' overflows float32 but converted to \(value!)")
    }
}

func checkDouble(_ value: Double?, literal: String) {
    guard let reference = Double(literal) else { invariantFailure("Swift cannot read the literal '\(literal)' as a Double") }
    if reference.isFinite {
        guard let value, value.bitPattern == reference.bitPattern else {
            invariantFailure("'\(literal)' as float64: \(String(describing: value)), Double(_:) says \(reference)")
        }
    } else if value != nil {
        invariantFailure("'\(literal)' overflows float64 but converted to \(value!)")
    }
}

/// Checks the conversions of every number in `value`.
func checkNumbers(_ value: JSONValue) {
    switch value {
    case .number(let number):
        checkFloat(number.floatValue, literal: number.text)
        checkDouble(number.doubleValue, literal: number.text)
        if let integer = number.int64Value, Double(number.text) != Double(integer) {
            invariantFailure("'\(number.text)' read as the integer \(integer)")
        }
    case .numbers(let numbers):
        guard numbers.shape.reduce(1, *) == numbers.count else { invariantFailure("numeric array shape \(numbers.shape) for \(numbers.count) numbers") }
        let floats = try? numbers.floats(), doubles = try? numbers.doubles()
        for index in 0..<numbers.count {
            // The value's own text: `literal(at:)` prints integers through Int64, so "-0" shows as
            // "0" (fine in an error message, but not as a reference for the sign of zero).
            let decimal = numbers.decimals[index]
            let literal = decimal.truncated ? numbers.literal(at: index)
                : "\(decimal.negative ? "-" : "")\(decimal.mantissa)e\(decimal.exponent)"
            let single = JSONNumber(decimal: numbers.decimals[index], text: literal)
            checkFloat(floats?[index] ?? single.floatValue, literal: literal)
            checkDouble(doubles?[index] ?? single.doubleValue, literal: literal)
        }
    case .array(let elements):
        elements.forEach(checkNumbers)
    case .object(let object):
        object.members.forEach { checkNumbers($0.value) }
    case .null, .bool, .string:
        break
    }
}

// MARK: - Tensors

/// What a model does with an accepted input: convert to its dtype, compute strides, flatten.
func checkTensor(_ input: RequestTensor) {
    for dtype in [input.declaredDType ?? .float32, .float32, .int64] {
        guard let tensor = try? input.tensor(as: dtype) else { continue }
        guard tensor.shape == input.shape, tensor.count == input.elementCount else {
            invariantFailure("'\(input.name)': tensor \(tensor.shape) for shape \(input.shape)")
        }
        _ = tensor.strides
        _ = tensor.reshaped([tensor.count])
        _ = tensor.to(.float32)
    }
}

// MARK: - Entry point

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ start: UnsafeRawPointer?, _ count: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let flags = count > 0 ? input[0] : 0
    let body = count > 1 ? [UInt8](input[1...]) : []
    let limits = flags & 2 != 0 ? smallLimits : JSONParserLimits()

    // The JSON document alone.
    let jsonLength = flags & 5 == 5 ? body.firstIndex(of: 0) ?? body.count : body.count
    do {
        let document = try body.withUnsafeBufferPointer { (buffer) throws(JSONParseError) in
            try JSONParser.parse(UnsafeBufferPointer(rebasing: buffer[0..<jsonLength]), limits: limits)
        }
        checkNumbers(document)
    } catch {
        _ = error.description
        _ = RequestError(field: "$", error.description).message
    }

    // The request it makes.
    do {
        if flags & 1 == 0 {
            let request = try FeaturesRequest.parse(body, limits: limits)
            if case .tensors(let tensors) = request.input { tensors.forEach(checkTensor) }
        } else {
            let request = try InferenceRequest.parse(body, headerLength: flags & 4 != 0 ? jsonLength : nil, limits: limits)
            request.inputs.forEach(checkTensor)
            _ = request.outputs.map(request.wantsBinary)
        }
    } catch {
        _ = error.description
        _ = error.status
    }
    return 0
}
