import Foundation
import Testing
import TestSupport
@testable import Service

/// The Inspector's embedded files: the generated `InspectorAssets.swift` matches the files it was
/// made from, within the size budget, with the right content types and validators.
@Suite struct InspectorAssetTests {
    /// The package root (Tests/Fixtures → ../..).
    static let root = Fixtures.directory.deletingLastPathComponent().deletingLastPathComponent()
    static let assetsDirectory = root.appendingPathComponent("Sources/Service/Inspector/Assets")

    /// Every file of the assets folder and openapi.yaml is embedded byte for byte: run
    /// `scripts/embed-assets` after editing one.
    @Test func generatedFileIsUpToDate() throws {
        var sources = try FileManager.default.contentsOfDirectory(atPath: Self.assetsDirectory.path).sorted()
            .map { ($0, Self.assetsDirectory.appendingPathComponent($0)) }
        sources.append(("openapi.yaml", Self.root.appendingPathComponent("openapi.yaml")))
        #expect(InspectorAsset.embedded.map(\.name) == sources.map(\.0), "run scripts/embed-assets")
        for (name, url) in sources {
            var bytes = Array(try Data(contentsOf: url))
            if bytes.last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
            #expect(InspectorAsset.named(name)?.bytes == bytes, "\(name) differs from its embedded copy: run scripts/embed-assets")
        }
    }

    /// The page's assets add less than 300 KB to the binary.
    @Test func withinBudget() {
        let total = InspectorAsset.embedded.reduce(0) { $0 + $1.bytes.count }
        #expect(total < 300 * 1024, "\(total) bytes")
    }

    @Test(arguments: [
        ("index.html", "text/html; charset=utf-8"), ("docs.html", "text/html; charset=utf-8"),
        ("inspector.js", "text/javascript; charset=utf-8"), ("docs.js", "text/javascript; charset=utf-8"),
        ("inspector.css", "text/css; charset=utf-8"), ("favicon.svg", "image/svg+xml"),
        ("openapi.yaml", "application/yaml; charset=utf-8"),
    ])
    func contentTypes(name: String, contentType: String) throws {
        let asset = try #require(InspectorAsset.named(name))
        #expect(asset.contentType == contentType)
        #expect(asset.entityTag.count == 34 && asset.entityTag.hasPrefix("\"") && asset.entityTag.hasSuffix("\""))
    }

    /// Tags differ between files; `If-None-Match` compares weakly, accepts lists and `*`.
    @Test func entityTagsAndConditionalRequests() throws {
        #expect(Set(InspectorAsset.embedded.map(\.entityTag)).count == InspectorAsset.embedded.count)
        let asset = try #require(InspectorAsset.named("inspector.js"))
        #expect(asset.response(ifNoneMatch: nil).status == .ok)
        #expect(asset.response(ifNoneMatch: asset.entityTag).status == .notModified)
        #expect(asset.response(ifNoneMatch: "\"other\", W/" + asset.entityTag).status == .notModified)
        #expect(asset.response(ifNoneMatch: "*").status == .notModified)
        #expect(asset.response(ifNoneMatch: "\"other\"").status == .ok)
        let notModified = asset.response(ifNoneMatch: asset.entityTag)
        #expect(notModified.headers["ETag"] == asset.entityTag)
        #expect(notModified.headers["Cache-Control"] == "no-cache")
        if case .empty = notModified.body {} else { Issue.record("a 304 has no body") }
    }

    /// Nothing on the pages comes from elsewhere: no absolute URLs in src/href, no root-relative
    /// ones (they would break behind a path prefix), and the token never goes into a URL or storage.
    @Test func pagesUseRelativeURLsOnly() throws {
        for name in ["index.html", "docs.html"] {
            let text = String(decoding: try #require(InspectorAsset.named(name)).bytes, as: UTF8.self)
            let references = text.matches(of: /(?:src|href)="([^"]*)"/).map { String($0.output.1) }
            #expect(!references.isEmpty)
            for reference in references {
                #expect(!reference.hasPrefix("/") && !reference.contains("://"), "\(name): \(reference)")
            }
        }
        for name in ["inspector.js", "docs.js"] {
            let text = String(decoding: try #require(InspectorAsset.named(name)).bytes, as: UTF8.self)
                .replacingOccurrences(of: "'http://www.w3.org/2000/svg'", with: "")
            #expect(!text.contains("http://") && !text.contains("https://"), "\(name) names an absolute URL")
            #expect(!text.contains("localStorage") && !text.contains("sessionStorage") && !text.contains("document.cookie"), "\(name) stores something")
            #expect(!text.contains("fetch('/") && !text.contains("fetch(\"/"), "\(name) fetches a root-relative URL")
        }
    }
}
