import Foundation
import Registry

/// The `--output-dir` of `periscope extract --dataset` and `periscope extract-merge`.
enum OutputDirectory {
    /// Makes `path` ready to write to: created when missing (an existing path must be a
    /// directory), the partial files of an interrupted durable write removed. Returns the names
    /// of the files it holds besides.
    static func open(_ path: String) throws -> [String] {
        let files = FileManager.default
        var isDirectory: ObjCBool = false
        if files.fileExists(atPath: path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw CommandLineError.invalidValue(option: "output-dir", value: path, expected: "a directory") }
        } else {
            try files.createDirectory(atPath: path, withIntermediateDirectories: true)
        }
        var names: [String] = []
        for name in try files.contentsOfDirectory(atPath: path) {
            if DurableFile.isPartial(name) {
                try files.removeItem(atPath: path + "/" + name)
            } else {
                names.append(name)
            }
        }
        return names
    }
}
