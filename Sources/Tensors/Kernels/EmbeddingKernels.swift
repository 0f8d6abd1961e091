// Embedding lookup. Shape letters: I indices, D the embedding width, V rows in the table.

/// out[i, :] = table[indices[i], :] for i in 0..<I. Indices must lie in 0..<V (checked by the caller).
public func embeddingGatherKernel(out: UnsafeMutablePointer<Float>, table: UnsafePointer<Float>,
                                  indices: UnsafePointer<Int64>, count I: Int, dimension D: Int,
                                  pool: ThreadPool = .current) {
    if D == 0 { return }
    pool.parallelChunks(I, minimumChunk: Swift.max(1, copyGrain / (4 * D))) { range in
        for i in range {
            (out + i * D).update(from: table + Int(indices[i]) * D, count: D)
        }
    }
}
