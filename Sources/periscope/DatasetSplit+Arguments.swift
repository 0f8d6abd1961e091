import CommandLineSupport
import Service

extension DatasetSplit {
    /// `--shard-index I --shard-count N`, both or neither; nil for neither.
    static func parse(_ arguments: inout CommandLineArguments) throws -> DatasetSplit? {
        let index = try arguments.integerOption("shard-index"), count = try arguments.integerOption("shard-count")
        switch (index, count) {
        case (nil, nil):
            return nil
        case (.some, nil):
            throw CommandLineError.missingArgument("--shard-count N (--shard-index needs the number of processes the dataset is split into)")
        case (nil, .some):
            throw CommandLineError.missingArgument("--shard-index I (--shard-count needs this process's index, 0 to N-1)")
        case (let index?, let count?):
            guard count >= 1 else {
                throw CommandLineError.invalidValue(option: "shard-count", value: String(count), expected: "a positive number of processes")
            }
            guard (0..<count).contains(index) else {
                throw CommandLineError.invalidValue(option: "shard-index", value: String(index),
                                                    expected: "an index from 0 to \(count - 1) (--shard-count \(count))")
            }
            return DatasetSplit(index: index, count: count)
        }
    }
}
