import Foundation

extension Reference {
    /// softmax(x + mask) along `axis` with a Double sum; a row that is all −inf gives zeros
    /// (what PyTorch's scaled_dot_product_attention returns for a fully masked row).
    public static func softmax(_ x: Tensor, axis: Int = -1, additiveMask: Tensor? = nil) -> Tensor {
        let logits = additiveMask.map { binary(x, $0, +) } ?? x
        let axis = axis < 0 ? axis + logits.rank : axis
        let shape = logits.shape
        let length = shape[axis], inner = shape[(axis + 1)...].reduce(1, *)
        var values = logits.toArray()
        for start in values.indices where (start / inner) % Swift.max(length, 1) == 0 {
            // `start` is the first element of one softmax row; its elements are `inner` apart.
            let row = (0..<length).map { start + $0 * inner }
            let maximum = row.reduce(-Float.infinity) { Swift.max($0, values[$1]) }
            if maximum == -.infinity && !row.contains(where: { values[$0].isNaN }) {
                for i in row { values[i] = 0 }
                continue
            }
            let exponentials = row.map { Foundation.exp(Double(values[$0]) - Double(maximum)) }
            let total = exponentials.reduce(0, +)
            for (i, e) in zip(row, exponentials) { values[i] = Float(e / total) }
        }
        return Tensor(shape: shape, scalars: values)
    }
}
