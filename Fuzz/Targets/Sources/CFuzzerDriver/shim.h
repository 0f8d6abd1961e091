// libFuzzer's entry point for programs that bring their own main(): linked from
// libclang_rt.fuzzer by `-sanitize=fuzzer` (see Fuzz/README.md for why we need our own main).
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));
