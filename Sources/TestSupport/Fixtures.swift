import Foundation

/// Locates the test fixtures checked in under `Tests/Fixtures` (PyTorch-generated reference data,
/// see its README), independent of the working directory tests run from.
public enum Fixtures {
    /// `Tests/Fixtures` of this package.
    public static let directory: URL = {
        // Sources/TestSupport/Fixtures.swift → package root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        return root.appendingPathComponent("Tests/Fixtures", isDirectory: true)
    }()

    /// A file or folder inside `Tests/Fixtures`, e.g. `Fixtures.url("resnet_basic_1111/model.safetensors")`.
    public static func url(_ relativePath: String) -> URL {
        directory.appendingPathComponent(relativePath)
    }
}
