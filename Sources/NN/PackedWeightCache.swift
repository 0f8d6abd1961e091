import Synchronization
import Tensors

/// Inference-ready forms of module weights (packed GEMM panels, BatchNorm folded into a
/// convolution), built once and shared by every replica whose parameters share storage.
///
/// The service gives each worker its own module tree, and replicas share weight storage
/// (copy-on-write tensors loaded from one state dict). A derived weight is keyed by the identity of
/// the storages it was computed from (plus offsets, shapes, dtypes and a `kind` string naming the
/// derivation and its settings), so N replicas find the one object the first of them built instead
/// of holding N packed copies.
///
/// Lifetime: the table holds entries weakly; modules hold the `PackedWeights` they use strongly
/// (`Linear`, `Conv2d` keep theirs in a private slot). When the last module lets go — a model is
/// unloaded, or its weights were replaced — the entry dies with it. Each entry keeps its source
/// tensors alive, so a storage's identity cannot be reused while an entry keyed by it exists.
///
/// Invalidation is automatic: loading a state dict or assigning a parameter gives it new storage
/// (a new key), and an in-place write to a parameter copies its storage first because the entry
/// shares it (copy-on-write). `PackedWeights.isBuilt(from:kind:)` tells a module whether its cached
/// entry still matches its current tensors.
public final class PackedWeightCache: Sendable {
    /// The process-wide cache every layer uses.
    public static let shared = PackedWeightCache()

    /// What an entry was computed from.
    struct Key: Hashable {
        var kind: String
        var sources: [SourceKey]
    }

    /// One source tensor's identity and layout.
    struct SourceKey: Hashable {
        var storage: ObjectIdentifier
        var byteOffset: Int
        var shape: [Int]
        var dtype: DType

        init(_ tensor: Tensor) {
            storage = ObjectIdentifier(tensor.storage)
            byteOffset = tensor.byteOffset
            shape = tensor.shape
            dtype = tensor.dtype
        }
    }

    private struct WeakEntry {
        weak var value: PackedWeights?
    }

    private let table = Mutex<[Key: WeakEntry]>([:])

    public init() {}

    /// The entry derived from `sources` by `kind`, building it with `build` (outside the lock) if
    /// no live entry exists. Two threads racing to build the same entry both build; the first to
    /// publish wins and the other's copy is dropped, so callers always share one object.
    public func weights(kind: String, sources: [Tensor], build: () -> PackedWeights.Payload) -> PackedWeights {
        let key = Key(kind: kind, sources: sources.map(SourceKey.init))
        if let existing = table.withLock({ $0[key]?.value }) { return existing }
        let built = PackedWeights(kind: kind, sources: sources.map { $0.detached() }, payload: build())
        return table.withLock { table in
            if let existing = table[key]?.value { return existing }
            // Drop dead entries now and then so the table does not grow with every reload.
            if table.count >= 64 && table.count.isMultiple(of: 64) {
                table = table.filter { $0.value.value != nil }
            }
            table[key] = WeakEntry(value: built)
            return built
        }
    }

    /// Number of live entries (for tests and diagnostics).
    public var liveEntryCount: Int {
        table.withLock { $0.values.reduce(0) { $0 + ($1.value == nil ? 0 : 1) } }
    }
}

/// One derived weight: a packed matrix and an optional float32 bias, with the tensors it came from.
public final class PackedWeights: @unchecked Sendable {
    /// What the derivation produced.
    public struct Payload {
        /// The GEMM operand (a linear weight [out, in], or a convolution weight [O, C/G, R, S]).
        public var matrix: PackedMatrix
        /// The float32 bias [out], or nil.
        public var bias: Tensor?
        /// The same weight quantized to int8 for a linear layer computing in int8, or nil.
        public var quantized: QuantizedMatrix?
        /// The same weight in bfloat16, packed for the bf16 GEMM, for a linear layer computing in bfloat16, or nil.
        public var bfloat16: BFloat16Matrix?

        public init(matrix: PackedMatrix, bias: Tensor?, quantized: QuantizedMatrix? = nil, bfloat16: BFloat16Matrix? = nil) {
            self.matrix = matrix
            self.bias = bias
            self.quantized = quantized
            self.bfloat16 = bfloat16
        }
    }

    /// The derivation and its settings (`linear`, `conv2d`, `conv2d+bn eps=1e-05`).
    public let kind: String
    /// The source tensors, kept alive so their storage identities stay unique while this lives.
    let sources: [Tensor]
    // Immutable after init; PackedMatrix is itself thread-safe.
    public let matrix: PackedMatrix
    public let bias: Tensor?
    /// Set when a linear layer computes in int8: its products use this instead of `matrix`.
    public let quantized: QuantizedMatrix?
    /// Set when a linear layer computes in bfloat16: its products use this instead of `matrix`.
    public let bfloat16: BFloat16Matrix?

    init(kind: String, sources: [Tensor], payload: Payload) {
        self.kind = kind
        self.sources = sources
        self.matrix = payload.matrix
        self.bias = payload.bias
        self.quantized = payload.quantized
        self.bfloat16 = payload.bfloat16
    }

    // Other arrangements of the weight a kernel reads (the depthwise taps [R·S, C]), built once by name.
    private let derivedTensors = Mutex<[String: Tensor]>([:])

    /// The tensor `build` makes from this entry, built on first use and kept while the entry lives
    /// (the same size as the weight: not counted in the cache's byte bound).
    public func derived(_ name: String, build: () -> Tensor) -> Tensor {
        derivedTensors.withLock { table in
            if let tensor = table[name] { return tensor }
            let tensor = build()
            table[name] = tensor
            return tensor
        }
    }

    /// True when this entry was built by `kind` from exactly these tensors (same storage and layout).
    public func isBuilt(from tensors: [Tensor], kind: String) -> Bool {
        guard kind == self.kind, tensors.count == sources.count else { return false }
        for (tensor, source) in zip(tensors, sources) where
            tensor.storage !== source.storage || tensor.byteOffset != source.byteOffset
            || tensor.shape != source.shape || tensor.dtype != source.dtype {
            return false
        }
        return true
    }
}
