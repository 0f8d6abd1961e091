/// Where a features response came from, as the `X-Periscope-Cache` response header says.
public enum FeatureCacheStatus: String, Sendable {
    /// Every requested (input, layer) was in the cache: no forward pass ran.
    case hit
    /// Computed (something was missing), and the outputs were stored.
    case miss
    /// The cache was not read: `Cache-Control: no-cache`, or outputs the cache does not keep
    /// (not pooled). With `no-cache` the computed outputs are still stored.
    case bypass

    /// The response header that carries it.
    public static let headerName = "X-Periscope-Cache"
}
