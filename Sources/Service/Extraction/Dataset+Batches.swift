import Foundation
import Models
import NN
import Tensors

/// Rows of dataset items ready for one forward pass: the model's named inputs, batch-leading.
struct DatasetBatch {
    /// The dataset positions of the rows, in order.
    var positions: [Int]
    var inputs: [String: Tensor]
}

/// An item that could not be read, as the manifest lists it.
public struct SkippedItem: Codable, Equatable, Sendable {
    /// Its position in the dataset.
    public var index: Int
    public var id: String
    public var reason: String
}

// MARK: - Preparing items

extension Dataset {
    /// Checks that `model` takes this kind of dataset (images need image preprocessing, texts a
    /// tokenizer), before any work is done.
    func checkCompatible(with model: LoadedModel) throws {
        switch kind {
        case .images where model.imagePreprocessing == nil:
            throw CommandLineError.invalidValue(option: "dataset", value: path, expected: "input for this model: \(model.name) takes no images")
        case .text, .jsonl:
            if model.tokenizer == nil {
                throw CommandLineError.invalidValue(option: "dataset", value: path,
                                                    expected: "input for this model: \(model.name) has no tokenizer (a model directory with vocab.txt)")
            }
        default: break
        }
    }

    /// Items `range` as model inputs: the readable ones in batches of at most `batchSize` rows, and
    /// the others with the reason. Consecutive images of one preprocessed size share a batch; texts
    /// are grouped by token count (shortest first, as the server's text batching groups similar
    /// lengths) so that little of a batch is padding — their rows are not in dataset order, which
    /// `DatasetBatch.positions` records. Deterministic: the same range always gives the same batches.
    func prepare(_ range: Range<Int>, batchSize: Int, for model: LoadedModel, maxLength: Int?) throws -> (batches: [DatasetBatch], skipped: [SkippedItem]) {
        var skipped: [SkippedItem] = []
        var readable: [Int] = []
        for position in range {
            if case .unreadable(let reason) = items[position].content {
                skipped.append(SkippedItem(index: position, id: items[position].id, reason: reason))
            } else {
                readable.append(position)
            }
        }
        guard !readable.isEmpty else { return ([], skipped) }
        switch kind {
        case .images:
            var batches: [DatasetBatch] = []
            var pending: [(position: Int, pixels: Tensor)] = []
            func flush() {
                guard !pending.isEmpty else { return }
                // The image input by the model's name for it (`input`, or an ONNX graph's own).
                batches.append(DatasetBatch(positions: pending.map(\.position),
                                            inputs: [model.architecture.imageInputName ?? "input": Tensor.concatenate(pending.map(\.pixels), axis: 0)]))
                pending.removeAll()
            }
            for position in readable {
                guard case .imageFile(let file) = items[position].content else { preconditionFailure("an image dataset holds image files") }
                guard let data = FileManager.default.contents(atPath: file) else {
                    skipped.append(SkippedItem(index: position, id: items[position].id, reason: "the file cannot be read"))
                    continue
                }
                do {
                    let pixels = try model.imagePreprocessing!(imageData: data)
                    if let last = pending.last, last.pixels.shape != pixels.shape || pending.count == batchSize { flush() }
                    pending.append((position, pixels))
                } catch {
                    skipped.append(SkippedItem(index: position, id: items[position].id, reason: "\(error)"))
                }
            }
            flush()
            skipped.sort { $0.index < $1.index }
            return (batches, skipped)
        case .text, .jsonl:
            let texts = readable.map { position -> String in
                guard case .text(let text) = items[position].content else { preconditionFailure("a readable text item holds text") }
                return text
            }
            // Token counts one text at a time: a whole shard padded to its longest would be large.
            let lengths = try texts.map { try model.tokenizeBatch([$0], maxLength: maxLength).lengths[0] }
            let order = texts.indices.sorted { (lengths[$0], $0) < (lengths[$1], $1) }
            return (try stride(from: 0, to: order.count, by: batchSize).map { start -> DatasetBatch in
                let members = order[start..<min(start + batchSize, order.count)]
                return DatasetBatch(positions: members.map { readable[$0] }, inputs: try model.tokenize(members.map { texts[$0] }, maxLength: maxLength))
            }, skipped)
        case .safetensors:
            // Every row is readable: the range is contiguous.
            return (stride(from: range.lowerBound, to: range.upperBound, by: batchSize).map { start -> DatasetBatch in
                let rows = start..<min(start + batchSize, range.upperBound)
                return DatasetBatch(positions: Array(rows), inputs: tensors.mapValues { $0.sliced(axis: 0, rows) })
            }, skipped)
        }
    }
}
