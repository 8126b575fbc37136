// libFuzzer's runtime references LLVMFuzzerTestOneInput even when the driver is started via
// LLVMFuzzerRunDriver; this definition forwards to the Swift callback.
#include "strata_fuzz_support.h"

static int (*strata_fuzz_callback)(const uint8_t *Data, size_t Size) = 0;

void strata_fuzz_set_callback(int (*cb)(const uint8_t *Data, size_t Size)) { strata_fuzz_callback = cb; }

int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size) {
    return strata_fuzz_callback ? strata_fuzz_callback(Data, Size) : 0;
}
