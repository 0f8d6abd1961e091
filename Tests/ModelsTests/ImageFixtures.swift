import Foundation
import Tensors
import TestSupport

/// `Tests/Fixtures/images`: files, Pillow's decoded pixels and torchvision's preprocessing of them
/// (written by scripts/fixtures/make_image_fixtures.py).
enum ImageFixtures {
    struct PreprocessingCase: Decodable, Sendable, CustomStringConvertible {
        var name: String
        var image: String
        var stride: Int?
        var description: String { name }
    }

    private struct Listing: Decodable {
        var files: [String]
        var cases: [PreprocessingCase]
    }

    private static let listing: Listing = {
        let data = try! Data(contentsOf: Fixtures.url("images/cases.json"))
        return try! JSONDecoder().decode(Listing.self, from: data)
    }()

    static var files: [String] { listing.files }
    static var cases: [PreprocessingCase] { listing.cases }

    /// The raw JSON of one case's `config` object.
    static func configurationData(of name: String) throws -> Data {
        let data = try Data(contentsOf: Fixtures.url("images/cases.json"))
        let object = try JSONSerialization.jsonObject(with: data) as! [String: Any]
        let cases = object["cases"] as! [[String: Any]]
        let config = cases.first { $0["name"] as? String == name }!["config"]!
        return try JSONSerialization.data(withJSONObject: config)
    }

    static func data(_ file: String) throws -> Data {
        try Data(contentsOf: Fixtures.url("images/" + file))
    }

    static let expected: SafetensorsTestReader = try! SafetensorsTestReader(contentsOf: Fixtures.url("images/expected.safetensors"))
}
