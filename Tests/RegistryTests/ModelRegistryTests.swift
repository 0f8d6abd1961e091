import Foundation
import Synchronization
import Testing
import TestSupport
@testable import Registry

@Suite struct ModelRegistryTests {
    // MARK: - Registering and reading

    /// Each version records its own precision; the database refuses a name outside the three.
    @Test func versionsKeepTheirPrecision() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        try directory.write(testBytes(count: 100, seed: 2), to: "models/w.safetensors")
        let first = try registry.register(ModelRegistration(name: "m", architecture: "mlp"), weightsPath: "w.safetensors")
        let second = try registry.register(ModelRegistration(name: "m", architecture: "mlp", precision: .int8), weightsPath: "w.safetensors")
        #expect(first.precision == .float32 && second.precision == .int8)
        #expect(try directory.registry().model(named: "m").versions.map(\.precision) == [.float32, .int8])
        let connection = try SQLiteConnection(path: directory.databasePath, busyTimeoutMilliseconds: 1000)
        #expect(throws: RegistryError.self) { try connection.execute("UPDATE model_versions SET precision = 'fp8'") }
        #expect(try registry.model(named: "m").versions.map(\.precision) == [.float32, .int8])
        #expect(throws: RegistryError.invalidPrecision("fp16", field: "precision")) { try ModelPrecision(parsing: "fp16") }
        #expect(RegistryError.invalidPrecision("fp16", field: "precision").description == "precision: expected one of float32, bfloat16, int8, got 'fp16'")
    }

    @Test func registersByPathAndReadsBack() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        let weights = testBytes(count: 5000, seed: 1)
        try directory.write(weights, to: "models/mine/w.safetensors")
        let registration = ModelRegistration(
            name: "tiny", architecture: "mlp", configuration: #"{"hidden": [4, 2]}"#, description: "test model",
            labels: ["task": "demo", "owner": "me"], preload: true)
        let version = try registry.register(registration, weightsPath: "mine/w.safetensors")
        #expect(version.version == 1)
        #expect(version.byteCount == 5000)
        #expect(version.sha256 == hexDigest(weights))
        #expect(version.status == .registered)
        #expect(!version.ownsWeightsFile)
        let model = try registry.model(named: "tiny")
        #expect(model.description == "test model")
        #expect(model.labels == ["task": "demo", "owner": "me"])
        #expect(model.preload)
        #expect(model.versions == [version])
        #expect(try registry.models().map(\.name) == ["tiny"])
        #expect(try registry.version(name: "tiny") == version)
    }

    @Test func rejectsBadRegistrations() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        try directory.write([1], to: "models/w.safetensors")
        #expect(throws: RegistryError.invalidName("Bad Name")) {
            try registry.register(ModelRegistration(name: "Bad Name", architecture: "mlp"), weightsPath: "w.safetensors")
        }
        for configuration in ["[1, 2]", "not json", "3"] {
            #expect {
                try registry.register(ModelRegistration(name: "m", architecture: "mlp", configuration: configuration), weightsPath: "w.safetensors")
            } throws: { error in
                if case RegistryError.invalidConfiguration(name: "m", _) = error { return true }
                return false
            }
        }
        #expect(throws: RegistryError.invalidLabel(key: "", reason: "keys are 1 to 128 printable characters")) {
            try registry.register(ModelRegistration(name: "m", architecture: "mlp", labels: ["": "x"]), weightsPath: "w.safetensors")
        }
        #expect(try registry.models().isEmpty)
    }

    @Test func versionsAreMonotonicAndNeverReused() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        try directory.write([1, 2, 3], to: "models/w.safetensors")
        let registration = ModelRegistration(name: "m", architecture: "mlp")
        #expect(try registry.register(registration, weightsPath: "w.safetensors").version == 1)
        #expect(try registry.register(registration, weightsPath: "w.safetensors").version == 2)
        try registry.removeVersion(name: "m", version: 2)
        #expect(try registry.register(registration, weightsPath: "w.safetensors").version == 3)
        try registry.removeModel(named: "m")
        #expect(throws: RegistryError.modelNotFound("m")) { try registry.model(named: "m") }
        #expect(try registry.register(registration, weightsPath: "w.safetensors").version == 4)
        #expect(try registry.model(named: "m").versions.map(\.version) == [4])
    }

    @Test func defaultVersionIsTheLatestUnlessPinned() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        try directory.write([1], to: "models/w.safetensors")
        let registration = ModelRegistration(name: "m", architecture: "mlp")
        for _ in 0..<3 { _ = try registry.register(registration, weightsPath: "w.safetensors") }
        #expect(try registry.version(name: "m").version == 3)
        try registry.setDefaultVersion(name: "m", version: 2)
        #expect(try registry.version(name: "m").version == 2)
        #expect(try registry.model(named: "m").pinnedVersion == 2)
        #expect(throws: RegistryError.versionNotFound(name: "m", version: 9)) { try registry.setDefaultVersion(name: "m", version: 9) }
        try registry.removeVersion(name: "m", version: 2)
        #expect(try registry.model(named: "m").pinnedVersion == nil)
        #expect(try registry.version(name: "m").version == 3)
        try registry.setDefaultVersion(name: "m", version: 1)
        try registry.setDefaultVersion(name: "m", version: nil)
        #expect(try registry.version(name: "m").version == 3)
        #expect(throws: RegistryError.versionNotFound(name: "m", version: 2)) { try registry.version(name: "m", version: 2) }
    }

    @Test func updatesMetadataWithoutTouchingVersions() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        try directory.write([1], to: "models/w.safetensors")
        _ = try registry.register(ModelRegistration(name: "m", architecture: "mlp", labels: ["a": "1"]), weightsPath: "w.safetensors")
        try registry.updateModel(name: "m", description: "new", preload: true)
        var model = try registry.model(named: "m")
        #expect(model.description == "new" && model.preload && model.labels == ["a": "1"])
        // A later registration with nil metadata keeps it; non-nil replaces it.
        _ = try registry.register(ModelRegistration(name: "m", architecture: "mlp"), weightsPath: "w.safetensors")
        model = try registry.model(named: "m")
        #expect(model.description == "new" && model.preload && model.labels == ["a": "1"])
        _ = try registry.register(ModelRegistration(name: "m", architecture: "mlp", labels: ["b": "2"], preload: false), weightsPath: "w.safetensors")
        model = try registry.model(named: "m")
        #expect(!model.preload && model.labels == ["b": "2"])
    }

    @Test func removingAPathRegisteredVersionKeepsTheUsersFile() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        let path = try directory.write([1, 2], to: "models/user/w.safetensors")
        _ = try registry.register(ModelRegistration(name: "m", architecture: "mlp"), weightsPath: path)
        try registry.removeModel(named: "m")
        #expect(FileManager.default.fileExists(atPath: path))
    }

    @Test func reopeningReloadsTheRegistry() throws {
        let directory = TemporaryDirectory()
        var expected: [RegisteredModel] = []
        do {
            let registry = try directory.registry()
            try directory.write(testBytes(count: 300, seed: 3), to: "models/w.safetensors")
            _ = try registry.register(ModelRegistration(name: "a", architecture: "mlp", description: "x", labels: ["k": "v"], preload: true), weightsPath: "w.safetensors")
            _ = try registry.importWeights(ModelRegistration(name: "b", architecture: "resnet"), from: directory.modelRoot + "/w.safetensors")
            _ = try registry.register(ModelRegistration(name: "a", architecture: "mlp"), weightsPath: "w.safetensors")
            try registry.setDefaultVersion(name: "a", version: 1)
            try registry.setStatus(.loading, name: "b", version: 1)
            expected = try registry.models()
        }
        let reopened = try directory.registry()
        #expect(reopened.recoveredAtOpen.isEmpty)
        #expect(try reopened.models() == expected)
        #expect(try reopened.model(named: "b").versions[0].status == .loading)
        #expect(try reopened.resetTransientStatuses() == 1)
        #expect(try reopened.model(named: "b").versions[0].status == .unloaded)
    }

    // MARK: - Lifecycle and verification

    @Test func statusFollowsTheLifecycle() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        try directory.write([1, 2, 3], to: "models/w.safetensors")
        _ = try registry.register(ModelRegistration(name: "m", architecture: "mlp"), weightsPath: "w.safetensors")
        #expect(throws: RegistryError.invalidTransition(name: "m", version: 1, from: "registered", to: "ready")) {
            try registry.setStatus(.ready, name: "m", version: 1)
        }
        let verified = try registry.beginLoad(name: "m")
        #expect(verified.absolutePath == registry.modelRoot.path + "/w.safetensors")
        #expect(try registry.version(name: "m").status == .loading)
        try registry.setStatus(.ready, name: "m", version: 1)
        try registry.setStatus(.unloaded, name: "m", version: 1)
        try registry.setStatus(.failed(reason: "out of memory"), name: "m", version: 1)
        #expect(try registry.version(name: "m").status == .failed(reason: "out of memory"))
        #expect(throws: RegistryError.versionNotFound(name: "m", version: 2)) { try registry.setStatus(.loading, name: "m", version: 2) }
    }

    @Test func checksumMismatchMarksTheVersionFailed() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        var weights = testBytes(count: 4096, seed: 9)
        try directory.write(weights, to: "models/w.safetensors")
        _ = try registry.register(ModelRegistration(name: "m", architecture: "mlp"), weightsPath: "w.safetensors")
        weights[100] ^= 1 // same size, different content
        try directory.write(weights, to: "models/w.safetensors")
        #expect {
            try registry.beginLoad(name: "m")
        } throws: { error in
            if case RegistryError.checksumMismatch(path: "w.safetensors", _, let actual) = error { return actual == hexDigest(weights) }
            return false
        }
        let status = try registry.version(name: "m").status
        #expect(status.name == "failed")
        #expect(status.reason?.contains("SHA-256") == true)
    }

    @Test func sizeMismatchMarksTheVersionFailed() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        try directory.write([1, 2, 3], to: "models/w.safetensors")
        _ = try registry.register(ModelRegistration(name: "m", architecture: "mlp"), weightsPath: "w.safetensors")
        try directory.write([1, 2], to: "models/w.safetensors")
        #expect(throws: RegistryError.sizeMismatch(path: "w.safetensors", expected: 3, actual: 2)) { try registry.verifyWeights(name: "m") }
        #expect(try registry.version(name: "m").status.name == "failed")
    }

    @Test func aSymlinkSwappedInAfterRegistrationFailsTheLoad() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        try directory.write([1, 2, 3], to: "models/w.safetensors")
        _ = try registry.register(ModelRegistration(name: "m", architecture: "mlp"), weightsPath: "w.safetensors")
        let outside = try directory.write([1, 2, 3], to: "outside.bin")
        try FileManager.default.removeItem(atPath: directory.modelRoot + "/w.safetensors")
        try FileManager.default.createSymbolicLink(atPath: directory.modelRoot + "/w.safetensors", withDestinationPath: outside)
        #expect(throws: RegistryError.pathOutsideModelRoot(path: "w.safetensors", modelRoot: registry.modelRoot.path)) {
            try registry.beginLoad(name: "m")
        }
        #expect(try registry.version(name: "m").status.name == "failed")
    }

    @Test func aVanishedFileIsMarkedFailedAtOpenAndCanRecover() throws {
        let directory = TemporaryDirectory()
        let weights = testBytes(count: 64, seed: 4)
        do {
            let registry = try directory.registry()
            try directory.write(weights, to: "models/w.safetensors")
            _ = try registry.register(ModelRegistration(name: "m", architecture: "mlp"), weightsPath: "w.safetensors")
        }
        try FileManager.default.removeItem(atPath: directory.modelRoot + "/w.safetensors")
        let registry = try directory.registry()
        #expect(registry.recoveredAtOpen.versionsMarkedMissing == ["m@1"])
        #expect(try registry.version(name: "m").status.name == "failed")
        // Put the file back: loading verifies it again and may proceed.
        try directory.write(weights, to: "models/w.safetensors")
        _ = try registry.beginLoad(name: "m")
        #expect(try registry.version(name: "m").status == .loading)
    }

    // MARK: - Concurrency

    /// Four reader threads list and fetch while a writer registers, removes and changes status;
    /// no operation fails (no SQLITE_BUSY) and readers always see complete models.
    @Test func concurrentReadersAndAWriterInOneProcess() throws {
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        try directory.write(testBytes(count: 10_000, seed: 2), to: "models/w.safetensors")
        let failures = Mutex<[String]>([])
        let reads = Atomic<Int>(0)
        let done = Atomic<Bool>(false)
        let group = DispatchGroup()
        for reader in 0..<4 {
            group.enter()
            Thread {
                // A second registry instance (own connection) for half the readers, to cross connections too.
                let own = reader % 2 == 0 ? registry : (try? directory.registry())
                while !done.load(ordering: .acquiring) {
                    do {
                        for model in try own!.models() { if model.versions.isEmpty { failures.withLock { $0.append("empty model \(model.name)") } } }
                        reads.add(1, ordering: .relaxed)
                    } catch {
                        failures.withLock { $0.append("reader: \(error)") }
                    }
                }
                group.leave()
            }.start()
        }
        for index in 0..<60 {
            do {
                let version = try registry.register(ModelRegistration(name: "m\(index % 5)", architecture: "mlp"), weightsPath: "w.safetensors")
                try registry.setStatus(.loading, name: version.name, version: version.version)
                if index % 3 == 0 { try registry.removeVersion(name: version.name, version: version.version) }
            } catch {
                failures.withLock { $0.append("writer: \(error)") }
            }
        }
        done.store(true, ordering: .releasing)
        group.wait()
        #expect(failures.withLock { $0 } == [])
        #expect(reads.load(ordering: .relaxed) > 0)
        #expect(try registry.models().reduce(0) { $0 + $1.versions.count } == 40)
    }

    /// The built `periscope models add` registers in a loop in another process while this one
    /// reads and writes: no SQLITE_BUSY anywhere, and every registration is visible afterwards.
    @Test func concurrentWriterInASecondProcess() throws {
        let executable = try #require(periscopeExecutable(), "build the periscope product first (swift build)")
        let directory = TemporaryDirectory()
        let registry = try directory.registry()
        let source = try directory.write(testBytes(count: 200_000, seed: 8), to: "source.bin")
        try directory.write([1, 2, 3], to: "models/w.safetensors")
        let script = """
            for i in $(seq 1 20); do
              "\(executable)" models add cli --architecture mlp --weights "\(source)" --db "\(directory.databasePath)" --model-root "\(directory.modelRoot)" >/dev/null || exit 1
            done
            """
        let process = ChildProcess()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        var reads = 0
        var writes = 0
        while process.isRunning {
            for model in try registry.models() { #expect(!model.versions.isEmpty) }
            _ = try registry.register(ModelRegistration(name: "local", architecture: "mlp"), weightsPath: "w.safetensors")
            reads += 1
            writes += 1
        }
        process.waitUntilExit()
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(process.terminationStatus == 0, "\(message)")
        #expect(reads > 0)
        let cli = try registry.model(named: "cli")
        #expect(cli.versions.map(\.version) == Array(1...20))
        #expect(try registry.model(named: "local").versions.count == writes)
        for version in cli.versions { _ = try registry.verifyWeights(name: "cli", version: version.version) }
    }
}

/// The `periscope` executable next to the test bundle (SwiftPM builds both into the same folder).
func periscopeExecutable() -> String? {
    guard let testBinary = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
    var directory = (testBinary as NSString).deletingLastPathComponent
    // The test runner may sit inside `<name>.xctest/` (a bundle) or be the file itself.
    while !directory.isEmpty, directory != "/" {
        let candidate = directory + "/periscope"
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory), !isDirectory.boolValue,
           FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        directory = (directory as NSString).deletingLastPathComponent
    }
    return nil
}

// MARK: - Reads while a write waits

extension ModelRegistryTests {
    /// Regression (scripts/faults, database locked): reads shared the writer's connection, so a
    /// write waiting for another process's lock stalled every request's model lookup for the whole
    /// busy timeout. Reads have their own connection and answer while the write still waits.
    @Test func readsDoNotWaitForAWriteThatWaitsForAnotherProcesssLock() async throws {
        let directory = TemporaryDirectory()
        let registry = try ModelRegistry(databasePath: directory.databasePath, modelRoot: directory.modelRoot,
                                         busyTimeoutMilliseconds: 60_000)   // far longer than any scheduling stall of a loaded machine
        try directory.write(testBytes(count: 100, seed: 3), to: "models/w.safetensors")
        _ = try registry.register(ModelRegistration(name: "tiny", architecture: "mlp", configuration: #"{"hidden": [4, 2]}"#),
                                  weightsPath: "w.safetensors")
        let holder = try SQLiteConnection(path: directory.databasePath, busyTimeoutMilliseconds: 10)
        try holder.execute("BEGIN EXCLUSIVE")
        let written = DispatchSemaphore(value: 0)
        Thread {
            _ = try? registry.setDefaultVersion(name: "tiny", version: 1)
            written.signal()
        }.start()
        try await Task.sleep(for: .milliseconds(300))   // the write is in SQLite's busy handler now
        #expect(try registry.version(name: "tiny").version == 1)
        #expect(try registry.models().map(\.name) == ["tiny"])
        let waitedForTheWrite = written.wait(timeout: .now()) == .success
        #expect(!waitedForTheWrite, "the reads waited for the write")
        try holder.execute("ROLLBACK")
        if !waitedForTheWrite { written.wait() }
    }
}
