import Logging
import Registry
import Synchronization
import Tensors

/// The content-addressed cache of pooled features the server and dataset extractions share
/// (issue 21): per input row and layer, the post-processed output row, stored in its own SQLite
/// file (`FeatureCacheStore`) under a key from `FeatureCacheKeys`.
///
/// **Never a failed request.** Every store error (a full disk, a file damaged while running,
/// a lock held too long by another process) makes a lookup a miss and an insert a no-op; the
/// first one is logged, later ones are not (a full disk would otherwise log on every request).
/// A corrupt file found at open was already moved aside by the store and is logged here.
public final class FeatureCache: Sendable {
    public let store: FeatureCacheStore
    private let metrics: ServiceMetrics?
    private let logger: Logger
    private let failureLogged = Atomic<Bool>(false)

    init(store: FeatureCacheStore, metrics: ServiceMetrics?, logger: Logger) {
        self.store = store
        self.metrics = metrics
        self.logger = logger
        if let moved = store.recoveredFrom {
            logger.warning("feature cache file was corrupt; moved aside and recreated", ["path": .string(store.path), "moved_to": .string(moved)])
        }
        metrics?.setCacheBytes((try? store.totalBytes()) ?? 0)
    }

    /// The cache at `path`, or nil (logged) when it cannot be opened at all: the service then
    /// runs without a cache rather than not at all.
    public static func open(path: String, maxBytes: Int, metrics: ServiceMetrics?, logger: Logger) -> FeatureCache? {
        do {
            return FeatureCache(store: try FeatureCacheStore(path: path, maxBytes: maxBytes), metrics: metrics, logger: logger)
        } catch {
            logger.error("feature cache unavailable; features are computed without it", ["path": .string(path), "error": .string("\(error)")])
            return nil
        }
    }

    /// For each input row, every layer's output row when all of `layers` are cached for it, else
    /// nil. Counts one hit or miss per (row, layer).
    func lookup(model: String, modelDigest: String, inputDigests: [String], layers: [String], processing: String) -> [[String: Tensor]?] {
        let keys = inputDigests.flatMap { input in
            layers.map { FeatureCacheStore.Key(modelDigest: modelDigest, inputSHA256: input, layer: $0, processing: processing) }
        }
        let found: [FeatureCacheStore.Key: [UInt8]]
        do {
            found = try store.values(for: keys)
        } catch {
            failed(error, operation: "lookup")
            found = [:]
        }
        var hits = 0
        let rows = inputDigests.map { input -> [String: Tensor]? in
            var row: [String: Tensor] = [:]
            for layer in layers {
                let key = FeatureCacheStore.Key(modelDigest: modelDigest, inputSHA256: input, layer: layer, processing: processing)
                guard let bytes = found[key], let tensor = CachedTensor.decode(bytes) else { continue }
                row[layer] = tensor
                hits += 1
            }
            return row.count == layers.count ? row : nil
        }
        metrics?.countCacheLookups(model: model, hits: hits, misses: keys.count - hits)
        return rows
    }

    /// Stores each row of `features` (batch-leading, one row per entry of `inputDigests`). A
    /// feature without that many rows is not stored.
    func store(modelDigest: String, inputDigests: [String], processing: String, features: [(name: String, tensor: Tensor)]) {
        var entries: [(key: FeatureCacheStore.Key, value: [UInt8])] = []
        for (name, tensor) in features where tensor.rank >= 1 && tensor.shape[0] == inputDigests.count {
            for (row, input) in inputDigests.enumerated() {
                entries.append((FeatureCacheStore.Key(modelDigest: modelDigest, inputSHA256: input, layer: name, processing: processing),
                                CachedTensor.encode(tensor.sliced(axis: 0, row..<(row + 1)))))
            }
        }
        guard !entries.isEmpty else { return }
        do {
            let outcome = try store.insert(entries)
            metrics?.countCacheEvictions(outcome.evicted)
            metrics?.setCacheBytes(try store.totalBytes())
        } catch {
            failed(error, operation: "insert")
        }
    }

    /// Drops the entries of a model version (removed: nothing can ask for them again).
    func removeEntries(modelDigest: String) {
        do {
            try store.removeEntries(modelDigest: modelDigest)
            metrics?.setCacheBytes(try store.totalBytes())
        } catch {
            failed(error, operation: "remove")
        }
    }

    private func failed(_ error: any Error, operation: String) {
        guard !failureLogged.exchange(true, ordering: .relaxed) else { return }
        let outOfSpace = (error as? RegistryError)?.isOutOfSpace ?? false
        logger.error("feature cache \(operation) failed; computing without it (logged once)",
                     ["path": .string(store.path), "error": .string("\(error)"), "out_of_space": .bool(outOfSpace)])
    }
}
