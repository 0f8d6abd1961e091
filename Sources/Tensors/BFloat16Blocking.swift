/// How one bf16 GEMM call splits into tasks: blocks of rows (their bf16 copy about a quarter of L2)
/// × blocks of panels (about half of L2), smaller when that leaves fewer than 4 tasks per thread.
struct BFloat16Blocking {
    let rowBlock: Int, rowBlocks: Int
    let panelBlock: Int, panelBlocks: Int

    init(rows: Int, pairs: Int, panels: Int, threads: Int, level2Bytes: Int = CPUCache.level2Bytes) {
        let tileRows = 6, tilePanels = 4
        // A row of bf16 pairs is 4·pairs bytes; a panel 64·pairs.
        var rowBlock = Swift.min(Swift.max(level2Bytes / 4 / Swift.max(4 * pairs, 1) / tileRows * tileRows, tileRows), 32 * tileRows)
        var panelBlock = Swift.max(level2Bytes / 2 / Swift.max(64 * pairs, 1) / tilePanels * tilePanels, tilePanels)
        let target = 4 * Swift.max(threads, 1)
        func count(_ n: Int, _ block: Int) -> Int { (n + block - 1) / block }
        while count(rows, rowBlock) * count(panels, panelBlock) < target && panelBlock > tilePanels { panelBlock -= tilePanels }
        while count(rows, rowBlock) * count(panels, panelBlock) < target && rowBlock > tileRows { rowBlock -= tileRows }
        self.rowBlock = rowBlock
        self.panelBlock = panelBlock
        rowBlocks = count(rows, rowBlock)
        panelBlocks = count(panels, panelBlock)
    }
}
