import CommandLineSupport
import Foundation

// `periscope <command> …`: exit code 0 on success, 1 with a one-line message on stderr on failure.

/// A subcommand: its name, a one-line usage, and how it runs.
struct Subcommand {
    let name: String
    let usage: String
    let run: (inout CommandLineArguments) throws -> Void
}

/// Every subcommand, in the order `periscope help` lists them. One file per command adds itself here.
let subcommands: [Subcommand] = [
    Subcommand(name: "bench", usage: BenchCommand.usage, run: BenchCommand.run),
    Subcommand(name: "models", usage: ModelsCommand.usage, run: ModelsCommand.run),
    Subcommand(name: "extract", usage: ExtractCommand.usage, run: ExtractCommand.run),
    Subcommand(name: "extract-merge", usage: ExtractMergeCommand.usage, run: ExtractMergeCommand.run),
    Subcommand(name: "attribute", usage: AttributeCommand.usage, run: AttributeCommand.run),
    Subcommand(name: "serve", usage: ServeCommand.usage, run: ServeCommand.run),
    Subcommand(name: "layers", usage: LayersCommand.usage, run: LayersCommand.run),
    Subcommand(name: "onnx-run", usage: ONNXRunCommand.usage, run: ONNXRunCommand.run),
]

@MainActor func printUsage() {
    var text = "usage: periscope <command> [options]\n\ncommands:\n"
    for command in subcommands { text += "  \(command.usage)\n" }
    FileHandle.standardError.write(Data(text.utf8))
}

var words = Array(CommandLine.arguments.dropFirst())
guard let name = words.first, name != "help", name != "--help" else {
    printUsage()
    exit(words.isEmpty ? 1 : 0)
}
words.removeFirst()
do {
    guard let command = subcommands.first(where: { $0.name == name }) else { throw CommandLineError.unknownCommand(name) }
    var arguments = CommandLineArguments(words)
    try command.run(&arguments)
    exit(0)
} catch {
    FileHandle.standardError.write(Data("periscope: \(error)\n".utf8))
    exit(1)
}
