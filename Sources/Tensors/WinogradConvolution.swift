// 3×3, stride-1 convolution by Winograd's minimal filtering F(4×4, 3×3) (Lavin & Gray, "Fast
// Algorithms for Convolutional Neural Networks", 2016): each 4×4 block of output pixels ("tile")
// comes from a 6×6 block of input through 36 products instead of 144, a quarter of the direct
// convolution's multiply-adds.
//
// With ξ ∈ 0..<36 the position in the 6×6 transformed tile:
//   U[ξ][o][c] = (G·w[o,c]·Gᵀ)[ξ]           the weight, transformed once (`PackedMatrix.derived`)
//   V[ξ][c][t] = (Bᵀ·d[c,t]·B)[ξ]          d[c,t] the 6×6 input block of tile t, channel c
//   M[ξ]       = U[ξ] · V[ξ]               36 GEMMs [O×C]·[C×tiles], on the ordinary GEMM kernels
//   y[o,t]     = Aᵀ·M[·][o][t]·A            the 4×4 output block, then bias and ReLU
// The transforms run on eight tiles of one tile row at a time, one tile per SIMD lane: a 6×6
// block's column j for eight adjacent tiles is every fourth float of the input row (a strided
// deinterleave), and the 4×4 results go back by the inverse interleave.
//
// Accuracy: the transforms' coefficients (up to 5 in Bᵀ, 8 in Aᵀ, 1/24 in G) cost about one decimal
// digit against the direct sum: errors stay near 1e-6 of the output's magnitude at ResNet depths
// (C up to 512), tested against `conv2dNaive`.

/// Floats of the transformed weight U for `geometry`: 36·O·C.
func winogradWeightCount(_ g: Conv2DGeometry) -> Int { 36 * g.outputChannels * g.inputChannels }

/// The tile grid of one image and the buffers' layouts.
struct WinogradTiling {
    /// Tiles per image along each axis and in all.
    let tilesY: Int, tilesX: Int, tilesPerImage: Int
    /// A zero-padded input plane: the image at (padH, padW), wide enough that the last group of
    /// eight tiles reads in bounds (its two 32-float loads reach 4·(8·⌈tilesX/8⌉) + 4 floats).
    let planeHeight: Int, planeWidth: Int
    let images: Int
    /// Floats between rows of V[ξ][c] and of M[ξ][o]: all tiles plus one group of slack, which
    /// the transforms' eight-lane stores and loads may touch past the last tile.
    let rowStride: Int

    init(_ g: Conv2DGeometry, images: Int) {
        tilesY = (g.outputHeight + 3) / 4
        tilesX = (g.outputWidth + 3) / 4
        tilesPerImage = tilesY * tilesX
        planeHeight = tilesY * 4 + 2
        planeWidth = (tilesX + 7) / 8 * 32 + 4
        self.images = images
        rowStride = images * tilesPerImage + 8
    }

    /// Floats of V (36·C rows) and M (36·O rows) together.
    func bufferCount(_ g: Conv2DGeometry) -> Int { 36 * (g.inputChannels + g.outputChannels) * rowStride }
}

/// Whether the Winograd path can compute `g`: 3×3, stride 1, no dilation, no groups, and padding
/// under the kernel's size.
func winogradSupports(_ g: Conv2DGeometry) -> Bool {
    g.kernelHeight == 3 && g.kernelWidth == 3 && g.strideHeight == 1 && g.strideWidth == 1
        && g.dilationHeight == 1 && g.dilationWidth == 1 && g.groups == 1
        && g.paddingHeight <= 2 && g.paddingWidth <= 2 && g.outputHeight > 0 && g.outputWidth > 0
}

/// Images per pass: enough that the 36 GEMMs are wide, few enough that V and M stay near L2/L3 size.
func winogradImagesPerPass(_ g: Conv2DGeometry) -> Int {
    let one = WinogradTiling(g, images: 1).bufferCount(g)
    return max(1, min(g.batch, (4 << 20) / max(one, 1)))
}

/// The Winograd convolution of the whole batch: output = relu?(conv(input, weight) + bias).
func conv2dWinograd(input: UnsafePointer<Float>, weight: PackedMatrix, bias: UnsafePointer<Float>?,
                    output: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry, relu: Bool,
                    kernel: GEMMKernel, pool: ThreadPool) {
    precondition(winogradSupports(g), "conv2dWinograd: cannot compute \(g)")
    let (C, O) = (g.inputChannels, g.outputChannels)
    let transformed = weight.derived("winograd-f4x4-3x3", count: winogradWeightCount(g)) { u in
        transformWinogradWeight(weight.pointer, into: u, outputChannels: O, inputChannels: C)
    }
    let perPass = winogradImagesPerPass(g)
    let imageSize = C * g.inputHeight * g.inputWidth, outputSize = O * g.outputHeight * g.outputWidth
    var first = 0
    while first < g.batch {
        let images = min(perPass, g.batch - first)
        let tiling = WinogradTiling(g, images: images)
        let buffer = ScratchBuffer.convolution.value.floats(tiling.bufferCount(g))
        let v = buffer, m = buffer + 36 * C * tiling.rowStride
        pool.parallelChunks(C) { channels in
            winogradInputTransform(input + first * imageSize, into: v, channels: channels, geometry: g, tiling: tiling)
        }
        // The 36 products side by side, each on one thread.
        pool.parallelFor(36) { xi in
            let problem = GEMMProblem(rows: O, columns: images * tiling.tilesPerImage, depth: C,
                                      a: transformed + xi * O * C, aRowStride: C, aDepthStride: 1,
                                      panels: .matrix(v + xi * C * tiling.rowStride, depthStride: tiling.rowStride, widthStride: 1),
                                      c: m + xi * O * tiling.rowStride, cRowStride: tiling.rowStride, addToC: false, epilogue: .none)
            problem.run(schedule: problem.schedule(kernel: kernel, threads: 1), kernel: kernel, pool: pool)
        }
        pool.parallelChunks(O) { channels in
            winogradOutputTransform(m, into: output + first * outputSize, bias: bias, relu: relu, channels: channels,
                                    geometry: g, tiling: tiling)
        }
        first += images
    }
}

// MARK: - Weight transform

/// U[ξ][o][c] = (G·w·Gᵀ)[ξ] for every 3×3 filter w = weight[o][c], with
/// G = [[1/4, 0, 0], [−1/6, −1/6, −1/6], [−1/6, 1/6, −1/6], [1/24, 1/12, 1/6], [1/24, −1/12, 1/6], [0, 0, 1]].
func transformWinogradWeight(_ weight: UnsafePointer<Float>, into u: UnsafeMutablePointer<Float>,
                             outputChannels O: Int, inputChannels C: Int) {
    let G: [Double] = [1.0 / 4, 0, 0, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6,
                       1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 24, -1.0 / 12, 1.0 / 6, 0, 0, 1]
    // G·w: 6×3, then (G·w)·Gᵀ: 6×6, in Double so the transform adds no rounding of its own.
    let gw = UnsafeMutablePointer<Double>.allocate(capacity: 18)
    defer { gw.deallocate() }
    for o in 0..<O {
        for c in 0..<C {
            let w = weight + (o * C + c) * 9
            for i in 0..<6 {
                for j in 0..<3 {
                    gw[i * 3 + j] = G[i * 3] * Double(w[j]) + G[i * 3 + 1] * Double(w[3 + j]) + G[i * 3 + 2] * Double(w[6 + j])
                }
            }
            for i in 0..<6 {
                for j in 0..<6 {
                    let value = gw[i * 3] * G[j * 3] + gw[i * 3 + 1] * G[j * 3 + 1] + gw[i * 3 + 2] * G[j * 3 + 2]
                    u[((i * 6 + j) * O + o) * C + c] = Float(value)
                }
            }
        }
    }
}

/// Estimated time of one image on the Winograd path, in FMA-instruction slots (the unit of
/// `ConvolutionPath.choose`): the 36 GEMMs by the GEMM cost model, the two transforms (measured
/// per tile and channel on AVX2), and reading U, which streams from memory once it outgrows the caches.
func winogradCost(_ g: Conv2DGeometry, weightIsTransient: Bool, kernel: GEMMKernel, threads: Int) -> Double {
    let images = winogradImagesPerPass(g), tiling = WinogradTiling(g, images: images)
    let (C, O) = (g.inputChannels, g.outputChannels)
    let dummy = UnsafeMutablePointer<Float>(bitPattern: 64)!
    let problem = GEMMProblem(rows: O, columns: images * tiling.tilesPerImage, depth: C, a: dummy, aRowStride: C, aDepthStride: 1,
                              panels: .matrix(dummy, depthStride: tiling.rowStride, widthStride: 1),
                              c: dummy, cRowStride: tiling.rowStride, addToC: false, epilogue: .none)
    let products = 36 * problem.schedule(kernel: kernel, threads: 1).cost
    let transforms = Double(images * tiling.tilesPerImage) * Double(56 * C + 30 * O)
    let weightFloats = Double(winogradWeightCount(g))
    let weights = weightFloats * (weightIsTransient ? 8 : (weightFloats * 4 <= Double(8 << 20) ? 0.25 : 2))
    return (products + transforms + weights) / Double(images) / Double(threads)
}

// MARK: - Input transform

private typealias Lanes = SIMD8<Float>

/// Bᵀ·x for one column of six values (eight tiles per lane), Bᵀ =
/// [[4, 0, −5, 0, 1, 0], [0, −4, −4, 1, 1, 0], [0, 4, −4, −1, 1, 0], [0, −2, −1, 2, 1, 0], [0, 2, −1, −2, 1, 0], [0, 4, 0, −5, 0, 1]].
@inline(__always)
private func inputTransform1D(_ x0: Lanes, _ x1: Lanes, _ x2: Lanes, _ x3: Lanes, _ x4: Lanes, _ x5: Lanes)
    -> (Lanes, Lanes, Lanes, Lanes, Lanes, Lanes) {
    let four = Lanes(repeating: 4), minusFour = Lanes(repeating: -4), minusFive = Lanes(repeating: -5)
    let a = x4.addingProduct(minusFour, x2)             // x4 − 4x2
    let b = x3.addingProduct(minusFour, x1)             // x3 − 4x1
    let c = x4 - x2                                     // x4 − x2
    let d = (x3 - x1) * Lanes(repeating: 2)             // 2x3 − 2x1
    return (x4.addingProduct(four, x0).addingProduct(minusFive, x2),
            a + b,                                      // −4x1 − 4x2 + x3 + x4
            a - b,                                      // 4x1 − 4x2 − x3 + x4
            c + d,                                      // −2x1 − x2 + 2x3 + x4
            c - d,                                      // 2x1 − x2 − 2x3 + x4
            x5.addingProduct(four, x1).addingProduct(minusFive, x3))
}

/// V for `channels` of every image in the pass: per channel, the plane is copied into a
/// zero-padded scratch plane, then transformed eight tiles at a time.
func winogradInputTransform(_ input: UnsafePointer<Float>, into v: UnsafeMutablePointer<Float>, channels: Range<Int>,
                            geometry g: Conv2DGeometry, tiling: WinogradTiling) {
    let (H, W, C) = (g.inputHeight, g.inputWidth, g.inputChannels)
    let width = tiling.planeWidth, planeCount = tiling.planeHeight * width
    let plane = ScratchBuffer.convolutionRow.value.floats(planeCount)
    plane.update(repeating: 0, count: planeCount)
    let xiStride = C * tiling.rowStride
    // d[i·6 + j]: the 6×6 blocks of eight tiles (more than the registers hold).
    let d = UnsafeMutablePointer<Lanes>.allocate(capacity: 36)
    defer { d.deallocate() }
    for c in channels {
        for n in 0..<tiling.images {
            // The image sits at (padH, padW); what lies outside it stays zero from the first fill.
            let source = input + (n * C + c) * H * W
            let rows = min(H, tiling.planeHeight - g.paddingHeight), columns = min(W, width - g.paddingWidth)
            for h in 0..<rows {
                (plane + (h + g.paddingHeight) * width + g.paddingWidth).update(from: source + h * W, count: columns)
            }
            let vRow = v + c * tiling.rowStride + n * tiling.tilesPerImage
            for ty in 0..<tiling.tilesY {
                var tx = 0
                while tx < tiling.tilesX {
                    let base = UnsafeRawPointer(plane + ty * 4 * width + tx * 4)
                    // d[i][j] for eight tiles: row i of the 6×6 blocks, j = 0…5 by deinterleaving.
                    for i in 0..<6 {
                        let row = base + i * width * 4
                        let x = row.loadUnaligned(as: SIMD32<Float>.self)
                        let y = row.loadUnaligned(fromByteOffset: 16, as: SIMD32<Float>.self)
                        d[i * 6] = x.evenHalf.evenHalf
                        d[i * 6 + 1] = x.oddHalf.evenHalf
                        d[i * 6 + 2] = x.evenHalf.oddHalf
                        d[i * 6 + 3] = x.oddHalf.oddHalf
                        d[i * 6 + 4] = y.evenHalf.evenHalf
                        d[i * 6 + 5] = y.oddHalf.evenHalf
                    }
                    // Bᵀ·d (down each column j), then ·B (along each row).
                    for j in 0..<6 {
                        let t = inputTransform1D(d[j], d[6 + j], d[12 + j], d[18 + j], d[24 + j], d[30 + j])
                        (d[j], d[6 + j], d[12 + j], d[18 + j], d[24 + j], d[30 + j]) = t
                    }
                    let target = vRow + ty * tiling.tilesX + tx
                    for i in 0..<6 {
                        let t = inputTransform1D(d[i * 6], d[i * 6 + 1], d[i * 6 + 2], d[i * 6 + 3], d[i * 6 + 4], d[i * 6 + 5])
                        // Lanes past the row's last tile land on the next row's first tiles (written
                        // after this) or in the slack after the last tile.
                        let out = target + i * 6 * xiStride
                        UnsafeMutableRawPointer(out).storeBytes(of: t.0, as: Lanes.self)
                        UnsafeMutableRawPointer(out + xiStride).storeBytes(of: t.1, as: Lanes.self)
                        UnsafeMutableRawPointer(out + 2 * xiStride).storeBytes(of: t.2, as: Lanes.self)
                        UnsafeMutableRawPointer(out + 3 * xiStride).storeBytes(of: t.3, as: Lanes.self)
                        UnsafeMutableRawPointer(out + 4 * xiStride).storeBytes(of: t.4, as: Lanes.self)
                        UnsafeMutableRawPointer(out + 5 * xiStride).storeBytes(of: t.5, as: Lanes.self)
                    }
                    tx += 8
                }
            }
        }
    }
}

// MARK: - Output transform

/// Aᵀ·x for one column of six values, Aᵀ = [[1, 1, 1, 1, 1, 0], [0, 1, −1, 2, −2, 0], [0, 1, 1, 4, 4, 0], [0, 1, −1, 8, −8, 1]].
@inline(__always)
private func outputTransform1D(_ x0: Lanes, _ x1: Lanes, _ x2: Lanes, _ x3: Lanes, _ x4: Lanes, _ x5: Lanes)
    -> (Lanes, Lanes, Lanes, Lanes) {
    let sum12 = x1 + x2, difference12 = x1 - x2, sum34 = x3 + x4, difference34 = x3 - x4
    return (x0 + sum12 + sum34,
            difference12.addingProduct(Lanes(repeating: 2), difference34),
            sum12.addingProduct(Lanes(repeating: 4), sum34),
            (difference12 + x5).addingProduct(Lanes(repeating: 8), difference34))
}

/// The output planes of `channels` for every image in the pass, from M, with bias and ReLU.
func winogradOutputTransform(_ m: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>, bias: UnsafePointer<Float>?,
                             relu: Bool, channels: Range<Int>, geometry g: Conv2DGeometry, tiling: WinogradTiling) {
    let (P, Q, O) = (g.outputHeight, g.outputWidth, g.outputChannels)
    let xiStride = O * tiling.rowStride
    let zero = Lanes()
    var partial = SIMD32<Float>()
    // s[i·6 + j]: Aᵀ·M for eight tiles, rows i < 4.
    let s = UnsafeMutablePointer<Lanes>.allocate(capacity: 24)
    defer { s.deallocate() }
    for o in channels {
        let start = Lanes(repeating: bias?[o] ?? 0)
        for n in 0..<tiling.images {
            let mRow = m + o * tiling.rowStride + n * tiling.tilesPerImage
            let plane = output + (n * O + o) * P * Q
            for ty in 0..<tiling.tilesY {
                var tx = 0
                while tx < tiling.tilesX {
                    let source = UnsafeRawPointer(mRow + ty * tiling.tilesX + tx)
                    // Aᵀ·M down each column j, then ·A along each of the four rows.
                    for j in 0..<6 {
                        func load(_ i: Int) -> Lanes { source.loadUnaligned(fromByteOffset: (i * 6 + j) * xiStride * 4, as: Lanes.self) }
                        let t = outputTransform1D(load(0), load(1), load(2), load(3), load(4), load(5))
                        (s[j], s[6 + j], s[12 + j], s[18 + j]) = t
                    }
                    let columns = min(32, Q - tx * 4)
                    for i in 0..<min(4, P - ty * 4) {
                        var y = outputTransform1D(s[i * 6], s[i * 6 + 1], s[i * 6 + 2], s[i * 6 + 3], s[i * 6 + 4], s[i * 6 + 5])
                        y = (y.0 + start, y.1 + start, y.2 + start, y.3 + start)
                        if relu {
                            y = (y.0.replacing(with: 0, where: y.0 .< zero), y.1.replacing(with: 0, where: y.1 .< zero),
                                 y.2.replacing(with: 0, where: y.2 .< zero), y.3.replacing(with: 0, where: y.3 .< zero))
                        }
                        // Tile lane l's row i is pixels 4l…4l+3: interleave the four vectors.
                        for l in 0..<8 {
                            partial[4 &* l] = y.0[l]
                            partial[4 &* l &+ 1] = y.1[l]
                            partial[4 &* l &+ 2] = y.2[l]
                            partial[4 &* l &+ 3] = y.3[l]
                        }
                        let target = plane + (ty * 4 + i) * Q + tx * 4
                        if columns == 32 {
                            UnsafeMutableRawPointer(target).storeBytes(of: partial, as: SIMD32<Float>.self)
                        } else {
                            for x in 0..<columns { target[x] = partial[x] }
                        }
                    }
                    tx += 8
                }
            }
        }
    }
}
