#ifndef STRATA_FUZZ_SUPPORT_H
#define STRATA_FUZZ_SUPPORT_H
#include <stddef.h>
#include <stdint.h>

/// libFuzzer's driver entry point (present only in -sanitize=fuzzer builds).
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*UserCb)(const uint8_t *Data, size_t Size));

/// Sets the callback LLVMFuzzerTestOneInput forwards to (call before fuzzing starts).
void strata_fuzz_set_callback(int (*cb)(const uint8_t *Data, size_t Size));
#endif
