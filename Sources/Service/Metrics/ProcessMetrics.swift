import Foundation
import Glibc

/// The standard `process_*` metrics, read from /proc at each scrape (Linux): resident and
/// virtual memory, open and maximum file descriptors, CPU seconds, start time.
public struct ProcessMetrics: MetricsCollector {
    public init() {}

    public func collect() -> [MetricFamilySnapshot] {
        var families: [MetricFamilySnapshot] = []
        func add(_ name: String, _ help: String, _ type: MetricType, _ value: Double?) {
            guard let value else { return }
            families.append(MetricFamilySnapshot(name: name, help: help, type: type, samples: [.init(value: value)]))
        }
        let stat = Self.stat()
        add("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", .counter, stat?.cpuSeconds)
        add("process_open_fds", "Number of open file descriptors.", .gauge, Self.openFileDescriptors().map(Double.init))
        add("process_max_fds", "Maximum number of open file descriptors.", .gauge, Self.maximumFileDescriptors().map(Double.init))
        let memory = Self.memory()
        add("process_virtual_memory_bytes", "Virtual memory size in bytes.", .gauge, memory?.virtual)
        add("process_resident_memory_bytes", "Resident memory size in bytes.", .gauge, memory?.resident)
        add("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", .gauge, stat?.startTime)
        return families
    }

    /// Resident and virtual bytes from /proc/self/statm (in pages).
    static func memory() -> (resident: Double, virtual: Double)? {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
        let fields = text.split(separator: " ")
        guard fields.count >= 2, let size = Double(fields[0]), let resident = Double(fields[1]) else { return nil }
        let page = Double(sysconf(Int32(_SC_PAGESIZE)))
        return (resident * page, size * page)
    }

    /// Entries of /proc/self/fd (the directory's own descriptor excluded).
    static func openFileDescriptors() -> Int? {
        guard let directory = opendir("/proc/self/fd") else { return nil }
        defer { closedir(directory) }
        var count = 0
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { count += 1 }
        }
        return count - 1
    }

    static func maximumFileDescriptors() -> Int? {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return nil }
        // RLIM_INFINITY is all ones (the C macro does not import).
        return limit.rlim_cur == .max ? nil : Int(limit.rlim_cur)
    }

    /// CPU seconds (utime + stime) and start time (boot time + starttime) from /proc/self/stat.
    static func stat() -> (cpuSeconds: Double, startTime: Double)? {
        guard let text = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after the command name (which may hold spaces): state is field 3.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let user = Double(fields[11]), let system = Double(fields[12]),
              let start = Double(fields[19]) else { return nil }
        let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
        guard let bootTime = Self.bootTime() else { return nil }
        return ((user + system) / ticks, bootTime + start / ticks)
    }

    private static func bootTime() -> Double? {
        guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("btime ") {
            return Double(line.dropFirst(6).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}
