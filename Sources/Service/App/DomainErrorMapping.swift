import HTTP
import Models
import NN
import Registry

/// The HTTP answer to errors of the layers below the service (registry, models, capture, images,
/// tokenizer), which know nothing of HTTP: their status, `error_type` and message.
enum DomainErrorMapping {
    /// The HTTP error for `error`, or nil when it is not a known domain error (then it is a 500).
    static func httpError(for error: any Error) -> HTTPError? {
        switch error {
        case let error as RegistryError: registry(error)
        case let error as ModelError: HTTPError(.badRequest, error.description, errorType: "invalid_model_input")
        case let error as CaptureError: capture(error)
        case let error as AttributionError: attribution(error)
        case let error as ImageError:
            if case .tooLarge = error { HTTPError(.contentTooLarge, "image: \(error.description)", errorType: "request_too_large") }
            else { HTTPError(.badRequest, "image: \(error.description)", errorType: "invalid_image") }
        case let error as TokenizerError: HTTPError(.badRequest, "text: \(error.description)", errorType: "bad_request")
        case let error as ModuleError: HTTPError(.badRequest, error.description, errorType: "invalid_model_input")
        default: nil
        }
    }

    private static func registry(_ error: RegistryError) -> HTTPError {
        let message = error.description
        switch error {
        case .invalidName, .invalidVersion, .pathOutsideModelRoot, .invalidPath, .notARegularFile, .invalidConfiguration,
             .invalidLabel, .invalidPrecision, .uploadSizeMismatch, .uploadChecksumMismatch:
            return HTTPError(.badRequest, message)
        case .modelNotFound, .versionNotFound, .weightsNotFound, .jobNotFound:
            return HTTPError(.notFound, message)
        case .sizeMismatch, .checksumMismatch, .invalidTransition:
            return HTTPError(.conflict, message)
        case _ where error.isOutOfSpace:
            // Whatever was being written was removed again and nothing was registered.
            return HTTPError(.insufficientStorage, "the server's disk is full, nothing was changed: \(message)",
                             errorType: "insufficient_storage")
        case .database, .newerSchema:
            return HTTPError(.serviceUnavailable, "the model registry is unavailable: \(message)")
        case .io, .uploadClosed, .injectedFault:
            return HTTPError(.internalServerError, message, errorType: "internal")
        }
    }

    /// A request value that does not fit the model, named by its field (the checks before queueing
    /// and those only a forward pass can make, such as BERT's sequence axis in `output_index`).
    private static func attribution(_ error: AttributionError) -> HTTPError {
        let field = switch error {
        case .invalidTarget, .noTarget: "target"
        case .noLayers, .notSpatial, .noDifferentiableInput: "layers"
        case .unsupportedModel: "method"
        }
        return HTTPError(.badRequest, "\(field): \(error.description)")
    }

    private static func capture(_ error: CaptureError) -> HTTPError {
        switch error {
        case .unknownLayer, .noMatchingLayers:
            HTTPError(.notFound, error.description, errorType: "unknown_layer")
        case .layerIndexOutOfRange, .emptySelection:
            HTTPError(.badRequest, error.description)
        case .layersNotProduced:
            HTTPError(.internalServerError, error.description, errorType: "internal")
        }
    }
}
