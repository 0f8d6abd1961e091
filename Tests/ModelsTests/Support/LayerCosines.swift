import Models
import NN
import Tensors

/// The cosine between each layer's capture in `reference` and in `other` (both run on `inputs`, every
/// layer of `reference`'s trace captured in one pass), for comparing a precision against float32.
/// A layer whose float32 capture is all zeros has no cosine; it is reported as 1 when the other is
/// all zeros too, else 0.
func layerCosines(reference: LoadedModel, other: LoadedModel, inputs: [String: Tensor]) throws -> [(layer: String, cosine: Double)] {
    let referenceReplica = try reference.makeReplica(), otherReplica = try other.makeReplica()
    let catalog = try referenceReplica.traceLayers(inputs: inputs)
    let selectors = catalog.names.map { LayerSelector.name($0) }
    let expected = try referenceReplica.extractFeatures(layers: selectors, inputs: inputs, catalog: catalog, stopEarly: false)
    let actual = try otherReplica.extractFeatures(layers: selectors, inputs: inputs, catalog: catalog, stopEarly: false)
    return catalog.names.compactMap { name in
        guard let a = expected[name], let b = actual[name], a.dtype == .float32, b.dtype == .float32 else { return nil }
        let x = a.toArray(), y = b.toArray()
        var dot = 0.0, xx = 0.0, yy = 0.0
        for (p, q) in zip(x, y) { dot += Double(p) * Double(q); xx += Double(p) * Double(p); yy += Double(q) * Double(q) }
        if xx == 0 { return (name, yy == 0 ? 1 : 0) }
        return (name, dot / (xx.squareRoot() * yy.squareRoot()))
    }
}
