// The AVX512 instantiation of the kernels written once in `KernelTemplates`: 6×64 register tiles of
// 6 rows × 4 vectors of SIMD16<Float> for the SGEMM blocks, SIMD16<Float> dot products for the last columns, and the
// FMA peak loop. Built with x86-64-v4 flags: `addProduct` on SIMD16<Float> is one vfmadd231ps on a zmm register.

#if arch(x86_64)
import KernelTemplates

/// Columns of B per packed panel for the AVX512 GEMM kernel.
public let gemmPanelWidthAVX512 = 4 * SIMD16<Float>.scalarCount
/// Rows of A per register tile for the AVX512 GEMM kernel.
public let gemmTileRowsAVX512 = 6

/// Computes one block of C with the 6×64 register tiles (see `gemmBlockKernel` for the layouts).
public func gemmBlockAVX512(rows: Int, columns: Int, depth: Int,
        a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, aTileStride: Int,
        packedB: UnsafePointer<Float>, panelStride: Int,
        c: UnsafeMutablePointer<Float>, cRowStride: Int,
        addToC: Bool, rowBias: UnsafePointer<Float>?, columnBias: UnsafePointer<Float>?, relu: Bool) {
    gemmBlockKernel(SIMD16<Float>.self, Count6.self, Count4.self, rows: rows, columns: columns, depth: depth,
                    a: a, aRowStride: aRowStride, aDepthStride: aDepthStride, aTileStride: aTileStride,
                    packedB: packedB, panelStride: panelStride, c: c, cRowStride: cRowStride,
                    addToC: addToC, rowBias: rowBias, columnBias: columnBias, relu: relu)
}

/// Computes C[M×N] for N ≤ 4 columns with dot products along K (see `gemmDotColumnsKernel`).
public func gemmDotColumnsAVX512(rows: Int, columns: Int, depth: Int,
        a: UnsafePointer<Float>, aRowStride: Int,
        b: UnsafePointer<Float>, bColumnStride: Int,
        c: UnsafeMutablePointer<Float>, cRowStride: Int,
        addToC: Bool, rowBias: UnsafePointer<Float>?, columnBias: UnsafePointer<Float>?, relu: Bool) {
    gemmDotColumnsKernel(SIMD16<Float>.self, rows: rows, columns: columns, depth: depth, a: a, aRowStride: aRowStride,
                         b: b, bColumnStride: bColumnStride, c: c, cRowStride: cRowStride,
                         addToC: addToC, rowBias: rowBias, columnBias: columnBias, relu: relu)
}

/// Floating-point operations one iteration of `fmaThroughputLoopAVX512` performs.
public let fmaThroughputFlopsPerIterationAVX512 = fmaThroughputFlopsPerIteration(SIMD16<Float>.self)

/// The register-only FMA loop on SIMD16<Float> (see `fmaThroughputKernel`).
@inline(never)
public func fmaThroughputLoopAVX512(iterations: Int, multiplier: Float, addend: Float) -> Float {
    fmaThroughputKernel(SIMD16<Float>.self, iterations: iterations, multiplier: multiplier, addend: addend)
}
#endif
