import Foundation
import Testing
@testable import Registry

@Suite struct FeatureCacheStoreTests {
    static func key(_ input: Int, layer: String = "layer3", model: String = "m1", processing: String = "pool=mean") -> FeatureCacheStore.Key {
        FeatureCacheStore.Key(modelDigest: model, inputSHA256: "input-\(input)", layer: layer, processing: processing)
    }

    @Test func storesAndFindsByTheWholeKey() throws {
        let directory = TemporaryDirectory()
        let store = try FeatureCacheStore(path: directory.path + "/cache.sqlite3", maxBytes: 1 << 20)
        let value = testBytes(count: 100, seed: 1)
        #expect(try store.insert([(Self.key(1), value)]) == .init(stored: 1, evicted: 0, tooLarge: 0))
        #expect(try store.values(for: [Self.key(1)]) == [Self.key(1): value])
        // Each part of the key separates entries.
        for other in [Self.key(2), Self.key(1, layer: "layer4"), Self.key(1, model: "m2"), Self.key(1, processing: "pool=max")] {
            #expect(try store.values(for: [other]).isEmpty, "\(other)")
        }
        #expect(try store.totalBytes() == 100)
        // Replacing a key counts its bytes once.
        _ = try store.insert([(Self.key(1), testBytes(count: 60, seed: 2))])
        #expect(try store.totalBytes() == 60)
        #expect(try store.entryCount() == 1)
    }

    @Test func evictsLeastRecentlyUsedFirstAndAReadCountsAsAUse() throws {
        let directory = TemporaryDirectory()
        let store = try FeatureCacheStore(path: directory.path + "/cache.sqlite3", maxBytes: 300)
        for input in 1...3 { _ = try store.insert([(Self.key(input), testBytes(count: 100, seed: UInt64(input)))]) }
        // Reading 1 makes 2 the least recently used.
        #expect(try store.values(for: [Self.key(1)]).count == 1)
        #expect(try store.keysByRecency() == [Self.key(2), Self.key(3), Self.key(1)])
        let outcome = try store.insert([(Self.key(4), testBytes(count: 100, seed: 4))])
        #expect(outcome == .init(stored: 1, evicted: 1, tooLarge: 0))
        #expect(try store.keysByRecency() == [Self.key(3), Self.key(1), Self.key(4)])
        // A value needing two slots evicts the two oldest.
        #expect(try store.insert([(Self.key(5), testBytes(count: 150, seed: 5))]).evicted == 2)
        #expect(try store.keysByRecency() == [Self.key(4), Self.key(5)])
    }

    @Test func neverHoldsMoreThanTheBoundAndRefusesAValueLargerThanIt() throws {
        let directory = TemporaryDirectory()
        let bound = 1000
        let store = try FeatureCacheStore(path: directory.path + "/cache.sqlite3", maxBytes: bound)
        var generator = SystemRandomNumberGenerator()
        for round in 0..<200 {
            let count = Int.random(in: 1...400, using: &generator)
            let entries = (0..<Int.random(in: 1...4, using: &generator)).map { index in
                (key: Self.key(round * 10 + index), value: testBytes(count: count, seed: UInt64(round * 10 + index)))
            }
            _ = try store.insert(entries)
            #expect(try store.totalBytes() <= bound, "round \(round)")
        }
        let before = try store.keysByRecency()
        let outcome = try store.insert([(Self.key(99_999), testBytes(count: bound + 1, seed: 9))])
        #expect(outcome == .init(stored: 0, evicted: 0, tooLarge: 1))
        // Nothing was evicted for it.
        #expect(try store.keysByRecency() == before)
        #expect(try store.values(for: [Self.key(99_999)]).isEmpty)
    }

    @Test func persistsAcrossOpensAndDropsAModelsEntries() throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/cache.sqlite3"
        do {
            let store = try FeatureCacheStore(path: path, maxBytes: 1 << 20)
            _ = try store.insert([(Self.key(1), [1, 2, 3]), (Self.key(2), [4]), (Self.key(1, model: "m2"), [5])])
        }
        let store = try FeatureCacheStore(path: path, maxBytes: 1 << 20)
        #expect(store.recoveredFrom == nil)
        #expect(try store.values(for: [Self.key(1)]) == [Self.key(1): [1, 2, 3]])
        #expect(try store.removeEntries(modelDigest: "m1") == 2)
        #expect(try store.keysByRecency() == [Self.key(1, model: "m2")])
        #expect(try store.totalBytes() == 1)
    }

    @Test func aCorruptFileIsMovedAsideAndRecreated() throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/cache.sqlite3"
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: path))
        let store = try FeatureCacheStore(path: path, maxBytes: 1 << 20)
        let moved = try #require(store.recoveredFrom)
        #expect(moved.hasPrefix(path + ".corrupt-"))
        #expect(FileManager.default.contents(atPath: moved) == Data(repeating: 0x5A, count: 8192))
        _ = try store.insert([(Self.key(1), [7])])
        #expect(try store.values(for: [Self.key(1)]) == [Self.key(1): [7]])
    }

    @Test func aDamagedDatabasePageIsFoundByTheCheckAtOpen() throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/cache.sqlite3"
        do {
            let store = try FeatureCacheStore(path: path, maxBytes: 1 << 22)
            _ = try store.insert((0..<200).map { (Self.key($0), testBytes(count: 2000, seed: UInt64($0))) })
        }
        // Checkpoint the WAL into the file, then overwrite pages after the header with garbage.
        do {
            let connection = try SQLiteConnection(path: path, busyTimeoutMilliseconds: 1000)
            _ = try connection.query("PRAGMA wal_checkpoint(TRUNCATE)")
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seek(toOffset: 4096)
        try handle.write(contentsOf: Data(repeating: 0xFF, count: 16384))
        try handle.close()
        let store = try FeatureCacheStore(path: path, maxBytes: 1 << 22)
        #expect(store.recoveredFrom != nil)
        #expect(try store.entryCount() == 0)
    }
}
