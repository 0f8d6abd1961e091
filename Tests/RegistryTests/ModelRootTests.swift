import Foundation
import Testing
import Registry

@Suite struct ModelRootTests {
    @Test func resolvesRelativeAndAbsolutePathsInsideTheRoot() throws {
        let directory = TemporaryDirectory()
        let root = try ModelRoot(path: directory.modelRoot)
        let absolute = try directory.write([1, 2, 3], to: "models/a/w.safetensors")
        #expect(try root.resolve("a/w.safetensors").relativePath == "a/w.safetensors")
        #expect(try root.resolve(absolute).relativePath == "a/w.safetensors")
        #expect(try root.resolve("./a//w.safetensors").relativePath == "a/w.safetensors")
    }

    @Test(arguments: ["../outside.bin", "a/../../outside.bin", "a/../w.safetensors", "/etc/passwd"])
    func rejectsPathsLeavingTheRoot(path: String) throws {
        let directory = TemporaryDirectory()
        let root = try ModelRoot(path: directory.modelRoot)
        try directory.write([1], to: "outside.bin")
        try directory.write([1], to: "models/w.safetensors")
        #expect(throws: RegistryError.pathOutsideModelRoot(path: path, modelRoot: root.path)) { try root.resolve(path) }
    }

    @Test func rejectsASymlinkThatEscapes() throws {
        let directory = TemporaryDirectory()
        let root = try ModelRoot(path: directory.modelRoot)
        let outside = try directory.write([1, 2], to: "secret.bin")
        try FileManager.default.createSymbolicLink(atPath: directory.modelRoot + "/link.safetensors", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: directory.modelRoot + "/dir", withDestinationPath: directory.path)
        #expect(throws: RegistryError.pathOutsideModelRoot(path: "link.safetensors", modelRoot: root.path)) { try root.resolve("link.safetensors") }
        #expect(throws: RegistryError.pathOutsideModelRoot(path: "dir/secret.bin", modelRoot: root.path)) { try root.resolve("dir/secret.bin") }
    }

    @Test func followsASymlinkThatStaysInside() throws {
        let directory = TemporaryDirectory()
        let root = try ModelRoot(path: directory.modelRoot)
        try directory.write([1, 2], to: "models/real/w.safetensors")
        try FileManager.default.createSymbolicLink(atPath: directory.modelRoot + "/alias.safetensors", withDestinationPath: directory.modelRoot + "/real/w.safetensors")
        #expect(try root.resolve("alias.safetensors").relativePath == "real/w.safetensors")
    }

    @Test func rejectsMissingFilesDirectoriesAndUnfinishedUploads() throws {
        let directory = TemporaryDirectory()
        let root = try ModelRoot(path: directory.modelRoot)
        try directory.write([1], to: "models/.uploads/x.partial")
        try FileManager.default.createDirectory(atPath: directory.modelRoot + "/folder", withIntermediateDirectories: true)
        #expect(throws: RegistryError.weightsNotFound(path: "nope.safetensors")) { try root.resolve("nope.safetensors") }
        #expect(throws: RegistryError.notARegularFile(path: "folder")) { try root.resolve("folder") }
        #expect(throws: RegistryError.invalidPath(path: "", reason: "the path is empty")) { try root.resolve("") }
        #expect {
            try root.resolve(".uploads/x.partial")
        } throws: { error in
            if case RegistryError.invalidPath(path: ".uploads/x.partial", _) = error { return true }
            return false
        }
    }

    @Test func storedPathsMustBeRelative() throws {
        let directory = TemporaryDirectory()
        let root = try ModelRoot(path: directory.modelRoot)
        let absolute = try directory.write([1], to: "models/w.safetensors")
        #expect(throws: RegistryError.pathOutsideModelRoot(path: absolute, modelRoot: root.path)) { try root.resolveStored(absolute) }
        #expect(try root.resolveStored("w.safetensors") == root.path + "/w.safetensors")
    }
}
