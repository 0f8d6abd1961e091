/// What to register with a weights file: the model's name and the version's metadata.
public struct ModelRegistration: Sendable, Equatable {
    /// The model's name, `[a-z0-9][a-z0-9._-]{0,63}`.
    public var name: String
    /// The architecture the weights belong to.
    public var architecture: String
    /// The model configuration: a JSON object as text.
    public var configuration: String
    /// A description for the model; `nil` keeps the existing one (empty for a new model).
    public var description: String?
    /// Labels for the model; `nil` keeps the existing ones.
    public var labels: [String: String]?
    /// Whether the server loads the model at start; `nil` keeps the existing setting (off for a new model).
    public var preload: Bool?
    /// The precision of the new version (each version has its own).
    public var precision: ModelPrecision

    /// A registration; every optional left `nil` keeps the model's current value.
    public init(name: String, architecture: String, configuration: String = "{}", description: String? = nil,
                labels: [String: String]? = nil, preload: Bool? = nil, precision: ModelPrecision = .float32) {
        self.name = name
        self.architecture = architecture
        self.configuration = configuration
        self.description = description
        self.labels = labels
        self.preload = preload
        self.precision = precision
    }
}
