import FuzzDriver

// libFuzzer's driver with this target's `LLVMFuzzerTestOneInput` (see FuzzDriver for why the
// program has its own main).
runLibFuzzer { data, count in fuzz(data, count) }
