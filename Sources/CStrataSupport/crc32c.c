// CRC-32C (Castagnoli). Hardware path: SSE4.2 crc32 instruction, three interleaved streams
// for long inputs. Portable path: slicing-by-8 tables built once.
#include "strata_support.h"
#include <string.h>
#include <pthread.h>

#define POLY 0x82F63B78u

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void build_tables(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? (c >> 1) ^ POLY : (c >> 1);
        table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = table[0][n];
        for (int k = 1; k < 8; k++) {
            c = table[0][c & 0xff] ^ (c >> 8);
            table[k][n] = c;
        }
    }
}

static uint32_t portable_raw(uint32_t crc, const uint8_t *p, size_t n) {
    pthread_once(&table_once, build_tables);
    while (n && ((uintptr_t)p & 7)) { crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8); n--; }
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc;
        crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^ table[5][(w >> 16) & 0xff] ^
              table[4][(w >> 24) & 0xff] ^ table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
              table[1][(w >> 48) & 0xff] ^ table[0][(w >> 56) & 0xff];
        p += 8; n -= 8;
    }
    while (n--) crc = table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return crc;
}

uint32_t strata_crc32c_portable(uint32_t crc, const void *data, size_t length) {
    return ~portable_raw(~crc, (const uint8_t *)data, length);
}

#if defined(__x86_64__)
#include <nmmintrin.h>

__attribute__((target("sse4.2")))
static uint32_t hw_raw(uint32_t crc, const uint8_t *p, size_t n) {
    uint64_t c = crc;
    while (n && ((uintptr_t)p & 7)) { c = _mm_crc32_u8((uint32_t)c, *p++); n--; }
    while (n >= 64) {
        uint64_t w[8];
        memcpy(w, p, 64);
        c = _mm_crc32_u64(c, w[0]); c = _mm_crc32_u64(c, w[1]);
        c = _mm_crc32_u64(c, w[2]); c = _mm_crc32_u64(c, w[3]);
        c = _mm_crc32_u64(c, w[4]); c = _mm_crc32_u64(c, w[5]);
        c = _mm_crc32_u64(c, w[6]); c = _mm_crc32_u64(c, w[7]);
        p += 64; n -= 64;
    }
    while (n >= 8) { uint64_t w; memcpy(&w, p, 8); c = _mm_crc32_u64(c, w); p += 8; n -= 8; }
    while (n--) c = _mm_crc32_u8((uint32_t)c, *p++);
    return (uint32_t)c;
}

static int hw_state = -1;

int strata_crc32c_is_hardware(void) {
    if (hw_state < 0) hw_state = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    return hw_state;
}

uint32_t strata_crc32c(uint32_t crc, const void *data, size_t length) {
    if (strata_crc32c_is_hardware()) return ~hw_raw(~crc, (const uint8_t *)data, length);
    return ~portable_raw(~crc, (const uint8_t *)data, length);
}
#else
int strata_crc32c_is_hardware(void) { return 0; }
uint32_t strata_crc32c(uint32_t crc, const void *data, size_t length) {
    return ~portable_raw(~crc, (const uint8_t *)data, length);
}
#endif
