#ifndef STRATA_SUPPORT_H
#define STRATA_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78) continued from `crc`.
/// Pass 0 to start; the value returned is final (pre- and post-inverted internally),
/// so `strata_crc32c(strata_crc32c(0, a), b)` equals the CRC of a followed by b.
/// Uses the SSE4.2 `crc32` instruction when the CPU has it, a slicing-by-8 table otherwise.
uint32_t strata_crc32c(uint32_t crc, const void *data, size_t length);

/// Portable table-driven CRC-32C, always available (used to cross-check the hardware path).
uint32_t strata_crc32c_portable(uint32_t crc, const void *data, size_t length);

/// 1 when the hardware path is used.
int strata_crc32c_is_hardware(void);

/// Issues prefetches for every cache line of [data, data + length) so a following serial
/// walk over the bytes does not wait for each miss in turn.
static inline void strata_prefetch(const void *data, size_t length) {
    const char *p = (const char *)data;
    for (size_t i = 0; i < length; i += 64) __builtin_prefetch(p + i, 0, 3);
}

/// Lowers the calling thread's scheduling priority by `nice` steps (Linux: each thread has
/// its own nice value). Returns 0, or -1 with errno set.
int strata_lower_thread_priority(int nice);

/// Starts writing the file's dirty pages back without waiting (Linux `sync_file_range` with
/// SYNC_FILE_RANGE_WRITE), so a later fsync finds little to do. Returns 0, or -1 with errno.
int strata_start_writeback(int fd);

/// XXH32 of `length` bytes with `seed` (used for LZ4 frame header checksums).
uint32_t strata_xxh32(const void *data, size_t length, uint32_t seed);

#ifdef __cplusplus
}
#endif

#endif
