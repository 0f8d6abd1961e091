import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A weights file being streamed into the registry: `write` chunks as they arrive, then `commit`
/// to register them as a new version, or `abort`.
///
/// The bytes go to `<model_root>/.uploads/<uuid>.partial`, hashed as they are written. `commit`
/// fsyncs the file, reserves a version number (journaled in `pending_files`), links the file into
/// `<model_root>/<name>/<version>/model.safetensors` — never over an existing file — and inserts
/// the row and clears the journal in one transaction. The session holds an `flock` on its file the
/// whole time, which is how `recover()` in any process tells a live upload from a dead one.
/// A session is used from one thread or task at a time. Dropping it without `commit` aborts it.
public final class UploadSession {
    private let registry: ModelRegistry
    private let expectedByteCount: Int64?
    private let expectedSHA256: String?
    private var descriptor: Int32
    private var hasher = SHA256()
    private var state = State.open

    private enum State { case open, committed, aborted, crashed }

    /// The temp file, relative to the model root.
    public let temporaryPath: String
    /// Bytes written so far.
    public private(set) var byteCount: Int64 = 0

    /// The file name weights get inside `<model_root>/<name>/<version>/`.
    public static let weightsFileName = "model.safetensors"

    init(registry: ModelRegistry, expectedByteCount: Int64?, expectedSHA256: String?) throws {
        self.registry = registry
        self.expectedByteCount = expectedByteCount
        self.expectedSHA256 = expectedSHA256?.lowercased()
        let root = registry.modelRoot
        try FileOperations.makeDirectories(root.uploadsPath)
        while true {
            let relative = ModelRoot.uploadsDirectoryName + "/" + UUID().uuidString.lowercased() + ".partial"
            let absolute = root.absolutePath(relative)
            let descriptor = try FileOperations.open(absolute, O_WRONLY | O_CREAT | O_EXCL, mode: 0o644)
            try FileOperations.lock(descriptor, path: absolute)
            // Recovery in another process may have removed the file between create and lock;
            // then the inode has no name left and the upload starts over with a new one.
            var info = stat()
            if fstat(descriptor, &info) == 0, info.st_nlink > 0 {
                self.descriptor = descriptor
                self.temporaryPath = relative
                return
            }
            close(descriptor)
        }
    }

    deinit {
        if state == .open { abort() }
    }

    // MARK: - Writing

    /// Appends `chunk`. On failure the upload is aborted (its temp file removed) and the error thrown.
    public func write(_ chunk: UnsafeRawBufferPointer) throws {
        guard state == .open else { throw RegistryError.uploadClosed }
        do {
            if registry.fires(.writeFails) { throw RegistryError.io(operation: "write", path: temporaryPath, errno: ENOSPC) }
            try FileOperations.writeAll(descriptor, chunk, path: temporaryPath)
        } catch {
            abort()
            throw error
        }
        hasher.update(chunk)
        byteCount += Int64(chunk.count)
    }

    /// Appends `bytes`.
    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Appends `data`.
    public func write(_ data: Data) throws { try data.withUnsafeBytes { try write($0) } }

    /// Removes the temp file; the upload leaves nothing behind. Idempotent.
    public func abort() {
        guard state == .open else { return }
        state = .aborted
        try? FileOperations.removeFile(registry.modelRoot.absolutePath(temporaryPath))
        close(descriptor)
    }

    // MARK: - Committing

    /// Registers the uploaded bytes as the next version of `registration.name` and returns it.
    /// On any error the upload is aborted and nothing is registered.
    public func commit(_ registration: ModelRegistration) throws -> ModelVersion {
        guard state == .open else { throw RegistryError.uploadClosed }
        let sha256 = SHA256.hexString(hasher.finalize())
        let root = registry.modelRoot
        do {
            try ModelRegistry.validate(registration)
            if let expectedByteCount, expectedByteCount != byteCount { throw RegistryError.uploadSizeMismatch(expected: expectedByteCount, actual: byteCount) }
            if let expectedSHA256, expectedSHA256 != sha256 { throw RegistryError.uploadChecksumMismatch(expected: expectedSHA256, actual: sha256) }
            try FileOperations.sync(descriptor, path: temporaryPath)
        } catch {
            abort()
            throw error
        }
        // 1. Reserve the version and journal the destination (committed on its own, so that a
        //    crash from here on is visible to `recover()`).
        let temporaryPath = self.temporaryPath
        let (version, finalPath) = try registry.withConnection { connection in
            try connection.transaction {
                let version = try ModelRegistry.allocateVersion(registration.name, connection)
                let finalPath = "\(registration.name)/\(version)/\(Self.weightsFileName)"
                try connection.execute(
                    "INSERT INTO pending_files (path, temporary_path, kind, created_at) VALUES (?, ?, 'upload', ?)",
                    [.text(finalPath), .text(temporaryPath), .integer(ModelRegistry.now())])
                return (version, finalPath)
            }
        }
        var linked = false
        do {
            if registry.fires(.crashBeforeRename) { try crash("before rename") }
            // 2. Move the file into place: link (fails if the name exists, unlike rename) then
            //    unlink the temp name, syncing the folders so both survive a power cut.
            let directory = (finalPath as NSString).deletingLastPathComponent
            try FileOperations.makeDirectories(root.absolutePath(directory))
            guard link(root.absolutePath(temporaryPath), root.absolutePath(finalPath)) == 0 else {
                throw RegistryError.io(operation: "link", path: root.absolutePath(finalPath), errno: errno)
            }
            linked = true
            try FileOperations.syncDirectory(root.absolutePath(directory))
            try FileOperations.syncDirectory(root.absolutePath(registration.name))
            try FileOperations.syncDirectory(root.path)
            try FileOperations.removeFile(root.absolutePath(temporaryPath))
            try FileOperations.syncDirectory(root.uploadsPath)
            if registry.fires(.crashAfterRename) { try crash("after rename") }
            // 3. The row and the end of the journal entry, atomically.
            let record = try registry.withConnection { connection in
                try connection.transaction {
                    let record = try ModelRegistry.insertVersion(
                        registration, version: version, weightsPath: finalPath, byteCount: byteCount, sha256: sha256,
                        ownsWeightsFile: true, connection)
                    if registry.fires(.insertFails) { throw RegistryError.injectedFault("insert") }
                    try connection.execute("DELETE FROM pending_files WHERE path = ?", [.text(finalPath)])
                    return record
                }
            }
            state = .committed
            close(descriptor)
            return record
        } catch {
            if state == .crashed { throw error }
            // Undo: remove both names (the final one only if this upload made it), then the journal
            // entry. The version number stays used.
            if linked {
                try? FileOperations.removeFile(root.absolutePath(finalPath))
                ModelRegistry.removeEmptyParents(of: finalPath, root: root)
            }
            state = .open
            abort()
            _ = try? registry.withConnection { connection in
                try connection.execute("DELETE FROM pending_files WHERE path = ?", [.text(finalPath)])
            }
            throw error
        }
    }

    /// Stops like a killed process: the lock goes, nothing is cleaned up.
    private func crash(_ point: String) throws -> Never {
        state = .crashed
        close(descriptor)
        throw RegistryError.injectedFault(point)
    }
}

extension ModelRegistry {
    /// Starts streaming a weights file into the model root. `expectedByteCount` and
    /// `expectedSHA256` (hex), when given, are checked at `commit`.
    public func beginUpload(expectedByteCount: Int64? = nil, expectedSHA256: String? = nil) throws -> UploadSession {
        try UploadSession(registry: self, expectedByteCount: expectedByteCount, expectedSHA256: expectedSHA256)
    }
}
