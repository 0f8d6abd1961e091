// swift-tools-version: 6.0
// Periscope — a feature-extraction service. No package dependencies: Foundation, Dispatch,
// Glibc, Synchronization and system C libraries only. See ../shared/DESIGN.md for the layers.
import PackageDescription

// CPU baseline. On x86-64 every target is built for x86-64-v3 (AVX2 + FMA + F16C, any server
// CPU since 2013); the AVX-512 kernels live in their own target built for x86-64-v4 and are
// chosen at run time from CPUID. Elsewhere (arm64, …) the portable kernels are used.
// Without an ISA flag `SIMD.addProduct` lowers to a per-lane `fmaf()` call, so these flags
// are not optional for speed.
#if arch(x86_64)
let baselineFlags: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=x86-64-v3"])]
let avx512Flags: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=x86-64-v4"])]
#else
let baselineFlags: [SwiftSetting] = []
let avx512Flags: [SwiftSetting] = []
#endif
let optimize: [SwiftSetting] = [.unsafeFlags(["-Ounchecked"], .when(configuration: .release))]

let package = Package(
    name: "Periscope",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Tensors", targets: ["Tensors"]),
        .library(name: "HTTP", targets: ["HTTP"]),
        .executable(name: "periscope", targets: ["periscope"]),
    ],
    targets: [
        .target(name: "Tensors", swiftSettings: baselineFlags + optimize),
        .executableTarget(name: "periscope", dependencies: ["Tensors"], swiftSettings: baselineFlags + optimize),
        .target(name: "TestSupport", dependencies: ["Tensors"], swiftSettings: baselineFlags),
        .testTarget(name: "TensorsTests", dependencies: ["Tensors", "TestSupport"], swiftSettings: baselineFlags),
        .systemLibrary(name: "CEpoll", path: "Sources/CEpoll"),
        .target(name: "HTTP", dependencies: ["CEpoll"], swiftSettings: baselineFlags + optimize),
        .executableTarget(name: "periscope-http-bench", dependencies: ["HTTP"], swiftSettings: baselineFlags + optimize),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP", "periscope-http-bench"], swiftSettings: baselineFlags),
    ],
    swiftLanguageModes: [.v6]
)
