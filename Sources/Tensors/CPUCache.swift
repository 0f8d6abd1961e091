import Foundation

/// The cache sizes of the CPU this process runs on, as kernels size their blocks from them.
public enum CPUCache {
    /// Bytes of this core's L2 cache, read from sysfs (the first cache of level 2 of cpu0), or
    /// 1 MiB where it cannot be read. Sets the bf16 GEMM's weight blocks and the channels-last
    /// depthwise kernel's tile groups.
    public static let level2Bytes: Int = {
        let base = "/sys/devices/system/cpu/cpu0/cache"
        for index in 0..<8 {
            guard let level = try? String(contentsOfFile: "\(base)/index\(index)/level", encoding: .utf8),
                  level.trimmingCharacters(in: .whitespacesAndNewlines) == "2",
                  let size = try? String(contentsOfFile: "\(base)/index\(index)/size", encoding: .utf8) else { continue }
            let text = size.trimmingCharacters(in: .whitespacesAndNewlines)
            let multiplier = text.hasSuffix("K") ? 1 << 10 : text.hasSuffix("M") ? 1 << 20 : 1
            if let value = Int(text.trimmingCharacters(in: CharacterSet(charactersIn: "KM"))), value > 0 { return value * multiplier }
        }
        return 1 << 20
    }()
}
