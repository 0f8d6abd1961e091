import Tensors

// The hot loops: a tensor's elements as JSON numbers, straight from storage into the buffer.

extension JSONOutputBuffer {
    /// Appends elements `range` of `tensor` as comma-separated JSON numbers (a comma before the
    /// first too when `leadingComma`). Floats use `JSONNumberFormat`; NaN/±∞ become `null` or throw
    /// per `policy`; integers are decimal; bool is `true`/`false`.
    public func appendElements(of tensor: Tensor, range: Range<Int>, leadingComma: Bool,
                               policy: NonFinitePolicy, name: String) throws(ResponseEncodingError) {
        precondition(range.lowerBound >= 0 && range.upperBound <= tensor.count, "appendElements: \(range) outside \(tensor.count) elements")
        guard !range.isEmpty else { return }
        let start = tensor.rawPointer
        switch tensor.dtype {
        case .float32:
            try appendFloats(start.assumingMemoryBound(to: Float.self), range: range, leadingComma: leadingComma, policy: policy, name: name)
        case .float16:
            try appendFloat16s(start.assumingMemoryBound(to: Float16.self), range: range, leadingComma: leadingComma, policy: policy, name: name)
        case .bfloat16:
            let converted = tensor.view(elementOffset: range.lowerBound, shape: [range.count]).to(.float32)
            try appendFloats(converted.rawPointer.assumingMemoryBound(to: Float.self), range: 0..<range.count,
                             leadingComma: leadingComma, policy: policy, name: name, indexOffset: range.lowerBound)
        case .int64:
            appendIntegers(range: range, leadingComma: leadingComma) { start.assumingMemoryBound(to: Int64.self)[$0] }
        case .int32:
            appendIntegers(range: range, leadingComma: leadingComma) { Int64(start.assumingMemoryBound(to: Int32.self)[$0]) }
        case .uint8:
            appendIntegers(range: range, leadingComma: leadingComma) { Int64(start.assumingMemoryBound(to: UInt8.self)[$0]) }
        case .bool:
            let values = start.assumingMemoryBound(to: UInt8.self)
            for index in range {
                if index > range.lowerBound || leadingComma { append(UInt8(ascii: ",")) }
                if values[index] != 0 { append(raw: "true") } else { append(raw: "false") }
            }
        }
        withExtendedLifetime(tensor) {}
    }

    /// Elements per reservation in the float loops: room is reserved once per batch.
    private static var batchSize: Int { 512 }

    private func appendFloats(_ values: UnsafePointer<Float>, range: Range<Int>, leadingComma: Bool,
                              policy: NonFinitePolicy, name: String, indexOffset: Int = 0) throws(ResponseEncodingError) {
        var index = range.lowerBound
        var needsComma = leadingComma
        while index < range.upperBound {
            let end = Swift.min(index + Self.batchSize, range.upperBound)
            let start = reserve((end - index) * (JSONNumberFormat.maximumFloatLength + 1) + JSONNumberFormat.scratchLength)
            var cursor = start
            if !needsComma {
                // The first element has no comma in front; write it, then the loop writes ",x".
                let value = values[index]
                if _fastPath(value.isFinite) {
                    cursor += JSONNumberFormat.write(value, to: cursor)
                } else {
                    cursor += try writeNonFinite(value.description, to: cursor, policy: policy, name: name, index: index + indexOffset)
                }
                index += 1
            }
            while index < end {
                cursor.pointee = UInt8(ascii: ",")
                cursor += 1
                let value = values[index]
                // The formatter is non-throwing so it inlines here; only non-finite values leave the loop body.
                if _fastPath(value.isFinite) {
                    cursor += JSONNumberFormat.write(value, to: cursor)
                } else {
                    cursor += try writeNonFinite(value.description, to: cursor, policy: policy, name: name, index: index + indexOffset)
                }
                index += 1
            }
            advance(by: cursor - start)
            needsComma = true
        }
    }

    private func appendFloat16s(_ values: UnsafePointer<Float16>, range: Range<Int>, leadingComma: Bool,
                                policy: NonFinitePolicy, name: String) throws(ResponseEncodingError) {
        var index = range.lowerBound
        var needsComma = leadingComma
        while index < range.upperBound {
            let end = Swift.min(index + Self.batchSize, range.upperBound)
            let start = reserve((end - index) * (JSONNumberFormat.maximumFloatLength + 1) + JSONNumberFormat.scratchLength)
            var cursor = start
            while index < end {
                if needsComma {
                    cursor.pointee = UInt8(ascii: ",")
                    cursor += 1
                }
                needsComma = true
                let value = values[index]
                if value.isFinite {
                    cursor += JSONNumberFormat.write(value, to: cursor)
                } else {
                    cursor += try writeNonFinite(value.description, to: cursor, policy: policy, name: name, index: index)
                }
                index += 1
            }
            advance(by: cursor - start)
        }
    }

    private func writeNonFinite(_ text: String, to destination: UnsafeMutablePointer<UInt8>, policy: NonFinitePolicy,
                                name: String, index: Int) throws(ResponseEncodingError) -> Int {
        guard policy == .null else { throw .nonFinite(layer: name, index: index, value: text) }
        destination[0] = UInt8(ascii: "n")
        destination[1] = UInt8(ascii: "u")
        destination[2] = UInt8(ascii: "l")
        destination[3] = UInt8(ascii: "l")
        return 4
    }

    private func appendIntegers(range: Range<Int>, leadingComma: Bool, _ value: (Int) -> Int64) {
        var index = range.lowerBound
        var needsComma = leadingComma
        while index < range.upperBound {
            let end = Swift.min(index + Self.batchSize, range.upperBound)
            let start = reserve((end - index) * 21)
            var cursor = start
            while index < end {
                if needsComma {
                    cursor.pointee = UInt8(ascii: ",")
                    cursor += 1
                }
                needsComma = true
                cursor += JSONNumberFormat.write(value(index), to: cursor)
                index += 1
            }
            advance(by: cursor - start)
        }
    }
}
