import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child process for tests, with the part of `Foundation.Process`'s interface the tests use, started
/// with `posix_spawn` directly.
///
/// Why not `Process`: on Linux, swift-corelibs-foundation's `Process.run()` (Swift 6.3.1) lists
/// `/proc/self/fd` to close the parent's descriptors in the child and copies each directory entry's
/// whole 256-byte `d_name`, reading past glibc's buffer when an entry sits at its end; the test
/// process crashed in that copy (swiftlang/swift-corelibs-foundation#5472), most often under
/// `swift test`'s parallel runs, which keep many descriptors open. Here the child closes every
/// descriptor above the standard three with glibc's `posix_spawn_file_actions_addclosefrom_np`
/// (glibc 2.34), atomically in the child, so no descriptor another thread opens meanwhile (a pipe's
/// write end) leaks into it and keeps a reader from seeing end of file.
///
/// Standard streams as in `Process`: a `Pipe` (the child gets one end, the parent's copy of it is
/// closed after the spawn), a `FileHandle`, or nil for /dev/null; by default the parent's.
/// The exit is collected by a thread of its own, which then calls `terminationHandler`.
public final class ChildProcess: @unchecked Sendable {
    public var executableURL: URL?
    public var arguments: [String] = []
    /// The child's environment; nil: this process's.
    public var environment: [String: String]?
    public var standardInput: Any? = FileHandle.standardInput
    public var standardOutput: Any? = FileHandle.standardOutput
    public var standardError: Any? = FileHandle.standardError
    /// Called on the waiting thread once the child has exited.
    public var terminationHandler: (@Sendable (ChildProcess) -> Void)?

    public private(set) var processIdentifier: pid_t = 0
    private let exit = NSCondition()
    private var status: (code: Int32, signalled: Bool)?

    public init() {}

    public enum Failure: Error, CustomStringConvertible {
        case noExecutable
        case spawn(path: String, errno: Int32)

        public var description: String {
            switch self {
            case .noExecutable: "ChildProcess: executableURL is not set"
            case .spawn(let path, let code): "ChildProcess: cannot start \(path): \(String(cString: strerror(code)))"
            }
        }
    }

    /// Starts the child. Throws when it cannot be started (a missing or non-executable file).
    public func run() throws {
        guard let executable = executableURL?.path else { throw Failure.noExecutable }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var nullDevice: FileHandle?
        func descriptor(_ stream: Any?, reading: Bool) -> Int32? {
            switch stream {
            case let pipe as Pipe: return (reading ? pipe.fileHandleForReading : pipe.fileHandleForWriting).fileDescriptor
            case let handle as FileHandle: return handle.fileDescriptor
            default:
                if nullDevice == nil { nullDevice = FileHandle(forUpdatingAtPath: "/dev/null") }
                return nullDevice?.fileDescriptor
            }
        }
        for (stream, target, reading) in [(standardInput, STDIN_FILENO, true), (standardOutput, STDOUT_FILENO, false),
                                          (standardError, STDERR_FILENO, false)] {
            guard let source = descriptor(stream, reading: reading), source != target else { continue }
            posix_spawn_file_actions_adddup2(&actions, source, target)
        }
        try closeDescriptorsAboveStandardStreams(&actions)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group, as `Process` does: a terminal's Ctrl-C reaches the test runner only.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let environment = self.environment ?? ProcessInfo.processInfo.environment
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw Failure.spawn(path: executable, errno: result) }
        processIdentifier = pid
        // The child has its ends of the pipes; without closing ours, a reader never sees end of file.
        (standardInput as? Pipe)?.fileHandleForReading.closeFile()
        (standardOutput as? Pipe)?.fileHandleForWriting.closeFile()
        (standardError as? Pipe)?.fileHandleForWriting.closeFile()
        let waiter = Thread { [self] in collectExit() }
        waiter.start()
    }

    private func collectExit() {
        var code: Int32 = 0
        while waitpid(processIdentifier, &code, 0) == -1 && errno == EINTR {}
        // WIFSIGNALED / WTERMSIG / WEXITSTATUS, which Swift does not import (macros).
        let signal = code & 0x7f
        exit.lock()
        status = signal != 0 && signal != 0x7f ? (signal, true) : ((code >> 8) & 0xff, false)
        exit.broadcast()
        exit.unlock()
        terminationHandler?(self)
    }

    public var isRunning: Bool {
        exit.lock()
        defer { exit.unlock() }
        return processIdentifier != 0 && status == nil
    }

    /// Blocks until the child has exited.
    public func waitUntilExit() {
        exit.lock()
        while status == nil { exit.wait() }
        exit.unlock()
    }

    /// The exit status, or the signal that ended the child. Only after it exited.
    public var terminationStatus: Int32 {
        exit.lock()
        defer { exit.unlock() }
        precondition(status != nil, "ChildProcess: terminationStatus read while the child runs")
        return status!.code
    }

    public var terminationReason: Process.TerminationReason {
        exit.lock()
        defer { exit.unlock() }
        precondition(status != nil, "ChildProcess: terminationReason read while the child runs")
        return status!.signalled ? .uncaughtSignal : .exit
    }

    /// Sends SIGTERM.
    public func terminate() {
        if processIdentifier != 0 { kill(processIdentifier, SIGTERM) }
    }
}

/// glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34), which Swift's Glibc module does not import.
private func closeDescriptorsAboveStandardStreams(_ actions: inout posix_spawn_file_actions_t) throws {
    typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else {
        preconditionFailure("ChildProcess: glibc 2.34 or later is needed (posix_spawn_file_actions_addclosefrom_np)")
    }
    let addCloseFrom = unsafeBitCast(symbol, to: AddCloseFrom.self)
    let result = addCloseFrom(&actions, 3)
    guard result == 0 else { throw ChildProcess.Failure.spawn(path: "posix_spawn_file_actions_addclosefrom_np", errno: result) }
}
