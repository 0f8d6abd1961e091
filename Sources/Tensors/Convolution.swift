// 2-D convolution kernels. Layouts: input [N, C, H, W], weight [O, C/G, R, S], output [N, O, P, Q].

/// The reference convolution: seven nested loops, Double accumulator.
public func conv2dNaive(input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                        output: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry) {
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
                    output[((n * g.outputChannels + o) * P + p) * Q + q] = Float(total)
                }
            }
        }
    }
}

/// Unfolds one image's group of channels into columns: result [C/G·R·S, P·Q], zeros for padding.
public func im2col(input: UnsafePointer<Float>, columns: UnsafeMutablePointer<Float>,
                   geometry g: Conv2DGeometry, channelOffset: Int) {
    let (P, Q) = (g.outputHeight, g.outputWidth)
    var row = 0
    for c in 0..<g.inputChannelsPerGroup {
        let plane = input + (channelOffset + c) * g.inputHeight * g.inputWidth
        for r in 0..<g.kernelHeight {
            for s in 0..<g.kernelWidth {
                let out = columns + row * P * Q
                for p in 0..<P {
                    let h = p * g.strideHeight - g.paddingHeight + r * g.dilationHeight
                    let line = out + p * Q
                    if h < 0 || h >= g.inputHeight {
                        line.update(repeating: 0, count: Q)
                        continue
                    }
                    for q in 0..<Q {
                        let w = q * g.strideWidth - g.paddingWidth + s * g.dilationWidth
                        line[q] = (w >= 0 && w < g.inputWidth) ? plane[h * g.inputWidth + w] : 0
                    }
                }
                row += 1
            }
        }
    }
}

/// Convolution as im2col + GEMM per image and group:
/// out[O/G, P·Q] = W[O/G, C/G·R·S] · columns[C/G·R·S, P·Q] (+ bias).
public func conv2dIm2col(input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                         output: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry) {
    let (P, Q) = (g.outputHeight, g.outputWidth)
    let cg = g.inputChannelsPerGroup, og = g.outputChannelsPerGroup
    let kdim = cg * g.kernelHeight * g.kernelWidth
    let columns = UnsafeMutablePointer<Float>.allocate(capacity: kdim * P * Q)
    defer { columns.deallocate() }
    for n in 0..<g.batch {
        let image = input + n * g.inputChannels * g.inputHeight * g.inputWidth
        for group in 0..<g.groups {
            im2col(input: image, columns: columns, geometry: g, channelOffset: group * cg)
            let out = output + (n * g.outputChannels + group * og) * P * Q
            gemm(m: og, n: P * Q, k: kdim, a: weight + group * og * kdim, lda: kdim,
                 b: columns, ldb: P * Q, c: out, ldc: P * Q)
            if let bias {
                for o in 0..<og {
                    let value = bias[group * og + o]
                    let line = out + o * P * Q
                    for i in 0..<(P * Q) { line[i] += value }
                }
            }
        }
    }
}
