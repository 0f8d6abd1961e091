import Foundation
import Testing
@testable import Registry

@Suite struct DurableFileTests {
    @Test func writeReplacesTheFileThroughAPartialFileThatDoesNotStay() throws {
        let directory = TemporaryDirectory()
        let path = directory.path + "/manifest.json"
        try DurableFile.write(Data("first".utf8), to: path)
        try DurableFile.write(Data("second, longer".utf8), to: path)
        #expect(FileManager.default.contents(atPath: path) == Data("second, longer".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["manifest.json"])
        #expect(DurableFile.partialPath(for: path) == directory.path + "/.manifest.json.partial")
        #expect(DurableFile.isPartial(".manifest.json.partial"))
        #expect(!DurableFile.isPartial("manifest.json") && !DurableFile.isPartial("shard.partial"))
    }

    @Test func digestIsTheFilesByteCountAndSHA256() throws {
        let directory = TemporaryDirectory()
        let bytes = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        let path = try directory.write(bytes, to: "weights.safetensors")
        let digest = try DurableFile.digest(ofFileAt: path)
        #expect(digest.byteCount == 3_000_000)
        #expect(digest.sha256 == SHA256.hexString(SHA256.hash(bytes)))
    }

    @Test func copyReplacesTheTargetWithTheSourcesBytesAndTheirDigest() throws {
        let directory = TemporaryDirectory()
        let bytes = (0..<2_500_000).map { UInt8(truncatingIfNeeded: $0 &* 13 &+ 5) }
        let source = try directory.write(bytes, to: "shard.safetensors")
        let target = directory.path + "/copy.safetensors"
        try DurableFile.write(Data("an older file".utf8), to: target)
        let digest = try DurableFile.copy(from: source, to: target)
        #expect(digest.byteCount == 2_500_000)
        #expect(digest.sha256 == SHA256.hexString(SHA256.hash(bytes)))
        #expect(FileManager.default.contents(atPath: target) == Data(bytes))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["copy.safetensors", "shard.safetensors"])
        #expect(throws: RegistryError.self) { try DurableFile.copy(from: directory.path + "/missing", to: target) }
        #expect(FileManager.default.contents(atPath: target) == Data(bytes), "a failed copy leaves the target as it was")
    }

    @Test func hardLinkMakesTheTargetTheSameFileAgainAndAgain() throws {
        let directory = TemporaryDirectory()
        let source = try directory.write(Array("shard bytes".utf8), to: "shard.safetensors")
        let target = directory.path + "/linked.safetensors"
        try DurableFile.write(Data("an older file".utf8), to: target)
        for _ in 0..<2 {  // the second time, the target is already a link to the source
            #expect(try DurableFile.hardLink(from: source, to: target))
            var sourceInfo = stat(), targetInfo = stat()
            #expect(stat(source, &sourceInfo) == 0 && stat(target, &targetInfo) == 0)
            #expect(sourceInfo.st_ino == targetInfo.st_ino && targetInfo.st_nlink == 2)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() == ["linked.safetensors", "shard.safetensors"])
        #expect(throws: RegistryError.self) { try DurableFile.hardLink(from: directory.path + "/missing", to: target) }
    }

    @Test func errorsNameTheOperationAndThePath() {
        #expect(throws: RegistryError.self) { try DurableFile.write(Data(), to: "/nonexistent-directory/x") }
        do {
            _ = try DurableFile.digest(ofFileAt: "/nonexistent-file")
            Issue.record("no error")
        } catch {
            #expect("\(error)" == "open /nonexistent-file: No such file or directory")
        }
    }
}
