import Foundation
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Registering and removing versions

extension ModelRegistry {
    /// Registers a weights file that is already under the model root (absolute, or relative to
    /// the root) as the next version of `registration.name`. The file stays where it is and stays
    /// the user's: removing the version does not delete it. Hashes the file (outside the lock).
    public func register(_ registration: ModelRegistration, weightsPath: String) throws -> ModelVersion {
        try Self.validate(registration)
        let (relativePath, absolutePath) = try modelRoot.resolve(weightsPath)
        let descriptor = try FileOperations.open(absolutePath, O_RDONLY | O_NOFOLLOW)
        defer { close(descriptor) }
        let (byteCount, sha256) = try FileOperations.hash(descriptor, path: absolutePath)
        return try withConnection { connection in
            try connection.transaction {
                let version = try Self.allocateVersion(registration.name, connection)
                return try Self.insertVersion(
                    registration, version: version, weightsPath: relativePath, byteCount: byteCount, sha256: sha256,
                    ownsWeightsFile: false, connection)
            }
        }
    }

    /// Copies the file at `sourcePath` (anywhere) into the model root through an upload — hashed
    /// while copying, renamed into place, then registered — and returns the new version.
    public func importWeights(_ registration: ModelRegistration, from sourcePath: String) throws -> ModelVersion {
        try Self.validate(registration)
        let descriptor = try FileOperations.open(sourcePath, O_RDONLY)
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else { throw RegistryError.io(operation: "fstat", path: sourcePath, errno: errno) }
        guard FileOperations.isRegularFile(info) else { throw RegistryError.notARegularFile(path: sourcePath) }
        let upload = try beginUpload(expectedByteCount: Int64(info.st_size))
        let chunk = 1 << 20
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
        defer { buffer.deallocate() }
        while true {
            let count = FileOperations.retrying { read(descriptor, buffer.baseAddress, chunk) }
            guard count >= 0 else {
                upload.abort()
                throw RegistryError.io(operation: "read", path: sourcePath, errno: errno)
            }
            if count == 0 { break }
            try upload.write(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
        }
        return try upload.commit(registration)
    }

    /// Removes version `version` of `name`; removing the last version removes the model. Files the
    /// registry owns are deleted (journaled first, so a crash cannot leave them behind).
    public func removeVersion(name: String, version: Int) throws {
        try ModelName.validate(name)
        try remove(name: name, version: version)
    }

    /// Removes the model `name` with every version, its labels and its settings.
    public func removeModel(named name: String) throws {
        try ModelName.validate(name)
        try remove(name: name, version: nil)
    }

    private func remove(name: String, version: Int?) throws {
        let files = try withConnection { connection in
            try connection.transaction {
                let id = try Self.modelID(name, connection)
                var condition = " WHERE v.model_id = ?"
                var parameters: [SQLiteValue] = [.integer(id)]
                if let version {
                    condition += " AND v.version = ?"
                    parameters.append(.int(version))
                }
                let doomed = try connection.query(Self.versionColumns + condition, parameters).map(Self.versionRecord)
                if let version, doomed.isEmpty { throw RegistryError.versionNotFound(name: name, version: version) }
                let owned = doomed.filter(\.ownsWeightsFile).map(\.weightsPath)
                for path in owned {
                    try connection.execute(
                        "INSERT OR REPLACE INTO pending_files (path, temporary_path, kind, created_at) VALUES (?, NULL, 'delete', ?)",
                        [.text(path), .integer(Self.now())])
                }
                if let version {
                    try connection.execute("DELETE FROM model_versions WHERE model_id = ? AND version = ?", [.integer(id), .int(version)])
                    try connection.execute("UPDATE models SET default_version = NULL WHERE id = ? AND default_version = ?", [.integer(id), .int(version)])
                    let left = try connection.query("SELECT COUNT(*) FROM model_versions WHERE model_id = ?", [.integer(id)])
                    if left.first?.int(0) == 0 { try connection.execute("DELETE FROM models WHERE id = ?", [.integer(id)]) }
                } else {
                    try connection.execute("DELETE FROM models WHERE id = ?", [.integer(id)])
                }
                return owned
            }
        }
        // The rows are gone and the journal names the files: delete them, then the journal rows.
        // A crash in between is finished by `recover()`.
        let root = modelRoot
        for path in files {
            try FileOperations.removeFile(root.absolutePath(path))
            Self.removeEmptyParents(of: path, root: root)
        }
        try withConnection { connection in
            for path in files { try connection.execute("DELETE FROM pending_files WHERE path = ? AND kind = 'delete'", [.text(path)]) }
        }
    }

    // MARK: - Shared steps (called with the connection locked, inside a transaction)

    /// Hands out the next version number of `name` from its counter, which outlives removals.
    static func allocateVersion(_ name: String, _ connection: SQLiteConnection) throws -> Int {
        try connection.execute("INSERT OR IGNORE INTO version_sequences (name, last_version) VALUES (?, 0)", [.text(name)])
        try connection.execute("UPDATE version_sequences SET last_version = last_version + 1 WHERE name = ?", [.text(name)])
        return try connection.query("SELECT last_version FROM version_sequences WHERE name = ?", [.text(name)])[0].int(0)
    }

    /// Inserts the model (when new) and the version row, applying the registration's metadata.
    static func insertVersion(_ registration: ModelRegistration, version: Int, weightsPath: String, byteCount: Int64, sha256: String,
                              ownsWeightsFile: Bool, _ connection: SQLiteConnection) throws -> ModelVersion {
        let now = Self.now()
        try connection.execute("INSERT OR IGNORE INTO models (name, description, created_at) VALUES (?, '', ?)", [.text(registration.name), .integer(now)])
        let id = try modelID(registration.name, connection)
        try applyMetadata(id: id, description: registration.description, labels: registration.labels, preload: registration.preload, connection)
        try connection.execute(
            """
            INSERT INTO model_versions (model_id, version, architecture, config_json, weights_path, byte_size, sha256, created_at, status,
                                        owns_weights_file, precision)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'registered', ?, ?)
            """,
            [.integer(id), .int(version), .text(registration.architecture), .text(registration.configuration), .text(weightsPath),
             .integer(byteCount), .text(sha256), .integer(now), .bool(ownsWeightsFile), .text(registration.precision.rawValue)])
        return ModelVersion(
            name: registration.name, version: version, architecture: registration.architecture, configuration: registration.configuration,
            weightsPath: weightsPath, byteCount: byteCount, sha256: sha256, createdAt: date(now), status: .registered,
            precision: registration.precision, ownsWeightsFile: ownsWeightsFile)
    }
}
