import Tensors

/// The random generator that parameter initialization and dropout draw from: one per thread,
/// like PyTorch's default generator. `withRandomSeed(42) { Model() }` builds identical weights on
/// every run and platform; unseeded, each thread starts from a random seed (like `torch.seed()`).
public enum RandomState {
    private static let generator = ThreadLocal<SeededGenerator>(default: {
        SeededGenerator(seed: UInt64.random(in: .min ... .max))
    })

    /// Runs `body` with this thread's generator seeded with `seed`, then restores the previous
    /// generator (so seeded blocks nest and do not disturb the surrounding sequence).
    public static func withSeed<Result>(_ seed: UInt64, _ body: () throws -> Result) rethrows -> Result {
        try generator.withValue(SeededGenerator(seed: seed), body)
    }

    /// Reseeds this thread's generator for good (PyTorch's `torch.manual_seed`).
    public static func seed(_ seed: UInt64) {
        generator.value = SeededGenerator(seed: seed)
    }

    /// Gives `body` this thread's generator to draw from; the draws advance it.
    public static func withGenerator<Result>(_ body: (inout SeededGenerator) throws -> Result) rethrows -> Result {
        var current = generator.value
        defer { generator.value = current }
        return try body(&current)
    }
}

/// Runs `body` with the current thread's random generator seeded with `seed`
/// (`torch.manual_seed` scoped to a block): `withRandomSeed(42) { ResNet(...) }`.
public func withRandomSeed<Result>(_ seed: UInt64, _ body: () throws -> Result) rethrows -> Result {
    try RandomState.withSeed(seed, body)
}
