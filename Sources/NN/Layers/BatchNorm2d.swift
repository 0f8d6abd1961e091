import Foundation
import Tensors

/// Batch normalization over the channels of [N, C, H, W] (PyTorch's `nn.BatchNorm2d`).
///
/// Evaluation mode normalizes with the running statistics. Training mode (or no running
/// statistics) normalizes with the batch's mean and biased variance; in training it also updates
/// `running_mean`/`running_var` (unbiased variance) with `momentum`, or with a cumulative average
/// when `momentum` is nil, and increments `num_batches_tracked` (int64).
open class BatchNorm2d: UnaryModule {
    public let featureCount: Int
    public let epsilon: Double
    public let momentum: Double?
    public let weight: Parameter?
    public let bias: Parameter?
    public let runningMean: Buffer?
    public let runningVar: Buffer?
    public let numBatchesTracked: Buffer?

    /// `bias: false` keeps the affine weight but drops the shift (PyTorch 2.x's `bias=` option).
    public init(featureCount: Int, epsilon: Double = 1e-5, momentum: Double? = 0.1, affine: Bool = true,
                trackRunningStatistics: Bool = true, bias: Bool = true) {
        self.featureCount = featureCount
        self.epsilon = epsilon
        self.momentum = momentum
        self.weight = affine ? Parameter(Tensor(shape: [featureCount], repeating: 1)) : nil
        self.bias = affine && bias ? Parameter(Tensor(zeros: [featureCount])) : nil
        self.runningMean = trackRunningStatistics ? Buffer(Tensor(zeros: [featureCount])) : nil
        self.runningVar = trackRunningStatistics ? Buffer(Tensor(shape: [featureCount], repeating: 1)) : nil
        self.numBatchesTracked = trackRunningStatistics ? Buffer(Tensor(zeros: [], dtype: .int64)) : nil
        super.init()
        resetParameters()
    }

    public var isAffine: Bool { weight != nil }
    public var tracksRunningStatistics: Bool { runningMean != nil }

    /// Running statistics to 0/1, the counter to 0, weight to ones and bias to zeros.
    open override func resetParameters() {
        if let runningMean { Initializers.zeros(runningMean) }
        if let runningVar { Initializers.ones(runningVar) }
        numBatchesTracked?.value = Tensor(zeros: [], dtype: .int64)
        if let weight { Initializers.ones(weight) }
        if let bias { Initializers.zeros(bias) }
    }

    open override func forward(_ input: Tensor) throws -> Tensor {
        try requireRank(input, [4], "a 4-D [N, C, H, W] input")
        guard input.shape[1] == featureCount else {
            throw invalidInput("expected \(featureCount) channels, got shape \(input.shape)")
        }
        let x = try floatInput(input)
        guard isTraining || runningMean == nil else {
            return Tensor.batchNorm(x, runningMean: runningMean!.float32Value, runningVariance: runningVar!.float32Value,
                                    weight: weight?.float32Value, bias: bias?.float32Value, epsilon: Float(epsilon))
        }
        // Batch statistics per channel over (N, H, W).
        let valuesPerChannel = x.count / featureCount
        if isTraining && valuesPerChannel <= 1 {
            throw invalidInput("expected more than 1 value per channel when training, got input \(input.shape)")
        }
        let statisticShape = [1, featureCount, 1, 1]
        let mean = x.mean(axes: [0, 2, 3])
        let centered = x - mean.reshaped(statisticShape)
        let variance = (centered * centered).mean(axes: [0, 2, 3])
        var output = centered / (variance.reshaped(statisticShape) + Float(epsilon)).sqrt()
        if let weight { output = output * weight.float32Value.reshaped(statisticShape) }
        if let bias { output = output + bias.float32Value.reshaped(statisticShape) }
        if isTraining, let runningMean, let runningVar, let numBatchesTracked {
            let batches = numBatchesTracked.value.toInt64Array()[0] + 1
            numBatchesTracked.value = Tensor(shape: [], elements: [batches])
            let factor = Float(momentum ?? 1 / Double(batches))
            let unbiased = variance.detached() * (Float(valuesPerChannel) / Float(valuesPerChannel - 1))
            let newMean = runningMean.float32Value * (1 - factor) + mean.detached() * factor
            let newVariance = runningVar.float32Value * (1 - factor) + unbiased * factor
            runningMean.value = newMean.to(runningMean.value.dtype)
            runningVar.value = newVariance.to(runningVar.value.dtype)
        }
        return output
    }

    open override var extraDescription: String {
        "\(featureCount), eps=\(PythonLiteral.float(epsilon)), momentum=\(momentum.map(PythonLiteral.float) ?? "None"), "
            + "affine=\(PythonLiteral.bool(isAffine)), bias=\(PythonLiteral.bool(bias != nil)), track_running_stats=\(PythonLiteral.bool(tracksRunningStatistics))"
    }
}
