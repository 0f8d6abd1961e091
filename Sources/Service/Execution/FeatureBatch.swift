import Models
import NN
import Tensors

/// Runs compatible feature jobs as one forward pass: their inputs concatenated along the batch
/// axis, the union of their layers captured once, and each job given only its own layers, its own
/// rows, post-processed its own way.
///
/// A batch of one takes exactly the same path (capture, alias mapping, post-processing), so
/// batching on and off differ only in the forward pass's batch size.
enum FeatureBatch {
    /// The result of running a batch: one outcome per job, in order.
    struct Result {
        var outcomes: [Swift.Result<FeatureOutcome, any Error>]
        var computeSeconds: Double
    }

    /// Runs `works` (all for the same `ServedModel`, with the same signature) on `context`'s replica.
    /// `queueSeconds[i]` is how long job i waited.
    static func run(_ works: [FeatureWork], queueSeconds: [Double], context: WorkerContext) -> Result {
        precondition(!works.isEmpty && works.allSatisfy { $0.model === works[0].model && $0.signature == works[0].signature },
                     "FeatureBatch: jobs of different models or input shapes")
        let model = works[0].model
        let totalRows = works.reduce(0) { $0 + $1.rows }
        let started = ContinuousClock.now
        let captured: CapturedFeatures
        do {
            let replica = try context.replica(for: model)
            let inputs = works.count == 1 ? works[0].inputs : concatenatedInputs(works, paddingId: paddingId(model))
            let selection = works.count == 1 ? works[0].request.selection : try unionSelection(works, catalog: model.defaultCatalog)
            captured = try replica.extractFeatures(ResolvedLayers(selection: selection), inputs: inputs)
        } catch {
            context.verifyNoHooks(on: model)
            return Result(outcomes: works.map { _ in .failure(error) }, computeSeconds: seconds(since: started))
        }
        let computeSeconds = seconds(since: started)
        context.verifyNoHooks(on: model)

        var outcomes: [Swift.Result<FeatureOutcome, any Error>] = []
        var offset = 0
        for (index, work) in works.enumerated() {
            let outputStarted = ContinuousClock.now
            let rows = offset..<(offset + work.rows)
            offset += work.rows
            do {
                let answer = captured.addingAliases(work.request.aliases, dropping: work.request.droppedNames)
                let wanted = work.answerNames
                var features: [(name: String, tensor: Tensor)] = []
                for (name, tensor) in answer.entries where wanted.contains(name) {
                    var part = tensor
                    if works.count > 1 {
                        guard tensor.rank > 0, tensor.shape[0] == totalRows else {
                            throw FeatureBatchError.notBatchLeading(layer: name, shape: tensor.shape, rows: totalRows)
                        }
                        part = tensor.sliced(axis: 0, rows).detachedCopy()
                    }
                    if !work.postProcessing.isIdentity {
                        // Padded to the batch's length: the mask grows with zeros to match.
                        let mask = work.attentionMask.map { mask in
                            part.rank == 3 && mask.rank == 2 && part.shape[1] > mask.shape[1] ? padded(mask, to: part.shape[1], with: 0) : mask
                        }
                        part = try work.postProcessing.apply(part, layer: name, attentionMask: mask)
                    }
                    features.append((name, part))
                }
                outcomes.append(.success(FeatureOutcome(
                    features: features, queueSeconds: queueSeconds[index], computeSeconds: computeSeconds,
                    outputSeconds: seconds(since: outputStarted), batchSize: works.count, batchRows: totalRows)))
            } catch {
                outcomes.append(.failure(error))
            }
        }
        return Result(outcomes: outcomes, computeSeconds: computeSeconds)
    }

    /// Each input concatenated over the jobs along the batch axis; token inputs [rows, length] of
    /// different lengths (text batching) first padded to the longest: `input_ids` with `paddingId`,
    /// the attention mask and token types with 0.
    static func concatenatedInputs(_ works: [FeatureWork], paddingId: Int64 = 0) -> [String: Tensor] {
        var inputs: [String: Tensor] = [:]
        for name in works[0].inputs.keys {
            var parts = works.map { $0.inputs[name]! }
            let longest = parts.map { $0.shape.last ?? 0 }.max() ?? 0
            if parts.contains(where: { $0.rank == 2 && $0.shape[1] != longest }) {
                parts = parts.map { padded($0, to: longest, with: name == "input_ids" ? paddingId : 0) }
            }
            inputs[name] = Tensor.concatenate(parts, axis: 0)
        }
        return inputs
    }

    /// An integer [rows, length] tensor widened to [rows, target] with `value` (in its dtype).
    static func padded(_ tensor: Tensor, to target: Int, with value: Int64) -> Tensor {
        let rows = tensor.shape[0], length = tensor.shape[1]
        guard target > length else { return tensor }
        let values = tensor.toInt64Array()
        var result = [Int64](repeating: value, count: rows * target)
        for row in 0..<rows {
            for column in 0..<length { result[row * target + column] = values[row * length + column] }
        }
        return Tensor(shape: [rows, target], elements: result).to(tensor.dtype)
    }

    /// The padding token id of a text model (0 without a tokenizer).
    private static func paddingId(_ model: ServedModel) -> Int64 {
        Int64(model.model.tokenizer?.paddingTokenId ?? 0)
    }

    /// Every layer any of the jobs asked for, once, in first-asked order.
    static func unionSelection(_ works: [FeatureWork], catalog: LayerCatalog) throws -> LayerSelection {
        var names: [String] = []
        var seen = Set<String>()
        for work in works {
            for name in work.request.selection.names where seen.insert(name).inserted { names.append(name) }
        }
        return try LayerSelection(names.map { LayerSelector.name($0) }, in: catalog)
    }

    private static func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}

/// A batched capture that cannot be split per request.
enum FeatureBatchError: Error, CustomStringConvertible {
    /// A layer's output does not have the batch as its first axis.
    case notBatchLeading(layer: String, shape: [Int], rows: Int)

    var description: String {
        switch self {
        case .notBatchLeading(let layer, let shape, let rows):
            "layer '\(layer)' has shape \(shape), whose first axis is not the batch of \(rows) rows"
        }
    }
}
