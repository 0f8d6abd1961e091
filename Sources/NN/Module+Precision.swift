import Tensors

extension Module {
    /// Sets the inference precision of every `Linear` in the tree (attention projections follow
    /// their `out_proj`) and returns how many layers it set. Convolutions, normalization, attention
    /// scores and everything element-wise stay float32.
    @discardableResult
    public func setLinearPrecision(_ precision: ComputePrecision) -> Int {
        let linears = modules().compactMap { $0 as? Linear }
        for linear in linears { linear.precision = precision }
        return linears.count
    }
}
