import Foundation
import Logging
import Models
import Registry
import Synchronization

/// Dataset extraction jobs (`/v1/jobs`): accepts them after checking every option, keeps their
/// state in the registry, and runs them one at a time on the worker pool's background lane
/// (`WorkerPool.runInBackground`), below interactive requests. The extraction is the one
/// `periscope extract --dataset` runs (`DatasetExtraction`), so a job's shards are the command's
/// shards, and a job cut short — cancelled, or the server stopped or killed — leaves a directory
/// that resumes byte-identically. At start (`resumeInterruptedJobs`) the jobs a previous process
/// left queued or running are queued again and continue from their last complete shard.
public final class JobManager: Sendable {
    private let registry: ModelRegistry
    private let pool: WorkerPool
    private let manager: ModelManager
    private let metrics: ServiceMetrics
    /// The server's feature cache, which jobs read and fill like features requests.
    private let cache: FeatureCache?
    private let logger: Logger
    /// `jobs.data_root` as configured (created and resolved on first use).
    private let dataRootPath: String
    /// The jobs of this process that are queued or running, by id.
    private let runs = Mutex<[String: JobRun]>([:])

    init(dataRootPath: String, registry: ModelRegistry, pool: WorkerPool, manager: ModelManager, metrics: ServiceMetrics, cache: FeatureCache?,
         logger: Logger) {
        self.cache = cache
        self.dataRootPath = dataRootPath
        self.registry = registry
        self.pool = pool
        self.manager = manager
        self.metrics = metrics
        self.logger = logger
    }

    // MARK: - Requests

    /// Checks a `POST /v1/jobs` body — model and version, layers, options, the dataset (read and
    /// matched against the model) and the output directory (new, empty, or one this job would
    /// resume) — records the job `queued` and starts it. Errors name the field.
    func submit(_ body: [UInt8]) async throws -> JobRecord {
        var (specification, version) = try JobSpecification.parse(body)
        let record = try manager.record(name: specification.model, version: version)
        specification.version = record.version
        let served = try await manager.servedModel(name: record.name, version: record.version)
        _ = try served.model.resolveLayers(specification.options.layers, in: served.defaultCatalog)
        let root = try DataRoot(path: dataRootPath)
        let identity = Self.identity(of: record)
        let checked = try await BlockingWork.run { [specification] in
            let prepared = try Self.prepare(specification, root: root, model: served.model, identity: identity, forSubmission: true)
            return (items: prepared.dataset.items.count, outputPath: prepared.outputPath)
        }
        let job = JobRecord(id: UUID().uuidString.lowercased(), state: .queued, specification: try specification.encoded(),
                            modelName: record.name, modelVersion: record.version, itemsTotal: checked.items, createdAt: Date())
        let run = JobRun(record: job, specification: specification, outputPath: checked.outputPath, registry: registry, pool: pool,
                         metrics: metrics, logger: logger)
        try runs.withLock { runs in
            if let other = runs.values.first(where: { $0.outputPath == checked.outputPath }) {
                throw RequestError(field: "output_dir", "job \(other.id) is writing to '\(specification.outputDirectory)' now", status: .conflict)
            }
            try registry.insertJob(job)
            runs[job.id] = run
        }
        logger.info("job queued", ["job": .string(job.id), "model": .string(record.name), "version": .int(record.version),
                                   "dataset": .string(specification.dataset), "items": .int(job.itemsTotal)])
        start(run)
        return job
    }

    /// The job `id`, with the live progress of a job of this process.
    func job(id: String) throws -> JobView {
        if let run = runs.withLock({ $0[id] }) { return JobView(run.record, itemsPerSecond: run.itemsPerSecond) }
        return JobView(try registry.job(id: id), itemsPerSecond: 0)
    }

    /// Every job, oldest first.
    func jobs() throws -> [JobView] {
        let live = runs.withLock { $0 }
        return try registry.jobs().map { record in
            guard let run = live[record.id] else { return JobView(record, itemsPerSecond: 0) }
            return JobView(run.record, itemsPerSecond: run.itemsPerSecond)
        }
    }

    /// Cancels job `id`: a queued job never starts, a running one stops before its next batch
    /// (its directory resumes with the same options). Waits up to `wait` for it to stop.
    /// A job that already ended is left as it is: 409 unless it was cancelled.
    func cancel(id: String, wait: Duration = .seconds(5)) async throws -> JobView {
        guard let run = runs.withLock({ $0[id] }) else {
            let record = try registry.job(id: id)
            if record.state == .cancelled { return JobView(record, itemsPerSecond: 0) }
            throw Self.notCancellable(id: id, state: record.state)
        }
        switch run.cancel() {
        case .ended: finish(run)
        case .requested, .alreadyEnded(.cancelled): break
        case .alreadyEnded(let state):
            throw Self.notCancellable(id: id, state: state)
        }
        logger.info("job cancellation requested", ["job": .string(id)])
        let deadline = ContinuousClock.now + wait
        while runs.withLock({ $0[id] != nil }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        return try job(id: id)
    }

    private static func notCancellable(id: String, state: JobState) -> ServiceError {
        .conflict("job \(id) already \(state.rawValue); only a queued or running job can be cancelled")
    }

    // MARK: - Start

    /// Queues again the jobs a previous process left queued or running (oldest first); those whose
    /// cancellation was requested become `cancelled`.
    public func resumeInterruptedJobs() {
        let interrupted: [JobRecord]
        do {
            interrupted = try registry.jobs(in: [.queued, .running])
        } catch {
            logger.error("cannot read the jobs to resume", ["error": .string("\(error)")])
            return
        }
        for var record in interrupted {
            if record.cancelRequested {
                JobRun.end(&record, .cancelled, error: "cancelled")
                try? registry.updateJob(record)
                continue
            }
            do {
                let specification = try JobSpecification.decode(record.specification)
                let root = try DataRoot(path: dataRootPath)
                let outputPath = try root.resolve(specification.outputDirectory, field: "output_dir", mustExist: false)
                let run = JobRun(record: record, specification: specification, outputPath: outputPath, registry: registry, pool: pool,
                                 metrics: metrics, logger: logger)
                runs.withLock { $0[record.id] = run }
                logger.info("job resumes", ["job": .string(record.id), "state": .string(record.state.rawValue), "items_done": .int(record.itemsDone)])
                start(run)
            } catch {
                record.state = .failed
                record.error = "cannot resume: \(error)"
                record.finishedAt = Date()
                try? registry.updateJob(record)
                logger.error("job cannot resume", ["job": .string(record.id), "error": .string("\(error)")])
            }
        }
    }

    // MARK: - Running

    private func start(_ run: JobRun) {
        refreshGauges()
        Task.detached { [self] in
            do {
                try await pool.runInBackground { [self] _ in execute(run) }
            } catch {
                // The pool stopped before the job started: it stays queued and resumes at the next start.
                finish(run)
            }
        }
    }

    /// Runs a job on the background lane, from its first shard or where its directory stops.
    private func execute(_ run: JobRun) {
        // A job cancelled while it was queued has ended already.
        guard run.start() else { return }
        let specification = run.specification
        refreshGauges()
        do {
            let record = try manager.record(name: specification.model, version: specification.version)
            let served = try Self.waitFor { [manager] in try await manager.servedModel(name: record.name, version: record.version) }
            let prepared = try Self.prepare(specification, root: DataRoot(path: dataRootPath), model: served.model,
                                            identity: Self.identity(of: record), forSubmission: false)
            var extraction = DatasetExtraction(
                model: served.model, dataset: prepared.dataset, plan: prepared.plan, selectors: specification.options.layers,
                postProcessing: specification.postProcessing, outputDirectory: prepared.outputPath, strict: specification.options.strict,
                progressStyle: .quiet)
            extraction.monitor = run
            extraction.cache = cache
            extraction.cacheModelDigest = served.cacheDigest
            let summary = try extraction.run()
            run.update { record in
                record.itemsDone = summary.manifest.nextItem
                record.errors = summary.manifest.skipped.count
                JobRun.end(&record, .succeeded, error: nil)
            }
            logger.info("job succeeded", ["job": .string(run.id), "rows": .int(summary.manifest.rows), "items": .int(summary.items),
                                          "seconds": .double(summary.seconds)])
        } catch is JobRun.Cancelled {
            run.update { JobRun.end(&$0, .cancelled, error: "cancelled") }
            logger.info("job cancelled", ["job": .string(run.id)])
        } catch ServiceError.shuttingDown {
            // Left `running` (with its progress): the next start resumes it.
            run.update { _ in }
            logger.info("job interrupted by shutdown; it resumes at the next start", ["job": .string(run.id)])
        } catch {
            run.update { JobRun.end(&$0, .failed, error: "\(error)") }
            logger.error("job failed", ["job": .string(run.id), "error": .string("\(error)")])
        }
        finish(run)
    }

    private func finish(_ run: JobRun) {
        let state = run.record.state
        runs.withLock { _ = $0.removeValue(forKey: run.id) }
        if state.isFinal { metrics.countFinishedExtractionJob(state: state.rawValue) }
        refreshGauges()
    }

    private func refreshGauges() {
        let states = runs.withLock { $0.values.map(\.record.state) }
        metrics.setExtractionJobs(queued: states.filter { $0 == .queued }.count, running: states.filter { $0 == .running }.count)
    }

    /// The result of async `body`, waited for on this (background) thread, which is not one of
    /// Swift's cooperative threads, so blocking it starves nothing.
    private static func waitFor<Value: Sendable>(_ body: @escaping @Sendable () async throws -> Value) throws -> Value {
        let semaphore = DispatchSemaphore(value: 0)
        let box = Mutex<Result<Value, any Error>?>(nil)
        Task.detached {
            let result: Result<Value, any Error>
            do {
                result = .success(try await body())
            } catch {
                result = .failure(error)
            }
            box.withLock { $0 = result }
            semaphore.signal()
        }
        semaphore.wait()
        return try box.withLock { $0! }.get()
    }

    // MARK: - Checks

    /// A job's dataset, read and checked, its output directory, and the manifest plan.
    struct Prepared {
        var dataset: Dataset
        var outputPath: String
        var plan: ExtractionManifest
    }

    /// Resolves the job's paths inside the data root, reads the dataset, checks it fits the model,
    /// and checks that the output directory is new, empty, or holds this very extraction.
    static func prepare(_ specification: JobSpecification, root: DataRoot, model: LoadedModel, identity: ModelIdentity,
                        forSubmission: Bool) throws -> Prepared {
        let datasetPath = try root.resolve(specification.dataset, field: "dataset", mustExist: true)
        let outputPath = try root.resolve(specification.outputDirectory, field: "output_dir", mustExist: false)
        let dataset: Dataset
        do {
            dataset = try Dataset.open(datasetPath)
            try dataset.checkCompatible(with: model)
        } catch let error as CommandLineError {
            throw requestError(error, userPath: specification.dataset, resolvedPath: datasetPath)
        }
        for item in dataset.items {
            if case .imageFile(let file) = item.content, !root.contains(resolving: file) {
                throw RequestError(field: "dataset", "image '\(item.id)' leads through a symlink outside the data root \(root.path)")
            }
        }
        if datasetPath == outputPath || outputPath.hasPrefix(datasetPath + "/") {
            throw RequestError(field: "output_dir", "'\(specification.outputDirectory)' is inside the dataset '\(specification.dataset)'")
        }
        let plan = ExtractionManifest(model: identity, input: .init(kind: dataset.kind, path: specification.dataset, items: dataset.items.count,
                                                                    sha256: dataset.sha256), options: specification.manifestOptions)
        if forSubmission { try checkOutputDirectory(outputPath, plan: plan, given: specification.outputDirectory) }
        return Prepared(dataset: dataset, outputPath: outputPath, plan: plan)
    }

    /// The output directory must not exist, be empty, or hold a resumable run of `plan`.
    private static func checkOutputDirectory(_ path: String, plan: ExtractionManifest, given: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return }
        guard isDirectory.boolValue else { throw RequestError(field: "output_dir", "'\(given)' exists and is not a directory") }
        let recorded: ExtractionManifest?
        do {
            recorded = try ExtractionManifest.read(from: path)
        } catch {
            throw RequestError(field: "output_dir", "\(error)", status: .conflict)
        }
        guard let recorded else {
            let contents = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
            if !contents.allSatisfy(DurableFile.isPartial) {
                throw RequestError(field: "output_dir", "'\(given)' holds files but no manifest.json: give a new or empty directory, or that of an earlier job with the same options to resume it", status: .conflict)
            }
            return
        }
        let changes = plan.changes(since: recorded)
        guard changes.isEmpty else {
            throw RequestError(field: "output_dir", "'\(given)' holds another extraction, which this job cannot resume: " + changes.joined(separator: "; "), status: .conflict)
        }
    }

    /// A dataset error of the extraction (worded for the command line) as a request error on `dataset`.
    private static func requestError(_ error: CommandLineError, userPath: String, resolvedPath: String) -> RequestError {
        guard case .invalidValue(_, let value, let expected) = error else { return RequestError(field: "dataset", error.description) }
        let shown = value == resolvedPath ? userPath : value
        return RequestError(field: "dataset", "'\(shown)' is not \(expected)")
    }

    /// A registered version's identity, as `periscope extract MODEL` records it.
    static func identity(of version: ModelVersion) -> ModelIdentity {
        ModelIdentity(name: version.name, version: version.version, architecture: version.architecture, weightsSHA256: version.sha256,
                      configurationSHA256: nil)
    }
}
