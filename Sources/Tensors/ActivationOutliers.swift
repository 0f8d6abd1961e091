/// The rule that takes a row's outlier features out of its int8 quantization (mixed-precision
/// decomposition, as in LLM.int8()): they are multiplied in float32 instead.
///
/// Why: in BERT-family encoders one feature of a LayerNorm output can hold nearly all of a token's
/// energy ([CLS]: feature 99 of all-MiniLM-L6-v2 reaches 8–30 while the rest stay below 1, max/rms
/// 19.5 — the largest possible for 384 features is √384 = 19.6). A symmetric per-row scale set by
/// that one value leaves every other feature with a handful of levels, and short sentences, where
/// [CLS] and [SEP] weigh most in the mean-pooled embedding, lose the most (cosine 0.975 to float32
/// for "Yes."). Taking those few features out restores the resolution of the rest.
///
/// The rule, per row x[K] (exact integer arithmetic, so every kernel selects the same features):
/// 1. q = round-half-even(x · 127 / max|x|) as usual, S = Σ q².
/// 2. Candidates: features with q_k² · K > `thresholdSquared` · S, i.e. |q_k| > 8 · rms(q). At most
///    K / 64 features can pass, and none when K ≤ 64.
/// 3. The `limit` candidates of largest |x_k| (ties: the lower k) are the outliers, in increasing k.
/// 4. The row is quantized again with the outliers set to 0 (a new, smaller scale); each outlier
///    adds x_k · (W[j, k] dequantized) to output channel j in float32, after the bias and residual
///    and before ReLU.
public enum ActivationOutliers {
    /// α² in q_k² · K > α² · Σq² (α = 8).
    public static let thresholdSquared = 64
    /// The most features of one row multiplied in float32.
    public static let limit = 4

    /// True when some feature of a quantized row with Σq² = `sumOfSquares` over `depth` values can
    /// pass the threshold (the largest |q| of a non-zero row is 127).
    @inline(__always)
    static func rowMayHaveOutliers(sumOfSquares: Int, depth: Int) -> Bool {
        sumOfSquares > 0 && 127 * 127 * depth > thresholdSquared * sumOfSquares
    }

    /// The smallest |q| that passes the threshold: the least t with t² · K > α² · Σq², exactly.
    static func smallestCandidate(sumOfSquares: Int, depth: Int) -> Int {
        var t = Int((Double(thresholdSquared * sumOfSquares) / Double(depth)).squareRoot())
        while t > 0 && (t - 1) * (t - 1) * depth > thresholdSquared * sumOfSquares { t -= 1 }
        while t * t * depth <= thresholdSquared * sumOfSquares { t += 1 }
        return t
    }
}
