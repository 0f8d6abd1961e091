import Synchronization

/// One node of the autograd graph: either a leaf that accumulates the gradient of a tensor with
/// `requiresGrad`, or the record of an op with the function that maps the gradient of its output
/// to gradients of its inputs.
///
/// Edges point from an op's node to its inputs' nodes (never forward), so a graph is kept alive
/// by the tensors that hold its outputs. `backward()` releases every node it runs through (its
/// backward function and input edges) unless asked to retain the graph, so a tensor that outlives
/// its backward pass does not keep the activations its op captured.
///
/// A graph is built and consumed on one thread (see `Tensor`), hence `@unchecked Sendable`.
public final class GradientNode: @unchecked Sendable {
    /// Maps the gradient of the output to one gradient per input (nil where none flows).
    /// `needsGradient[i]` is false for inputs whose gradient nobody will use (an untracked input,
    /// or a weight when only the input's gradient is asked for): the function may skip them.
    public typealias Backward = (_ gradient: Tensor, _ needsGradient: [Bool]) throws -> [Tensor?]

    /// The op that produced the tensor (`"leaf"` for leaves), for debugging and errors.
    public let operation: String
    /// The nodes of the op's inputs, in argument order; nil where an input is not tracked.
    /// Emptied when the node is released after a backward pass.
    public internal(set) var inputs: [GradientNode?]
    /// The op's backward function. Nil for leaves, for ops recorded without one (backward then
    /// fails naming the op) and after release.
    var backward: Backward?
    /// Set when the node is one output of a joint op (`Tensor.jointIdentity`): its gradient is
    /// handed, unchanged, to slot `outputSlot` of its only input, the joint node.
    let outputSlot: Int?
    /// For a joint node: the number of output slots, and the function that maps all the slots'
    /// gradients at once (nil where none arrived) to one gradient per input.
    let slotCount: Int
    var jointBackward: (([Tensor?]) throws -> [Tensor?])?
    /// The accumulated gradient (leaves, or nodes asked to retain it).
    public internal(set) var grad: Tensor?
    /// Whether `backward()` stores this non-leaf node's gradient in `grad` (`retainGrad()`).
    public internal(set) var retainsGrad = false
    /// Hooks run, in order, on the gradient flowing into this node; each may replace it.
    var gradientHooks: [(id: Int, body: (Tensor) throws -> Tensor?)] = []
    /// True once a backward pass released this node (its function and edges are gone).
    public internal(set) var isReleased = false

    public var isLeaf: Bool { operation == GradientNode.leafOperation }
    /// Whether the node still has a backward function to run.
    public var hasBackward: Bool { backward != nil || jointBackward != nil || outputSlot != nil }
    /// Whether this node gathers the gradients of several outputs (`Tensor.jointIdentity`).
    var isJoint: Bool { slotCount > 0 }

    static let leafOperation = "leaf"

    /// An op node: `backward` receives the output's gradient and which inputs need one.
    public init(operation: String, inputs: [GradientNode?], backward: Backward?) {
        self.operation = operation
        self.inputs = inputs
        self.backward = backward
        self.outputSlot = nil
        self.slotCount = 0
        counter = GradientNode.countCreation()
    }

    /// A joint node with `slotCount` outputs whose gradients `backward` sees together.
    init(operation: String, inputs: [GradientNode?], slotCount: Int, backward: @escaping ([Tensor?]) throws -> [Tensor?]) {
        self.operation = operation
        self.inputs = inputs
        self.backward = nil
        self.outputSlot = nil
        self.slotCount = slotCount
        self.jointBackward = backward
        counter = GradientNode.countCreation()
    }

    /// An output of a joint op: forwards its gradient into `slot` of `joint`.
    init(operation: String, joint: GradientNode, slot: Int) {
        self.operation = operation
        self.inputs = [joint]
        self.backward = nil
        self.outputSlot = slot
        self.slotCount = 0
        counter = GradientNode.countCreation()
    }

    deinit {
        GradientNode.live.subtract(1, ordering: .relaxed)
        counter.count.subtract(1, ordering: .relaxed)
    }

    static func leaf() -> GradientNode { GradientNode(operation: leafOperation, inputs: [], backward: nil) }

    /// Drops the backward function and the input edges (what keeps the rest of the graph and the
    /// op's saved tensors alive).
    func release() {
        guard !isLeaf else { return }
        backward = nil
        jointBackward = nil
        inputs = []
        isReleased = true
    }

    // MARK: - Debug counters

    /// Counts the live nodes created on one thread (decremented wherever the node dies).
    final class Counter: Sendable {
        let count = Atomic<Int>(0)
    }

    /// The counter of the thread that created this node.
    private let counter: Counter
    private static let live = Atomic<Int>(0)
    private static let threadCounter = ThreadLocal<Counter> { Counter() }

    private static func countCreation() -> Counter {
        live.add(1, ordering: .relaxed)
        let counter = threadCounter.value
        counter.count.add(1, ordering: .relaxed)
        return counter
    }

    /// Number of `GradientNode` objects alive in the process (a debug counter for leak tests).
    public static var liveCount: Int { live.load(ordering: .relaxed) }

    /// Number of live `GradientNode` objects created on the calling thread: what a leak test
    /// checks when other threads build graphs at the same time.
    public static var liveCountCreatedOnThisThread: Int { threadCounter.value.count.load(ordering: .relaxed) }
}
