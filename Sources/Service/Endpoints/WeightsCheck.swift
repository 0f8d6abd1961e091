import Foundation
import Models

/// Refuses weights that do not load into their architecture at registration (keys, shapes,
/// format; the `embedding` settings; a sentence-transformers directory next to them), so that a
/// registered version is one that can serve: the check is the real load.
enum WeightsCheck {
    /// Loads the weights at `path` as `architecture` with `configuration`; throws a 400 saying why
    /// they do not load.
    static func verifyLoadable(architecture: String, configuration: String, path: String) async throws {
        try await BlockingWork.run {
            do {
                _ = try EmbeddingConfiguration(configuration: Data(configuration.utf8))
            } catch let error as ModelError {
                throw RequestError(field: "config", "\(error)")
            }
            let weights = URL(fileURLWithPath: path)
            do {
                _ = try LoadedModel.load(architecture: architecture, configuration: Data(configuration.utf8), weights: weights)
                // A sentence-transformers directory next to the weights must be readable too.
                let directory = weights.deletingLastPathComponent()
                if SentenceTransformersDirectory.isPresent(in: directory) { _ = try SentenceTransformersDirectory.load(directory) }
            } catch let error as ModelError {
                throw RequestError(field: "weights", "the weights do not load as \(architecture): \(error)")
            }
        }
    }
}
