import CommandLineSupport
import Foundation

// `periscope-bench kernels|encode|model …`: the benchmark drivers, apart from the production
// `periscope` binary. People and scripts run them as `periscope bench …`, which runs this
// executable (from its own directory) with the same arguments; so messages name `periscope`.
// Exit code 0 on success, 1 with a one-line message on stderr on failure.

var arguments = CommandLineArguments(Array(CommandLine.arguments.dropFirst()))
do {
    try runBenchCommand(&arguments)
    exit(0)
} catch {
    FileHandle.standardError.write(Data("periscope: \(error)\n".utf8))
    exit(1)
}
