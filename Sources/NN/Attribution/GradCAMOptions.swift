/// How `GradCAM` post-processes its maps.
///
/// The defaults give Captum's `LayerGradCam(..., relu_attributions=True)` followed by
/// `LayerAttribution.interpolate(map, input_size, "bilinear")`: raw (unnormalized) maps. With
/// `normalization = .minMax` each sample's map is scaled to [0, 1] before upsampling, which is
/// pytorch-grad-cam's `scale_cam_image` order (its resize is OpenCV's bilinear, the same
/// half-pixel convention as `alignCorners = false`).
public struct GradCAMOptions: Sendable, Equatable, Codable {
    public enum Normalization: String, Sendable, Equatable, Codable {
        /// Keep the ReLU'd weighted sums as they are.
        case none
        /// (map − min) / (max − min + 1e-7) per sample, as pytorch-grad-cam.
        case minMax = "min_max"
    }

    /// How a transformer's tokens [N, T, C] lie on the image: `prefixTokens` (class and register
    /// tokens) first, then a `height` × `width` grid of patches in row-major order.
    public struct TokenGrid: Sendable, Equatable, Codable {
        public var prefixTokens: Int
        public var height: Int
        public var width: Int

        public init(prefixTokens: Int, height: Int, width: Int) {
            self.prefixTokens = prefixTokens
            self.height = height
            self.width = width
        }
    }

    public var normalization: Normalization
    /// Upsample each map to the spatial size of the model's image input ([N, C, H, W]); false
    /// keeps the layer's resolution.
    public var upsampleToInput: Bool
    /// `align_corners` of the bilinear upsampling.
    public var alignCorners: Bool
    /// The patch grid of token layers (ViT, DINOv2): a [N, prefix + H·W, C] activation is read as
    /// [N, C, H, W] without its prefix tokens, as pytorch-grad-cam's reshape transform does. Nil:
    /// only [N, C, H, W] layers have maps.
    public var tokenGrid: TokenGrid?

    public init(normalization: Normalization = .none, upsampleToInput: Bool = true, alignCorners: Bool = false,
                tokenGrid: TokenGrid? = nil) {
        self.normalization = normalization
        self.upsampleToInput = upsampleToInput
        self.alignCorners = alignCorners
        self.tokenGrid = tokenGrid
    }
}
