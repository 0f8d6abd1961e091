// Depthwise convolution (groups = C = O): each channel convolved with its own R×S filter, directly.
//
// Per plane (image, channel) the input is copied once into a zero-padded, *phase-split* buffer:
// with horizontal stride σ, phase k holds the padded columns k, k + σ, k + 2σ, … of every padded
// row. Tap (r, s) of output row p then reads one contiguous run — phase (s·dilation) mod σ, row
// p·strideH + r·dilationH, from column ⌊s·dilation / σ⌋ — so strided layers vectorize like stride 1.
// Outputs are computed in runs of up to 32 columns held in registers across all R×S taps and stored
// once (the bias first, the ReLU last; SiLU or GELU on the plane just stored, still in cache), instead of one read-modify-write of the row per tap; a
// row's last columns are one more vector, so planes of 7 or 14 columns need no scalar loop.
// Parallel over planes. The naive twin is `conv2dNaive` (any groups).

/// Depthwise convolution of `input` [N, C, H, W] with `weight` [C, 1, R, S] into `output`.
func conv2dDepthwise(input: UnsafePointer<Float>, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>?,
                     output: UnsafeMutablePointer<Float>, geometry g: Conv2DGeometry, activation: FusedActivation, pool: ThreadPool) {
    let layout = PhasedPlane(g)
    let (P, Q, H, W) = (g.outputHeight, g.outputWidth, g.inputHeight, g.inputWidth)
    let (R, S) = (g.kernelHeight, g.kernelWidth)
    // Where each tap's run starts in the phased plane, relative to its output row's first padded row.
    var tapOffsets = [Int]()
    for r in 0..<R {
        for s in 0..<S {
            let column = s * g.dilationWidth
            tapOffsets.append(layout.offset(phase: column % g.strideWidth, row: r * g.dilationHeight, column: column / g.strideWidth))
        }
    }
    let planes = g.batch * g.inputChannels
    tapOffsets.withUnsafeBufferPointer { taps in
        pool.parallelChunks(planes) { range in
            let phased = ScratchBuffer.convolution.value.floats(layout.count)
            // Padding and slack are zeroed once: every plane fills the same interior positions.
            phased.update(repeating: 0, count: layout.count)
            for plane in range {
                let channel = plane % g.inputChannels
                layout.fill(phased, from: input + plane * H * W, geometry: g)
                let filter = weight + channel * R * S, out = output + plane * P * Q
                let start = bias?[channel] ?? 0
                for p in 0..<P {
                    let rowBase = UnsafePointer(phased) + layout.offset(phase: 0, row: p * g.strideHeight, column: 0)
                    depthwiseRow(out + p * Q, rowBase, taps: taps, filter: filter, count: Q, start: start, relu: activation == .relu)
                }
                // The plane's rows are contiguous: one pass over P·Q values (still in L1/L2), so
                // short rows (7, 14 columns) do not each end in a partial vector.
                if let blockActivation = GEMMEpilogue(activation: activation).blockActivation {
                    applyBlockActivation(blockActivation, out, rows: 1, columns: P * Q, rowStride: P * Q)
                }
            }
        }
    }
}

/// The padded plane split into horizontal-stride phases: [σ][paddedHeight][phaseWidth].
struct PhasedPlane {
    let phases: Int, paddedHeight: Int, paddedWidth: Int, phaseWidth: Int
    let paddingHeight: Int, paddingWidth: Int

    init(_ g: Conv2DGeometry) {
        phases = g.strideWidth
        paddedHeight = g.inputHeight + 2 * g.paddingHeight
        paddedWidth = g.inputWidth + 2 * g.paddingWidth
        phaseWidth = (paddedWidth + g.strideWidth - 1) / g.strideWidth
        paddingHeight = g.paddingHeight
        paddingWidth = g.paddingWidth
    }

    /// Floats after the last phase that a row's final vector may read (never stored anywhere).
    static let slack = 8

    /// Floats the buffer needs: the phases and the slack.
    var count: Int { phases * paddedHeight * phaseWidth + Self.slack }

    @inline(__always) func offset(phase: Int, row: Int, column: Int) -> Int {
        (phase * paddedHeight + row) * phaseWidth + column
    }

    /// The plane's H×W values, each padded column in its phase. The padding is not written: it
    /// must be zero already (the buffer is zeroed once for the planes that reuse it).
    func fill(_ phased: UnsafeMutablePointer<Float>, from source: UnsafePointer<Float>, geometry g: Conv2DGeometry) {
        let (H, W) = (g.inputHeight, g.inputWidth)
        if phases == 1 {
            for h in 0..<H { (phased + offset(phase: 0, row: h + paddingHeight, column: paddingWidth)).update(from: source + h * W, count: W) }
            return
        }
        // Input column w is padded column w + paddingWidth: phase (w + paddingWidth) mod σ.
        let evenPhase = paddingWidth % phases, oddPhase = (paddingWidth + 1) % phases
        for h in 0..<H {
            let line = source + h * W
            if phases == 2 {
                // Stride 2: even and odd input columns split sixteen at a time.
                let evens = phased + offset(phase: evenPhase, row: h + paddingHeight, column: paddingWidth / 2)
                let odds = phased + offset(phase: oddPhase, row: h + paddingHeight, column: (paddingWidth + 1) / 2)
                var w = 0
                while w + 16 <= W {
                    let values = UnsafeRawPointer(line + w).loadUnaligned(as: SIMD16<Float>.self)
                    UnsafeMutableRawPointer(evens + w / 2).storeBytes(of: values.evenHalf, as: SIMD8<Float>.self)
                    UnsafeMutableRawPointer(odds + w / 2).storeBytes(of: values.oddHalf, as: SIMD8<Float>.self)
                    w += 16
                }
                while w < W {
                    (w % 2 == 0 ? evens : odds)[w / 2] = line[w]
                    w += 1
                }
                continue
            }
            for phase in 0..<phases {
                // Padded columns phase, phase + σ, … that hold input values: w = column − paddingWidth in 0..<W.
                var column = phase
                while column < paddingWidth { column += phases }
                let target = phased + offset(phase: phase, row: h + paddingHeight, column: column / phases)
                var index = 0
                while column - paddingWidth < W {
                    target[index] = line[column - paddingWidth]
                    column += phases
                    index += 1
                }
            }
        }
    }
}

/// One output row: out[q] = relu?(start + Σ_taps filter[t] · row[taps[t] + q]) for q < count.
/// Runs of up to four vectors share each tap's broadcast weight; a row's last columns are one run
/// of as many vectors as they need, its final vector partly stored.
@inline(__always)
private func depthwiseRow(_ out: UnsafeMutablePointer<Float>, _ row: UnsafePointer<Float>, taps: UnsafeBufferPointer<Int>,
                          filter: UnsafePointer<Float>, count: Int, start: Float, relu: Bool) {
    typealias Vector = SIMD8<Float>
    @inline(__always) func load(_ p: UnsafePointer<Float>) -> Vector { UnsafeRawPointer(p).loadUnaligned(as: Vector.self) }
    /// Columns q ..< q + columns (1 ... 32) as `vectors` vectors (constant once inlined). The last
    /// vector's loads may run past the row, into the next row or the plane's zeroed slack
    /// (`PhasedPlane.slack`); only the row's own lanes are stored.
    @inline(__always) func run(_ q: Int, vectors: Int, columns: Int) {
        var a0 = Vector(repeating: start), a1 = a0, a2 = a0, a3 = a0
        for t in 0..<taps.count {
            let w = Vector(repeating: filter[t]), p = row + taps[t] + q
            a0.addProduct(w, load(p))
            if vectors > 1 { a1.addProduct(w, load(p + 8)) }
            if vectors > 2 { a2.addProduct(w, load(p + 16)) }
            if vectors > 3 { a3.addProduct(w, load(p + 24)) }
        }
        @inline(__always) func store(_ vector: Vector, _ first: Int) {
            var vector = vector
            if relu { vector.replace(with: 0, where: vector .< 0) }
            let target = out + q + first
            if columns - first >= 8 {
                UnsafeMutableRawPointer(target).storeBytes(of: vector, as: Vector.self)
            } else {
                for lane in 0..<(columns - first) { target[lane] = vector[lane] }
            }
        }
        store(a0, 0)
        if vectors > 1 { store(a1, 8) }
        if vectors > 2 { store(a2, 16) }
        if vectors > 3 { store(a3, 24) }
    }
    var q = 0
    while q + 32 <= count {
        run(q, vectors: 4, columns: 32)
        q += 32
    }
    let rest = count - q
    switch (rest + 7) / 8 {
    case 1: run(q, vectors: 1, columns: rest)
    case 2: run(q, vectors: 2, columns: rest)
    case 3: run(q, vectors: 3, columns: rest)
    case 4: run(q, vectors: 4, columns: rest)
    default: break
    }
}
