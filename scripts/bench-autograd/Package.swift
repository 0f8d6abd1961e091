// swift-tools-version: 6.0
// A throwaway benchmark: ResNet-18 forward in no-grad mode, built against this repository with and
// without the autograd machinery (`-D PERISCOPE_NO_AUTOGRAD`). Run ../bench-autograd-overhead.
import PackageDescription

let package = Package(
    name: "bench-autograd",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "Periscope", path: "../..")],
    targets: [
        .executableTarget(name: "bench-autograd", dependencies: [.product(name: "NN", package: "Periscope")],
                          swiftSettings: [.unsafeFlags(["-Xcc", "-march=x86-64-v3"])]),
    ],
    swiftLanguageModes: [.v6]
)
