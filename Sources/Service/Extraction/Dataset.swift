import Foundation
import NN
import Registry
import Tensors

/// The items `periscope extract --dataset PATH` runs over, in a deterministic order, each with
/// the id written next to its features:
///
/// - a directory: every `.jpg`/`.jpeg`/`.png` file below it (recursively), sorted by the UTF-8
///   bytes of the path relative to the directory, which is the id;
/// - a `.txt` file: one text per line (`\n` or `\r\n`); the id is the line number (from 1);
/// - a `.jsonl` file: per line a JSON string, or an object with a `"text"` string and an optional
///   `"id"` (string or integer; default the line number);
/// - a `.safetensors` file: row i of every tensor (all share their first axis) is item i, whose
///   id is `i`; the tensors are the model's named inputs, as `--input` takes them.
///
/// An item that cannot be used (an empty line, a line that is not JSON) is kept, with the reason,
/// so that positions never shift; images are read only when they are extracted.
public struct Dataset {
    public enum Kind: String, Codable, Sendable {
        case images
        case text
        case jsonl
        case safetensors
    }

    /// What one item holds before it becomes model inputs.
    public enum Content {
        /// An image file, by absolute path.
        case imageFile(String)
        case text(String)
        /// A row of `tensors`.
        case tensorRow
        /// Unusable, and why.
        case unreadable(String)
    }

    public struct Item {
        public var id: String
        public var content: Content
    }

    public let kind: Kind
    /// The path as given.
    public let path: String
    public let items: [Item]
    /// SHA-256 of the file; for a directory, of its sorted listing (`relative path\tbyte size\n`
    /// per image), so that a changed dataset is noticed without reading every image.
    public let sha256: String
    /// The tensors of a safetensors dataset, by name (items are rows along axis 0); empty otherwise.
    let tensors: [String: Tensor]

    /// The forms `--dataset` takes, for error messages.
    static let expectedForms = "a directory of JPEG/PNG images, a .txt file (one text per line), a .jsonl file or a .safetensors file"

    /// Reads the dataset at `path` (its kind from what it is: a directory, or the file's extension).
    public static func open(_ path: String) throws -> Dataset {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw CommandLineError.invalidValue(option: "dataset", value: path, expected: "an existing path: " + expectedForms)
        }
        if isDirectory.boolValue { return try images(in: path) }
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "txt": return try lines(of: path, kind: .text)
        case "jsonl": return try lines(of: path, kind: .jsonl)
        case "safetensors": return try safetensors(path)
        default: throw CommandLineError.invalidValue(option: "dataset", value: path, expected: expectedForms)
        }
    }

    // MARK: - Kinds

    /// The images below `directory`, sorted by the bytes of their relative paths.
    private static func images(in directory: String) throws -> Dataset {
        guard let enumerator = FileManager.default.enumerator(atPath: directory) else {
            throw CommandLineError.invalidValue(option: "dataset", value: directory, expected: "a readable directory")
        }
        var files: [(relative: String, size: Int64)] = []
        while let relative = enumerator.nextObject() as? String {
            guard ["jpg", "jpeg", "png"].contains(URL(fileURLWithPath: relative).pathExtension.lowercased()) else { continue }
            var info = stat()
            let absolute = directory + "/" + relative
            guard stat(absolute, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { continue }
            files.append((relative, Int64(info.st_size)))
        }
        files.sort { $0.relative.utf8.lexicographicallyPrecedes($1.relative.utf8) }
        let listing = files.map { "\($0.relative)\t\($0.size)\n" }.joined()
        let root = URL(fileURLWithPath: directory).standardizedFileURL.path
        return Dataset(kind: .images, path: directory, items: files.map { Item(id: $0.relative, content: .imageFile(root + "/" + $0.relative)) },
                       sha256: SHA256.hexString(SHA256.hash(listing.utf8)), tensors: [:])
    }

    /// One text per line (`.txt`), or one JSON text per line (`.jsonl`).
    private static func lines(of path: String, kind: Kind) throws -> Dataset {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandLineError.invalidValue(option: "dataset", value: path, expected: "a readable file")
        }
        var pieces = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        if pieces.last?.isEmpty == true { pieces.removeLast() }  // the final newline ends the last line
        var items: [Item] = []
        items.reserveCapacity(pieces.count)
        for (offset, piece) in pieces.enumerated() {
            let number = offset + 1
            var bytes = piece
            if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
            guard let line = String(data: Data(bytes), encoding: .utf8) else {
                items.append(Item(id: String(number), content: .unreadable("line \(number) is not valid UTF-8")))
                continue
            }
            if line.allSatisfy(\.isWhitespace) {
                items.append(Item(id: String(number), content: .unreadable("line \(number) is empty")))
                continue
            }
            items.append(kind == .jsonl ? jsonItem(line, number: number) : Item(id: String(number), content: .text(line)))
        }
        return Dataset(kind: kind, path: path, items: items, sha256: SHA256.hexString(SHA256.hash(data)), tensors: [:])
    }

    /// A JSONL line: a JSON string, or `{"text": "…", "id": "…" | 17}`.
    private static func jsonItem(_ line: String, number: Int) -> Item {
        let expected = "line \(number): expected a JSON string or an object with a \"text\" string"
        guard let value = try? JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed]) else {
            return Item(id: String(number), content: .unreadable("line \(number) is not valid JSON"))
        }
        if let text = value as? String {
            return Item(id: String(number), content: text.allSatisfy(\.isWhitespace) ? .unreadable("line \(number) has an empty text") : .text(text))
        }
        guard let object = value as? [String: Any], let text = object["text"] as? String else {
            return Item(id: String(number), content: .unreadable(expected))
        }
        var id = String(number)
        if let given = object["id"] as? String {
            id = given
        } else if let given = object["id"] as? NSNumber, let integer = Int(exactly: given.doubleValue) {
            id = String(integer)
        }
        return Item(id: id, content: text.allSatisfy(\.isWhitespace) ? .unreadable("line \(number) has an empty text") : .text(text))
    }

    /// Rows of the tensors of a safetensors file.
    private static func safetensors(_ path: String) throws -> Dataset {
        let file: SafetensorsFile
        do {
            file = try SafetensorsFile(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw CommandLineError.invalidValue(option: "dataset", value: path, expected: "a readable safetensors file (\(error))")
        }
        var tensors: [String: Tensor] = [:]
        var rows: Int?
        for (name, tensor) in try file.tensors() {
            guard tensor.rank >= 1, rows == nil || rows == tensor.shape[0] else {
                throw CommandLineError.invalidValue(option: "dataset", value: path,
                                                    expected: "tensors that share their first axis (the items); '\(name)' has shape \(tensor.shape)")
            }
            rows = tensor.shape[0]
            tensors[name] = tensor
        }
        guard let rows else {
            throw CommandLineError.invalidValue(option: "dataset", value: path, expected: "a safetensors file with at least one tensor")
        }
        let digest: String
        do {
            digest = try DurableFile.digest(ofFileAt: path).sha256
        } catch {
            throw CommandLineError.invalidValue(option: "dataset", value: path, expected: "a readable file (\(error))")
        }
        return Dataset(kind: .safetensors, path: path, items: (0..<rows).map { Item(id: String($0), content: .tensorRow) },
                       sha256: digest, tensors: tensors)
    }
}
