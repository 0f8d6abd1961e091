import Foundation

/// A long-lived `python3 -c SCRIPT` driven line by line over stdin/stdout: the reference engines the
/// kernel and encode benchmarks time side by side (numpy's BLAS, orjson) without a process per sample.
/// The script's first line is its version line; a script that does not print it did not start.
final class PythonWorker {
    private let process = Process()
    private let input = Pipe(), output = Pipe()
    private var buffer = Data()
    /// The script's first line (its engine's versions).
    private(set) var versionLine = ""

    /// Starts the script, or returns nil when python3 or its imports are missing.
    init?(script: String, arguments: [String] = [], environment: [String: String]? = nil) {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script] + arguments
        if let environment { process.environment = environment }
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        guard let first = readLine() else {
            process.terminate()
            return nil
        }
        versionLine = first
    }

    /// Sends one request line and returns the reply's first line (nil when the worker has exited).
    func request(_ line: String) -> String? {
        input.fileHandleForWriting.write(Data((line + "\n").utf8))
        return readLine()
    }

    /// The next `count` bytes of output.
    func read(_ count: Int) -> Data? {
        while buffer.count < count {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
        let result = buffer.prefix(count)
        buffer.removeFirst(count)
        return Data(result)
    }

    /// Closes stdin (the script's loop ends) and waits for the process.
    func close() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    private func readLine() -> String? {
        while true {
            if let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
                buffer.removeSubrange(buffer.startIndex...newline)
                return line
            }
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { return nil }
            buffer.append(chunk)
        }
    }
}
