// Depthwise convolution on channels-last data: input [N, H, W, C], filter taps [R·S, C] (tap-major,
// so one tap's C weights are contiguous), output [N, P, Q, C]. The channels are the vector lanes:
// every lane is useful whatever the plane size, where the NCHW kernel (`conv2dDepthwise`) runs a
// 7-column row of a 7×7 plane in a 16-lane vector. This is the layout MobileNet/EfficientNet
// blocks (1×1 → depthwise → 1×1) want: their 1×1 convolutions become plain row-major GEMMs.
//
// Work goes in tiles of output rows of one image; per tile and block
// of 16 channels, the input rows the tile reads are copied once into a zero-padded scratch plane
// [rows][W + 2·pad][16] (and the block's filter taps into [R·S][16]), so the loop over taps has no
// bounds checks and every load is one aligned-stride vector — on 7×7 planes with 5×5 filters every
// column would otherwise be a border column. Four output columns are accumulated in registers across
// all taps, the bias first, the ReLU at the store; SiLU/GELU run over the tile's finished rows
// (contiguous, still in cache). A channel count that is not a multiple of 16 ends in a partly
// filled block. Parallel over output rows. The naive twin is `conv2dNaive` on the permuted tensors
// (DepthwiseChannelsLastTests).

import VectorMath

/// Depthwise convolution of channels-last `input` with `taps` [R·S, C] into `output` [N, P, Q, C].
/// `g` describes the convolution as for NCHW (inputChannels = outputChannels = groups = C).
func conv2dDepthwiseChannelsLast(input: UnsafePointer<Float>, taps: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                 output: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry,
                                 activation: FusedActivation, pool: ThreadPool) {
    let (C, H, W, P, Q) = (g.inputChannels, g.inputHeight, g.inputWidth, g.outputHeight, g.outputWidth)
    let (R, S) = (g.kernelHeight, g.kernelWidth)
    let (strideH, strideW, dilationH, dilationW) = (g.strideHeight, g.strideWidth, g.dilationHeight, g.dilationWidth)
    let paddedWidth = W + 2 * g.paddingWidth
    let relu = activation == .relu
    // Work per output row: Q·C·R·S multiply-adds; small layers stay on one thread.
    let grain = max(1, 32_768 / max(1, Q * C * R * S))
    // Tile height: the padded input rows of one channel block fit in 48 KB (L1/L2), so each input
    // vector is copied about once (the filter's R − 1 overlap rows are copied again per tile).
    let planeRows = max(1, 49_152 / (paddedWidth * 64))
    let tileRows = min(P, max(1, (planeRows - (R - 1) * dilationH - 1) / strideH + 1))

    /// Output rows `rows` of image `n` for the channels from `channel` (up to 16).
    func computeTile(n: Int, rows: Range<Int>, channel: Int, scratch: UnsafeMutablePointer<Float>) {
        let lanes = min(16, C - channel)
        // The filter taps of this block, then the padded input rows the tile reads.
        let weights = scratch
        for tap in 0..<(R * S) { storeVector(loadChannels(taps + tap * C + channel, lanes), weights + tap * 16) }
        let plane = scratch + R * S * 16
        let firstRow = rows.lowerBound * strideH - g.paddingHeight
        let rowCount = (rows.count - 1) * strideH + (R - 1) * dilationH + 1
        let zero = SIMD16<Float>()
        for i in 0..<rowCount {
            let h = firstRow + i
            let target = plane + i * paddedWidth * 16
            guard h >= 0 && h < H else {
                for column in 0..<paddedWidth { storeVector(zero, target + column * 16) }
                continue
            }
            for column in 0..<g.paddingWidth { storeVector(zero, target + column * 16) }
            let source = input + ((n * H + h) * W) * C + channel
            for w in 0..<W { storeVector(loadChannels(source + w * C, lanes), target + (g.paddingWidth + w) * 16) }
            for column in (g.paddingWidth + W)..<paddedWidth { storeVector(zero, target + column * 16) }
        }
        let start = bias.map { loadChannels($0 + channel, lanes) } ?? zero
        let columnStep = strideW * 16, twoColumnSteps = 2 * columnStep, threeColumnSteps = 3 * columnStep
        let tapStep = dilationW * 16, rowStep = dilationH * paddedWidth * 16
        for p in rows {
            let top = plane + (p - rows.lowerBound) * strideH * paddedWidth * 16
            let out = output + ((n * P + p) * Q) * C + channel
            // Blocks of four columns; the last block is moved back to end at Q (recomputing a few
            // columns with the same arithmetic) rather than running up to three columns one by one,
            // each a latency-bound chain of R·S FMAs.
            var q = 0
            while Q >= 4 && q < Q {
                q = min(q, Q - 4)
                var a0 = start, a1 = start, a2 = start, a3 = start
                // Pointers stepped tap by tap (no index arithmetic in the loop).
                var inputRow = UnsafePointer(top + q * columnStep), weight = UnsafePointer(weights)
                for _ in 0..<R {
                    var base = inputRow
                    for _ in 0..<S {
                        let w = loadVector(weight)
                        a0 = a0.addingProduct(loadVector(base), w)
                        a1 = a1.addingProduct(loadVector(base + columnStep), w)
                        a2 = a2.addingProduct(loadVector(base + twoColumnSteps), w)
                        a3 = a3.addingProduct(loadVector(base + threeColumnSteps), w)
                        weight += 16
                        base += tapStep
                    }
                    inputRow += rowStep
                }
                storeChannels(relu ? VectorMath.relu(a0) : a0, out + q * C, lanes)
                storeChannels(relu ? VectorMath.relu(a1) : a1, out + (q + 1) * C, lanes)
                storeChannels(relu ? VectorMath.relu(a2) : a2, out + (q + 2) * C, lanes)
                storeChannels(relu ? VectorMath.relu(a3) : a3, out + (q + 3) * C, lanes)
                q += 4
            }
            while q < Q {
                var a = start
                for r in 0..<R {
                    let inputRow = top + r * dilationH * paddedWidth * 16 + q * columnStep
                    for s in 0..<S { a = a.addingProduct(loadVector(inputRow + s * dilationW * 16), loadVector(weights + (r * S + s) * 16)) }
                }
                storeChannels(relu ? VectorMath.relu(a) : a, out + q * C, lanes)
                q += 1
            }
        }
    }

    pool.parallelChunks(g.batch * P, minimumChunk: grain) { range in
        let maximumRows = (min(tileRows, range.count) - 1) * strideH + (R - 1) * dilationH + 1
        let scratch = ScratchBuffer.convolution.value.floats(R * S * 16 + maximumRows * paddedWidth * 16)
        var tileStart = range.lowerBound
        while tileStart < range.upperBound {
            // A tile stays inside one image.
            let n = tileStart / P
            let tileEnd = min(range.upperBound, tileStart + tileRows, (n + 1) * P)
            for channel in stride(from: 0, to: C, by: 16) {
                computeTile(n: n, rows: (tileStart - n * P)..<(tileEnd - n * P), channel: channel, scratch: scratch)
            }
            // The tile's rows are contiguous: one pass of SiLU/GELU while they are in cache.
            if let blockActivation = GEMMEpilogue(activation: activation).blockActivation {
                let count = (tileEnd - tileStart) * Q * C
                applyBlockActivation(blockActivation, output + tileStart * Q * C, rows: 1, columns: count, rowStride: count)
            }
            tileStart = tileEnd
        }
    }
}

@inline(__always) private func loadChannels(_ p: UnsafePointer<Float>, _ lanes: Int) -> SIMD16<Float> {
    lanes == 16 ? loadVector(p) : loadPartialVector(p, lanes)
}

@inline(__always) private func storeChannels(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>, _ lanes: Int) {
    if lanes == 16 { storeVector(v, p) } else { storePartialVector(v, p, lanes) }
}
