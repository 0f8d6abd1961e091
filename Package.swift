// swift-tools-version: 6.0
// Periscope — a feature-extraction service. No package dependencies: Foundation, Dispatch,
// Glibc, Synchronization and system C libraries only. See docs/architecture.md for the layers
// (scripts/check-architecture keeps its target table equal to this file).
import PackageDescription

// CPU baseline. On x86-64 every target is built for x86-64-v3 (AVX2 + FMA + F16C, any server
// CPU since 2013); the AVX-512 kernels live in their own target built for x86-64-v4 and are
// chosen at run time from the CPU's flags. Elsewhere (arm64, …) the portable kernels are used.
// Without an ISA flag `SIMD.addProduct` lowers to a per-lane `fmaf()` call, so these flags
// are not optional for speed.
#if arch(x86_64)
let baselineFlags: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=x86-64-v3"])]
let avx512Flags: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=x86-64-v4"])]
// The int8 GEMM micro-kernel in C (see Sources/CKernelsAVX2 for why not Swift): AVX2 intrinsics,
// optimized in debug builds too, and no contraction of a·b + c into an FMA, so the epilogue rounds
// exactly like its naive twin.
let avx2CFlags: [CSetting] = [.unsafeFlags(["-march=x86-64-v3", "-O2", "-ffp-contract=off"])]
let avx512CFlags: [CSetting] = [.unsafeFlags(["-march=x86-64-v4", "-mavx512vnni", "-mavx512bf16", "-O2", "-ffp-contract=off"])]
#else
let baselineFlags: [SwiftSetting] = []
let avx512Flags: [SwiftSetting] = []
let avx2CFlags: [CSetting] = [.unsafeFlags(["-O2", "-ffp-contract=off"])]
let avx512CFlags: [CSetting] = [.unsafeFlags(["-O2", "-ffp-contract=off"])]
#endif
// Only the micro-kernel targets drop runtime checks: everywhere else `precondition` must still
// evaluate (under -Ounchecked it does not), because shape checks guard memory safety.
let unchecked: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]
// The micro-kernels are optimized in debug builds too: unoptimized they are ~100× slower, and every
// model test spends its time in them.
let optimizedInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

let package = Package(
    name: "Periscope",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "NN", targets: ["NN"]),
        .library(name: "ONNX", targets: ["ONNX"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "Logging", targets: ["Logging"]),
        .library(name: "HTTP", targets: ["HTTP"]),
        .library(name: "Registry", targets: ["Registry"]),
        .library(name: "Configuration", targets: ["Configuration"]),
        .library(name: "Service", targets: ["Service"]),
        .executable(name: "periscope", targets: ["periscope"]),
    ],
    targets: [
        // Tensors: tensor type, ops, kernels, thread pool.
        // VectorMath: exp, erf, tanh and the activations on SIMD16<Float>, all `@_transparent`, so each
        // kernel target compiles them for its own ISA.
        .target(name: "VectorMath", swiftSettings: baselineFlags),
        .target(name: "KernelsAVX512", dependencies: ["VectorMath"], swiftSettings: avx512Flags + unchecked + optimizedInDebug),
        .target(name: "KernelsAVX2", swiftSettings: baselineFlags + unchecked + optimizedInDebug),
        .target(name: "CKernelsAVX2", cSettings: avx2CFlags),
        .target(name: "CKernelsAVX512", cSettings: avx512CFlags),
        // Optimized in debug builds too: every model test, server and extraction in the test suite runs
        // its convolutions, transforms and element-wise loops, which unoptimized run 5–50× slower.
        .target(name: "Tensors", dependencies: ["VectorMath", "KernelsAVX512", "KernelsAVX2", "CKernelsAVX2", "CKernelsAVX512"],
                swiftSettings: baselineFlags + optimizedInDebug),
        // NN: Module, Parameter, Buffer, hooks, capture, state dict, safetensors, layers.
        .target(name: "NN", dependencies: ["Tensors"], swiftSettings: baselineFlags),
        // ONNX: protobuf reader, ONNX graphs as module trees, operators.
        .target(name: "ONNX", dependencies: ["Tensors", "NN"], swiftSettings: baselineFlags),
        // Models: architectures, tokenizer, images.
        .systemLibrary(name: "CJPEG", path: "Sources/CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg62-turbo-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .target(name: "CImageShims", dependencies: ["CJPEG", "CPNG"], path: "Sources/CImageShims"),
        .target(name: "Models", dependencies: ["Tensors", "NN", "ONNX", "CImageShims"], swiftSettings: baselineFlags),
        // Logging: structured one-line JSON logs, loggers passed in, sinks.
        .target(name: "Logging", swiftSettings: baselineFlags),
        // HTTP: sockets, epoll, HTTP/1.1.
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),
        .target(name: "HTTP", dependencies: ["CEpoll", "Logging"], swiftSettings: baselineFlags),
        // Registry: SQLite model registry.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // Optimized in debug builds too: unoptimized, its SHA-256 hashes about 2 MB/s, and every test that
        // registers, serves or extracts a model spends seconds verifying the weights' checksum.
        .target(name: "Registry", dependencies: ["CSQLite"], swiftSettings: baselineFlags + optimizedInDebug),
        .target(name: "Configuration", swiftSettings: baselineFlags),
        // Service: request queue, worker pool, model lifecycle, endpoints, encoders, metrics.
        .target(name: "Service", dependencies: ["Tensors", "NN", "Logging", "HTTP", "Models", "Registry", "Configuration"],
                exclude: ["Inspector/Assets"], swiftSettings: baselineFlags),
        // CommandLineSupport: what the executables' commands share (arguments, model and input options).
        .target(name: "CommandLineSupport", dependencies: ["Tensors", "NN", "Models", "Registry", "Configuration", "Service"], swiftSettings: baselineFlags),
        // Executables. The benchmark drivers are periscope-bench, which `periscope bench` runs, so
        // the production binary carries none of them.
        .executableTarget(name: "periscope", dependencies: ["Tensors", "NN", "ONNX", "Models", "Logging", "Registry", "Configuration", "Service", "CommandLineSupport"],
                          swiftSettings: baselineFlags),
        .executableTarget(name: "periscope-bench", dependencies: ["Tensors", "NN", "ONNX", "Models", "Service", "CommandLineSupport"], swiftSettings: baselineFlags),
        .executableTarget(name: "periscope-http-bench", dependencies: ["Logging", "HTTP"], swiftSettings: baselineFlags),
        // Tests.
        .target(name: "TestSupport", dependencies: ["Tensors"], swiftSettings: baselineFlags),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "VectorMath", "KernelsAVX512", "TestSupport"], swiftSettings: baselineFlags),
        .testTarget(name: "NNTests", dependencies: ["NN", "Tensors", "TestSupport"], swiftSettings: baselineFlags),
        .testTarget(name: "ONNXTests", dependencies: ["ONNX", "NN", "Tensors", "TestSupport"], swiftSettings: baselineFlags),
        .testTarget(name: "ModelsTests", dependencies: ["Models", "NN", "Tensors", "TestSupport"], swiftSettings: baselineFlags),
        .testTarget(name: "PeriscopeTests", dependencies: ["periscope", "periscope-bench", "NN", "Registry", "Tensors", "TestSupport"], swiftSettings: baselineFlags),
        .testTarget(name: "LoggingTests", dependencies: ["Logging"], swiftSettings: baselineFlags),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP", "Logging", "periscope-http-bench", "TestSupport"], swiftSettings: baselineFlags),
        .testTarget(name: "RegistryTests", dependencies: ["Registry", "TestSupport"], swiftSettings: baselineFlags),
        .testTarget(name: "ConfigurationTests", dependencies: ["Configuration"], swiftSettings: baselineFlags),
        .testTarget(name: "ServiceTests", dependencies: ["Service", "NN", "Tensors", "Logging", "HTTP", "Models", "Registry", "Configuration", "TestSupport"], swiftSettings: baselineFlags),
    ],
    swiftLanguageModes: [.v6]
)
