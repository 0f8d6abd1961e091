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
