// Unpacking of 128-value bit-packed blocks (Formats/search-segment.md §3: value i occupies bits
// [i·w, (i+1)·w) of the block, least significant bit first, 16·w bytes in all).
//
// Vector path (AVX2, widths 1–24): eight values per step. Each 128-bit lane of a 256-bit
// register holds 16 bytes of the block — the low lane from the group's first byte, the high
// lane from the byte where its fifth value starts — so a byte shuffle can bring each value's
// four bytes together, a per-lane variable shift drops the bits before it and a mask those
// after. Running sums are in-lane shifted adds plus the low lane's total carried into the high
// one. Scalar path: every other width, CPUs without AVX2, and blocks too close to the end of
// the readable bytes for the vector loads (they may reach 16 bytes past the block).
#include "strata_support.h"
#include <pthread.h>
#include <string.h>

static inline uint64_t load_window(const uint8_t *src, size_t block_bytes, size_t readable, size_t byte) {
    uint64_t w = 0;
    if (byte + 8 <= readable) {
        memcpy(&w, src + byte, 8);
    } else {
        for (size_t k = 0; byte + k < block_bytes && k < 8; k++) w |= (uint64_t)src[byte + k] << (8 * k);
    }
    return w;
}

static inline uint32_t value_at(const uint8_t *src, size_t block_bytes, size_t readable, unsigned width, unsigned i) {
    if (width == 0) return 0;
    size_t bit = (size_t)i * width;
    uint64_t w = load_window(src, block_bytes, readable, bit >> 3) >> (bit & 7);
    uint64_t mask = width == 32 ? 0xFFFFFFFFull : ((1ull << width) - 1);
    return (uint32_t)(w & mask);
}

uint32_t strata_unpack128_running_portable(const uint8_t *src, size_t readable, unsigned width, uint32_t start, uint32_t *out) {
    size_t block_bytes = 16 * (size_t)width;
    uint64_t acc = start;
    uint32_t least = UINT32_MAX;
    for (unsigned i = 0; i < 128; i++) {
        uint32_t v = value_at(src, block_bytes, readable, width, i);
        if (i > 0 && v < least) least = v;
        acc += v;
        out[i] = (uint32_t)acc;
    }
    return acc > UINT32_MAX ? 0 : least;
}

void strata_unpack128_portable(const uint8_t *src, size_t readable, unsigned width, uint32_t add, uint32_t *out) {
    size_t block_bytes = 16 * (size_t)width;
    for (unsigned i = 0; i < 128; i++) out[i] = value_at(src, block_bytes, readable, width, i) + add;
}

#if defined(__x86_64__)
#include <immintrin.h>

// Per width 1–24: the byte shuffle and the shifts that isolate a group's eight values.
static uint8_t shuffles[25][32] __attribute__((aligned(32)));
static uint32_t shifts[25][8] __attribute__((aligned(32)));
static int has_avx2;
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void build_tables(void) {
    for (unsigned w = 1; w <= 24; w++) {
        unsigned high_lane_start = (4 * w) >> 3;   // byte of the group where the high lane is loaded
        for (unsigned j = 0; j < 8; j++) {
            unsigned bit = j * w - (j < 4 ? 0 : 8 * high_lane_start);   // bit in its lane
            for (unsigned k = 0; k < 4; k++) shuffles[w][(j < 4 ? 0 : 16) + 4 * (j & 3) + k] = (uint8_t)((bit >> 3) + k);
            shifts[w][j] = bit & 7;
        }
    }
    __builtin_cpu_init();
    has_avx2 = __builtin_cpu_supports("avx2");
}

static int tables_ready;

static inline int vector_path(size_t readable, unsigned width) {
    if (!__atomic_load_n(&tables_ready, __ATOMIC_ACQUIRE)) {
        pthread_once(&tables_once, build_tables);
        __atomic_store_n(&tables_ready, 1, __ATOMIC_RELEASE);
    }
    return has_avx2 && width >= 1 && width <= 24 && readable >= 16 * (size_t)width + 16;
}

__attribute__((target("avx2")))
static inline __m256i group(const uint8_t *p, unsigned width, __m256i shuffle, __m256i shift, __m256i mask) {
    __m128i low = _mm_loadu_si128((const __m128i *)p);
    __m128i high = _mm_loadu_si128((const __m128i *)(p + ((4 * width) >> 3)));
    __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(low), high, 1);
    v = _mm256_shuffle_epi8(v, shuffle);
    return _mm256_and_si256(_mm256_srlv_epi32(v, shift), mask);
}

__attribute__((target("avx2")))
static uint32_t running_avx2(const uint8_t *src, unsigned width, uint32_t start, uint32_t *out) {
    const __m256i shuffle = _mm256_load_si256((const __m256i *)shuffles[width]);
    const __m256i shift = _mm256_load_si256((const __m256i *)shifts[width]);
    const __m256i mask = _mm256_set1_epi32((int)((1u << width) - 1));
    const __m256i base = _mm256_set1_epi32((int)start);
    const __m256i last = _mm256_set1_epi32(7), third = _mm256_set1_epi32(3);
    __m256i carry = _mm256_setzero_si256();
    // The first value is not a gap between two postings: keep it out of the minimum.
    __m256i least = _mm256_set1_epi32(-1);
    for (unsigned g = 0; g < 16; g++) {
        __m256i v = group(src + g * width, width, shuffle, shift, mask);
        least = _mm256_min_epu32(least, g == 0 ? _mm256_or_si256(v, _mm256_setr_epi32(-1, 0, 0, 0, 0, 0, 0, 0)) : v);
        __m256i x = _mm256_add_epi32(v, _mm256_slli_si256(v, 4));
        x = _mm256_add_epi32(x, _mm256_slli_si256(x, 8));
        x = _mm256_add_epi32(x, _mm256_blend_epi32(_mm256_setzero_si256(), _mm256_permutevar8x32_epi32(x, third), 0xF0));
        x = _mm256_add_epi32(x, carry);
        carry = _mm256_permutevar8x32_epi32(x, last);
        _mm256_storeu_si256((__m256i *)(out + 8 * g), _mm256_add_epi32(x, base));
    }
    // 128 values below 2^24 sum below 2^31: the carry itself never wraps.
    uint32_t total = (uint32_t)_mm256_extract_epi32(carry, 0);
    __m128i m = _mm_min_epu32(_mm256_castsi256_si128(least), _mm256_extracti128_si256(least, 1));
    m = _mm_min_epu32(m, _mm_shuffle_epi32(m, 0x4E));
    m = _mm_min_epu32(m, _mm_shuffle_epi32(m, 0xB1));
    uint32_t smallest = (uint32_t)_mm_cvtsi128_si32(m);
    return (uint64_t)start + total > UINT32_MAX ? 0 : smallest;
}

__attribute__((target("avx2")))
static void plain_avx2(const uint8_t *src, unsigned width, uint32_t add, uint32_t *out) {
    const __m256i shuffle = _mm256_load_si256((const __m256i *)shuffles[width]);
    const __m256i shift = _mm256_load_si256((const __m256i *)shifts[width]);
    const __m256i mask = _mm256_set1_epi32((int)((1u << width) - 1));
    const __m256i plus = _mm256_set1_epi32((int)add);
    for (unsigned g = 0; g < 16; g++) {
        __m256i v = group(src + g * width, width, shuffle, shift, mask);
        _mm256_storeu_si256((__m256i *)(out + 8 * g), _mm256_add_epi32(v, plus));
    }
}

uint32_t strata_unpack128_running(const uint8_t *src, size_t readable, unsigned width, uint32_t start, uint32_t *out) {
    if (vector_path(readable, width)) return running_avx2(src, width, start, out);
    return strata_unpack128_running_portable(src, readable, width, start, out);
}

void strata_unpack128(const uint8_t *src, size_t readable, unsigned width, uint32_t add, uint32_t *out) {
    if (vector_path(readable, width)) { plain_avx2(src, width, add, out); return; }
    strata_unpack128_portable(src, readable, width, add, out);
}

int strata_unpack128_is_vector(void) {
    pthread_once(&tables_once, build_tables);
    return has_avx2;
}

#else

uint32_t strata_unpack128_running(const uint8_t *src, size_t readable, unsigned width, uint32_t start, uint32_t *out) {
    return strata_unpack128_running_portable(src, readable, width, start, out);
}

void strata_unpack128(const uint8_t *src, size_t readable, unsigned width, uint32_t add, uint32_t *out) {
    strata_unpack128_portable(src, readable, width, add, out);
}

int strata_unpack128_is_vector(void) { return 0; }

#endif
