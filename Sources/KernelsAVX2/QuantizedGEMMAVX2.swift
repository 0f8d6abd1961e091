// AVX2 int8 support for dynamically quantized linear layers, in Swift: the weight packing and the
// run-time row quantization. The micro-kernel and its register-only throughput loop are C
// (Sources/CKernelsAVX2): LLVM does not reliably form `vpmaddwd` from Swift SIMD code (see
// QuantizedGEMMAVX2.c for what was tried).
//
// Shape letters: N output channels, K depth, pairs = ⌈K/2⌉.
// Weight panels: 8 output channels interleaved by pairs of k,
//   panel p, pair q holds W[8p + j, 2q + t] at panels[p·panelStride + 16q + 2j + t] (zero past N and K),
//   panelStride = 16·pairs.
// Built with x86-64-v3 flags (the target's own), so every SIMD8/SIMD16 operation is one ymm instruction.

#if arch(x86_64)

/// int16 values a packed copy of an N×K weight takes (panels of 8 channels × pairs of k).
public func quantizedPackedCountAVX2(outputs: Int, depth: Int) -> Int {
    (outputs + 7) / 8 * 16 * ((depth + 1) / 2)
}

/// Packs a quantized weight W[N×K] (int8, row-major, one row per output channel) into the panel
/// layout of the file comment; `panels` holds `quantizedPackedCountAVX2` values. Runs once per weight.
public func quantizedPackAVX2(weights: UnsafePointer<Int8>, outputs: Int, depth: Int, panels: UnsafeMutablePointer<Int16>) {
    let panelStride = 16 * ((depth + 1) / 2)
    panels.update(repeating: 0, count: quantizedPackedCountAVX2(outputs: outputs, depth: depth))
    for j in 0..<outputs {
        let panel = panels + (j / 8) * panelStride + 2 * (j % 8)
        let row = weights + j * depth
        for k in 0..<depth { panel[16 * (k / 2) + k % 2] = Int16(row[k]) }
    }
}

/// Quantizes each row of X[M×K] (rows `xRowStride` apart) symmetrically to int16 values in
/// [-127, 127]: scale = max|x| / 127, q = round-half-even(x · (127 / max|x|)) (0 for an all-zero row),
/// stored in rows `outputRowStride` apart, zero from K to `outputRowStride` — the same operations, in
/// the same order, as `Reference.quantizedLinear`'s, so the values are identical. Also writes each
/// row's Σq² (exact: at most 127²·K) to `sumsOfSquares` when given.
public func quantizeRowsAVX2(rows: Int, depth: Int, x: UnsafePointer<Float>, xRowStride: Int,
                             output: UnsafeMutablePointer<Int16>, outputRowStride: Int, scales: UnsafeMutablePointer<Float>,
                             sumsOfSquares: UnsafeMutablePointer<Int32>? = nil) {
    typealias Vector = SIMD8<Float>
    let signMask = SIMD8<UInt32>(repeating: 0x7FFF_FFFF)
    for i in 0..<rows {
        let row = UnsafeRawPointer(x + i * xRowStride)
        let out = output + i * outputRowStride
        var largest = Vector()
        var k = 0
        while k + 8 <= depth {
            let magnitude = unsafeBitCast(unsafeBitCast(row.loadUnaligned(fromByteOffset: 4 * k, as: Vector.self), to: SIMD8<UInt32>.self) & signMask,
                                          to: Vector.self)
            largest = largest.replacing(with: magnitude, where: magnitude .> largest)
            k += 8
        }
        var maximum = largest.max()
        let values = row.assumingMemoryBound(to: Float.self)
        while k < depth { maximum = max(maximum, abs(values[k])); k += 1 }
        let inverse: Float = maximum > 0 ? 127 / maximum : 0
        scales[i] = maximum / 127
        // Clamped first, then rounded half to even by adding 1.5·2²³ (the float's low bits are then
        // the integer): the same value as rounding then clamping, in a loop LLVM vectorizes (SIMD's
        // own rounding and Int32 conversion went through unspecialized generic calls here).
        var squares: Int32 = 0
        for k in 0..<depth {
            let clamped = Swift.min(Swift.max(values[k] * inverse, -127), 127) + 12_582_912
            let q = Int32(bitPattern: clamped.bitPattern) &- 0x4B40_0000
            out[k] = Int16(truncatingIfNeeded: q)
            squares &+= q &* q
        }
        sumsOfSquares?[i] = squares
        if depth < outputRowStride { (out + depth).update(repeating: 0, count: outputRowStride - depth) }
    }
}
#endif
