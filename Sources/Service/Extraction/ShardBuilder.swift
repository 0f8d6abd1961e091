import Foundation
import NN
import Tensors

/// One shard of a dataset extraction, collected batch by batch and written as one safetensors
/// file: a tensor per output layer with one row per item, in dataset order (the batches joined
/// along axis 0, then their rows sorted by position),
/// `item_index` (int64 [rows], the items' positions in the dataset), `item_id` (uint8
/// [rows, width], each id's UTF-8 bytes padded with NUL), and for text models whose outputs keep
/// the token axis, `attention_mask` [rows, tokens].
///
/// Texts are padded per batch, so token axes differ between batches: a shard of texts pads them
/// with zeros to its longest (the attention mask tells the real tokens). Any other difference is
/// an error.
struct ShardBuilder {
    static let indexName = "item_index"
    static let idName = "item_id"
    static let attentionMaskName = "attention_mask"
    /// Names a layer's output may not have.
    static let reservedNames: Set<String> = [indexName, idName, attentionMaskName]

    /// Whether axis 1 is a token axis that may differ between batches (text datasets).
    let padsTokenAxis: Bool
    private var positions: [Int] = []
    private var ids: [String] = []
    /// Output names in the order they first came, and each one's tensor per batch.
    private var names: [String] = []
    private var parts: [String: [Tensor]] = [:]

    init(padsTokenAxis: Bool) {
        self.padsTokenAxis = padsTokenAxis
    }

    /// Rows collected so far.
    var rowCount: Int { positions.count }

    /// The names of the shard's tensors: the layers' (and the attention mask) in the order they
    /// came, then `item_index` and `item_id`.
    var tensorNames: [String] { names + [Self.indexName, Self.idName] }

    /// Adds a batch: its items' positions and ids, each layer's rows, and the attention mask when
    /// the shard keeps one.
    mutating func append(positions: [Int], ids: [String], features: [(name: String, tensor: Tensor)], attentionMask: Tensor?) throws {
        var named = features
        for (name, tensor) in features {
            guard !Self.reservedNames.contains(name) else { throw DatasetExtractionError.reservedName(layer: name) }
            guard tensor.rank >= 1, tensor.shape[0] == positions.count else {
                throw DatasetExtractionError.notBatchLeading(layer: name, shape: tensor.shape, rows: positions.count)
            }
        }
        if let attentionMask { named.append((Self.attentionMaskName, attentionMask)) }
        for (name, tensor) in named {
            if parts[name] == nil { names.append(name) }
            parts[name, default: []].append(tensor)
        }
        self.positions += positions
        self.ids += ids
    }

    /// The shard's safetensors bytes, with `metadata` in the header. Deterministic: the same rows
    /// give the same bytes.
    func serialize(metadata: [String: String]) throws -> Data {
        // Rows in dataset order, whatever order the batches came in.
        let order = positions.indices.sorted { positions[$0] < positions[$1] }
        let inOrder = order == Array(positions.indices)
        var tensors: [(name: String, tensor: Tensor)] = []
        for name in names {
            let joined = try Self.joined(parts[name]!, name: name, padsTokenAxis: padsTokenAxis)
            tensors.append((name, inOrder ? joined : Tensor.concatenate(order.map { joined.sliced(axis: 0, $0..<($0 + 1)) }, axis: 0)))
        }
        tensors.append((Self.indexName, Tensor(shape: [rowCount], elements: order.map { Int64(positions[$0]) })))
        let width = max(1, ids.map(\.utf8.count).max() ?? 0)
        var bytes = [UInt8](repeating: 0, count: rowCount * width)
        for (row, index) in order.enumerated() {
            for (column, byte) in ids[index].utf8.enumerated() { bytes[row * width + column] = byte }
        }
        tensors.append((Self.idName, Tensor(shape: [rowCount, width], elements: bytes)))
        return try SafetensorsWriter.serialize(tensors, metadata: metadata)
    }

    /// `parts` joined along axis 0; with `padsTokenAxis`, parts that differ only in axis 1 are
    /// first padded with zeros to the longest.
    static func joined(_ parts: [Tensor], name: String, padsTokenAxis: Bool) throws -> Tensor {
        let first = parts[0]
        let tokenAxis = padsTokenAxis && first.rank >= 2
        var longest = tokenAxis ? first.shape[1] : 0
        for part in parts {
            let fits = part.rank == first.rank && part.dtype == first.dtype
                && (tokenAxis ? part.shape.dropFirst(2) == first.shape.dropFirst(2) : part.shape.dropFirst() == first.shape.dropFirst())
            guard fits else { throw DatasetExtractionError.incompatibleShapes(layer: name, first: first.shape, other: part.shape) }
            if tokenAxis { longest = max(longest, part.shape[1]) }
        }
        let padded = parts.map { part -> Tensor in
            guard tokenAxis, part.shape[1] < longest else { return part }
            var shape = part.shape
            shape[1] = longest - part.shape[1]
            return Tensor.concatenate([part, Tensor(zeros: shape, dtype: part.dtype)], axis: 1)
        }
        return padded.count == 1 ? padded[0] : Tensor.concatenate(padded, axis: 0)
    }
}
