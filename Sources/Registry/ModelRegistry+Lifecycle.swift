import Foundation
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Status transitions and load verification

extension ModelRegistry {
    /// Moves version `version` of `name` to `status`, if `ModelStatus.canTransition(to:)` allows it.
    public func setStatus(_ status: ModelStatus, name: String, version: Int) throws {
        try ModelName.validate(name)
        try withConnection { connection in
            try connection.transaction {
                let id = try Self.modelID(name, connection)
                guard let row = try connection.query(
                    "SELECT status, status_reason FROM model_versions WHERE model_id = ? AND version = ?", [.integer(id), .int(version)]).first
                else { throw RegistryError.versionNotFound(name: name, version: version) }
                let current = ModelStatus(name: row.text(0), reason: row.optionalText(1))
                guard current.canTransition(to: status) else {
                    throw RegistryError.invalidTransition(name: name, version: version, from: current.name, to: status.name)
                }
                try connection.execute(
                    "UPDATE model_versions SET status = ?, status_reason = ? WHERE model_id = ? AND version = ?",
                    [.text(status.name), .optionalText(status.reason), .integer(id), .int(version)])
            }
        }
    }

    /// Marks every `loading` or `ready` version `unloaded`: a starting server calls this, since
    /// nothing is loaded in a fresh process. (Opening the registry does not, because the CLI opens
    /// it while a server runs.) Returns how many versions changed.
    @discardableResult
    public func resetTransientStatuses() throws -> Int {
        try withConnection { connection in
            try connection.execute("UPDATE model_versions SET status = 'unloaded', status_reason = NULL WHERE status IN ('loading', 'ready')")
            return connection.changes
        }
    }

    /// Checks the weights of `name` (`version`, or the default) before loading: the path still
    /// resolves inside the model root, the file is regular, and its size and SHA-256 are the
    /// registered ones. On failure the version becomes `failed` with the reason and the error is
    /// thrown; on success its status is unchanged.
    public func verifyWeights(name: String, version: Int? = nil) throws -> VerifiedWeights {
        let record = try self.version(name: name, version: version)
        do {
            return try verify(record)
        } catch {
            try? setStatus(.failed(reason: "\(error)"), name: record.name, version: record.version)
            throw error
        }
    }

    /// Starts loading `name` (`version`, or the default): sets `loading`, then verifies the weights
    /// as `verifyWeights` does (`failed` + error when they do not match). The caller builds the
    /// model from `absolutePath` and finishes with `setStatus(.ready…)` or `setStatus(.failed…)`.
    public func beginLoad(name: String, version: Int? = nil) throws -> VerifiedWeights {
        let record = try self.version(name: name, version: version)
        try setStatus(.loading, name: record.name, version: record.version)
        return try verifyWeights(name: record.name, version: record.version)
    }

    private func verify(_ record: ModelVersion) throws -> VerifiedWeights {
        let path = try modelRoot.resolveStored(record.weightsPath)
        // O_NOFOLLOW: a symlink swapped in after `resolveStored` is refused, not followed.
        let descriptor = try FileOperations.open(path, O_RDONLY | O_NOFOLLOW)
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw RegistryError.io(operation: "fstat", path: path, errno: errno) }
        guard FileOperations.isRegularFile(info) else { throw RegistryError.notARegularFile(path: record.weightsPath) }
        guard Int64(info.st_size) == record.byteCount else {
            throw RegistryError.sizeMismatch(path: record.weightsPath, expected: record.byteCount, actual: Int64(info.st_size))
        }
        let (byteCount, sha256) = try FileOperations.hash(descriptor, path: path)
        guard byteCount == record.byteCount else {
            throw RegistryError.sizeMismatch(path: record.weightsPath, expected: record.byteCount, actual: byteCount)
        }
        guard sha256 == record.sha256 else {
            throw RegistryError.checksumMismatch(path: record.weightsPath, expected: record.sha256, actual: sha256)
        }
        return VerifiedWeights(version: record, absolutePath: path, identity: FileIdentity(info))
    }
}
