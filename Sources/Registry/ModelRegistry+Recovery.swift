import Foundation
#if canImport(Glibc)
import Glibc
#endif

// MARK: - Recovery from interrupted changes

extension ModelRegistry {
    /// Finishes or undoes what an interrupted process left behind: removes abandoned upload temp
    /// files, uploaded files whose row was never inserted, and files of removed versions; marks
    /// versions whose weights file vanished as `failed`. Safe while other processes use the
    /// registry: files still `flock`ed by a live upload are left alone. Runs at open.
    @discardableResult
    public func recover() throws -> RecoveryReport {
        var report = RecoveryReport()
        try FileOperations.makeDirectories(modelRoot.uploadsPath)
        // Temp files no live process holds. Their journal rows (if any) are settled below.
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: modelRoot.uploadsPath)) ?? []
        for entry in entries.sorted() {
            let path = modelRoot.uploadsPath + "/" + entry
            // Only files are uploads; anything else someone put there is left alone.
            var info = stat()
            guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFDIR else { continue }
            if try removeIfUnlocked(path) { report.removedTemporaryFiles.append(ModelRoot.uploadsDirectoryName + "/" + entry) }
        }
        let root = modelRoot
        let journal = try withConnection { connection in
            try connection.transaction {
                var removed: [String] = []
                let rows = try connection.query("SELECT path, temporary_path, kind FROM pending_files ORDER BY path")
                for row in rows {
                    let path = row.text(0)
                    if row.text(2) == "delete" {
                        try FileOperations.removeFile(root.absolutePath(path))
                        Self.removeEmptyParents(of: path, root: root)
                        removed.append(path)
                    } else {
                        // An upload: the owner holds an flock on its file until the row is gone.
                        let referenced = try !connection.query("SELECT 1 FROM model_versions WHERE weights_path = ?", [.text(path)]).isEmpty
                        if !referenced {
                            guard let removedFinal = try Self.removeIfUnlocked(root.absolutePath(path)) else { continue }
                            if let temporary = row.optionalText(1), try Self.removeIfUnlocked(root.absolutePath(temporary)) == nil { continue }
                            if removedFinal {
                                Self.removeEmptyParents(of: path, root: root)
                                removed.append(path)
                            }
                        }
                    }
                    try connection.execute("DELETE FROM pending_files WHERE path = ?", [.text(path)])
                }
                return removed
            }
        }
        report.removedOrphanFiles = journal
        report.versionsMarkedMissing = try markMissingWeights()
        return report
    }

    /// Marks every version whose weights file is gone (or now resolves outside the root) `failed`.
    private func markMissingWeights() throws -> [String] {
        let root = modelRoot
        return try withConnection { connection in
            try connection.transaction {
                let rows = try connection.query(Self.versionColumns + " WHERE v.status != 'failed'")
                var missing: [String] = []
                for record in rows.map(Self.versionRecord) {
                    do {
                        _ = try root.resolveStored(record.weightsPath)
                    } catch {
                        try connection.execute(
                            "UPDATE model_versions SET status = 'failed', status_reason = ? WHERE version = ? AND model_id = (SELECT id FROM models WHERE name = ?)",
                            [.text("weights unavailable at open: \(error)"), .int(record.version), .text(record.name)])
                        missing.append("\(record.name)@\(record.version)")
                    }
                }
                return missing
            }
        }
    }

    /// Removes `path` when no live process holds an `flock` on it. Returns true when removed,
    /// false when the file was absent, `nil` when it is locked (in use).
    @discardableResult
    static func removeIfUnlocked(_ path: String) throws -> Bool? {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if descriptor < 0 {
            if errno == ENOENT { return false }
            if errno == ELOOP { try FileOperations.removeFile(path); return true }
            throw RegistryError.io(operation: "open", path: path, errno: errno)
        }
        defer { Glibc.close(descriptor) }
        guard FileOperations.tryLock(descriptor) else { return nil }
        try FileOperations.removeFile(path)
        return true
    }

    private func removeIfUnlocked(_ path: String) throws -> Bool { try Self.removeIfUnlocked(path) == true }

    /// Removes the empty `<name>/<version>` and `<name>` folders above a managed weights file.
    static func removeEmptyParents(of relativePath: String, root: ModelRoot) {
        var components = relativePath.split(separator: "/").dropLast()
        while !components.isEmpty {
            FileOperations.removeDirectoryIfEmpty(root.absolutePath(components.joined(separator: "/")))
            components = components.dropLast()
        }
    }
}
