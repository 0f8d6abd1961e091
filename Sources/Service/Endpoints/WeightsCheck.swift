import Foundation
import Models

/// Refuses weights that do not load into their architecture at registration (keys, shapes,
/// format), so that a registered version is one that can serve: the check is the real load.
enum WeightsCheck {
    /// Loads the weights at `path` as `architecture` with `configuration`; throws a 400 saying why
    /// they do not load.
    static func verifyLoadable(architecture: String, configuration: String, path: String) async throws {
        try await BlockingWork.run {
            do {
                _ = try LoadedModel.load(architecture: architecture, configuration: Data(configuration.utf8), weights: URL(fileURLWithPath: path))
            } catch let error as ModelError {
                throw RequestError(field: "weights", "the weights do not load as \(architecture): \(error)")
            }
        }
    }
}
