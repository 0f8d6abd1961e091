import Foundation

extension ImagePreprocessing {
    /// Image preprocessing settings, decodable from a model's JSON configuration.
    ///
    /// Keys (all optional; unknown keys are ignored so the settings can sit inside a larger config):
    /// - `resize_size`: an integer resizes the shorter side to it keeping the aspect ratio
    ///   (torchvision `Resize(256)`); `[height, width]` resizes to exactly that. Absent: no resize.
    /// - `crop_size`: an integer or `[height, width]` center crop. Absent: no crop.
    /// - `rescale_factor`: multiplies the 8-bit values (default 1/255, i.e. [0, 1]).
    /// - `mean`, `std`: three numbers each (default ImageNet's).
    ///
    /// Hugging Face image-processor keys are accepted as well: `size` as an integer,
    /// `{"shortest_edge": N}` or `{"height": H, "width": W}`; `crop_size` as `{"height", "width"}`;
    /// `image_mean`, `image_std`; and `do_resize`, `do_center_crop`, `do_rescale`, `do_normalize`
    /// set to false switch a step off. The arithmetic stays torchvision's float-tensor path.
    public struct Configuration: Decodable, Sendable, Equatable {
        /// How the image is resized before cropping.
        public enum Resize: Sendable, Equatable {
            /// The shorter side becomes this many pixels; the longer one keeps the aspect ratio.
            case shorterSide(Int)
            /// Exactly this size.
            case exact(height: Int, width: Int)
        }

        /// A height and width in pixels.
        public struct Size: Sendable, Equatable {
            public var height: Int
            public var width: Int
            public init(height: Int, width: Int) {
                self.height = height
                self.width = width
            }
        }

        public var resize: Resize?
        public var cropSize: Size?
        public var rescaleFactor: Double
        public var mean: [Float]
        public var std: [Float]

        public static let imageNetMean: [Float] = [0.485, 0.456, 0.406]
        public static let imageNetStd: [Float] = [0.229, 0.224, 0.225]

        /// torchvision's ImageNet evaluation transform: resize 256, center crop 224, ImageNet mean/std.
        public static let imageNet = Configuration(resize: .shorterSide(256), cropSize: Size(height: 224, width: 224))

        /// A Hugging Face model directory's `preprocessor_config.json` (`size`, `crop_size`,
        /// `image_mean`, …), nil when the directory has none; a malformed file is an error naming it.
        public static func huggingFace(directory: URL) throws -> Configuration? {
            let url = directory.appendingPathComponent("preprocessor_config.json")
            guard FileManager.default.fileExists(atPath: url.path) else { return nil }
            do {
                let configuration = try JSONDecoder().decode(Configuration.self, from: Data(contentsOf: url))
                try configuration.validate()
                return configuration
            } catch {
                throw ModelError.unreadableFile(path: url.path, reason: "\(error)")
            }
        }

        /// OpenAI CLIP's image processor at `size` (the shorter side resized to it, a square center
        /// crop, CLIP's mean and std), as `CLIPImageProcessor` without a preprocessor_config.json.
        /// The resize is this type's antialiased bilinear filter; CLIP's processor resamples bicubically.
        public static func clip(size: Int) -> Configuration {
            Configuration(resize: .shorterSide(size), cropSize: Size(height: size, width: size),
                          mean: [0.48145466, 0.4578275, 0.40821073], std: [0.26862954, 0.26130258, 0.27577711])
        }

        public init(resize: Resize? = nil, cropSize: Size? = nil, rescaleFactor: Double = 1.0 / 255.0,
                    mean: [Float] = Configuration.imageNetMean, std: [Float] = Configuration.imageNetStd) {
            self.resize = resize
            self.cropSize = cropSize
            self.rescaleFactor = rescaleFactor
            self.mean = mean
            self.std = std
        }

        /// Checks ranges; the error names the JSON key.
        public func validate() throws {
            switch resize {
            case .shorterSide(let size) where size <= 0:
                throw ImageError.invalidConfiguration(key: "resize_size", reason: "must be positive, got \(size)")
            case .exact(let height, let width) where height <= 0 || width <= 0:
                throw ImageError.invalidConfiguration(key: "resize_size", reason: "must be positive, got [\(height), \(width)]")
            default:
                break
            }
            if let crop = cropSize, crop.height <= 0 || crop.width <= 0 {
                throw ImageError.invalidConfiguration(key: "crop_size", reason: "must be positive, got [\(crop.height), \(crop.width)]")
            }
            guard rescaleFactor.isFinite, rescaleFactor > 0 else {
                throw ImageError.invalidConfiguration(key: "rescale_factor", reason: "must be a positive number, got \(rescaleFactor)")
            }
            guard mean.count == 3, mean.allSatisfy(\.isFinite) else {
                throw ImageError.invalidConfiguration(key: "mean", reason: "expected 3 finite numbers (R, G, B), got \(mean)")
            }
            guard std.count == 3, std.allSatisfy({ $0.isFinite && $0 > 0 }) else {
                throw ImageError.invalidConfiguration(key: "std", reason: "expected 3 positive numbers (R, G, B), got \(std)")
            }
        }

        // MARK: - Decoding

        private struct Key: CodingKey {
            var stringValue: String
            var intValue: Int? { nil }
            init(_ string: String) { stringValue = string }
            init?(stringValue: String) { self.stringValue = stringValue }
            init?(intValue: Int) { nil }
        }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            self.init()
            resize = nil
            cropSize = nil
            if try container.decodeIfPresent(Bool.self, forKey: Key("do_resize")) != false {
                if container.contains(Key("resize_size")) {
                    resize = try Self.decodeResize(container, key: "resize_size")
                } else if container.contains(Key("size")) {
                    resize = try Self.decodeResize(container, key: "size")
                }
            }
            if try container.decodeIfPresent(Bool.self, forKey: Key("do_center_crop")) != false,
               container.contains(Key("crop_size")) {
                cropSize = try Self.decodeSize(container, key: "crop_size")
            }
            if try container.decodeIfPresent(Bool.self, forKey: Key("do_rescale")) == false {
                rescaleFactor = 1
            } else if let factor = try Self.decodeValue(Double.self, container, key: "rescale_factor") {
                rescaleFactor = factor
            }
            if try container.decodeIfPresent(Bool.self, forKey: Key("do_normalize")) == false {
                mean = [0, 0, 0]
                std = [1, 1, 1]
            } else {
                if let value = try Self.decodeValue([Float].self, container, key: "mean") ?? Self.decodeValue([Float].self, container, key: "image_mean") {
                    mean = value
                }
                if let value = try Self.decodeValue([Float].self, container, key: "std") ?? Self.decodeValue([Float].self, container, key: "image_std") {
                    std = value
                }
            }
        }

        private static func decodeValue<T: Decodable>(_ type: T.Type, _ container: KeyedDecodingContainer<Key>, key: String) throws -> T? {
            do {
                return try container.decodeIfPresent(type, forKey: Key(key))
            } catch {
                throw ImageError.invalidConfiguration(key: key, reason: "expected \(type)")
            }
        }

        private static func decodeResize(_ container: KeyedDecodingContainer<Key>, key: String) throws -> Resize {
            if let size = try? container.decode(Int.self, forKey: Key(key)) { return .shorterSide(size) }
            if let pair = try? container.decode([Int].self, forKey: Key(key)), pair.count == 2 {
                return .exact(height: pair[0], width: pair[1])
            }
            if let object = try? container.decode([String: Int].self, forKey: Key(key)) {
                if let edge = object["shortest_edge"], object["longest_edge"] == nil { return .shorterSide(edge) }
                if let height = object["height"], let width = object["width"] { return .exact(height: height, width: width) }
            }
            throw ImageError.invalidConfiguration(
                key: key, reason: "expected an integer (shorter side), [height, width], {\"shortest_edge\": N} or {\"height\": H, \"width\": W}")
        }

        private static func decodeSize(_ container: KeyedDecodingContainer<Key>, key: String) throws -> Size {
            if let size = try? container.decode(Int.self, forKey: Key(key)) { return Size(height: size, width: size) }
            if let pair = try? container.decode([Int].self, forKey: Key(key)), pair.count == 2 {
                return Size(height: pair[0], width: pair[1])
            }
            if let object = try? container.decode([String: Int].self, forKey: Key(key)),
               let height = object["height"], let width = object["width"] {
                return Size(height: height, width: width)
            }
            throw ImageError.invalidConfiguration(key: key, reason: "expected an integer, [height, width] or {\"height\": H, \"width\": W}")
        }
    }
}
