// XXH32, written from the public xxHash specification (used for LZ4 frame header checksums).
#include "strata_support.h"
#include <string.h>

static const uint32_t P1 = 2654435761u, P2 = 2246822519u, P3 = 3266489917u, P4 = 668265263u, P5 = 374761393u;

static inline uint32_t rotl(uint32_t x, int r) { return (x << r) | (x >> (32 - r)); }
static inline uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; } // little-endian hosts
static inline uint32_t round32(uint32_t acc, uint32_t lane) { acc += lane * P2; acc = rotl(acc, 13); return acc * P1; }

uint32_t strata_xxh32(const void *data, size_t length, uint32_t seed) {
    const uint8_t *p = (const uint8_t *)data, *end = p + length;
    uint32_t h;
    if (length >= 16) {
        uint32_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        const uint8_t *limit = end - 16;
        do {
            v1 = round32(v1, rd32(p)); v2 = round32(v2, rd32(p + 4));
            v3 = round32(v3, rd32(p + 8)); v4 = round32(v4, rd32(p + 12));
            p += 16;
        } while (p <= limit);
        h = rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18);
    } else {
        h = seed + P5;
    }
    h += (uint32_t)length;
    while (p + 4 <= end) { h += rd32(p) * P3; h = rotl(h, 17) * P4; p += 4; }
    while (p < end) { h += (*p++) * P5; h = rotl(h, 11) * P1; }
    h ^= h >> 15; h *= P2; h ^= h >> 13; h *= P3; h ^= h >> 16;
    return h;
}
