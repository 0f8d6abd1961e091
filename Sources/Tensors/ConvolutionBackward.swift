// Backward kernels of the 2-D convolution. Layouts as in Convolution.swift: input [N, C, H, W],
// weight [O, C/G, R, S], gradient of the output G [N, O, P, Q]; K = C/G·R·S.
//
// Per image and group the forward pass is out[O/G, P·Q] = W[O/G, K] · X[K, P·Q] (X = im2col), so
//   dX[K, P·Q] = Wᵀ · G   then col2im adds each column back onto the pixels it was read from;
//   dW[O/G, K] += G · Xᵀ  summed over images;
//   db[o]      = Σ G[n, o, p, q].
// A 1×1 convolution with stride 1 and no padding needs no im2col/col2im (X is the input itself).
// Depthwise convolutions (groups = C = O) run a direct loop instead of per-channel tiny GEMMs.
// Naive twins: `conv2dBackwardInputNaive`, `conv2dBackwardWeightNaive`.

// MARK: - Reference

/// dInput[n, c, h, w] = Σ over (o, r, s) with h = p·strideH − padH + r·dilH (and the same for w)
/// of weight[o, c, r, s] · gradOutput[n, o, p, q]. Overwrites `gradInput`; Double accumulators.
public func conv2dBackwardInputNaive(gradOutput: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                     gradInput: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry) {
    let (P, Q, H, W) = (g.outputHeight, g.outputWidth, g.inputHeight, g.inputWidth)
    let cg = g.inputChannelsPerGroup, og = g.outputChannelsPerGroup
    var sums = [Double](repeating: 0, count: g.batch * g.inputChannels * H * W)
    for n in 0..<g.batch {
        for o in 0..<g.outputChannels {
            let group = o / og
            for p in 0..<P {
                for q in 0..<Q {
                    let gradient = Double(gradOutput[((n * g.outputChannels + o) * P + p) * Q + q])
                    for c in 0..<cg {
                        let channel = group * cg + c
                        for r in 0..<g.kernelHeight {
                            let h = p * g.strideHeight - g.paddingHeight + r * g.dilationHeight
                            if h < 0 || h >= H { continue }
                            for s in 0..<g.kernelWidth {
                                let w = q * g.strideWidth - g.paddingWidth + s * g.dilationWidth
                                if w < 0 || w >= W { continue }
                                let k = weight[((o * cg + c) * g.kernelHeight + r) * g.kernelWidth + s]
                                sums[((n * g.inputChannels + channel) * H + h) * W + w] += Double(k) * gradient
                            }
                        }
                    }
                }
            }
        }
    }
    for i in sums.indices { gradInput[i] = Float(sums[i]) }
}

/// dWeight[o, c, r, s] = Σ over (n, p, q) of input[n, group·C/G + c, h, w] · gradOutput[n, o, p, q].
/// Overwrites `gradWeight`; Double accumulators.
public func conv2dBackwardWeightNaive(gradOutput: UnsafePointer<Float>, input: UnsafePointer<Float>,
                                      gradWeight: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry) {
    let (P, Q, H, W) = (g.outputHeight, g.outputWidth, g.inputHeight, g.inputWidth)
    let cg = g.inputChannelsPerGroup, og = g.outputChannelsPerGroup
    for o in 0..<g.outputChannels {
        let group = o / og
        for c in 0..<cg {
            for r in 0..<g.kernelHeight {
                for s in 0..<g.kernelWidth {
                    var total: Double = 0
                    for n in 0..<g.batch {
                        for p in 0..<P {
                            let h = p * g.strideHeight - g.paddingHeight + r * g.dilationHeight
                            if h < 0 || h >= H { continue }
                            for q in 0..<Q {
                                let w = q * g.strideWidth - g.paddingWidth + s * g.dilationWidth
                                if w < 0 || w >= W { continue }
                                total += Double(input[((n * g.inputChannels + group * cg + c) * H + h) * W + w])
                                    * Double(gradOutput[((n * g.outputChannels + o) * P + p) * Q + q])
                            }
                        }
                    }
                    gradWeight[((o * cg + c) * g.kernelHeight + r) * g.kernelWidth + s] = Float(total)
                }
            }
        }
    }
}

// MARK: - Fast kernels

/// dInput [N, C, H, W] (overwritten) from G [N, O, P, Q] and the weight [O, C/G·R·S] (row-major,
/// e.g. a `PackedMatrix`'s `source`).
public func conv2dBackwardInput(gradOutput: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                gradInput: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry,
                                pool: ThreadPool = .current) {
    let (H, W) = (g.inputHeight, g.inputWidth)
    let pixels = g.outputHeight * g.outputWidth
    let cg = g.inputChannelsPerGroup, og = g.outputChannelsPerGroup
    let K = cg * g.kernelHeight * g.kernelWidth
    if isDepthwise(g) {
        depthwiseBackwardInput(gradOutput: gradOutput, weight: weight, gradInput: gradInput, geometry: g, pool: pool)
        return
    }
    let direct = isPlainPointwise(g)
    let columns = direct ? nil : UnsafeMutablePointer<Float>.allocate(capacity: K * pixels)
    defer { columns?.deallocate() }
    for n in 0..<g.batch {
        for group in 0..<g.groups {
            let image = gradInput + (n * g.inputChannels + group * cg) * H * W
            let gradient = gradOutput + (n * g.outputChannels + group * og) * pixels
            // dX[K, P·Q] = W_groupᵀ[K, O/G] · G[O/G, P·Q]
            gemm(m: K, n: pixels, k: og, a: weight + group * og * K, lda: Swift.max(K, 1), transposeA: true,
                 b: gradient, ldb: Swift.max(pixels, 1), c: columns ?? image, ldc: Swift.max(pixels, 1), pool: pool)
            if let columns {
                image.update(repeating: 0, count: cg * H * W)
                col2im(columns: columns, image: image, geometry: g)
            }
        }
    }
}

/// dWeight [O, C/G, R, S] (overwritten) from G [N, O, P, Q] and the input [N, C, H, W].
public func conv2dBackwardWeight(gradOutput: UnsafePointer<Float>, input: UnsafePointer<Float>,
                                 gradWeight: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry,
                                 pool: ThreadPool = .current) {
    let (H, W) = (g.inputHeight, g.inputWidth)
    let pixels = g.outputHeight * g.outputWidth
    let cg = g.inputChannelsPerGroup, og = g.outputChannelsPerGroup
    let K = cg * g.kernelHeight * g.kernelWidth
    if isDepthwise(g) {
        depthwiseBackwardWeight(gradOutput: gradOutput, input: input, gradWeight: gradWeight, geometry: g, pool: pool)
        return
    }
    if g.batch == 0 || pixels == 0 {
        gradWeight.update(repeating: 0, count: g.outputChannels * K)
        return
    }
    let direct = isPlainPointwise(g)
    let columns = direct ? nil : UnsafeMutablePointer<Float>.allocate(capacity: K * pixels)
    defer { columns?.deallocate() }
    for n in 0..<g.batch {
        for group in 0..<g.groups {
            let image = input + (n * g.inputChannels + group * cg) * H * W
            if let columns { im2col(input: input + n * g.inputChannels * H * W, columns: columns, geometry: g, channelOffset: group * cg) }
            // dW_group[O/G, K] (+)= G[O/G, P·Q] · Xᵀ[P·Q, K]
            gemm(m: og, n: K, k: pixels, a: gradOutput + (n * g.outputChannels + group * og) * pixels, lda: pixels,
                 b: UnsafePointer(columns) ?? image, ldb: pixels, transposeB: true,
                 c: gradWeight + group * og * K, ldc: K, accumulate: n > 0, pool: pool)
        }
    }
}

/// dBias [O] (overwritten) = Σ over n, p, q of G [N, O, P, Q].
public func conv2dBackwardBias(gradOutput: UnsafePointer<Float>, gradBias: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry) {
    let pixels = g.outputHeight * g.outputWidth
    for o in 0..<g.outputChannels {
        var total: Float = 0
        for n in 0..<g.batch {
            let plane = gradOutput + (n * g.outputChannels + o) * pixels
            for i in 0..<pixels { total += plane[i] }
        }
        gradBias[o] = total
    }
}

private func isDepthwise(_ g: Conv2DGeometry) -> Bool {
    g.groups == g.inputChannels && g.groups == g.outputChannels && g.groups > 1
}

private func isPlainPointwise(_ g: Conv2DGeometry) -> Bool {
    g.kernelHeight == 1 && g.kernelWidth == 1 && g.strideHeight == 1 && g.strideWidth == 1
        && g.paddingHeight == 0 && g.paddingWidth == 0
}

/// The output rows p (or columns) whose tap at kernel offset `offset` lands inside the input:
/// 0 ≤ p·stride − padding + offset·dilation < size.
@inline(__always)
private func validOutputs(size: Int, outputs: Int, stride: Int, padding: Int, offset: Int) -> Range<Int> {
    let shift = offset - padding  // input position of output 0's tap
    // p·stride + shift ≥ 0  ⇔  p ≥ ceil(−shift / stride)
    let first = shift >= 0 ? 0 : (-shift + stride - 1) / stride
    // p·stride + shift ≤ size − 1  ⇔  p ≤ floor((size − 1 − shift) / stride)
    let limit = size - 1 - shift
    let last = limit < 0 ? -1 : Swift.min(outputs - 1, limit / stride)
    return first <= last ? first..<(last + 1) : 0..<0
}

/// Adds each column of X[C/G·R·S, P·Q] onto the input pixel it was gathered from (the adjoint
/// of im2col) into one image's group of channels `image` [C/G, H, W].
func col2im(columns: UnsafePointer<Float>, image: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry) {
    let (P, Q, H, W) = (g.outputHeight, g.outputWidth, g.inputHeight, g.inputWidth)
    let (R, S) = (g.kernelHeight, g.kernelWidth)
    for c in 0..<g.inputChannelsPerGroup {
        let plane = image + c * H * W
        for r in 0..<R {
            let rows = validOutputs(size: H, outputs: P, stride: g.strideHeight, padding: g.paddingHeight, offset: r * g.dilationHeight)
            for s in 0..<S {
                let columnsRange = validOutputs(size: W, outputs: Q, stride: g.strideWidth, padding: g.paddingWidth,
                                                offset: s * g.dilationWidth)
                if columnsRange.isEmpty { continue }
                let row = columns + ((c * R + r) * S + s) * P * Q
                for p in rows {
                    let h = p * g.strideHeight - g.paddingHeight + r * g.dilationHeight
                    let target = plane + h * W - g.paddingWidth + s * g.dilationWidth
                    let source = row + p * Q
                    if g.strideWidth == 1 {
                        for q in columnsRange { target[q] += source[q] }
                    } else {
                        for q in columnsRange { target[q * g.strideWidth] += source[q] }
                    }
                }
            }
        }
    }
}

// MARK: - Depthwise

/// Depthwise dInput: each plane gets its filter's taps times the output gradient, scattered back.
private func depthwiseBackwardInput(gradOutput: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                                    gradInput: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry, pool: ThreadPool) {
    let (P, Q, H, W) = (g.outputHeight, g.outputWidth, g.inputHeight, g.inputWidth)
    let (R, S) = (g.kernelHeight, g.kernelWidth)
    pool.parallelChunks(g.batch * g.inputChannels) { planes in
        for plane in planes {
            let channel = plane % g.inputChannels
            let target = gradInput + plane * H * W, source = gradOutput + plane * P * Q, filter = weight + channel * R * S
            target.update(repeating: 0, count: H * W)
            for r in 0..<R {
                let rows = validOutputs(size: H, outputs: P, stride: g.strideHeight, padding: g.paddingHeight, offset: r * g.dilationHeight)
                for s in 0..<S {
                    let columns = validOutputs(size: W, outputs: Q, stride: g.strideWidth, padding: g.paddingWidth, offset: s * g.dilationWidth)
                    let tap = filter[r * S + s]
                    for p in rows {
                        let line = target + (p * g.strideHeight - g.paddingHeight + r * g.dilationHeight) * W
                            - g.paddingWidth + s * g.dilationWidth
                        for q in columns { line[q * g.strideWidth] += tap * source[p * Q + q] }
                    }
                }
            }
        }
    }
}

/// Depthwise dWeight: per channel and tap, the dot product of the output gradient with the input
/// pixels that tap read, summed over the batch.
private func depthwiseBackwardWeight(gradOutput: UnsafePointer<Float>, input: UnsafePointer<Float>,
                                     gradWeight: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry, pool: ThreadPool) {
    let (P, Q, H, W) = (g.outputHeight, g.outputWidth, g.inputHeight, g.inputWidth)
    let (R, S) = (g.kernelHeight, g.kernelWidth)
    pool.parallelChunks(g.inputChannels) { channels in
        for channel in channels {
            for r in 0..<R {
                let rows = validOutputs(size: H, outputs: P, stride: g.strideHeight, padding: g.paddingHeight, offset: r * g.dilationHeight)
                for s in 0..<S {
                    let columns = validOutputs(size: W, outputs: Q, stride: g.strideWidth, padding: g.paddingWidth, offset: s * g.dilationWidth)
                    var total: Float = 0
                    for n in 0..<g.batch {
                        let plane = (n * g.inputChannels + channel)
                        let image = input + plane * H * W, source = gradOutput + plane * P * Q
                        for p in rows {
                            let line = image + (p * g.strideHeight - g.paddingHeight + r * g.dilationHeight) * W
                                - g.paddingWidth + s * g.dilationWidth
                            for q in columns { total += line[q * g.strideWidth] * source[p * Q + q] }
                        }
                    }
                    gradWeight[channel * R * S + r * S + s] = total
                }
            }
        }
    }
}
