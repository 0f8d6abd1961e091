// The AVX2 instantiation of the kernels written once in `KernelTemplates`: 6×16 register tiles of
// 6 rows × 2 vectors of SIMD8<Float> for the SGEMM blocks, SIMD8<Float> dot products for the last columns, and the
// FMA peak loop. Built with x86-64-v3 flags: `addProduct` on SIMD8<Float> is one vfmadd231ps on a ymm register.

#if arch(x86_64)
import KernelTemplates

/// Columns of B per packed panel for the AVX2 GEMM kernel.
public let gemmPanelWidthAVX2 = 2 * SIMD8<Float>.scalarCount
/// Rows of A per register tile for the AVX2 GEMM kernel.
public let gemmTileRowsAVX2 = 6

/// Computes one block of C with the 6×16 register tiles (see `gemmBlockKernel` for the layouts).
public func gemmBlockAVX2(rows: Int, columns: Int, depth: Int,
        a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, aTileStride: Int,
        packedB: UnsafePointer<Float>, panelStride: Int,
        c: UnsafeMutablePointer<Float>, cRowStride: Int,
        addToC: Bool, rowBias: UnsafePointer<Float>?, columnBias: UnsafePointer<Float>?, relu: Bool) {
    gemmBlockKernel(SIMD8<Float>.self, Count6.self, Count2.self, rows: rows, columns: columns, depth: depth,
                    a: a, aRowStride: aRowStride, aDepthStride: aDepthStride, aTileStride: aTileStride,
                    packedB: packedB, panelStride: panelStride, c: c, cRowStride: cRowStride,
                    addToC: addToC, rowBias: rowBias, columnBias: columnBias, relu: relu)
}

/// Computes C[M×N] for N ≤ 4 columns with dot products along K (see `gemmDotColumnsKernel`).
public func gemmDotColumnsAVX2(rows: Int, columns: Int, depth: Int,
        a: UnsafePointer<Float>, aRowStride: Int,
        b: UnsafePointer<Float>, bColumnStride: Int,
        c: UnsafeMutablePointer<Float>, cRowStride: Int,
        addToC: Bool, rowBias: UnsafePointer<Float>?, columnBias: UnsafePointer<Float>?, relu: Bool) {
    gemmDotColumnsKernel(SIMD8<Float>.self, rows: rows, columns: columns, depth: depth, a: a, aRowStride: aRowStride,
                         b: b, bColumnStride: bColumnStride, c: c, cRowStride: cRowStride,
                         addToC: addToC, rowBias: rowBias, columnBias: columnBias, relu: relu)
}

/// Floating-point operations one iteration of `fmaThroughputLoopAVX2` performs.
public let fmaThroughputFlopsPerIterationAVX2 = fmaThroughputFlopsPerIteration(SIMD8<Float>.self)

/// The register-only FMA loop on SIMD8<Float> (see `fmaThroughputKernel`).
@inline(never)
public func fmaThroughputLoopAVX2(iterations: Int, multiplier: Float, addend: Float) -> Float {
    fmaThroughputKernel(SIMD8<Float>.self, iterations: iterations, multiplier: multiplier, addend: addend)
}
#endif
