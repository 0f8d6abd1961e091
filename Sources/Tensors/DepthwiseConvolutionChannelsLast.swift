// Depthwise convolution on channels-last data: input [N, H, W, C], filter taps [⌈C/16⌉, R·S, 16]
// (per block of 16 channels, one tap's weights contiguous), output [N, P, Q, C]. The channels are the vector lanes:
// every lane is useful whatever the plane size, where the NCHW kernel (`conv2dDepthwise`) runs a
// 7-column row of a 7×7 plane in a 16-lane vector. This is the layout MobileNet/EfficientNet
// blocks (1×1 → depthwise → 1×1) want: their 1×1 convolutions become plain row-major GEMMs.
//
// Work goes in tiles of output rows of one image; per tile, the input rows the tile reads are
// copied once, in memory order, into zero-padded scratch planes [block of 16 channels][rows]
// [W + 2·pad][16], so the loop over taps has no
// bounds checks and every load is one aligned-stride vector — on 7×7 planes with 5×5 filters every
// column would otherwise be a border column. Four output columns are accumulated in registers across
// all taps, the bias first, the ReLU at the store; SiLU/GELU run over the tile's finished rows
// (contiguous, still in cache). A channel count that is not a multiple of 16 ends in a partly
// filled block. Parallel over output rows. The naive twin is `conv2dNaive` on the permuted tensors
// (DepthwiseChannelsLastTests).

import VectorMath

/// Depthwise convolution of channels-last `input` with `taps` [⌈C/16⌉, R·S, 16] into `output` [N, P, Q, C].
/// `g` describes the convolution as for NCHW (inputChannels = outputChannels = groups = C).
func conv2dDepthwiseChannelsLast(input: UnsafePointer<Float>, taps: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                                 output: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry,
                                 activation: FusedActivation, pool: ThreadPool) {
    let (C, H, W, P, Q) = (g.inputChannels, g.inputHeight, g.inputWidth, g.outputHeight, g.outputWidth)
    let (R, S) = (g.kernelHeight, g.kernelWidth)
    let (strideH, strideW, dilationH, dilationW) = (g.strideHeight, g.strideWidth, g.dilationHeight, g.dilationWidth)
    let paddedWidth = W + 2 * g.paddingWidth
    let relu = activation == .relu
    let blocks = (C + 15) / 16
    // Work per output row: Q·C·R·S multiply-adds; small layers stay on one thread.
    let grain = max(1, 32_768 / max(1, Q * C * R * S))
    // Tile height: the padded input rows of one channel block fit in 48 KB (L1/L2), so each input
    // vector is copied about once (the filter's R − 1 overlap rows are copied again per tile).
    let planeRows = max(1, 49_152 / (paddedWidth * 64))
    let tileRows = min(P, max(1, (planeRows - (R - 1) * dilationH - 1) / strideH + 1))
    let maximumPlaneFloats = ((tileRows - 1) * strideH + (R - 1) * dilationH + 1) * paddedWidth * 16
    // Blocks per group: as many planes as fit in a quarter of L2. A group's input is read pixel by
    // pixel in memory order (a block at a time read 64 bytes per pixel at a stride of C floats, which
    // stalled on memory at 56² and 112²), then each of its blocks is computed from its cached plane.
    let groupBlocks = max(1, min(blocks, CPUCache.level2Bytes / 4 / (maximumPlaneFloats * 4)))

    /// Copies the input rows that output rows `rows` of image `n` read, channel blocks `group`, into
    /// `planes` ([group.count][rowCount][paddedWidth][16], zero-padded), pixel by pixel.
    func fillTile(n: Int, rows: Range<Int>, group: Range<Int>, planes: UnsafeMutablePointer<Float>) {
        let firstRow = rows.lowerBound * strideH - g.paddingHeight
        let rowCount = (rows.count - 1) * strideH + (R - 1) * dilationH + 1
        let planeFloats = rowCount * paddedWidth * 16
        let zero = SIMD16<Float>()
        for i in 0..<rowCount {
            let h = firstRow + i
            for block in 0..<group.count {
                let target = planes + block * planeFloats + i * paddedWidth * 16
                if h >= 0 && h < H {
                    for column in 0..<g.paddingWidth { storeVector(zero, target + column * 16) }
                    for column in (g.paddingWidth + W)..<paddedWidth { storeVector(zero, target + column * 16) }
                } else {
                    for column in 0..<paddedWidth { storeVector(zero, target + column * 16) }
                }
            }
            guard h >= 0 && h < H else { continue }
            let full = group.upperBound < blocks ? group.count : group.count - 1
            let lastLanes = min(16, C - (group.upperBound - 1) * 16)
            var source = input + ((n * H + h) * W) * C + group.lowerBound * 16
            var target = planes + i * paddedWidth * 16 + g.paddingWidth * 16
            for _ in 0..<W {
                for block in 0..<full { storeVector(loadVector(source + block * 16), target + block * planeFloats) }
                if full < group.count {
                    storeVector(loadChannels(source + full * 16, lastLanes), target + full * planeFloats)
                }
                source += C
                target += 16
            }
        }
    }

    /// Output rows `rows` of image `n` for the channels of `block` (up to 16), from its filled plane.
    func computeBlock(n: Int, rows: Range<Int>, block: Int, plane: UnsafePointer<Float>) {
        let channel = block * 16, lanes = min(16, C - channel)
        let blockWeights = taps + block * R * S * 16
        let start = bias.map { loadChannels($0 + channel, lanes) } ?? SIMD16<Float>()
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
                var inputRow = top + q * columnStep, weight = blockWeights
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
                    for s in 0..<S { a = a.addingProduct(loadVector(inputRow + s * dilationW * 16), loadVector(blockWeights + (r * S + s) * 16)) }
                }
                storeChannels(relu ? VectorMath.relu(a) : a, out + q * C, lanes)
                q += 1
            }
        }
    }

    pool.parallelChunks(g.batch * P, minimumChunk: grain) { range in
        let maximumRows = (min(tileRows, range.count) - 1) * strideH + (R - 1) * dilationH + 1
        let planes = ScratchBuffer.convolution.value.floats(groupBlocks * maximumRows * paddedWidth * 16)
        var tileStart = range.lowerBound
        while tileStart < range.upperBound {
            // A tile stays inside one image.
            let n = tileStart / P
            let tileEnd = min(range.upperBound, tileStart + tileRows, (n + 1) * P)
            let rows = (tileStart - n * P)..<(tileEnd - n * P)
            let planeFloats = ((rows.count - 1) * strideH + (R - 1) * dilationH + 1) * paddedWidth * 16
            for first in stride(from: 0, to: blocks, by: groupBlocks) {
                let group = first..<min(blocks, first + groupBlocks)
                fillTile(n: n, rows: rows, group: group, planes: planes)
                for block in group { computeBlock(n: n, rows: rows, block: block, plane: planes + (block - first) * planeFloats) }
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
