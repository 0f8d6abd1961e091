/// The endpoint groups the route table's handlers call, built once per application.
struct ServiceEndpoints: Sendable {
    let health: HealthEndpoints
    let registry: RegistryEndpoints
    let features: FeatureEndpoints
    let embeddings: EmbeddingEndpoints
    let tokenize: TokenizeEndpoints
    let attributions: AttributionEndpoints
    let inference: InferenceEndpoints
    let repository: RepositoryEndpoints
    let jobs: JobsEndpoints
    let inspector: InspectorEndpoints

    init(context: ServiceContext, jobs: JobManager) {
        health = HealthEndpoints(context: context)
        registry = RegistryEndpoints(context: context)
        features = FeatureEndpoints(context: context)
        embeddings = EmbeddingEndpoints(context: context)
        tokenize = TokenizeEndpoints(context: context)
        attributions = AttributionEndpoints(context: context)
        inference = InferenceEndpoints(context: context)
        repository = RepositoryEndpoints(context: context)
        self.jobs = JobsEndpoints(context: context, jobs: jobs)
        inspector = InspectorEndpoints()
    }
}
