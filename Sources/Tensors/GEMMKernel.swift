#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
#if arch(x86_64)
import KernelsAVX2
import KernelsAVX512
#endif

/// The register-tile kernels the GEMM can run on, chosen at run time from the CPU's features.
///
/// `preferred` is the fastest one this CPU supports; `PERISCOPE_GEMM_KERNEL=avx512|avx2|portable`
/// overrides it (for tests and benchmarks; a kernel the CPU lacks is ignored with a note on stderr).
public enum GEMMKernel: String, CaseIterable, Sendable, CustomStringConvertible {
    /// 6×64 tiles of SIMD16 (zmm) FMAs, from the `KernelsAVX512` target (x86-64-v4).
    case avx512
    /// 6×16 tiles of SIMD8 (ymm) FMAs, from the `KernelsAVX2` target (x86-64-v3).
    case avx2
    /// 4×16 tiles of generic SIMD8 code: builds and runs anywhere.
    case portable

    public var description: String { rawValue }

    /// The kernels this CPU can run, fastest first (`portable` is always last).
    public static let available: [GEMMKernel] = {
        var kernels: [GEMMKernel] = []
        #if arch(x86_64)
        let features = CPUFeatures.current
        if features.contains(["avx512f", "avx512dq", "avx512bw", "avx512vl"]) { kernels.append(.avx512) }
        if features.contains(["avx2", "fma"]) { kernels.append(.avx2) }
        #endif
        kernels.append(.portable)
        return kernels
    }()

    /// The kernel `gemm` uses unless told otherwise.
    public static let preferred: GEMMKernel = {
        if let text = getenv("PERISCOPE_GEMM_KERNEL").map({ String(cString: $0) }), !text.isEmpty {
            if let kernel = GEMMKernel(rawValue: text.lowercased()), available.contains(kernel) { return kernel }
            let names = available.map(\.rawValue).joined(separator: ", ")
            FileHandle.standardError.write(Data("periscope: PERISCOPE_GEMM_KERNEL=\(text) is not available on this CPU (available: \(names)); using \(available[0])\n".utf8))
        }
        return available[0]
    }()

    /// Columns of B per packed panel (NR).
    public var panelWidth: Int {
        switch self {
        #if arch(x86_64)
        case .avx512: gemmPanelWidthAVX512
        case .avx2: gemmPanelWidthAVX2
        #else
        case .avx512, .avx2: gemmPanelWidthPortable
        #endif
        case .portable: gemmPanelWidthPortable
        }
    }

    /// Rows of A per register tile (MR).
    public var tileRows: Int {
        switch self {
        #if arch(x86_64)
        case .avx512: gemmTileRowsAVX512
        case .avx2: gemmTileRowsAVX2
        #else
        case .avx512, .avx2: gemmTileRowsPortable
        #endif
        case .portable: gemmTileRowsPortable
        }
    }

    /// Float lanes per SIMD register in this kernel's tiles.
    public var vectorLanes: Int { self == .avx512 ? 16 : 8 }

    /// Runs one block (see `gemmBlockAVX512` for the operand layouts).
    @inline(__always)
    func block(rows: Int, columns: Int, depth: Int,
               a: UnsafePointer<Float>, aRowStride: Int, aDepthStride: Int, aTileStride: Int,
               packedB: UnsafePointer<Float>, panelStride: Int,
               c: UnsafeMutablePointer<Float>, cRowStride: Int,
               addToC: Bool, rowBias: UnsafePointer<Float>?, columnBias: UnsafePointer<Float>?, relu: Bool) {
        switch self {
        #if arch(x86_64)
        case .avx512:
            gemmBlockAVX512(rows: rows, columns: columns, depth: depth, a: a, aRowStride: aRowStride, aDepthStride: aDepthStride, aTileStride: aTileStride,
                            packedB: packedB, panelStride: panelStride, c: c, cRowStride: cRowStride,
                            addToC: addToC, rowBias: rowBias, columnBias: columnBias, relu: relu)
        case .avx2:
            gemmBlockAVX2(rows: rows, columns: columns, depth: depth, a: a, aRowStride: aRowStride, aDepthStride: aDepthStride, aTileStride: aTileStride,
                          packedB: packedB, panelStride: panelStride, c: c, cRowStride: cRowStride,
                          addToC: addToC, rowBias: rowBias, columnBias: columnBias, relu: relu)
        #else
        case .avx512, .avx2:
            preconditionFailure("GEMMKernel: \(self) exists only on x86-64")
        #endif
        case .portable:
            gemmBlockPortable(rows: rows, columns: columns, depth: depth, a: a, aRowStride: aRowStride, aDepthStride: aDepthStride, aTileStride: aTileStride,
                              packedB: packedB, panelStride: panelStride, c: c, cRowStride: cRowStride,
                              addToC: addToC, rowBias: rowBias, columnBias: columnBias, relu: relu)
        }
    }

    /// Runs the dot-product kernel on at most 4 columns (see `gemmDotColumnsAVX512` for the layouts).
    @inline(__always)
    func dotColumns(rows: Int, columns: Int, depth: Int, a: UnsafePointer<Float>, aRowStride: Int,
                    b: UnsafePointer<Float>, bColumnStride: Int, c: UnsafeMutablePointer<Float>, cRowStride: Int,
                    addToC: Bool, rowBias: UnsafePointer<Float>?, columnBias: UnsafePointer<Float>?, relu: Bool) {
        switch self {
        #if arch(x86_64)
        case .avx512:
            gemmDotColumnsAVX512(rows: rows, columns: columns, depth: depth, a: a, aRowStride: aRowStride, b: b, bColumnStride: bColumnStride,
                                 c: c, cRowStride: cRowStride, addToC: addToC, rowBias: rowBias, columnBias: columnBias, relu: relu)
        case .avx2:
            gemmDotColumnsAVX2(rows: rows, columns: columns, depth: depth, a: a, aRowStride: aRowStride, b: b, bColumnStride: bColumnStride,
                               c: c, cRowStride: cRowStride, addToC: addToC, rowBias: rowBias, columnBias: columnBias, relu: relu)
        #else
        case .avx512, .avx2:
            preconditionFailure("GEMMKernel: \(self) exists only on x86-64")
        #endif
        case .portable:
            gemmDotColumnsPortable(rows: rows, columns: columns, depth: depth, a: a, aRowStride: aRowStride, b: b, bColumnStride: bColumnStride,
                                   c: c, cRowStride: cRowStride, addToC: addToC, rowBias: rowBias, columnBias: columnBias, relu: relu)
        }
    }

    /// Measures this kernel's FMA peak on the calling thread with a register-only loop, in GFLOP/s.
    public func measurePeakGigaflops(seconds: Double = 0.2) -> Double {
        var iterations = 1 << 16
        while true {
            let start = DispatchTime.now().uptimeNanoseconds
            let flops = runThroughputLoop(iterations: iterations)
            let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
            if elapsed >= seconds || iterations >= 1 << 34 { return flops / elapsed * 1e-9 }
            iterations *= 2
        }
    }

    private func runThroughputLoop(iterations: Int) -> Double {
        // x·a + y with |x| < 1 converges to a finite value; checking it keeps the loop's result used.
        let multiplier: Float = 0.999_999, addend: Float = 1e-7
        let sink: Float
        let perIteration: Int
        switch self {
        #if arch(x86_64)
        case .avx512:
            sink = fmaThroughputLoopAVX512(iterations: iterations, multiplier: multiplier, addend: addend)
            perIteration = fmaThroughputFlopsPerIterationAVX512
        case .avx2:
            sink = fmaThroughputLoopAVX2(iterations: iterations, multiplier: multiplier, addend: addend)
            perIteration = fmaThroughputFlopsPerIterationAVX2
        #else
        case .avx512, .avx2:
            preconditionFailure("GEMMKernel: \(self) exists only on x86-64")
        #endif
        case .portable:
            sink = fmaThroughputLoopPortable(iterations: iterations, multiplier: multiplier, addend: addend)
            perIteration = fmaThroughputFlopsPerIterationPortable
        }
        if !sink.isFinite { preconditionFailure("GEMMKernel: the FMA throughput loop diverged (\(sink))") }
        return Double(iterations) * Double(perIteration)
    }
}

// MARK: - CPU features

/// The CPU feature flags of this machine, as `/proc/cpuinfo` names them (`avx512f`, `fma`, …).
struct CPUFeatures {
    let flags: Set<String>

    func contains(_ names: [String]) -> Bool { names.allSatisfy(flags.contains) }

    static let current: CPUFeatures = {
        #if os(Linux)
        if let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
           let colon = line.firstIndex(of: ":") {
            return CPUFeatures(flags: Set(line[line.index(after: colon)...].split(separator: " ").map(String.init)))
        }
        return CPUFeatures(flags: [])
        #elseif canImport(Darwin)
        // macOS names the same features hw.optional.<name>.
        var flags: Set<String> = []
        for name in ["avx512f", "avx512dq", "avx512bw", "avx512vl", "avx2", "fma"] {
            var value: Int32 = 0
            var size = MemoryLayout<Int32>.size
            let sysctlName = name == "fma" ? "hw.optional.fma" : (name == "avx2" ? "hw.optional.avx2_0" : "hw.optional.\(name)")
            if sysctlbyname(sysctlName, &value, &size, nil, 0) == 0, value != 0 { flags.insert(name) }
        }
        return CPUFeatures(flags: flags)
        #else
        return CPUFeatures(flags: [])
        #endif
    }()
}
