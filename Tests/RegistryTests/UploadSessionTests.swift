import Foundation
import Testing
@testable import Registry

@Suite struct UploadSessionTests {
    /// The registry is consistent: integrity ok, no journal left, no temp file, and every version's
    /// file is present with its size and hash; no managed file lacks a row.
    static func expectConsistent(_ directory: TemporaryDirectory, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let connection = try SQLiteConnection(path: directory.databasePath, busyTimeoutMilliseconds: 1000)
        #expect(try connection.query("PRAGMA integrity_check").first?.text(0) == "ok", sourceLocation: sourceLocation)
        #expect(try connection.query("SELECT path FROM pending_files").isEmpty, sourceLocation: sourceLocation)
        let registry = try directory.registry()
        var referenced: Set<String> = []
        for model in try registry.models() {
            for version in model.versions {
                referenced.insert(version.weightsPath)
                _ = try registry.verifyWeights(name: model.name, version: version.version)
            }
        }
        #expect(Set(directory.files()) == referenced, sourceLocation: sourceLocation)
    }

    @Test func streamsCommitsAndRegistersAtomically() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        let weights = testBytes(count: 300_000, seed: 6)
        let upload = try registry.beginUpload(expectedByteCount: 300_000, expectedSHA256: hexDigest(weights).uppercased())
        #expect(directory.files() == [upload.temporaryPath])
        for start in stride(from: 0, to: weights.count, by: 65_536) { try upload.write(Array(weights[start..<min(start + 65_536, weights.count)])) }
        #expect(upload.byteCount == 300_000)
        let version = try upload.commit(ModelRegistration(name: "up", architecture: "vit", preload: true))
        #expect(version.weightsPath == "up/1/model.safetensors")
        #expect(version.sha256 == hexDigest(weights))
        #expect(version.ownsWeightsFile)
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.modelRoot + "/up/1/model.safetensors")) == Data(weights))
        #expect(throws: RegistryError.uploadClosed) { try upload.write([1]) }
        try Self.expectConsistent(directory)
        // Removing the version deletes the registry's own file and its folders.
        try registry.removeVersion(name: "up", version: 1)
        #expect(directory.files().isEmpty)
        #expect(!FileManager.default.fileExists(atPath: directory.modelRoot + "/up"))
        try Self.expectConsistent(directory)
    }

    @Test func abortAndDroppingLeaveNothing() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        let upload = try registry.beginUpload()
        try upload.write([1, 2, 3])
        upload.abort()
        upload.abort()
        #expect(directory.files().isEmpty)
        do {
            let dropped = try registry.beginUpload()
            try dropped.write([4, 5])
        }
        #expect(directory.files().isEmpty)
        try Self.expectConsistent(directory)
    }

    @Test func announcedSizeOrHashMismatchRegistersNothing() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        let short = try registry.beginUpload(expectedByteCount: 10)
        try short.write([1, 2, 3])
        #expect(throws: RegistryError.uploadSizeMismatch(expected: 10, actual: 3)) { try short.commit(ModelRegistration(name: "m", architecture: "mlp")) }
        let wrong = try registry.beginUpload(expectedSHA256: String(repeating: "0", count: 64))
        try wrong.write([1, 2, 3])
        #expect(throws: RegistryError.uploadChecksumMismatch(expected: String(repeating: "0", count: 64), actual: hexDigest([1, 2, 3]))) {
            try wrong.commit(ModelRegistration(name: "m", architecture: "mlp"))
        }
        let invalid = try registry.beginUpload()
        try invalid.write([1])
        #expect(throws: RegistryError.invalidName("M")) { try invalid.commit(ModelRegistration(name: "M", architecture: "mlp")) }
        #expect(try registry.models().isEmpty)
        try Self.expectConsistent(directory)
    }

    // MARK: - Interruptions

    @Test func writeFailureAbortsTheUpload() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        let upload = try registry.beginUpload()
        try upload.write([1, 2, 3])
        registry.inject(.writeFails)
        #expect {
            try upload.write([4, 5, 6])
        } throws: { error in
            if case RegistryError.io(operation: "write", _, let code) = error { return code == ENOSPC }
            return false
        }
        #expect(throws: RegistryError.uploadClosed) { try upload.commit(ModelRegistration(name: "m", architecture: "mlp")) }
        #expect(directory.files().isEmpty)
        try Self.expectConsistent(directory)
    }

    /// A crash at each point leaves files behind; reopening (recovery) removes them, registers
    /// nothing, and the next upload gets a fresh version number.
    @Test(arguments: [UploadFault.crashBeforeRename, .crashAfterRename])
    func crashDuringCommitIsRecoveredAtOpen(fault: UploadFault) throws {
        let directory = TemporaryDirectory()
        do {
            let registry = try directory.registry()
            let upload = try registry.beginUpload()
            try upload.write(testBytes(count: 1000, seed: 1))
            registry.inject(fault)
            #expect(throws: RegistryError.self) { try upload.commit(ModelRegistration(name: "m", architecture: "mlp")) }
            #expect(!directory.files().isEmpty) // the "dead" process left a file behind
        }
        let reopened = try directory.registry()
        let report = reopened.recoveredAtOpen
        switch fault {
        case .crashBeforeRename: #expect(report.removedTemporaryFiles.count == 1 && report.removedOrphanFiles.isEmpty)
        default: #expect(report.removedTemporaryFiles.isEmpty && report.removedOrphanFiles == ["m/1/model.safetensors"])
        }
        #expect(try reopened.models().isEmpty)
        #expect(directory.files().isEmpty)
        try Self.expectConsistent(directory)
        let next = try reopened.beginUpload()
        try next.write([7])
        #expect(try next.commit(ModelRegistration(name: "m", architecture: "mlp")).version == 2)
        try Self.expectConsistent(directory)
    }

    @Test func crashWithoutCommitLeavesATempFileThatRecoveryRemoves() throws {
        let directory = TemporaryDirectory()
        do {
            let registry = try directory.registry()
            let upload = try registry.beginUpload()
            try upload.write([1, 2, 3])
            // Simulate the process dying mid-stream: the file stays, its lock goes with the descriptor.
            try FileManager.default.copyItem(atPath: directory.modelRoot + "/" + upload.temporaryPath, toPath: directory.modelRoot + "/.uploads/dead.partial")
            upload.abort()
        }
        try FileManager.default.createDirectory(atPath: directory.modelRoot + "/.uploads/stray-folder", withIntermediateDirectories: true)
        let reopened = try directory.registry()
        #expect(reopened.recoveredAtOpen.removedTemporaryFiles == [".uploads/dead.partial"])
        #expect(directory.files().isEmpty)
    }

    @Test func insertFailureAfterRenameIsUndone() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        let upload = try registry.beginUpload()
        try upload.write([1, 2, 3])
        registry.inject(.insertFails)
        #expect(throws: RegistryError.injectedFault("insert")) { try upload.commit(ModelRegistration(name: "m", architecture: "mlp")) }
        #expect(try registry.models().isEmpty)
        #expect(directory.files().isEmpty)
        try Self.expectConsistent(directory)
    }

    /// Another process opening the registry (and running recovery) while an upload is streaming or
    /// committing must not touch the live upload's files.
    @Test func recoveryLeavesLiveUploadsAlone() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        let upload = try registry.beginUpload()
        try upload.write(testBytes(count: 5000, seed: 2))
        let other = try directory.registry()
        #expect(other.recoveredAtOpen.isEmpty)
        #expect(directory.files() == [upload.temporaryPath])
        _ = try upload.commit(ModelRegistration(name: "m", architecture: "mlp"))
        try Self.expectConsistent(directory)
    }

    @Test func interruptedRemovalIsFinishedAtOpen() throws {
        let directory = TemporaryDirectory()
        do {
            let registry = try directory.registry()
            _ = try registry.importWeights(ModelRegistration(name: "m", architecture: "mlp"), from: try directory.write([1, 2], to: "src.bin"))
            // What a removal killed between its commit and the unlink leaves: no row, a journal entry, the file.
            try registry.withConnection { connection in
                try connection.transaction {
                    try connection.execute("INSERT INTO pending_files (path, kind, created_at) VALUES ('m/1/model.safetensors', 'delete', 0)")
                    try connection.execute("DELETE FROM models WHERE name = 'm'")
                }
            }
        }
        #expect(directory.files() == ["m/1/model.safetensors"])
        let reopened = try directory.registry()
        #expect(reopened.recoveredAtOpen.removedOrphanFiles == ["m/1/model.safetensors"])
        #expect(directory.files().isEmpty)
        try Self.expectConsistent(directory)
    }

    @Test func neverOverwritesAnExistingFileAtTheDestination() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        // A user's own file sits exactly where version 1 would go.
        try directory.write([9, 9], to: "models/m/1/model.safetensors")
        let upload = try registry.beginUpload()
        try upload.write([1])
        #expect {
            try upload.commit(ModelRegistration(name: "m", architecture: "mlp"))
        } throws: { error in
            if case RegistryError.io(operation: "link", _, let code) = error { return code == EEXIST }
            return false
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: directory.modelRoot + "/m/1/model.safetensors")) == Data([9, 9]))
        #expect(directory.files() == ["m/1/model.safetensors"])
    }
}
