// Depthwise convolution on channels-last data: input [N, H, W, C], filter taps [R·S, C] (tap-major,
// so one tap's C weights are contiguous), output [N, P, Q, C]. The channels are the vector lanes:
// every lane is useful whatever the plane size, where the NCHW kernel (`conv2dDepthwise`) runs a
// 7-column row of a 7×7 plane in a 16-lane vector. This is the layout MobileNet/EfficientNet
// blocks (1×1 → depthwise → 1×1) want: their 1×1 convolutions become plain row-major GEMMs.
//
// Per output row (n, p) and block of 16 channels, four output columns are accumulated in registers
// across all taps (each tap's weight vector loaded once for the four), the bias first, the ReLU at
// the store; SiLU/GELU run over the finished row (contiguous Q·C values, still in cache). Columns
// whose taps all fall inside the input take a path without bounds checks; border columns are
// also done four at a time, each tap checked. A channel count that is
// not a multiple of 16 ends in a partly filled vector. Parallel over output rows. The naive twin is
// `conv2dNaive` on the permuted tensors (DepthwiseChannelsLastTests).

import VectorMath

/// Depthwise convolution of channels-last `input` with `taps` [R·S, C] into `output` [N, P, Q, C].
/// `g` describes the convolution as for NCHW (inputChannels = outputChannels = groups = C).
func conv2dDepthwiseChannelsLast(input: UnsafePointer<Float>, taps: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                 output: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry,
                                 activation: FusedActivation, pool: ThreadPool) {
    let (C, H, W, P, Q) = (g.inputChannels, g.inputHeight, g.inputWidth, g.outputHeight, g.outputWidth)
    let (R, S) = (g.kernelHeight, g.kernelWidth)
    // Output columns whose every tap lies inside the row: q·σ − pad ≥ 0 and q·σ − pad + (S−1)·d < W.
    let firstInterior = min(Q, (g.paddingWidth + g.strideWidth - 1) / g.strideWidth)
    let lastInterior = W - 1 - (S - 1) * g.dilationWidth + g.paddingWidth  // q·σ ≤ this
    let interiorEnd = max(firstInterior, min(Q, lastInterior >= 0 ? lastInterior / g.strideWidth + 1 : 0))
    let relu = activation == .relu
    let rows = g.batch * P
    // Work per row: Q·C·R·S multiply-adds; small layers stay on one thread.
    let grain = max(1, 32_768 / max(1, Q * C * R * S))
    // Rows are taken in tiles of about 64 KB of output; within a tile the channel blocks are the
    // outer loop, so consecutive output rows reuse the input rows of one channel block from L1.
    let tileRows = max(1, 16_384 / max(1, Q * C))

    /// Output row `row` (image n, row p) for the channels from `channel` (up to 16).
    func computeRow(_ row: Int, channel: Int) {
        let n = row / P, p = row % P
        let top = p * g.strideHeight - g.paddingHeight
        // Filter rows r whose input row top + r·dH is inside the image.
        var rFirst = 0, rEnd = R
        while rFirst < R && top + rFirst * g.dilationHeight < 0 { rFirst += 1 }
        while rEnd > rFirst && top + (rEnd - 1) * g.dilationHeight >= H { rEnd -= 1 }
        let image = input + n * H * W * C
        let out = output + row * Q * C
        let lanes = min(16, C - channel)
        let start = bias.map { loadChannels($0 + channel, lanes) } ?? SIMD16<Float>()
        var q = 0
        while q < Q {
            let interior = q >= firstInterior && q + 4 <= interiorEnd && lanes == 16
            if interior {
                var a0 = start, a1 = start, a2 = start, a3 = start
                for r in rFirst..<rEnd {
                    let inputRow = image + (top + r * g.dilationHeight) * W * C
                    for s in 0..<S {
                        let weight = loadVector(taps + (r * S + s) * C + channel)
                        let column = q * g.strideWidth - g.paddingWidth + s * g.dilationWidth
                        let base = inputRow + column * C + channel
                        let step = g.strideWidth * C
                        a0 = a0.addingProduct(loadVector(base), weight)
                        a1 = a1.addingProduct(loadVector(base + step), weight)
                        a2 = a2.addingProduct(loadVector(base + 2 * step), weight)
                        a3 = a3.addingProduct(loadVector(base + 3 * step), weight)
                    }
                }
                let target = out + q * C + channel
                storeVector(relu ? VectorMath.relu(a0) : a0, target)
                storeVector(relu ? VectorMath.relu(a1) : a1, target + C)
                storeVector(relu ? VectorMath.relu(a2) : a2, target + 2 * C)
                storeVector(relu ? VectorMath.relu(a3) : a3, target + 3 * C)
                q += 4
            } else {
                // Border columns (or a partial channel block): up to four columns, each tap checked.
                let width = min(4, Q - q)
                var a0 = start, a1 = start, a2 = start, a3 = start
                for r in rFirst..<rEnd {
                    let inputRow = image + (top + r * g.dilationHeight) * W * C + channel
                    for s in 0..<S {
                        let weight = loadChannels(taps + (r * S + s) * C + channel, lanes)
                        let column = q * g.strideWidth - g.paddingWidth + s * g.dilationWidth
                        @inline(__always) func tap(_ k: Int) -> SIMD16<Float>? {
                            let c = column + k * g.strideWidth
                            return k < width && c >= 0 && c < W ? loadChannels(inputRow + c * C, lanes) : nil
                        }
                        if let x = tap(0) { a0 = a0.addingProduct(x, weight) }
                        if let x = tap(1) { a1 = a1.addingProduct(x, weight) }
                        if let x = tap(2) { a2 = a2.addingProduct(x, weight) }
                        if let x = tap(3) { a3 = a3.addingProduct(x, weight) }
                    }
                }
                let target = out + q * C + channel
                storeChannels(relu ? VectorMath.relu(a0) : a0, target, lanes)
                if width > 1 { storeChannels(relu ? VectorMath.relu(a1) : a1, target + C, lanes) }
                if width > 2 { storeChannels(relu ? VectorMath.relu(a2) : a2, target + 2 * C, lanes) }
                if width > 3 { storeChannels(relu ? VectorMath.relu(a3) : a3, target + 3 * C, lanes) }
                q += width
            }
        }
    }

    pool.parallelChunks(rows, minimumChunk: grain) { range in
        var tileStart = range.lowerBound
        while tileStart < range.upperBound {
            let tile = tileStart..<min(range.upperBound, tileStart + tileRows)
            for channel in stride(from: 0, to: C, by: 16) {
                for row in tile { computeRow(row, channel: channel) }
            }
            // The tile's rows are contiguous: one pass of SiLU/GELU while they are in cache.
            if let blockActivation = GEMMEpilogue(activation: activation).blockActivation {
                let count = tile.count * Q * C
                applyBlockActivation(blockActivation, output + tile.lowerBound * Q * C, rows: 1, columns: count, rowStride: count)
            }
            tileStart = tile.upperBound
        }
    }
}

@inline(__always) private func loadChannels(_ p: UnsafePointer<Float>, _ lanes: Int) -> SIMD16<Float> {
    lanes == 16 ? loadVector(p) : loadPartialVector(p, lanes)
}

@inline(__always) private func storeChannels(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ lanes: Int) {
    if lanes == 16 { storeVector(v, p) } else { storePartialVector(v, p, lanes) }
}
