/// Points in an upload where tests inject a failure (each injected fault fires once).
///
/// The `crash…` faults stand in for `kill -9`: the session drops its file lock and stops without
/// any cleanup, leaving the disk and the database exactly as a killed process would.
enum UploadFault: Hashable, Sendable {
    /// `write` fails like a full disk.
    case writeFails
    /// The process dies after the version is reserved and journaled, before the file is moved.
    case crashBeforeRename
    /// The process dies after the file is in its final place, before the version row is inserted.
    case crashAfterRename
    /// Inserting the version row fails (an error the process survives).
    case insertFails
}

extension ModelRegistry {
    /// Makes the next upload fail at `fault` (tests only).
    func inject(_ fault: UploadFault) {
        _ = injectedFaults.withLock { $0.insert(fault) }
    }

    /// True (once) when a test injected `fault`.
    func fires(_ fault: UploadFault) -> Bool {
        injectedFaults.withLock { $0.remove(fault) != nil }
    }
}
