#if arch(x86_64)
import KernelsAVX512
import Testing
import Tensors
import TestSupport
import VectorMath

/// The x86-64-v4 runs of the element functions against their twin: the same `VectorMath` formula
/// compiled for this test target's baseline ISA, one vector at a time. Equal bit for bit, on
/// every length from 0 to 70 (full, double and partial vectors) and on the edge values.
@Suite(.enabled(if: GEMMKernel.available.contains(.avx512), "needs AVX-512 F/DQ/BW/VL"))
struct VectorFunctionAVX512Tests {
    static let functions: [VectorFunction] = [.silu, .sigmoid, .geluErf, .geluTanh, .exp, .tanh, .erf]

    static func baseline(_ function: VectorFunction, _ x: SIMD16<Float>) -> SIMD16<Float> {
        switch function {
        case .silu: VectorMath.silu(x)
        case .sigmoid: VectorMath.sigmoid(x)
        case .geluErf: VectorMath.geluErf(x)
        case .geluTanh: VectorMath.geluTanh(x)
        case .exp: VectorMath.exp(x)
        case .tanh: VectorMath.tanh(x)
        case .erf: VectorMath.erf(x)
        }
    }

    static func inputs(count: Int, seed: UInt64) -> [Float] {
        var generator = SeededGenerator(seed: seed)
        let edges: [Float] = [0, -0, .infinity, -.infinity, .nan, 88.8, -104, Float.leastNormalMagnitude / 8, -Float.leastNormalMagnitude / 8, 3.92, -0.625, 20, -20]
        return (0..<count).map { index in
            index % 7 == 3 ? edges[(index / 7) % edges.count] : Float.random(in: -30...30, using: &generator)
        }
    }

    @Test(arguments: functions)
    func equalsTheBaselineBuildBitForBit(_ function: VectorFunction) {
        for count in 0...70 {
            let x = Self.inputs(count: count, seed: UInt64(count))
            var wide = [Float](repeating: .nan, count: count)
            x.withUnsafeBufferPointer { source in
                wide.withUnsafeMutableBufferPointer { out in
                    if count > 0 { vectorFunctionRunAVX512(function, out: out.baseAddress!, x: source.baseAddress!, count: count) }
                }
            }
            for start in stride(from: 0, to: count, by: 16) {
                var lanes = SIMD16<Float>()
                for lane in 0..<min(16, count - start) { lanes[lane] = x[start + lane] }
                let expected = Self.baseline(function, lanes)
                for lane in 0..<min(16, count - start) {
                    #expect(wide[start + lane].bitPattern == expected[lane].bitPattern,
                            "\(function) at \(x[start + lane]) (count \(count)): \(wide[start + lane]) vs \(expected[lane])")
                }
            }
        }
    }

    @Test func runsInPlace() {
        var values = Self.inputs(count: 37, seed: 9)
        let expected = values.map { VectorMath.silu($0) }
        values.withUnsafeMutableBufferPointer { buffer in
            vectorFunctionRunAVX512(.silu, out: buffer.baseAddress!, x: buffer.baseAddress!, count: buffer.count)
        }
        #expect(zip(values, expected).allSatisfy { $0.bitPattern == $1.bitPattern })
    }
}
#endif
