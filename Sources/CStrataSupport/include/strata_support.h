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

/// Prefetches the cache line holding `address` (for a read soon; no fault if it is unmapped).
static inline void strata_prefetch_line(const void *address) { __builtin_prefetch(address, 0, 3); }

/// Lowers the calling thread's scheduling priority by `nice` steps (Linux: each thread has
/// its own nice value). Returns 0, or -1 with errno set.
int strata_lower_thread_priority(int nice);

/// Starts writing the file's dirty pages back without waiting (Linux `sync_file_range` with
/// SYNC_FILE_RANGE_WRITE), so a later fsync finds little to do. Returns 0, or -1 with errno.
int strata_start_writeback(int fd);

/// XXH32 of `length` bytes with `seed` (used for LZ4 frame header checksums).
uint32_t strata_xxh32(const void *data, size_t length, uint32_t seed);

/// Unpacks a block of 128 `width`-bit values (0–32, least significant bit first: value i at
/// bits [i·width, (i+1)·width), the layout of Formats/search-segment.md §3) from `src` and
/// writes their running sums from `start`: out[i] = start + v[0] + … + v[i] (128 values).
/// `readable`: how many bytes from `src` may be read, at least 16·width (the vector path reads
/// up to 16 bytes past the block and is used only when they are readable).
/// Returns the smallest of v[1] … v[127], or 0 when a running sum passes UINT32_MAX: a block of
/// strictly increasing document numbers returns a value above 0.
uint32_t strata_unpack128_running(const uint8_t *src, size_t readable, unsigned width, uint32_t start, uint32_t *out);

/// Unpacks a block of 128 `width`-bit values as `strata_unpack128_running` and writes each plus
/// `add` (wrapping): out[i] = v[i] + add.
void strata_unpack128(const uint8_t *src, size_t readable, unsigned width, uint32_t add, uint32_t *out);

/// The scalar versions of the two above, always available (tests compare the paths).
uint32_t strata_unpack128_running_portable(const uint8_t *src, size_t readable, unsigned width, uint32_t start, uint32_t *out);
void strata_unpack128_portable(const uint8_t *src, size_t readable, unsigned width, uint32_t add, uint32_t *out);

/// 1 when the unpackers use the vector (AVX2) path for widths 1–24.
int strata_unpack128_is_vector(void);

#ifdef __cplusplus
}
#endif

#endif
