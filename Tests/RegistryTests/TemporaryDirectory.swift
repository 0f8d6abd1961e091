import Foundation
@testable import Registry

/// A fresh directory under the system temp folder, removed when the value is released; holds a
/// registry database and model root for one test.
final class TemporaryDirectory: @unchecked Sendable {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "periscope-registry-tests-" + UUID().uuidString.lowercased()
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var databasePath: String { path + "/registry.sqlite3" }
    var modelRoot: String { path + "/models" }

    /// Opens (or reopens) the registry in this directory.
    func registry() throws -> ModelRegistry { try ModelRegistry(databasePath: databasePath, modelRoot: modelRoot) }

    /// Writes `bytes` to `relativePath` (parents created) and returns the absolute path.
    @discardableResult
    func write(_ bytes: [UInt8], to relativePath: String) throws -> String {
        let full = path + "/" + relativePath
        try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: full))
        return full
    }

    /// Every file below `relativePath` (default: the model root), relative to it, sorted.
    func files(under relativePath: String = "models") -> [String] {
        let base = path + "/" + relativePath
        guard let enumerator = FileManager.default.enumerator(atPath: base) else { return [] }
        var files: [String] = []
        while let entry = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: base + "/" + entry, isDirectory: &isDirectory), !isDirectory.boolValue { files.append(entry) }
        }
        return files.sorted()
    }
}

/// Deterministic pseudo-random bytes.
func testBytes(count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return UInt8(truncatingIfNeeded: state)
    }
}

/// The lowercase hex SHA-256 of `bytes`.
func hexDigest(_ bytes: [UInt8]) -> String { SHA256.hexString(SHA256.hash(bytes)) }
