/// A byte-level trie over a WordPiece vocabulary, for greedy longest-match-first lookups.
///
/// Keys are the tokens' UTF-8 bytes, so matching is exact code-point equality, as in Python and
/// Rust dictionaries (Swift's `String ==` would also equate canonically equivalent spellings such as
/// "é" and "e\u{301}", which are different tokens). A match can only end where a vocabulary entry
/// ends, and entries are whole UTF-8 sequences, so matches never split a code point.
struct VocabularyTrie: Sendable {
    typealias Node = Int32
    static let root: Node = 0

    /// Children of node n: `edgeBytes`/`edgeTargets` in `firstEdge[n]..<firstEdge[n + 1]`, sorted by byte.
    private let firstEdge: [Int32]
    private let edgeBytes: [UInt8]
    private let edgeTargets: [Node]
    /// The root's children by byte (-1: none), the hottest lookup.
    private let rootChildren: [Node]
    /// The token id ending at each node, or -1.
    private let tokenIds: [Int32]

    /// Builds the trie; a token listed twice maps to its last id (as `dict` assignment does).
    init(tokens: [String]) {
        var children: [Int: Node] = [:]
        var ids: [Int32] = [-1]
        for (id, token) in tokens.enumerated() {
            var node: Node = 0
            for byte in token.utf8 {
                let key = Int(node) << 8 | Int(byte)
                if let child = children[key] {
                    node = child
                } else {
                    let child = Node(ids.count)
                    ids.append(-1)
                    children[key] = child
                    node = child
                }
            }
            ids[Int(node)] = Int32(id)
        }
        let edges = children.map { (parent: $0.key >> 8, byte: UInt8($0.key & 0xFF), child: $0.value) }
            .sorted { ($0.parent, $0.byte) < ($1.parent, $1.byte) }
        var firstEdge = [Int32](repeating: 0, count: ids.count + 1)
        for edge in edges { firstEdge[edge.parent + 1] += 1 }
        for node in 0..<ids.count { firstEdge[node + 1] += firstEdge[node] }
        var rootChildren = [Node](repeating: -1, count: 256)
        for edge in edges where edge.parent == 0 { rootChildren[Int(edge.byte)] = edge.child }
        self.firstEdge = firstEdge
        self.edgeBytes = edges.map(\.byte)
        self.edgeTargets = edges.map(\.child)
        self.rootChildren = rootChildren
        self.tokenIds = ids
    }

    /// The child of `node` along `byte`, or nil.
    @inline(__always)
    func child(of node: Node, byte: UInt8) -> Node? {
        if node == Self.root {
            let child = rootChildren.withUnsafeBufferPointer { $0[Int(byte)] }
            return child < 0 ? nil : child
        }
        return firstEdge.withUnsafeBufferPointer { firstEdge in
            edgeBytes.withUnsafeBufferPointer { edgeBytes in
                var low = Int(firstEdge[Int(node)]), high = Int(firstEdge[Int(node) + 1])
                while low < high {
                    let middle = (low + high) >> 1
                    let candidate = edgeBytes[middle]
                    if candidate == byte { return edgeTargets.withUnsafeBufferPointer { $0[middle] } }
                    if candidate < byte { low = middle + 1 } else { high = middle }
                }
                return nil
            }
        }
    }

    /// The node reached by reading `bytes` from `node`, or nil.
    func node(after bytes: some Sequence<UInt8>, from node: Node = root) -> Node? {
        var current = node
        for byte in bytes {
            guard let next = child(of: current, byte: byte) else { return nil }
            current = next
        }
        return current
    }

    /// The id of the token spelled exactly `token`, or nil.
    func id(of token: String) -> Int32? {
        guard let node = node(after: token.utf8) else { return nil }
        let id = tokenIds[Int(node)]
        return id < 0 ? nil : id
    }

    /// The longest vocabulary entry that, read from `node`, matches a non-empty prefix of
    /// `bytes[start..<end]`: its id and where it ends in `bytes`.
    @inline(__always)
    func longestMatch(in bytes: UnsafeBufferPointer<UInt8>, from start: Int, to end: Int, startingAt node: Node) -> (id: Int32, end: Int)? {
        var current = node
        var best: (id: Int32, end: Int)?
        var index = start
        tokenIds.withUnsafeBufferPointer { tokenIds in
            while index < end, let next = child(of: current, byte: bytes[index]) {
                current = next
                index += 1
                let id = tokenIds[Int(current)]
                if id >= 0 { best = (id, index) }
            }
        }
        return best
    }
}
