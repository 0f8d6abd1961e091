import CommandLineSupport
import Foundation
import Service
import Tensors

/// `periscope bench encode [--repetitions N] [--seconds S] [--no-orjson]`: JSON encode throughput
/// for a 1×1024×14×14 float32 feature map (standard normal values, as features look) and parse
/// throughput for a 1×3×224×224 input request body, next to Python's orjson (and Foundation's
/// JSONSerialization for parsing) on the same bytes, interleaved, medians and ratios.
struct EncodeBenchmark {
    struct Options {
        var repetitions = 7
        var secondsPerMeasurement = 0.25
        var compareWithOrjson = true
    }

    let options: Options

    static func run(_ arguments: inout CommandLineArguments) throws {
        var options = Options()
        if let repetitions = try arguments.positiveIntegerOption("repetitions") { options.repetitions = repetitions }
        if let seconds = try arguments.positiveNumberOption("seconds") { options.secondsPerMeasurement = seconds }
        options.compareWithOrjson = !arguments.flag("no-orjson")
        try arguments.finish()
        try EncodeBenchmark(options: options).run()
    }

    func run() throws {
        // The feature map: N(0, 1) values, as post-ReLU-free activations look.
        var generator = SeededGenerator(seed: 14)
        let featureShape = [1, 1024, 14, 14]
        let features = Tensor(shape: featureShape, scalars: (0..<(1024 * 14 * 14)).map { _ in generator.nextNormal() })
        let encodeBody = StreamingBody([.numbers(features, layout: .flat, nonFinite: .error, name: "layer3")])
        let encoded = try encodeBody.collect()

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("periscope-bench-encode-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let rawURL = directory.appendingPathComponent("features.f32")
        try features.withFloats { try Data(buffer: $0).write(to: rawURL) }

        var worker: OrjsonWorker?
        if options.compareWithOrjson {
            do { worker = try OrjsonWorker(featuresPath: rawURL.path, shape: featureShape) } catch {
                print("orjson unavailable (\(error)); Periscope numbers only")
            }
        }
        defer { worker?.close() }
        print("periscope bench encode — \(featureShape.map(String.init).joined(separator: "×")) float32, N(0,1) values; JSON \(encoded.count) bytes")
        if let worker {
            print("python: \(worker.versionLine)")
            let theirs = try worker.encodedArray()
            print("orjson output \(theirs == encoded ? "is byte-for-byte identical" : "DIFFERS (\(theirs.count) bytes)") to ours")
        }

        var ours: [Double] = [], orjson: [Double] = []
        for _ in 0..<options.repetitions {
            ours.append(secondsPerCall(options.secondsPerMeasurement) {
                var chunks = encodeBody.makeChunks(chunkSize: 1 << 16)
                var total = 0
                while let chunk = try! chunks.next() { total += chunk.count }
                precondition(total == encoded.count)
            })
            if let worker { orjson.append(try worker.time("encode", seconds: options.secondsPerMeasurement)) }
        }
        report("encode", bytes: encoded.count, ours: ours, theirs: orjson, theirName: "orjson.dumps(OPT_SERIALIZE_NUMPY)")

        // Parse: a features request body with a 1×3×224×224 normalized image as nested arrays.
        let imageShape = [1, 3, 224, 224]
        let image = Tensor(shape: imageShape, scalars: (0..<(3 * 224 * 224)).map { _ in generator.nextNormal() })
        let requestBody = try StreamingBody([
            .bytes(Array(#"{"inputs": {"input": {"shape": [1, 3, 224, 224], "data": "#.utf8)),
            .numbers(image, layout: .nested, nonFinite: .error, name: "input"),
            .bytes(Array(#"}}, "layers": ["layer4"]}"#.utf8)),
        ]).collect()
        let bodyURL = directory.appendingPathComponent("request.json")
        try Data(requestBody).write(to: bodyURL)
        print("parse — request body with a \(imageShape.map(String.init).joined(separator: "×")) float32 input, nested arrays, \(requestBody.count) bytes")
        func parseOurs() {
            let document = try! JSONParser.parse(requestBody)
            let data = document.objectValue!["inputs"]!.objectValue!["input"]!.objectValue!["data"]!.numericArray!
            let tensor = try! data.tensor(dtype: .float32)
            precondition(tensor.count == image.count)
        }
        parseOurs()
        var oursParse: [Double] = [], orjsonParse: [Double] = [], foundationParse: [Double] = []
        let requestData = Data(requestBody)
        for _ in 0..<options.repetitions {
            oursParse.append(secondsPerCall(options.secondsPerMeasurement, parseOurs))
            foundationParse.append(secondsPerCall(options.secondsPerMeasurement) {
                _ = try! JSONSerialization.jsonObject(with: requestData)
            })
            if let worker { orjsonParse.append(try worker.time("parse \(bodyURL.path)", seconds: options.secondsPerMeasurement)) }
        }
        report("parse (to a float32 tensor)", bytes: requestBody.count, ours: oursParse, theirs: orjsonParse, theirName: "orjson.loads (to Python lists)")
        report("parse (to a float32 tensor)", bytes: requestBody.count, ours: oursParse, theirs: foundationParse, theirName: "Foundation JSONSerialization")

        // The same image as Python's json.dumps(tensor.tolist()) writes it: float64 repr, 17 digits.
        var pythonStyle = Array(#"{"inputs": {"input": {"shape": [1, 3, 224, 224], "data": [[[["#.utf8)
        image.withFloats { values in
            for (index, value) in values.enumerated() {
                if index > 0 { pythonStyle += index % (224 * 224) == 0 ? Array("]], [[".utf8) : index % 224 == 0 ? Array("], [".utf8) : Array(", ".utf8) }
                pythonStyle += Array(Double(value).description.utf8)
            }
        }
        pythonStyle += Array(#"]]]]}}, "layers": ["layer4"]}"#.utf8)
        let pythonURL = directory.appendingPathComponent("request-float64.json")
        try Data(pythonStyle).write(to: pythonURL)
        func parsePythonStyle() {
            let document = try! JSONParser.parse(pythonStyle)
            let data = document.objectValue!["inputs"]!.objectValue!["input"]!.objectValue!["data"]!.numericArray!
            let tensor = try! data.tensor(dtype: .float32)
            precondition(tensor.count == image.count)
        }
        parsePythonStyle()
        var oursLong: [Double] = [], orjsonLong: [Double] = []
        for _ in 0..<options.repetitions {
            oursLong.append(secondsPerCall(options.secondsPerMeasurement, parsePythonStyle))
            if let worker { orjsonLong.append(try worker.time("parse \(pythonURL.path)", seconds: options.secondsPerMeasurement)) }
        }
        print("parse — the same input written as Python's json.dumps(tensor.tolist()) writes it (17-digit float64), \(pythonStyle.count) bytes")
        report("parse (to a float32 tensor)", bytes: pythonStyle.count, ours: oursLong, theirs: orjsonLong, theirName: "orjson.loads (to Python lists)")
    }

    private func report(_ what: String, bytes: Int, ours: [Double], theirs: [Double], theirName: String) {
        let ourRate = Double(bytes) / median(ours) / 1e6
        var line = "\(what): Periscope \(format(ourRate)) MB/s (\(format(median(ours) * 1e3, 3)) ms)"
        if !theirs.isEmpty {
            let theirRate = Double(bytes) / median(theirs) / 1e6
            line += ", \(theirName) \(format(theirRate)) MB/s (\(format(median(theirs) * 1e3, 3)) ms), ratio \(format(ourRate / theirRate, 2))×"
        }
        print(line)
    }
}

/// Median seconds per call of `body`, timed over about `seconds`.
func secondsPerCall(_ seconds: Double, _ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    let warm = clock.measure(body)
    let iterations = max(3, Int(seconds / max(warm.seconds, 1e-7)))
    var samples: [Double] = []
    samples.reserveCapacity(iterations)
    for _ in 0..<iterations { samples.append(clock.measure(body).seconds) }
    return median(samples)
}

private func format(_ value: Double, _ digits: Int = 0) -> String { String(format: "%.\(digits)f", value) }

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) * 1e-18 }
}

/// A Python process timing orjson on the same data, driven over stdin/stdout.
final class OrjsonWorker {
    private let worker: PythonWorker
    var versionLine: String { worker.versionLine }

    private static let script = """
    import sys, time, statistics, numpy as np, orjson
    features = np.fromfile(sys.argv[1], dtype=np.float32).reshape([int(x) for x in sys.argv[2].split(",")])
    print("orjson " + orjson.__version__ + ", numpy " + np.__version__ + ", Python " + sys.version.split()[0], flush=True)
    def timed(fn, seconds):
        t = time.perf_counter(); fn(); warm = time.perf_counter() - t
        samples = []
        for _ in range(max(3, int(seconds / max(warm, 1e-7)))):
            t = time.perf_counter(); fn(); samples.append(time.perf_counter() - t)
        return statistics.median(samples)
    for line in sys.stdin:
        words = line.split()
        if words[0] == "dump":
            data = orjson.dumps(features.reshape(-1), option=orjson.OPT_SERIALIZE_NUMPY)
            sys.stdout.write(str(len(data)) + "\\n"); sys.stdout.flush()
            sys.stdout.buffer.write(data); sys.stdout.buffer.flush()
        elif words[0] == "encode":
            print(timed(lambda: orjson.dumps(features, option=orjson.OPT_SERIALIZE_NUMPY), float(words[1])), flush=True)
        elif words[0] == "parse":
            body = open(words[1], "rb").read()
            print(timed(lambda: orjson.loads(body), float(words[2])), flush=True)
    """

    init(featuresPath: String, shape: [Int]) throws {
        guard let worker = PythonWorker(script: Self.script, arguments: [featuresPath, shape.map(String.init).joined(separator: ",")]) else {
            throw OrjsonWorkerError.notAvailable
        }
        self.worker = worker
    }

    /// orjson's bytes for the flattened feature array.
    func encodedArray() throws -> [UInt8] {
        guard let line = worker.request("dump"), let length = Int(line), let data = worker.read(length) else {
            throw OrjsonWorkerError.noReply("dump")
        }
        return Array(data)
    }

    /// Median seconds of one `what` call (`encode`, or `parse PATH`).
    func time(_ what: String, seconds: Double) throws -> Double {
        guard let line = worker.request("\(what) \(seconds)"), let value = Double(line) else { throw OrjsonWorkerError.noReply(what) }
        return value
    }

    func close() { worker.close() }
}

enum OrjsonWorkerError: Error, CustomStringConvertible {
    case notAvailable
    case noReply(String)

    var description: String {
        switch self {
        case .notAvailable: "python3 with numpy and orjson did not start"
        case .noReply(let what): "the orjson worker gave no answer to '\(what)'"
        }
    }
}

private func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? .nan : sorted[sorted.count / 2]
}
