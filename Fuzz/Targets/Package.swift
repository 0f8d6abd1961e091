// swift-tools-version: 6.0
// Periscope's libFuzzer targets: a separate package so that `swift build` / `swift test` of the
// service never compile them (they only link with `-sanitize=fuzzer`), and so that their
// instrumented build lives in its own build directory. It depends on the root package by path
// (a local package, not a package dependency in the customer's sense). Build and run with
// `scripts/fuzz`; see README.md.
import PackageDescription

let package = Package(
    name: "PeriscopeFuzz",
    dependencies: [.package(name: "Periscope", path: "../..")],
    targets: [
        // libFuzzer's `LLVMFuzzerRunDriver`, called from our own main (SwiftPM gives every
        // executable a `main` of its own, which would shadow libFuzzer's).
        .systemLibrary(name: "CFuzzerDriver", path: "Sources/CFuzzerDriver"),
        .target(name: "FuzzDriver", dependencies: ["CFuzzerDriver"]),

        // One executable per fuzz target.
        .executableTarget(name: "FuzzHTTPParser", dependencies: ["FuzzDriver", .product(name: "HTTP", package: "Periscope")]),
        .executableTarget(name: "FuzzSafetensors", dependencies: ["FuzzDriver", .product(name: "NN", package: "Periscope"),
                                                                  .product(name: "Tensors", package: "Periscope")]),
        .executableTarget(name: "FuzzImageDecoder", dependencies: ["FuzzDriver", .product(name: "Models", package: "Periscope"),
                                                                   .product(name: "Tensors", package: "Periscope")]),
        .executableTarget(name: "FuzzTokenizer", dependencies: ["FuzzDriver", .product(name: "Models", package: "Periscope")]),
        .executableTarget(name: "FuzzONNX", dependencies: ["FuzzDriver", .product(name: "ONNX", package: "Periscope"),
                                                           .product(name: "NN", package: "Periscope")]),
        .executableTarget(name: "FuzzJSONRequest", dependencies: ["FuzzDriver", .product(name: "Service", package: "Periscope"),
                                                                  .product(name: "Tensors", package: "Periscope")]),
    ],
    swiftLanguageModes: [.v6]
)
