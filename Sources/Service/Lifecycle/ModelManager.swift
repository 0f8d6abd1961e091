import Configuration
import Foundation
import Logging
import Models
import Registry
import Synchronization
import Tensors
#if canImport(Glibc)
import Glibc
#endif

/// The models the service holds, over the registry: loads a version on its first request (or at
/// start when it is marked `preload`), warms it on every worker, records `loading` → `ready` /
/// `failed` + reason in the registry, unloads and removes versions, and says whether the service
/// is ready.
///
/// The phase of each version in this process decides what a request gets:
///
/// | phase | request |
/// |---|---|
/// | none (never loaded here) | loads it (on demand), then runs |
/// | loading | waits for the load |
/// | ready | runs |
/// | failed | 503 with the reason (`POST …/load` retries) |
/// | unloading | 503 until the unload is done |
/// | unloaded | loads it again (on demand) |
///
/// Unloading frees a version's memory until it is needed again. A load failure never stops the
/// server; a failed version is not retried on every request (its file is not re-hashed under
/// traffic) — `POST …/load` retries it.
public final class ModelManager: Sendable {
    enum Phase {
        case loading(Task<ServedModel, any Error>)
        case ready(ServedModel)
        case failed(reason: String)
        case unloading
        case unloaded
    }

    /// What `/readyz` reports.
    public struct Readiness: Sendable {
        /// Every model loaded at start is loaded (or has failed) and the start-up enumeration is done.
        public var isReady: Bool
        /// Why not ready: the versions still loading.
        public var pending: [String]
        /// The versions this process holds or tried to, with their phase name.
        public var models: [(key: ModelKey, status: String)]
    }

    public let registry: ModelRegistry
    public let pool: WorkerPool
    private let batching: PeriscopeConfiguration.Batching
    private let metrics: ServiceMetrics
    private let logger: Logger

    private let phases = Mutex<[ModelKey: Phase]>([:])
    private let statisticsByKey = Mutex<[ModelKey: ModelStatistics]>([:])
    private let knownNames = Mutex<Set<String>>([])
    /// Versions loaded at start; nil until start-up has listed them.
    private let startupKeys = Mutex<[ModelKey]?>(nil)
    /// The weights files of the versions loaded here, as verified (`checkWeightFiles`).
    private let weightFiles = Mutex<[ModelKey: WatchedWeights]>([:])
    /// The task running `checkWeightFiles` periodically while serving.
    private let weightFileWatcher = Mutex<Task<Void, Never>?>(nil)

    /// How often serving compares the loaded versions' weights files with what was verified.
    public static let weightFileCheckInterval: Duration = .seconds(5)

    public init(registry: ModelRegistry, pool: WorkerPool, batching: PeriscopeConfiguration.Batching, metrics: ServiceMetrics,
                logger: Logger) {
        self.registry = registry
        self.pool = pool
        self.batching = batching
        self.metrics = metrics
        self.logger = logger
    }

    // MARK: - Looking up

    /// The registry record of `name` (`version`, or the default one). Throws 404s.
    public func record(name: String, version: Int? = nil) throws -> ModelVersion {
        let record = try registry.version(name: name, version: version)
        knownNames.withLock { _ = $0.insert(record.name) }
        return record
    }

    /// Whether `name` has been found in the registry by this process (metrics label it by name only
    /// then, so unknown names cannot blow up the label set).
    public func isKnownModelName(_ name: String) -> Bool { knownNames.withLock { $0.contains(name) } }

    /// The phase name of a version in this process: `loading`, `ready`, `failed`, `unloading`,
    /// `unloaded`, or nil when it was never loaded here.
    public func phaseName(of key: ModelKey) -> String? {
        phases.withLock { phases in
            switch phases[key] {
            case .loading: "loading"
            case .ready: "ready"
            case .failed: "failed"
            case .unloading: "unloading"
            case .unloaded: "unloaded"
            case nil: nil
            }
        }
    }

    /// The ready version `key`, if it is.
    public func readyModel(_ key: ModelKey) -> ServedModel? {
        phases.withLock { phases in
            if case .ready(let model) = phases[key] { return model }
            return nil
        }
    }

    /// Every ready version.
    public var readyModels: [ServedModel] {
        phases.withLock { phases in
            phases.values.compactMap { phase in
                if case .ready(let model) = phase { return model }
                return nil
            }
        }.sorted { ModelKey(name: $0.name, version: $0.version) < ModelKey(name: $1.name, version: $1.version) }
    }

    /// Statistics of every version of `name` loaded since start, by version.
    public func statistics(name: String) -> [(version: Int, statistics: ModelStatistics)] {
        statisticsByKey.withLock { table in
            table.filter { $0.key.name == name }.map { ($0.key.version, $0.value) }.sorted { $0.version < $1.version }
        }
    }

    // MARK: - Serving

    /// The version to run a request on (`version`, or the default), loading it first when it is
    /// not loaded. Throws 404 for an unknown model or version, 503 when the version failed to load
    /// or is being unloaded.
    public func servedModel(name: String, version: Int? = nil) async throws -> ServedModel {
        let record = try record(name: name, version: version)
        let key = ModelKey(record)
        enum Next { case ready(ServedModel), wait(Task<ServedModel, any Error>), fail(ServiceError) }
        let next: Next = phases.withLock { phases in
            switch phases[key] {
            case .ready(let model): return .ready(model)
            case .loading(let task): return .wait(task)
            case .failed(let reason): return .fail(.modelFailed(name: key.name, version: key.version, reason: reason))
            case .unloading: return .fail(.modelUnavailable(name: key.name, version: key.version, reason: "being unloaded"))
            case .unloaded, nil:
                let task = startLoad(record)
                phases[key] = .loading(task)
                return .wait(task)
            }
        }
        switch next {
        case .ready(let model): return model
        case .wait(let task): return try await task.value
        case .fail(let error): throw error
        }
    }

    // MARK: - Loading and unloading

    /// Loads version `version` (default: the default version) unless it is ready, and returns its
    /// registry record afterwards: `ready`, or `failed` with the reason. Retries a failed version
    /// and reloads an unloaded one.
    public func load(name: String, version: Int? = nil) async throws -> ModelVersion {
        let record = try record(name: name, version: version)
        let key = ModelKey(record)
        let task: Task<ServedModel, any Error>? = try phases.withLock { phases in
            switch phases[key] {
            case .ready: return nil
            case .loading(let task): return task
            case .unloading: throw ServiceError.conflict("model '\(key.name)' version \(key.version) is being unloaded")
            case .failed, .unloaded, nil:
                let task = startLoad(record)
                phases[key] = .loading(task)
                return task
            }
        }
        if let task { _ = try? await task.value }
        return try registry.version(name: key.name, version: key.version)
    }

    /// Unloads version `version` (default: the default version): no new request reaches it, queued
    /// ones get 503, running ones finish, then every worker frees its replica. A version that is not
    /// loaded is left as it is; one that is loading is a 409.
    public func unload(name: String, version: Int? = nil) async throws -> ModelVersion {
        let record = try record(name: name, version: version)
        let key = ModelKey(record)
        let model: ServedModel? = try phases.withLock { phases in
            switch phases[key] {
            case .ready(let model):
                phases[key] = .unloading
                return model
            case .loading: throw ServiceError.conflict("model '\(key.name)' version \(key.version) is loading; unload it when it is ready")
            case .unloading: throw ServiceError.conflict("model '\(key.name)' version \(key.version) is already being unloaded")
            case .failed, .unloaded, nil: return nil
            }
        }
        if let model {
            await retire(model, error: .modelUnavailable(name: key.name, version: key.version, reason: "unloaded"), event: "model unloaded")
            try? registry.setStatus(.unloaded, name: key.name, version: key.version)
            phases.withLock { $0[key] = .unloaded }
            updateLoadedGauge()
        }
        return try registry.version(name: key.name, version: key.version)
    }

    /// Removes model `name` (every version), unloading what is loaded. 409 while a version loads.
    public func removeModel(name: String) async throws {
        let versions = try registry.model(named: name).versions
        try await retireForRemoval(versions.map(ModelKey.init))
        try registry.removeModel(named: name)
        forget(versions.map(ModelKey.init))
    }

    /// Removes version `version` of `name` (the last one removes the model). 409 while it loads.
    public func removeVersion(name: String, version: Int) async throws {
        let record = try record(name: name, version: version)
        try await retireForRemoval([ModelKey(record)])
        try registry.removeVersion(name: name, version: version)
        forget([ModelKey(record)])
    }

    private func retireForRemoval(_ keys: [ModelKey]) async throws {
        let models: [ServedModel] = try phases.withLock { phases in
            for key in keys {
                switch phases[key] {
                case .loading: throw ServiceError.conflict("model '\(key.name)' version \(key.version) is loading; remove it when it is ready")
                case .unloading: throw ServiceError.conflict("model '\(key.name)' version \(key.version) is being unloaded")
                default: continue
                }
            }
            var models: [ServedModel] = []
            for key in keys {
                if case .ready(let model) = phases[key] {
                    models.append(model)
                    phases[key] = .unloading
                }
            }
            return models
        }
        for model in models {
            await retire(model, error: .modelRemoved(name: model.name, version: model.version), event: "model removed")
        }
        if !models.isEmpty { updateLoadedGauge() }
    }

    /// Drops removed versions from the phase table and from the versions readiness waits for.
    private func forget(_ keys: [ModelKey]) {
        phases.withLock { phases in for key in keys { phases[key] = nil } }
        startupKeys.withLock { startup in startup = startup?.filter { !keys.contains($0) } }
        updateLoadedGauge()
    }

    /// Stops serving `model` and frees its replicas; logs the resident memory before and after.
    private func retire(_ model: ServedModel, error: ServiceError, event: String) async {
        let before = ProcessMetrics.memory()?.resident
        await pool.retire(model, answeringQueuedJobsWith: error)
        // Freed tensors go back to malloc; return the free pages to the system so the drop shows.
        MemoryTrim.releaseFreeMemory()
        let after = ProcessMetrics.memory()?.resident
        var fields: [(String, LogValue)] = [("model", .string(model.name)), ("version", .int(model.version))]
        if let before, let after {
            fields.append(("rss_before_bytes", .int(Int(before))))
            fields.append(("rss_after_bytes", .int(Int(after))))
        }
        logger.log(.info, event, fields: fields)
    }

    private func updateLoadedGauge() {
        metrics.setLoadedModels(readyModels.count)
    }

    // MARK: - Weights files changed under loaded models

    /// Compares the weights file of every ready version with the one its SHA-256 was verified on.
    /// A version whose file was deleted, replaced, resized or rewritten since is marked failed
    /// (here and in the registry, with the reason) and its replicas retired; the other versions
    /// keep serving, and `POST …/load` verifies the file again. Nothing crashes in between: the
    /// loaded weights are in memory, not mapped from the file. Returns the versions marked failed.
    @discardableResult
    public func checkWeightFiles() async -> [ModelKey] {
        var failed: [ModelKey] = []
        for (key, file) in weightFiles.withLock({ $0 }) {
            guard let change = file.change() else { continue }
            let reason = "weights file \(file.storedPath) \(change) while the model was loaded; POST /v1/models/\(key.name)/load verifies it again"
            let model: ServedModel? = phases.withLock { phases in
                guard case .ready(let model) = phases[key] else { return nil }
                phases[key] = .failed(reason: reason)
                return model
            }
            weightFiles.withLock { files in if files[key] == file { files[key] = nil } }
            guard let model else { continue }
            logger.error("weights file changed under a loaded model", [
                "model": .string(key.name), "version": .int(key.version), "path": .string(file.storedPath), "change": .string(change),
            ])
            await retire(model, error: .modelFailed(name: key.name, version: key.version, reason: reason), event: "model failed")
            await recordStatus(.failed(reason: reason), of: key)
            updateLoadedGauge()
            failed.append(key)
        }
        return failed
    }

    /// Runs `checkWeightFiles` every `interval` until `stopWatchingWeightFiles` (the server does
    /// while it serves).
    public func startWatchingWeightFiles(every interval: Duration = ModelManager.weightFileCheckInterval) {
        let task = Task.detached { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                guard let self, !Task.isCancelled else { return }
                await self.checkWeightFiles()
            }
        }
        weightFileWatcher.withLock { watcher in
            watcher?.cancel()
            watcher = task
        }
    }

    public func stopWatchingWeightFiles() {
        weightFileWatcher.withLock { watcher in
            watcher?.cancel()
            watcher = nil
        }
    }

    // MARK: - The load itself

    /// A task that loads `record` and leaves the version `ready` or `failed` (called with
    /// `phases` locked; the task runs after the caller stored it).
    private func startLoad(_ record: ModelVersion) -> Task<ServedModel, any Error> {
        let key = ModelKey(record)
        return Task {
            do {
                let model = try await self.performLoad(record)
                self.phases.withLock { $0[key] = .ready(model) }
                self.updateLoadedGauge()
                return model
            } catch {
                let reason = (error as? ServiceError).flatMap { error -> String? in
                    if case .modelFailed(_, _, let reason) = error { return reason }
                    return nil
                } ?? String(describing: error)
                self.phases.withLock { $0[key] = .failed(reason: reason) }
                throw error
            }
        }
    }

    /// Verifies the weights (size and SHA-256, `ModelRegistry.verifyWeights`), builds the
    /// model, warms a replica on every worker (tracing the layer catalog), and marks it `ready`.
    private func performLoad(_ record: ModelVersion) async throws -> ServedModel {
        let started = ContinuousClock.now
        let key = ModelKey(record)
        logger.info("model loading", ["model": .string(key.name), "version": .int(key.version), "architecture": .string(record.architecture),
                                      "precision": .string(record.precision.rawValue)])
        if record.precision == .bfloat16, let ratio = BFloat16GEMM.peakRatio, ratio <= 1.1 {
            // On this CPU vdpbf16ps is not faster than float32 FMA: the bf16 weights are half the size, the model is not faster.
            logger.warning("bfloat16 saves memory, not time, on this CPU", [
                "model": .string(key.name), "version": .int(key.version), "bf16_over_f32_peak": .double((ratio * 100).rounded() / 100)])
        }
        var served: ServedModel?
        do {
            let registry = self.registry
            await recordStatus(.loading, of: key)
            let verified = try await BlockingWork.run { try registry.verifyWeights(name: key.name, version: key.version) }
            let loaded = try await BlockingWork.run { try Self.build(verified) }
            // The weights are read after the hash was checked: the file must still be that one.
            let weightsFile = WatchedWeights(verified)
            if let change = weightsFile.change() { throw WeightsChangedWhileLoading(path: record.weightsPath, change: change) }
            var problems: [String] = []
            let labels = (try? registry.model(named: key.name).labels) ?? [:]
            let policy = BatchingPolicy(configuration: batching, labels: labels, problems: &problems)
            for problem in problems { logger.warning("batching label ignored", ["model": .string(key.name), "problem": .string(problem)]) }
            let model = ServedModel(name: key.name, version: key.version, model: loaded, batching: policy, statistics: statistics(for: key),
                                    cacheDigest: FeatureCacheKeys.modelDigest(of: record))
            served = model
            let catalogs = try await pool.onEveryWorker { context in try context.replica(for: model).traceLayers(inputs: model.defaultInputs) }
            let catalog = catalogs[0]
            model.store(catalog, signature: model.defaultSignature)
            let batchLeading = catalog.layers.allSatisfy { ($0.outputShape?.first ?? 1) == 1 } && (catalog.outputShape?.first ?? 1) == 1
            model.setBatchLeading(batchLeading)
            if policy.batches && !batchLeading {
                logger.warning("batching off: a layer's output does not lead with the batch", ["model": .string(model.displayName)])
            }
            weightFiles.withLock { $0[key] = weightsFile }
            await recordStatus(.ready, of: key)
            let seconds = WorkerPool.seconds(from: started, to: .now)
            metrics.observeModelLoad(model: key.name, precision: record.precision.rawValue, seconds: seconds)
            logger.info("model loaded", [
                "model": .string(key.name), "version": .int(key.version), "duration_ms": .double((seconds * 1e6).rounded() / 1e3),
                "parameters": .int(loaded.parameterCount), "layers": .int(catalog.layers.count), "workers": .int(pool.settings.workers),
                "batching": .bool(model.allowsBatching),
            ])
            return model
        } catch {
            let reason = String(describing: error)
            try? registry.setStatus(.failed(reason: reason), name: key.name, version: key.version)
            if let served { await pool.retire(served, answeringQueuedJobsWith: .modelFailed(name: key.name, version: key.version, reason: reason)) }
            let seconds = WorkerPool.seconds(from: started, to: .now)
            logger.error("model load failed", ["model": .string(key.name), "version": .int(key.version), "reason": .string(reason),
                                               "duration_ms": .double((seconds * 1e6).rounded() / 1e3)])
            throw ServiceError.modelFailed(name: key.name, version: key.version, reason: reason)
        }
    }

    /// Records `status` of `key` in the registry, for listings and other processes. Serving
    /// follows the phase in this process, so a registry that cannot be written (a read-only file
    /// system, another process's lock held past the busy timeout) costs the record — logged —
    /// never the model: it still loads and serves.
    private func recordStatus(_ status: ModelStatus, of key: ModelKey) async {
        let registry = self.registry
        do {
            try await BlockingWork.run { try registry.setStatus(status, name: key.name, version: key.version) }
        } catch {
            logger.warning("model status not recorded in the registry", [
                "model": .string(key.name), "version": .int(key.version), "status": .string(status.name),
                "error": .string(String(describing: error)),
            ])
        }
    }

    /// The model from verified weights, in its registered precision (`buildFloat32`, then the precision).
    static func build(_ verified: VerifiedWeights) throws -> LoadedModel {
        var model = try buildFloat32(verified)
        // ModelPrecision (what the registry stores) and ComputePrecision name the same three cases.
        try model.setPrecision(ComputePrecision(rawValue: verified.version.precision.rawValue)!)
        return model
    }

    /// The model from verified weights, in float32; a BERT whose weights sit next to a `vocab.txt`
    /// (a Hugging Face directory; a CLIP: `vocab.json` + `merges.txt` or `tokenizer.json`, and its
    /// `preprocessor_config.json`) gets its tokenizer, for text inputs, and next to a `modules.json`
    /// (a sentence-transformers directory) its pooling, Dense layers, normalization and prompts.
    /// The command line builds registered models with it too, so they take the same inputs there.
    public static func buildFloat32(_ verified: VerifiedWeights) throws -> LoadedModel {
        let record = verified.version
        let weights = URL(fileURLWithPath: verified.absolutePath)
        let configuration = Data(record.configuration.utf8)
        var model = try LoadedModel.load(architecture: record.architecture, configuration: configuration, weights: weights)
        model.embedding = try EmbeddingConfiguration(configuration: configuration)
        if model.architecture.takesText && model.tokenizer == nil {
            let directory = weights.deletingLastPathComponent()
            if case .clip = model.architecture {
                if CLIPTokenizer.isPresent(in: directory) { model.tokenizer = try CLIPTokenizer(directory: directory) }
                // The directory's image processor, unless the registration configures its own.
                let declared = (try? JSONSerialization.jsonObject(with: configuration) as? [String: Any])?["preprocessing"] != nil
                if !declared, let preprocessing = try ImagePreprocessing.Configuration.huggingFace(directory: directory) {
                    model.imagePreprocessing = try ImagePreprocessing(configuration: preprocessing)
                }
            } else if FileManager.default.fileExists(atPath: directory.appendingPathComponent("vocab.txt").path) {
                model.tokenizer = try WordPieceTokenizer(directory: directory)
            }
            if SentenceTransformersDirectory.isPresent(in: directory) {
                model.embedding = try SentenceTransformersDirectory.load(directory, over: model.embedding)
            }
        }
        return model
    }

    private func statistics(for key: ModelKey) -> ModelStatistics {
        statisticsByKey.withLock { table in
            if let existing = table[key] { return existing }
            let statistics = ModelStatistics()
            table[key] = statistics
            return statistics
        }
    }

    // MARK: - Start-up

    /// Starts loading, in the background, every model flagged `preload` in the registry (its default
    /// version) and every entry of `extra` (`name` or `name@version`). Readiness waits for them.
    public func startPreloading(extra: [String]) {
        var keys: [ModelKey] = []
        do {
            for model in try registry.models() where model.preload {
                if let version = model.defaultVersion { keys.append(ModelKey(version)) }
            }
        } catch {
            logger.error("cannot list the registry's models to preload", ["error": .string(String(describing: error))])
        }
        for entry in extra {
            let parts = entry.split(separator: "@", maxSplits: 1).map(String.init)
            let version = parts.count == 2 ? Int(parts[1]) : nil
            if parts.count == 2 && version == nil {
                logger.error("preload entry ignored: expected name or name@version", ["entry": .string(entry)])
                continue
            }
            do {
                keys.append(ModelKey(try record(name: parts[0], version: version)))
            } catch {
                logger.error("preload entry ignored", ["entry": .string(entry), "error": .string(String(describing: error))])
            }
        }
        var unique: [ModelKey] = []
        for key in keys where !unique.contains(key) { unique.append(key) }
        startupKeys.withLock { $0 = unique }
        for key in unique {
            Task { _ = try? await self.servedModel(name: key.name, version: key.version) }
        }
    }

    /// Ready when start-up has listed its models and none of them is still loading. A model that
    /// failed does not hold readiness back (the others serve; the failure is listed and logged).
    public var readiness: Readiness {
        let keys = startupKeys.withLock { $0 }
        let listed: [(ModelKey, String)] = phases.withLock { phases in
            phases.keys.sorted().compactMap { key in
                switch phases[key]! {
                case .loading: (key, "loading")
                case .ready: (key, "ready")
                case .failed: (key, "failed")
                case .unloading, .unloaded: nil
                }
            }
        }
        guard let keys else { return Readiness(isReady: false, pending: ["start-up"], models: listed) }
        let pending = keys.filter { key in
            let phase = phaseName(of: key)
            return phase == nil || phase == "loading"
        }.map(\.description)
        return Readiness(isReady: pending.isEmpty, pending: pending, models: listed)
    }
}
