import Foundation
import Synchronization

/// How the GEMM blocks its operands for this CPU's caches: the longest depth block (KC) and the
/// packed panels of B' per block.
///
/// The block kernels sweep each register tile's rows of A' (MR × KC) across a block of B'
/// (KC × panels · NR) before moving on, so A's rows should stay in L1 while the block of B' streams
/// from L2. `derived` sizes both from the caches `CPUCache` reads; `periscope bench kernels --only
/// blocking` measures candidates side by side (through `override`) on the machine at hand.
public struct GEMMBlocking: Sendable, Equatable, CustomStringConvertible {
    /// Longest depth block (KC); `GEMMProblem` splits K into equal blocks no longer than this.
    public var depth: Int
    /// Panels of B' per block.
    public var panels: Int

    public init(depth: Int, panels: Int) {
        precondition(depth > 0 && panels > 0, "GEMMBlocking: depth \(depth) and panels \(panels) must be positive")
        self.depth = depth
        self.panels = panels
    }

    public var description: String { "KC \(depth) × \(panels) panels" }

    /// The blocking for `kernel` on a CPU with these cache sizes.
    ///
    /// AVX-512 keeps the long blocks measured best on Zen 4 (1 MB L2): its B' panels stream from L3
    /// faster than 64-column tiles consume them, and every extra depth block costs a pass over C.
    /// The 16-column kernels consume B' four times faster per byte of A' and need it from L2: KC
    /// the largest power of two with a tile's rows of A' in half of L1, and as many panels as fill
    /// L2. Measured against 16 other blockings on Zen 3 (32 KiB L1d, 512 KiB L2: KC 512 × 16
    /// panels), no candidate was faster on the geometric mean of `bench kernels --only blocking`.
    public static func derived(kernel: GEMMKernel, level1Bytes: Int, level2Bytes: Int) -> GEMMBlocking {
        if kernel == .avx512 { return GEMMBlocking(depth: 4608, panels: 8) }
        let floatBytes = MemoryLayout<Float>.stride
        var depth = 128
        while depth * 2 * kernel.tileRows * floatBytes <= level1Bytes / 2 { depth *= 2 }
        let panels = max(2, level2Bytes / (depth * kernel.panelWidth * floatBytes))
        return GEMMBlocking(depth: depth, panels: panels)
    }

    /// The blocking `gemm` uses with `kernel`: the override if one is set, else
    /// `PERISCOPE_GEMM_BLOCKING=KC,PANELS` if given (for comparisons across processes), else the derived one.
    public static func current(for kernel: GEMMKernel) -> GEMMBlocking {
        if let forced = override.withLock({ $0 }) { return forced }
        if let fromEnvironment { return fromEnvironment }
        return derived(kernel: kernel, level1Bytes: CPUCache.level1DataBytes, level2Bytes: CPUCache.level2Bytes)
    }

    /// `PERISCOPE_GEMM_BLOCKING` parsed ("512,16": KC 512, 16 panels); malformed values are ignored
    /// with a note on stderr.
    private static let fromEnvironment: GEMMBlocking? = {
        guard let text = ProcessInfo.processInfo.environment["PERISCOPE_GEMM_BLOCKING"], !text.isEmpty else { return nil }
        let parts = text.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, parts[0] > 0, parts[1] > 0 else {
            FileHandle.standardError.write(Data("periscope: PERISCOPE_GEMM_BLOCKING=\(text) ignored (expected KC,PANELS, two positive integers)\n".utf8))
            return nil
        }
        return GEMMBlocking(depth: parts[0], panels: parts[1])
    }()

    /// A blocking every `gemm` uses until reset to nil, whatever its kernel: benchmarks compare
    /// candidates with it in one process. Not for serving.
    public static let override = Mutex<GEMMBlocking?>(nil)
}
