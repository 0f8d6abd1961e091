import Foundation
import Testing
import Tensors
import HTTP
import Synchronization
@testable import Service

/// Collects what a streamed body writes, chunk by chunk.
final class RecordingBodyWriter: HTTPBodyWriter {
    private let storage = Mutex<[[UInt8]]>([])
    func write(_ bytes: [UInt8]) async throws { storage.withLock { $0.append(bytes) } }
    var chunks: [[UInt8]] { storage.withLock { $0 } }
}

@Suite struct StreamingBodyTests {
    private func text(_ body: StreamingBody) throws -> String {
        String(decoding: try body.collect(), as: UTF8.self)
    }

    @Test func flatAndNestedNumbers() throws {
        let tensor = Tensor(shape: [2, 2, 3], scalars: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0.5])
        #expect(try text(StreamingBody([.numbers(tensor, layout: .flat, nonFinite: .error, name: "x")]))
                == "[1.0,2.0,3.0,4.0,5.0,6.0,7.0,8.0,9.0,10.0,11.0,0.5]")
        #expect(try text(StreamingBody([.numbers(tensor, layout: .nested, nonFinite: .error, name: "x")]))
                == "[[[1.0,2.0,3.0],[4.0,5.0,6.0]],[[7.0,8.0,9.0],[10.0,11.0,0.5]]]")
        #expect(try text(StreamingBody([.numbers(Tensor(zeros: [2, 0, 3]), layout: .nested, nonFinite: .error, name: "x")])) == "[[],[]]")
        #expect(try text(StreamingBody([.numbers(Tensor(zeros: [0]), layout: .flat, nonFinite: .error, name: "x")])) == "[]")
    }

    /// Nested output is what Foundation reads back as the same nested arrays of the same values.
    @Test(arguments: [[3], [2, 5], [2, 3, 4], [1, 2, 1, 3]])
    func nestedRoundTripsThroughFoundation(shape: [Int]) throws {
        var generator = SeededGenerator(seed: UInt64(shape.reduce(7, *)))
        let tensor = Tensor(shape: shape, scalars: (0..<Tensor.elementCount(shape)).map { _ in generator.nextNormal() })
        let bytes = try StreamingBody([.numbers(tensor, layout: .nested, nonFinite: .error, name: "x")]).collect()
        func flatten(_ value: Any) -> [Float] {
            if let array = value as? [Any] { return array.flatMap(flatten) }
            return [Float((value as! NSNumber).doubleValue)]
        }
        let parsed = try JSONSerialization.jsonObject(with: Data(bytes))
        #expect(flatten(parsed) == tensor.toArray())
        let reparsed = try JSONParser.parse(bytes).numericArray
        #expect(reparsed?.shape == shape)
        #expect(try reparsed?.floats() == tensor.toArray())
    }

    @Test func everyDTypeAsJSON() throws {
        #expect(try text(StreamingBody([.numbers(Tensor(shape: [3], elements: [Int64.min, 0, 42]), layout: .flat, nonFinite: .error, name: "x")]))
                == "[-9223372036854775808,0,42]")
        #expect(try text(StreamingBody([.numbers(Tensor(shape: [2], elements: [Int32(-5), 7]), layout: .flat, nonFinite: .error, name: "x")])) == "[-5,7]")
        #expect(try text(StreamingBody([.numbers(Tensor(shape: [2], elements: [UInt8(255), 0]), layout: .flat, nonFinite: .error, name: "x")])) == "[255,0]")
        #expect(try text(StreamingBody([.numbers(Tensor(shape: [2], elements: [true, false]), layout: .flat, nonFinite: .error, name: "x")])) == "[true,false]")
        #expect(try text(StreamingBody([.numbers(Tensor(shape: [3], elements: [Float16(0.1), 4112, -0.0]), layout: .flat, nonFinite: .error, name: "x")]))
                == "[0.1,4110.0,-0.0]")
        #expect(try text(StreamingBody([.numbers(Tensor(shape: [2], elements: [BFloat16(1.5), BFloat16(-3)]), layout: .flat, nonFinite: .error, name: "x")])) == "[1.5,-3.0]")
    }

    @Test func nonFiniteValuesAreAnErrorOrNull() throws {
        let tensor = Tensor(shape: [4], scalars: [1, .nan, .infinity, -.infinity])
        let strict = StreamingBody([.bytes(Array("{\"x\":".utf8)), .numbers(tensor, layout: .flat, nonFinite: .error, name: "layer2")])
        #expect(throws: ResponseEncodingError.nonFinite(layer: "layer2", index: 1, value: "nan")) { try strict.validate() }
        #expect(throws: ResponseEncodingError.nonFinite(layer: "layer2", index: 1, value: "nan")) { try strict.collect() }
        let lenient = StreamingBody([.numbers(tensor, layout: .flat, nonFinite: .null, name: "layer2")])
        try lenient.validate()
        #expect(try text(lenient) == "[1.0,null,null,null]")
        let half = StreamingBody([.numbers(Tensor(shape: [2], elements: [Float16(1), .infinity]), layout: .flat, nonFinite: .error, name: "h")])
        #expect(throws: ResponseEncodingError.nonFinite(layer: "h", index: 1, value: "inf")) { try half.validate() }
        // The non-finite search finds the first one in every position of a long tensor.
        for position in [0, 1023, 1024, 5000] {
            var values = [Float](repeating: 1, count: 5001)
            values[position] = -.infinity
            #expect(firstNonFiniteIndex(Tensor(shape: [5001], scalars: values)) == position)
        }
        #expect(firstNonFiniteIndex(Tensor(shape: [5001], repeating: 3)) == nil)
    }

    /// Chunks stay near the chunk size, concatenate to the whole body, and the async writer gets
    /// the same bytes; a base64 segment split across chunks is still one valid encoding.
    @Test func chunkingIsInvisible() async throws {
        var generator = SeededGenerator(seed: 3)
        let big = Tensor(shape: [40_000], scalars: (0..<40_000).map { _ in generator.nextNormal() })
        let body = StreamingBody([.bytes(Array("{\"a\":".utf8)), .numbers(big, layout: .flat, nonFinite: .error, name: "a"),
                                  .bytes(Array(",\"b\":".utf8)), .base64(big), .bytes(Array(",\"c\":".utf8)),
                                  .numbers(big.reshaped([200, 200]), layout: .nested, nonFinite: .error, name: "c"),
                                  .bytes(Array("}".utf8)), .raw(big)])
        let whole = try body.collect()
        var chunks = body.makeChunks(chunkSize: 4096)
        var pieces: [[UInt8]] = []
        while let chunk = try chunks.next() { pieces.append(chunk) }
        #expect(pieces.flatMap { $0 } == whole)
        #expect(pieces.dropLast().allSatisfy { $0.count >= 4096 && $0.count <= 4096 + 20_000 })
        let writer = RecordingBodyWriter()
        try await body.write(to: writer, chunkSize: 4096)
        #expect(writer.chunks.flatMap { $0 } == whole)
        // The JSON part parses, with the base64 string decoding to the tensor's bytes.
        let jsonEnd = whole.count - big.byteCount
        let document = try JSONParser.parse(Array(whole[..<jsonEnd]))
        let decoded = try Base64.decode(document.objectValue!["b"]!.stringValue!)
        #expect(decoded == big.withFloats { Array(UnsafeRawBufferPointer($0)) })
        #expect(try document.objectValue!["a"]!.numericArray!.floats() == big.toArray())
        #expect(Array(whole[jsonEnd...]) == decoded)
    }

    @Test func httpResponsesValidateAndStream() async throws {
        let tensor = Tensor(shape: [3], scalars: [1, 2, 3])
        let json = StreamingBody([.numbers(tensor, layout: .flat, nonFinite: .error, name: "x")])
        let response = try json.httpResponse(contentType: "application/json")
        #expect(response.headers["Content-Type"] == "application/json" && response.headers["Content-Length"] == nil)
        #expect(try await response.collectBody() == Array("[1.0,2.0,3.0]".utf8))
        let raw = try StreamingBody([.raw(tensor)]).httpResponse(contentType: "application/octet-stream")
        #expect(raw.headers["Content-Length"] == "12")
        #expect(try await raw.collectBody().count == 12)
        let bad = StreamingBody([.numbers(Tensor(shape: [1], scalars: [.nan]), layout: .flat, nonFinite: .error, name: "fc")])
        #expect(throws: ResponseEncodingError.nonFinite(layer: "fc", index: 0, value: "nan")) { try bad.httpResponse(contentType: "application/json") }
        let error = ResponseEncodingError.nonFinite(layer: "fc", index: 0, value: "nan")
        let errorResponse = HTTPResponse.forError(error, requestId: "r1")
        #expect(errorResponse.status == .badRequest)
        #expect(String(decoding: try await errorResponse.collectBody(), as: UTF8.self).contains(#""error_type":"non_finite_output""#))
    }

    @Test func knownLengthCountsBytesBase64AndRaw() throws {
        let tensor = Tensor(shape: [5], scalars: [1, 2, 3, 4, 5])
        let body = StreamingBody([.bytes([1, 2, 3]), .base64(tensor), .raw(tensor)])
        #expect(body.knownLength == (try body.collect().count))
        #expect(StreamingBody([.numbers(tensor, layout: .flat, nonFinite: .error, name: "x")]).knownLength == nil)
    }
}
