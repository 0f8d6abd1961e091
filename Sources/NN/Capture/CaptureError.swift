/// Why a layer selection or a capture failed.
public enum CaptureError: Error, Equatable, CustomStringConvertible {
    /// No layer has this name; `closest` are the nearest valid names (edit distance).
    case unknownLayer(String, closest: [String])
    /// A glob matched no layer.
    case noMatchingLayers(pattern: String, closest: [String])
    /// An index outside the catalog's `layerCount` layers.
    case layerIndexOutOfRange(Int, layerCount: Int)
    /// The selection is empty.
    case emptySelection
    /// The forward pass finished without producing these requested layers (a module that did not
    /// run, or ran fewer times than the name asks for, or a model called without its hooks).
    case layersNotProduced([String])

    public var description: String {
        switch self {
        case let .unknownLayer(name, closest):
            "unknown layer '\(name)'" + (closest.isEmpty ? "" : "; closest valid names: " + closest.joined(separator: ", "))
        case let .noMatchingLayers(pattern, closest):
            "no layer matches '\(pattern)'" + (closest.isEmpty ? "" : "; closest valid names: " + closest.joined(separator: ", "))
        case let .layerIndexOutOfRange(index, count):
            "layer index \(index) is out of range for \(count) layers (valid: \(-count)...\(count - 1))"
        case .emptySelection:
            "no layers requested"
        case let .layersNotProduced(names):
            "the forward pass did not produce: " + names.joined(separator: ", ")
        }
    }
}
