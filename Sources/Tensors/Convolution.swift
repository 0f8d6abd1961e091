// 2-D convolution kernels. Layouts: input [N, C, H, W], weight [O, C/G, R, S], output [N, O, P, Q].
//
// Shape letters (see `Conv2DGeometry`): N batch, C input channels, H×W input size, O output
// channels, P×Q output size, R×S kernel size, G groups; K = C/G·R·S is the GEMM depth.
//
// Per image and group the convolution is the GEMM out[O/G, P·Q] = W[O/G, K] · X[K, P·Q], X being
// the im2col matrix X[(c, r, s), (p, q)] = input[c, p·strideH − padH + r·dilationH, q·strideW − padW + s·dilationW]
// (zero outside the image). `conv2d` picks, per layer:
// - pointwise (1×1, no padding): X is the input itself (stride 1) or a subsampled copy; no im2col;
// - depthwise (groups = C = O): a direct kernel, one plane at a time;
// - padded GEMM (stride 1): over a zero-padded copy of the image, every row of X is a contiguous
//   slice of a padded plane if pixels are numbered across the padded width; packing is plain
//   copies, and the few columns that fall in the padding are dropped when the output is compacted;
// - implicit GEMM (any stride): X's panels are gathered straight from the image;
// - swapped GEMM for small images (7×7): outᵀ[P·Q, O] = Xᵀ · Wᵀ, with Wᵀ packed once in the
//   `PackedMatrix` and Xᵀ gathered into strips of MR pixels (small at that size), then transposed
//   into the output.
// Bias and ReLU are applied in the GEMM epilogue (a row bias: one per output channel).

import VectorMath

// MARK: - Reference

/// The reference convolution: seven nested loops, Double accumulator, optional ReLU or SiLU.
public func conv2dNaive(input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                        output: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry, relu: Bool = false, silu: Bool = false) {
    let (P, Q) = (g.outputHeight, g.outputWidth)
    let cg = g.inputChannelsPerGroup, og = g.outputChannelsPerGroup
    for n in 0..<g.batch {
        for o in 0..<g.outputChannels {
            let group = o / og
            for p in 0..<P {
                for q in 0..<Q {
                    var total: Double = bias.map { Double($0[o]) } ?? 0
                    for c in 0..<cg {
                        let channel = group * cg + c
                        for r in 0..<g.kernelHeight {
                            let h = p * g.strideHeight - g.paddingHeight + r * g.dilationHeight
                            if h < 0 || h >= g.inputHeight { continue }
                            for s in 0..<g.kernelWidth {
                                let w = q * g.strideWidth - g.paddingWidth + s * g.dilationWidth
                                if w < 0 || w >= g.inputWidth { continue }
                                let x = input[((n * g.inputChannels + channel) * g.inputHeight + h) * g.inputWidth + w]
                                let k = weight[((o * cg + c) * g.kernelHeight + r) * g.kernelWidth + s]
                                total += Double(x) * Double(k)
                            }
                        }
                    }
                    if relu { total = max(total, 0) }
                    output[((n * g.outputChannels + o) * P + p) * Q + q] = silu ? VectorMath.silu(Float(total)) : Float(total)
                }
            }
        }
    }
}

// MARK: - Fast convolution

/// How `conv2d` computes a layer (chosen by `ConvolutionPath.choose`; tests and `periscope bench
/// kernels` force each one).
public enum ConvolutionPath: String, CaseIterable, Sendable {
    /// 1×1 without padding: the (possibly subsampled) input is the GEMM's B.
    case pointwise
    /// groups = C = O: direct kernel.
    case depthwise
    /// im2col panels gathered straight from the image into the GEMM.
    case implicitGEMM
    /// Stride 1: panels copied from a zero-padded image, product over the padded width, compacted.
    case paddedGEMM
    /// outᵀ = Xᵀ · Wᵀ with Xᵀ gathered into strips: wins when P·Q is small. Needs groups = 1.
    case swappedGEMM
    /// 3×3, stride 1: Winograd F(4×4, 3×3), a quarter of the multiply-adds (`conv2dWinograd`).
    case winograd

    /// Whether this path can compute `geometry`.
    public func supports(_ g: Conv2DGeometry) -> Bool {
        switch self {
        case .pointwise: g.kernelHeight == 1 && g.kernelWidth == 1 && g.paddingHeight == 0 && g.paddingWidth == 0
        case .depthwise: g.groups == g.inputChannels && g.groups == g.outputChannels && g.groups > 1
        case .implicitGEMM: true
        case .paddedGEMM: g.strideHeight == 1 && g.strideWidth == 1
        case .swappedGEMM: g.groups == 1
        case .winograd: winogradSupports(g)
        }
    }
}

/// The fast convolution: output = activation(conv(input, weight) + bias), dispatched to the best path.
///
/// - Parameters:
///   - input: [N, C, H, W].
///   - weight: the weight [O, C/G, R, S] as a `PackedMatrix(convolutionWeight:)` (its panels are
///     packed on first use and reused by every call).
///   - bias: O values, or nil.
///   - output: [N, O, P, Q], fully overwritten.
public func conv2d(input: UnsafePointer<Float>, weight: PackedMatrix, bias: UnsafePointer<Float>?,
                   output: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry, relu: Bool = false,
                   kernel: GEMMKernel = .preferred, pool: ThreadPool = .current) {
    conv2d(input: input, weight: weight, bias: bias, output: output, geometry: g, activation: relu ? .relu : .none,
           kernel: kernel, pool: pool, path: nil, weightIsTransient: false)
}

/// `conv2d` with the path forced (nil: choose), for tests and benchmarks. `weightIsTransient`: the
/// weight is wrapped for this call only, so packing its panels is a cost of this call.
public func conv2d(input: UnsafePointer<Float>, weight: PackedMatrix, bias: UnsafePointer<Float>?,
                   output: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry, activation: FusedActivation,
                   kernel: GEMMKernel = .preferred, pool: ThreadPool = .current, path forced: ConvolutionPath?,
                   weightIsTransient: Bool) {
    let K = g.inputChannelsPerGroup * g.kernelHeight * g.kernelWidth
    precondition(weight.rows == g.outputChannels && weight.columns == K,
                 "conv2d: weight is \(weight.rows)×\(weight.columns), geometry needs \(g.outputChannels)×\(K)")
    let (path, sideBySide) = forced.map { ($0, ConvolutionPath.runsImagesSideBySide(g, threads: pool.threadCount)) }
        ?? ConvolutionPath.chosen(for: g, weight: weight, weightIsTransient: weightIsTransient, kernel: kernel, threads: pool.threadCount)
    precondition(path.supports(g), "conv2d: path \(path) cannot compute \(g)")
    switch path {
    case .depthwise:
        conv2dDepthwise(input: input, weight: weight.pointer, bias: bias, output: output, geometry: g, activation: activation, pool: pool)
        return
    case .winograd:
        conv2dWinograd(input: input, weight: weight, bias: bias, output: output, geometry: g, relu: activation == .relu,
                       kernel: kernel, pool: pool)
        if let blockActivation = GEMMEpilogue(activation: activation).blockActivation {
            // Per image and output channel in parallel: the Winograd output transform applies only ReLU.
            let planes = g.batch * g.outputChannels, planeSize = g.outputHeight * g.outputWidth
            pool.parallelChunks(planes) { range in
                applyBlockActivation(blockActivation, output + range.lowerBound * planeSize, rows: 1,
                                     columns: range.count * planeSize, rowStride: 0)
            }
        }
        return
    default:
        break
    }
    let imageSize = g.inputChannels * g.inputHeight * g.inputWidth
    let outputSize = g.outputChannels * g.outputHeight * g.outputWidth
    let run = { (item: Int, threads: Int) in
        let n = item / g.groups, group = item % g.groups
        convolveGroup(image: input + n * imageSize, group: group, weight: weight, bias: bias,
                      output: output + n * outputSize, geometry: g, activation: activation, path: path,
                      kernel: kernel, threads: threads, pool: pool)
    }
    if sideBySide {
        pool.parallelFor(g.batch * g.groups) { run($0, 1) }
    } else {
        for item in 0..<g.batch * g.groups { run(item, pool.threadCount) }
    }
}

extension ConvolutionPath {
    /// Whether the GEMM paths run images × groups side by side, each on one thread (no
    /// synchronization inside a GEMM): when there are enough to share evenly between the threads.
    static func runsImagesSideBySide(_ g: Conv2DGeometry, threads: Int) -> Bool {
        let items = g.batch * g.groups
        return threads > 1 && items >= threads && ((items + threads - 1) / threads * threads) * 4 <= items * 5
    }

    /// The path `conv2d` takes for `g` on `threads` threads, and whether it runs images side by side.
    public static func chosen(for g: Conv2DGeometry, weight: PackedMatrix, weightIsTransient: Bool = false,
                              kernel: GEMMKernel = .preferred, threads: Int) -> (path: ConvolutionPath, sideBySide: Bool) {
        if ConvolutionPath.depthwise.supports(g) { return (.depthwise, false) }
        let sideBySide = runsImagesSideBySide(g, threads: threads)
        return (choose(g, weight: weight, weightIsTransient: weightIsTransient, kernel: kernel, threads: sideBySide ? 1 : threads),
                sideBySide)
    }

    /// The cheapest path for `g` by the GEMM cost model (depthwise and pointwise when they apply).
    static func choose(_ g: Conv2DGeometry, weight: PackedMatrix, weightIsTransient: Bool, kernel: GEMMKernel,
                       threads: Int) -> ConvolutionPath {
        if ConvolutionPath.depthwise.supports(g) { return .depthwise }
        let candidates: [ConvolutionPath] = ConvolutionPath.pointwise.supports(g)
            ? [.pointwise, .swappedGEMM] : [.implicitGEMM, .paddedGEMM, .swappedGEMM, .winograd]
        var best = candidates[0], bestCost = Double.infinity
        for path in candidates where path.supports(g) {
            // Near a tie keep the earlier (simpler) path.
            let cost = estimatedCost(path, g, weight: weight, weightIsTransient: weightIsTransient, kernel: kernel, threads: threads)
            if cost * 1.05 < bestCost { (best, bestCost) = (path, cost) }
        }
        return best
    }

    /// Estimated time of one image and group on `path`, in FMA-instruction slots.
    private static func estimatedCost(_ path: ConvolutionPath, _ g: Conv2DGeometry, weight: PackedMatrix, weightIsTransient: Bool,
                                      kernel: GEMMKernel, threads: Int) -> Double {
        if path == .winograd { return winogradCost(g, weightIsTransient: weightIsTransient, kernel: kernel, threads: threads) }
        let dummy = UnsafeMutablePointer<Float>(bitPattern: 64)!
        let problem = convolutionProblem(image: dummy, group: 0, weight: weight, bias: nil, output: dummy, geometry: g,
                                         activation: .none, path: path, scratch: dummy, kernel: kernel)
        let pixels = Double(g.outputHeight * g.outputWidth), depth = Double(weight.columns)
        let outputs = pixels * Double(g.outputChannelsPerGroup)
        var extra = 0.0
        switch path {
        case .swappedGEMM:
            // Gathering Xᵀ into strips of MR pixels by precomputed offsets (measured ≈ 0.5 slots per element).
            let materialize = pixels * depth * 0.5
            // Wᵀ's panels are free when packed once for many calls, a transpose when packed for this one.
            let packing = weightIsTransient ? Double(g.outputChannels) * depth * 0.5 : 0
            extra = materialize + packing + outputs
        case .paddedGEMM:
            let padded = Double(g.inputChannelsPerGroup * (g.inputHeight + 2 * g.paddingHeight) * (g.inputWidth + 2 * g.paddingWidth))
            extra = (padded + outputs) * 0.25
        case .pointwise where g.strideHeight != 1 || g.strideWidth != 1:
            extra = Double(g.inputChannelsPerGroup) * pixels * 0.25
        default:
            break
        }
        return problem.schedule(kernel: kernel, threads: threads).cost + extra / Double(threads)
    }
}

/// One image and group through a GEMM path.
private func convolveGroup(image: UnsafePointer<Float>, group: Int, weight: PackedMatrix, bias: UnsafePointer<Float>?,
                           output: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry, activation: FusedActivation,
                           path: ConvolutionPath, kernel: GEMMKernel, threads: Int, pool: ThreadPool) {
    let pixels = g.outputHeight * g.outputWidth, depth = weight.columns
    /// Runs `body` over `0..<count` split between the threads of this call.
    func split(_ count: Int, _ body: (Range<Int>) -> Void) {
        if threads > 1 { pool.parallelChunks(count, minimumChunk: 4, body) } else { body(0..<count) }
    }
    let scratch: UnsafeMutablePointer<Float>
    switch path {
    case .pointwise where g.strideHeight != 1 || g.strideWidth != 1:
        scratch = ScratchBuffer.convolution.value.floats(depth * pixels)
        let groupImage = image + group * g.inputChannelsPerGroup * g.inputHeight * g.inputWidth
        split(g.inputChannelsPerGroup) { subsample(image: groupImage, into: scratch, geometry: g, channels: $0) }
    case .swappedGEMM:
        // Xᵀ [P·Q, K] packed in strips of MR pixels (each tile reads its strip contiguously),
        // gathered from a zero-padded copy of the image: element (pixel, (c, r, s)) sits at a fixed
        // offset per pixel plus one per depth row, so the gather is a tight indexed copy without
        // bounds tests (small images have short rows, where segment-wise copying was mostly overhead).
        let mr = kernel.tileRows, strips = (pixels + mr - 1) / mr
        let product = pixels * g.outputChannels
        scratch = ScratchBuffer.convolution.value.floats(product + strips * depth * mr)
        let packed = scratch + product
        let layout = PaddedImage(g, panelWidth: 1)
        // Read by every thread of this call, so taken from the calling thread's buffers.
        let padded = ScratchBuffer.convolutionRow.value.floats(layout.count + strips * mr)
        split(g.inputChannels) { layout.fill(padded, from: image, channels: $0, geometry: g) }
        // Offsets into the padded image: per pixel (pixels past P·Q, the last strip's tail, read a
        // zero) and per depth row (c, r, s).
        let (R, S) = (g.kernelHeight, g.kernelWidth)
        let offsets = UnsafeMutablePointer<Int>.allocate(capacity: strips * mr + depth)
        defer { offsets.deallocate() }
        let rowBases = offsets + strips * mr
        let zero = layout.count
        padded[zero] = 0
        for pixel in 0..<(strips * mr) {
            offsets[pixel] = pixel < pixels
                ? (pixel / g.outputWidth) * g.strideHeight * layout.width + (pixel % g.outputWidth) * g.strideWidth : -1
        }
        for p in 0..<depth {
            rowBases[p] = (p / (R * S)) * layout.planeSize + ((p / S) % R) * g.dilationHeight * layout.width + (p % S) * g.dilationWidth
        }
        // Strip by strip, so each thread writes one contiguous run and reads a small image region.
        split(strips) { stripRange in
            for t in stripRange {
                var target = packed + t * depth * mr
                let strip = offsets + t * mr
                if (t + 1) * mr <= pixels {
                    for p in 0..<depth {
                        let base = padded + rowBases[p]
                        for x in 0..<mr { target[x] = base[strip[x]] }
                        target += mr
                    }
                } else {
                    for p in 0..<depth {
                        let base = rowBases[p]
                        for x in 0..<mr {
                            let offset = strip[x]
                            target[x] = padded[offset >= 0 ? base + offset : zero]
                        }
                        target += mr
                    }
                }
            }
        }
    case .paddedGEMM:
        let layout = PaddedImage(g, panelWidth: kernel.panelWidth)
        scratch = ScratchBuffer.convolution.value.floats(layout.count + g.outputChannelsPerGroup * layout.columns)
        let groupImage = image + group * g.inputChannelsPerGroup * g.inputHeight * g.inputWidth
        split(g.inputChannelsPerGroup) { layout.fill(scratch, from: groupImage, channels: $0, geometry: g) }
        (scratch + layout.inputChannels * layout.planeSize).update(repeating: 0, count: layout.count - layout.inputChannels * layout.planeSize)
    default:
        scratch = ScratchBuffer.convolution.value.floats(1)
    }
    let problem = convolutionProblem(image: image, group: group, weight: weight, bias: bias, output: output, geometry: g,
                                     activation: activation, path: path, scratch: scratch, kernel: kernel)
    problem.run(schedule: problem.schedule(kernel: kernel, threads: threads), kernel: kernel, pool: pool)
    switch path {
    case .swappedGEMM:
        storeTransposed(product: scratch, c: output, ldc: pixels, m: g.outputChannels, n: pixels, accumulate: false,
                        epilogue: GEMMEpilogue(rowBias: bias, activation: activation), pool: pool, parallel: threads > 1)
    case .paddedGEMM:
        // Drop the columns that fell in the horizontal padding.
        let layout = PaddedImage(g, panelWidth: kernel.panelWidth)
        let product = scratch + layout.count, groupOutput = output + group * g.outputChannelsPerGroup * pixels
        split(g.outputChannelsPerGroup) { channels in
            for o in channels {
                for p in 0..<g.outputHeight {
                    (groupOutput + o * pixels + p * g.outputWidth).update(from: product + o * layout.columns + p * layout.width,
                                                                          count: g.outputWidth)
                }
            }
        }
    default:
        break
    }
}

/// A zero-padded copy of one group's channels for `.paddedGEMM`: planes of (H + 2·padH) × (W + 2·padW),
/// then enough zeros that every panel row read past the last plane stays inside the buffer.
struct PaddedImage {
    let inputChannels: Int, height: Int, width: Int
    /// Floats per padded plane.
    var planeSize: Int { height * width }
    /// Pixels of the product: P rows over the padded width.
    let columns: Int
    /// Floats in the buffer, the zero tail included.
    let count: Int

    init(_ g: Conv2DGeometry, panelWidth: Int) {
        inputChannels = g.inputChannelsPerGroup
        height = g.inputHeight + 2 * g.paddingHeight
        width = g.inputWidth + 2 * g.paddingWidth
        columns = g.outputHeight * width
        // Reads reach panel-rounded columns plus the largest tap offset (r, s) of the last plane.
        let panels = (columns + panelWidth - 1) / panelWidth
        let reach = panels * panelWidth + (g.kernelHeight - 1) * g.dilationHeight * width + (g.kernelWidth - 1) * g.dilationWidth
        count = (inputChannels - 1) * height * width + max(reach, height * width)
    }

    /// Copies `channels` of the image (one group, starting at `image`) into the padded planes.
    func fill(_ buffer: UnsafeMutablePointer<Float>, from image: UnsafePointer<Float>, channels: Range<Int>, geometry g: Conv2DGeometry) {
        for c in channels {
            let plane = buffer + c * planeSize, source = image + c * g.inputHeight * g.inputWidth
            plane.update(repeating: 0, count: g.paddingHeight * width)
            for h in 0..<g.inputHeight {
                let row = plane + (h + g.paddingHeight) * width
                row.update(repeating: 0, count: g.paddingWidth)
                (row + g.paddingWidth).update(from: source + h * g.inputWidth, count: g.inputWidth)
                (row + g.paddingWidth + g.inputWidth).update(repeating: 0, count: g.paddingWidth)
            }
            (plane + (g.paddingHeight + g.inputHeight) * width).update(repeating: 0, count: g.paddingHeight * width)
        }
    }
}

/// The GEMM of one image and group. For `.swappedGEMM`, `scratch` holds the product outᵀ
/// [P·Q, O] followed by Xᵀ [P·Q, K] packed in strips of MR pixels; for a strided
/// `.pointwise`, the subsampled input; for `.paddedGEMM`, the `PaddedImage` then the product
/// [O/G, P·(W + 2·padW)].
private func convolutionProblem(image: UnsafePointer<Float>, group: Int, weight: PackedMatrix, bias: UnsafePointer<Float>?,
                                output: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry, activation: FusedActivation,
                                path: ConvolutionPath, scratch: UnsafeMutablePointer<Float>, kernel: GEMMKernel) -> GEMMProblem {
    let pixels = g.outputHeight * g.outputWidth, depth = weight.columns
    let og = g.outputChannelsPerGroup
    let planeSize = g.inputHeight * g.inputWidth
    let groupImage = image + group * g.inputChannelsPerGroup * planeSize
    let unitStride = g.strideHeight == 1 && g.strideWidth == 1
    switch path {
    case .swappedGEMM:
        // outᵀ[P·Q, O] = Xᵀ[P·Q, K] · Wᵀ[K, O]; Xᵀ packed in strips of MR pixels after the product.
        let mr = kernel.tileRows
        return GEMMProblem(rows: pixels, columns: g.outputChannels, depth: depth,
                           a: scratch + pixels * g.outputChannels, aRowStride: 1, aDepthStride: mr, aTileStride: depth * mr,
                           panels: .packedMatrix(weight, alongRows: true),
                           c: scratch, cRowStride: g.outputChannels, addToC: false, epilogue: .none)
    case .paddedGEMM:
        let layout = PaddedImage(g, panelWidth: kernel.panelWidth)
        let padded = UnsafePointer(scratch)
        let (R, S) = (g.kernelHeight, g.kernelWidth)
        let rowOffset = g.dilationHeight * layout.width
        let panels = GEMMPanelSource.custom(costPerElement: 0.1) { panelRange, depthRange, destination, panelStride, panelWidth in
            for p in depthRange {
                // Row (c, r, s) of X is the padded plane c shifted by r·dilationH rows and s·dilationW columns.
                let source = padded + (p / (R * S)) * layout.planeSize + ((p / S) % R) * rowOffset + (p % S) * g.dilationWidth
                let line = destination + (p - depthRange.lowerBound) * panelWidth
                for panel in panelRange {
                    copyPanelRow(from: source + panel * panelWidth, to: line + (panel - panelRange.lowerBound) * panelStride, count: panelWidth)
                }
            }
        }
        return GEMMProblem(rows: og, columns: layout.columns, depth: depth,
                           a: weight.pointer + group * og * depth, aRowStride: depth, aDepthStride: 1,
                           panels: panels, c: scratch + layout.count, cRowStride: layout.columns, addToC: false,
                           epilogue: GEMMEpilogue(rowBias: bias.map { $0 + group * og }, activation: activation))
    case .pointwise, .implicitGEMM, .depthwise, .winograd:
        let panels: GEMMPanelSource
        if path == .pointwise {
            panels = .matrix(unitStride ? groupImage : UnsafePointer(scratch), depthStride: unitStride ? planeSize : pixels, widthStride: 1)
        } else {
            panels = .custom(costPerElement: 1) { panelRange, depthRange, destination, panelStride, panelWidth in
                packConvolutionPanels(image: groupImage, geometry: g, panels: panelRange, depth: depthRange,
                                      panelWidth: panelWidth, destination: destination, panelStride: panelStride)
            }
        }
        return GEMMProblem(rows: og, columns: pixels, depth: depth,
                           a: weight.pointer + group * og * depth, aRowStride: depth, aDepthStride: 1,
                           panels: panels, c: output + group * og * pixels, cRowStride: pixels, addToC: false,
                           epilogue: GEMMEpilogue(rowBias: bias.map { $0 + group * og }, activation: activation))
    }
}

// MARK: - im2col

/// Copies `count` floats inline (segments are short: a library call per segment costs more than the copy).
@inline(__always)
private func copyFloats(from source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, count: Int) {
    typealias Vector = SIMD8<Float>
    var i = 0
    while i + 8 <= count {
        UnsafeMutableRawPointer(destination + i).storeBytes(of: UnsafeRawPointer(source + i).loadUnaligned(as: Vector.self), as: Vector.self)
        i += 8
    }
    while i < count { destination[i] = source[i]; i += 1 }
}

/// Zeroes `count` floats inline (usually a few padding columns).
@inline(__always)
private func fillZeros(_ destination: UnsafeMutablePointer<Float>, count: Int) {
    var i = 0
    while i + 8 <= count {
        UnsafeMutableRawPointer(destination + i).storeBytes(of: SIMD8<Float>(), as: SIMD8<Float>.self)
        i += 8
    }
    while i < count { destination[i] = 0; i += 1 }
}

/// Copies `count` floats (a multiple of 8) with vector loads and stores.
@inline(__always)
private func copyPanelRow(from source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, count: Int) {
    typealias Vector = SIMD8<Float>
    let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(destination)
    var offset = 0
    while offset < count * 4 {
        to.storeBytes(of: from.loadUnaligned(fromByteOffset: offset, as: Vector.self), toByteOffset: offset, as: Vector.self)
        offset += 32
    }
}

/// Packs panels of one image's im2col matrix X [K, P·Q] straight from the image (one group's
/// channels starting at `image`): panel t of `panels` at destination[(t − panels.lowerBound)·panelStride],
/// row p of `depth` at offset (p − depth.lowerBound)·panelWidth within it, columns past P·Q zeroed.
func packConvolutionPanels(image: UnsafePointer<Float>, geometry g: Conv2DGeometry, panels: Range<Int>, depth: Range<Int>,
                           panelWidth: Int, destination: UnsafeMutablePointer<Float>, panelStride: Int) {
    let (P, Q, H, W) = (g.outputHeight, g.outputWidth, g.inputHeight, g.inputWidth)
    let (R, S) = (g.kernelHeight, g.kernelWidth)
    let pixels = P * Q
    for panel in panels {
        let first = panel * panelWidth, count = min(panelWidth, pixels - first)
        let out = destination + (panel - panels.lowerBound) * panelStride
        for p in depth {
            let c = p / (R * S), r = (p / S) % R, s = p % S
            let plane = image + c * H * W
            let line = out + (p - depth.lowerBound) * panelWidth
            var x = 0, oh = first / Q, ow = first % Q
            while x < count {
                let segment = min(Q - ow, count - x)
                let ih = oh * g.strideHeight - g.paddingHeight + r * g.dilationHeight
                let target = line + x
                if ih < 0 || ih >= H {
                    fillZeros(target, count: segment)
                } else {
                    let row = plane + ih * W
                    let iw0 = ow * g.strideWidth - g.paddingWidth + s * g.dilationWidth
                    if g.strideWidth == 1 {
                        // Columns t with 0 ≤ iw0 + t < W come from the row; the rest are padding.
                        let low = min(max(-iw0, 0), segment), high = max(min(W - iw0, segment), low)
                        fillZeros(target, count: low)
                        copyFloats(from: row + iw0 + low, to: target + low, count: high - low)
                        fillZeros(target + high, count: segment - high)
                    } else {
                        // Columns t with 0 ≤ iw0 + t·stride < W: [low, high), found once per segment
                        // instead of testing every element (this gather dominates strided stems).
                        let sw = g.strideWidth
                        let low = min(iw0 >= 0 ? 0 : (-iw0 + sw - 1) / sw, segment)
                        let high = max(min(W - 1 - iw0 < 0 ? 0 : (W - 1 - iw0) / sw + 1, segment), low)
                        fillZeros(target, count: low)
                        var source = row + iw0 + low * sw
                        for t in low..<high {
                            target[t] = source.pointee
                            source += sw
                        }
                        fillZeros(target + high, count: segment - high)
                    }
                }
                x += segment
                oh += 1
                ow = 0
            }
            fillZeros(line + count, count: panelWidth - count)
        }
    }
}

/// Unfolds one image's group of channels into columns: result [C/G·R·S, P·Q], zeros for padding.
public func im2col(input: UnsafePointer<Float>, columns: UnsafeMutablePointer<Float>,
                   geometry g: Conv2DGeometry, channelOffset: Int) {
    // The im2col matrix is one panel as wide as the image.
    let pixels = g.outputHeight * g.outputWidth, depth = g.inputChannelsPerGroup * g.kernelHeight * g.kernelWidth
    packConvolutionPanels(image: input + channelOffset * g.inputHeight * g.inputWidth, geometry: g, panels: 0..<1,
                          depth: 0..<depth, panelWidth: pixels, destination: columns, panelStride: depth * pixels)
}

/// A 1×1 convolution's strided input: X[c, (p, q)] = input[c, p·strideH, q·strideW] for `channels`.
private func subsample(image: UnsafePointer<Float>, into columns: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry,
                       channels: Range<Int>) {
    let (P, Q, H, W) = (g.outputHeight, g.outputWidth, g.inputHeight, g.inputWidth)
    for c in channels {
        let plane = image + c * H * W, out = columns + c * P * Q
        for p in 0..<P {
            let row = plane + p * g.strideHeight * W, line = out + p * Q
            for q in 0..<Q { line[q] = row[q * g.strideWidth] }
        }
    }
}
