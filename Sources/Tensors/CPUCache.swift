import Foundation

/// The cache sizes of the CPU this process runs on, as kernels size their blocks from them.
public enum CPUCache {
    /// Bytes of this core's L1 data cache, read from sysfs, or 32 KiB where it cannot be read.
    /// Sets the GEMM's depth blocks (a register tile's rows of A stay in L1).
    public static let level1DataBytes: Int = size(level: 1, type: "Data") ?? 32 << 10

    /// Bytes of this core's L2 cache, read from sysfs (the first cache of level 2 of cpu0), or
    /// 1 MiB where it cannot be read. Sets the GEMM's and the bf16 GEMM's weight blocks and the
    /// channels-last depthwise kernel's tile groups.
    public static let level2Bytes: Int = size(level: 2, type: nil) ?? 1 << 20

    /// The size of cpu0's first cache of `level` (and `type`: Data, Instruction or Unified), from sysfs.
    private static func size(level wanted: Int, type wantedType: String?) -> Int? {
        let base = "/sys/devices/system/cpu/cpu0/cache"
        func read(_ index: Int, _ name: String) -> String? {
            (try? String(contentsOfFile: "\(base)/index\(index)/\(name)", encoding: .utf8))?
                .trimmingCharacters(in: .whitespacesAndNewlines)
        }
        for index in 0..<8 {
            guard read(index, "level") == String(wanted), let text = read(index, "size") else { continue }
            if let wantedType, read(index, "type") != wantedType { continue }
            let multiplier = text.hasSuffix("K") ? 1 << 10 : text.hasSuffix("M") ? 1 << 20 : 1
            if let value = Int(text.trimmingCharacters(in: CharacterSet(charactersIn: "KM"))), value > 0 { return value * multiplier }
        }
        return nil
    }
}
