/*
 * The C API test suite: every function of strata.h and every documented result code it can
 * produce here, misuse of every kind (NULL, closed, freed, foreign and wrong-kind handles,
 * invalid UTF-8, absurd lengths), and the two-process case (a writer appends while a
 * read-only reader tails and searches). Built with -std=c11 -pedantic -Wall -Wextra -Werror,
 * run plain, under AddressSanitizer and under valgrind (scripts/test-c.sh).
 *
 * Usage: test_strata WORKDIR
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "strata.h"

static int failures = 0, checks = 0;
static const char *work;
static const char *self_path; /* argv[0]: children are fresh processes of this program */

#define CHECK(cond) do { checks++; if (!(cond)) { failures++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } } while (0)
#define RC(call, expected) do { int rc_ = (call); checks++; if (rc_ != (expected)) { failures++; \
    fprintf(stderr, "%s:%d: %s returned %d (%s), expected %d (%s)\n", __FILE__, __LINE__, #call, rc_, strata_errstr(rc_), (int)(expected), strata_errstr(expected)); } } while (0)
#define PRIMARY(call, expected) do { int rc_ = (call); checks++; if ((rc_ & 0xff) != (expected)) { failures++; \
    fprintf(stderr, "%s:%d: %s returned %d (%s), expected primary %d (%s)\n", __FILE__, __LINE__, #call, rc_, strata_errstr(rc_), (int)(expected), strata_errstr(expected)); } } while (0)

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* Whether `needle` occurs in the `n` bytes at `hay`. */
static int contains(const void *hay, size_t n, const char *needle) {
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++) if (memcmp((const char *)hay + i, needle, m) == 0) return 1;
    return 0;
}

static char *path(const char *name) {
    static char buf[8][4096];
    static int next = 0;
    char *p = buf[next++ % 8];
    snprintf(p, 4096, "%s/%s", work, name);
    return p;
}

static strata_options *opts(const char *k1, const char *v1, const char *k2, const char *v2) {
    strata_options *o = NULL;
    RC(strata_options_new(&o), STRATA_OK);
    if (k1) RC(strata_options_set(o, k1, v1), STRATA_OK);
    if (k2) RC(strata_options_set(o, k2, v2), STRATA_OK);
    return o;
}

/* Creates `topic` with `codec`, appends 200 records, reads them back through a cursor and
 * checks the topic's description names the codec. */
static void codec_round_trip(strata *db, const char *topic, const char *codec) {
    strata_options *o = opts("compression", codec, NULL, NULL);
    RC(strata_topic_create(db, topic, o), STRATA_OK);
    strata_options_free(o);
    strata_batch *b = NULL;
    RC(strata_batch_new(&b), STRATA_OK);
    for (int i = 0; i < 200; i++) {
        char v[64];
        int n = snprintf(v, sizeof v, "%s record %d of a compressible topic", codec, i);
        RC(strata_batch_add(b, NULL, 0, v, (size_t)n, 1790000000000LL + i), STRATA_OK);
    }
    RC(strata_append(db, topic, 0, b), STRATA_OK);
    strata_batch_free(b);
    strata_cursor *c = NULL;
    RC(strata_cursor_open(db, topic, 0, STRATA_EARLIEST, &c), STRATA_OK);
    strata_record r;
    int count = 0;
    while (strata_cursor_next(c, &r) == STRATA_ROW) {
        char v[64];
        int n = snprintf(v, sizeof v, "%s record %d of a compressible topic", codec, count);
        CHECK(r.offset == count && r.value_len == (size_t)n && memcmp(r.value, v, (size_t)n) == 0);
        count++;
    }
    CHECK(count == 200);
    strata_cursor_close(c);
    char *json = NULL, want[64];
    snprintf(want, sizeof want, "\"compression\":\"%s\"", codec);
    RC(strata_topic_describe(db, topic, &json), STRATA_OK);
    CHECK(json && strstr(json, want));
    strata_free(json);
}


static strata *open_store(const char *dir, int read_only) {
    strata_options *o = opts("refresh_interval_ms", "20", read_only ? "read_only" : NULL, "true");
    strata *db = NULL;
    char *err = NULL;
    int rc = strata_open(dir, o, &db, &err);
    if (rc != STRATA_OK) fprintf(stderr, "open %s: %d %s\n", dir, rc, err ? err : "");
    CHECK(rc == STRATA_OK && db != NULL && err == NULL);
    strata_free(err);
    strata_options_free(o);
    return db;
}

/* A writable store at `dir` with topic `topic` created with one option (`key` NULL: none). */
static strata *store_with_topic(const char *dir, const char *topic, const char *key, const char *value) {
    strata *db = open_store(dir, 0);
    strata_options *o = key ? opts(key, value, NULL, NULL) : NULL;
    RC(strata_topic_create(db, topic, o), STRATA_OK);
    strata_options_free(o);
    return db;
}

static void test_version_and_codes(void) {
    CHECK(strcmp(strata_libversion(), STRATA_VERSION) == 0);
    CHECK(strata_libversion_number() == STRATA_VERSION_NUMBER);
    int codes[] = {STRATA_OK, STRATA_ERROR, STRATA_MISUSE, STRATA_NOTFOUND, STRATA_EXISTS, STRATA_IOERR, STRATA_CORRUPT, STRATA_BUSY,
                   STRATA_RANGE, STRATA_QUERY, STRATA_FULL, STRATA_INVALID, STRATA_TOOBIG, STRATA_UNSUPPORTED, STRATA_TIMEOUT,
                   STRATA_READONLY, STRATA_ROW, STRATA_DONE, STRATA_MISUSE_NULL, STRATA_MISUSE_HANDLE, STRATA_MISUSE_CLOSED,
                   STRATA_IOERR_PERMISSION, STRATA_IOERR_NOENT, STRATA_CORRUPT_CRC, STRATA_CORRUPT_DECOMPRESS, STRATA_QUERY_SYNTAX,
                   STRATA_QUERY_FIELD, STRATA_INVALID_NAME, STRATA_INVALID_JSON, STRATA_INVALID_OPTION};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = strata_errstr(codes[i]);
        CHECK(s != NULL && strlen(s) > 0 && strcmp(s, "unknown result code") != 0);
    }
    CHECK(strcmp(strata_errstr(12345), "unknown result code") == 0);
    CHECK((STRATA_CORRUPT_CRC & 0xff) == STRATA_CORRUPT && (STRATA_QUERY_SYNTAX & 0xff) == STRATA_QUERY);
    strata_free(NULL);
}

static void test_options(void) {
    strata_options *o = NULL;
    RC(strata_options_new(NULL), STRATA_MISUSE_NULL);
    RC(strata_options_new(&o), STRATA_OK);
    RC(strata_options_set(o, "a", "1"), STRATA_OK);
    RC(strata_options_set(o, "a", "2"), STRATA_OK);
    RC(strata_options_set(o, NULL, "1"), STRATA_MISUSE_NULL);
    RC(strata_options_set(o, "a", NULL), STRATA_MISUSE_NULL);
    RC(strata_options_set(o, "\xff\xfe", "x"), STRATA_INVALID);
    RC(strata_options_set(NULL, "a", "1"), STRATA_MISUSE_HANDLE);
    RC(strata_options_free(o), STRATA_OK);
    RC(strata_options_free(o), STRATA_MISUSE_HANDLE);         /* double free */
    RC(strata_options_set(o, "a", "1"), STRATA_MISUSE_HANDLE); /* use after free */
    RC(strata_options_free(NULL), STRATA_OK);
}

static void test_open_errors(void) {
    strata *db = (strata *)0x1;
    char *err = NULL;
    RC(strata_open(NULL, NULL, &db, &err), STRATA_MISUSE_NULL);
    CHECK(db == NULL && err != NULL && strstr(err, "path") != NULL);
    strata_free(err);
    RC(strata_open(path("x"), NULL, NULL, NULL), STRATA_MISUSE_NULL);
    strata_options *o = opts("no_such_option", "1", NULL, NULL);
    err = NULL;
    RC(strata_open(path("opt"), o, &db, &err), STRATA_INVALID_OPTION);
    CHECK(db == NULL && err && strstr(err, "no_such_option"));
    strata_free(err);
    strata_options_free(o);
    o = opts("refresh_interval_ms", "soon", NULL, NULL);
    RC(strata_open(path("opt"), o, &db, NULL), STRATA_INVALID_OPTION);
    strata_options_free(o);
    o = opts("read_only", "true", NULL, NULL);
    RC(strata_open(path("nothing-here"), o, &db, NULL), STRATA_NOTFOUND);
    strata_options_free(o);
    /* A path below a regular file cannot be created: an I/O error. */
    FILE *f = fopen(path("plainfile"), "w");
    fputs("x", f);
    fclose(f);
    PRIMARY(strata_open(path("plainfile/store"), NULL, &db, NULL), STRATA_IOERR);
    CHECK(db == NULL);
}

static void test_topics_and_appends(strata *db) {
    char *json = NULL;
    strata_options *o = opts("partitions", "3", "compression", "lz4");
    RC(strata_topic_create(db, "events", o), STRATA_OK);
    RC(strata_topic_create(db, "events", o), STRATA_OK); /* same settings: fine */
    strata_options_free(o);
    o = opts("partitions", "5", NULL, NULL);
    RC(strata_topic_create(db, "events", o), STRATA_EXISTS);
    CHECK(strstr(strata_errmsg(db), "partitions 3, not 5") != NULL);
    CHECK(strata_errcode(db) == STRATA_EXISTS);
    strata_options_free(o);
    RC(strata_topic_create(db, "bad/name", NULL), STRATA_INVALID_NAME);
    RC(strata_topic_create(db, "\xc3\x28", NULL), STRATA_INVALID);  /* invalid UTF-8 */
    RC(strata_topic_create(db, NULL, NULL), STRATA_MISUSE_NULL);
    o = opts("partitions", "zero", NULL, NULL);
    RC(strata_topic_create(db, "t2", o), STRATA_INVALID_OPTION);
    strata_options_free(o);
    o = opts("colour", "blue", NULL, NULL);
    RC(strata_topic_create(db, "t2", o), STRATA_INVALID_OPTION);
    CHECK(strstr(strata_errmsg(db), "colour") != NULL);
    strata_options_free(o);
    o = opts("cleanup_policy", "compact", "flush", "every-batch");
    RC(strata_topic_create(db, "users", o), STRATA_OK);
    strata_options_free(o);
    o = opts("retention_ms", "3600000", "flush", "interval:100:50");
    RC(strata_topic_create(db, "small", o), STRATA_OK);
    strata_options_free(o);
    /* zstd (Kafka's codec 4) and snappy (codec 2): written and read back. */
    codec_round_trip(db, "zs", "zstd");
    codec_round_trip(db, "sn", "snappy");
    {   /* An unknown codec is refused as an option, naming the ones there are. */
        o = opts("compression", "brotli", NULL, NULL);
        RC(strata_topic_create(db, "br", o), STRATA_INVALID_OPTION);
        CHECK(strstr(strata_errmsg(db), "snappy") != NULL);
        strata_options_free(o);
    }
    RC(strata_topic_list(db, &json), STRATA_OK);
    CHECK(json && strcmp(json, "[\"events\",\"small\",\"sn\",\"users\",\"zs\"]") == 0);
    strata_free(json);
    RC(strata_topic_list(db, NULL), STRATA_MISUSE_NULL);
    RC(strata_topic_describe(db, "events", &json), STRATA_OK);
    CHECK(json && strstr(json, "\"compression\":\"lz4\"") && strstr(json, "\"partition\":2"));
    strata_free(json);
    json = (char *)0x1;
    RC(strata_topic_describe(db, "missing", &json), STRATA_NOTFOUND);
    CHECK(json == NULL);

    strata_batch *b = NULL;
    size_t n = 99;
    RC(strata_batch_new(NULL), STRATA_MISUSE_NULL);
    RC(strata_batch_new(&b), STRATA_OK);
    RC(strata_append(db, "events", 0, b), STRATA_INVALID); /* empty */
    RC(strata_batch_add_header(b, "h", "v", 1), STRATA_MISUSE); /* no record yet */
    for (int i = 0; i < 30; i++) {
        char key[16], value[64];
        snprintf(key, sizeof key, "k%d", i % 4);
        snprintf(value, sizeof value, "{\"n\":%d,\"msg\":\"disk %s on node-%d\"}", i, i % 3 == 0 ? "failure" : "ok", i % 4);
        RC(strata_batch_add(b, key, strlen(key), value, strlen(value), 1790000000000LL + i), STRATA_OK);
    }
    RC(strata_batch_add_header(b, "trace", "abc", 3), STRATA_OK);
    RC(strata_batch_add_header(b, "null-header", NULL, 0), STRATA_OK);
    RC(strata_batch_add(b, NULL, 0, NULL, 0, STRATA_TIMESTAMP_NOW), STRATA_OK); /* null key, null value */
    RC(strata_batch_add(b, NULL, 5, "x", 1, 0), STRATA_INVALID);                 /* NULL with a length */
    RC(strata_batch_add(b, "k", (size_t)-1, "x", 1, 0), STRATA_INVALID);          /* absurd length */
    RC(strata_batch_add(b, NULL, 0, "x", 1, -5), STRATA_INVALID);                 /* a negative timestamp */
    RC(strata_batch_add_header(b, NULL, "v", 1), STRATA_MISUSE_NULL);
    RC(strata_batch_count(b, &n), STRATA_OK);
    CHECK(n == 31);
    RC(strata_batch_count(b, NULL), STRATA_MISUSE_NULL);
    int32_t part = -9;
    int64_t off = -9;
    RC(strata_batch_result(b, 0, &part, &off), STRATA_RANGE); /* no append yet */
    RC(strata_append(db, "events", 1, b), STRATA_OK);
    RC(strata_batch_result(b, 30, &part, &off), STRATA_OK);
    CHECK(part == 1 && off == 30);
    RC(strata_batch_result(b, 31, &part, &off), STRATA_RANGE);
    o = opts("partitions", "3", NULL, NULL);
    RC(strata_topic_create(db, "keyed", o), STRATA_OK);
    strata_options_free(o);
    RC(strata_append(db, "keyed", STRATA_PARTITION_BY_KEY, b), STRATA_OK);
    /* Records of one key land in one partition, in order; offsets count per partition. */
    int64_t seen_in[3] = {0, 0, 0};
    int32_t key_part[4] = {-1, -1, -1, -1};
    for (size_t i = 0; i < 31; i++) {
        RC(strata_batch_result(b, i, &part, &off), STRATA_OK);
        CHECK(part >= 0 && part < 3 && off == seen_in[part]);
        seen_in[part]++;
        if (i < 30) {
            if (key_part[i % 4] < 0) key_part[i % 4] = part;
            CHECK(key_part[i % 4] == part);
        }
    }
    RC(strata_append(db, "missing", 0, b), STRATA_NOTFOUND);
    RC(strata_append(db, "events", 7, b), STRATA_NOTFOUND);
    RC(strata_append(db, "events", -5, b), STRATA_RANGE);
    RC(strata_append(db, "events", 0, NULL), STRATA_MISUSE_HANDLE);
    RC(strata_batch_clear(b), STRATA_OK);
    RC(strata_batch_count(b, &n), STRATA_OK);
    CHECK(n == 0);
    /* A record larger than a batch may be. */
    size_t big = 2u << 20;
    unsigned char *huge = malloc(big);
    uint32_t x = 12345;
    for (size_t i = 0; i < big; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; huge[i] = (unsigned char)x; } /* incompressible */
    RC(strata_batch_add(b, NULL, 0, huge, big, 0), STRATA_OK);
    RC(strata_append(db, "events", 0, b), STRATA_TOOBIG);
    free(huge);
    RC(strata_batch_free(b), STRATA_OK);
    RC(strata_batch_free(b), STRATA_MISUSE_HANDLE);
    RC(strata_batch_clear(b), STRATA_MISUSE_HANDLE);
    RC(strata_batch_free(NULL), STRATA_OK);
}

static void test_cursors_and_groups(strata *db) {
    strata_cursor *c = NULL;
    strata_record r;
    RC(strata_cursor_open(db, "events", 1, STRATA_EARLIEST, &c), STRATA_OK);
    RC(strata_cursor_header(c, 0, NULL, NULL, NULL, NULL), STRATA_MISUSE); /* no record yet */
    int rows = 0, with_headers = 0;
    int rc;
    while ((rc = strata_cursor_next(c, &r)) == STRATA_ROW) {
        CHECK(r.partition == 1 && r.offset == rows);
        if (r.offset < 30) {
            CHECK(r.key != NULL && r.key_len == 2 && memcmp(r.key, "k", 1) == 0);
            CHECK(r.value != NULL && r.value_len > 10 && memcmp(r.value, "{\"n\":", 5) == 0);
            CHECK(r.timestamp == 1790000000000LL + r.offset);
        }
        if (r.header_count == 2) {
            const char *k; size_t kl; const void *v; size_t vl;
            RC(strata_cursor_header(c, 0, &k, &kl, &v, &vl), STRATA_OK);
            CHECK(kl == 5 && memcmp(k, "trace", 5) == 0 && vl == 3 && memcmp(v, "abc", 3) == 0);
            RC(strata_cursor_header(c, 1, &k, &kl, &v, &vl), STRATA_OK);
            CHECK(kl == 11 && v == NULL);
            RC(strata_cursor_header(c, 2, &k, &kl, &v, &vl), STRATA_RANGE);
            with_headers++;
        }
        if (r.offset == 30) CHECK(r.key == NULL && r.value == NULL);
        rows++;
    }
    RC(rc, STRATA_DONE);
    CHECK(rows == 31 && with_headers == 1);
    int64_t pos = -1;
    RC(strata_cursor_position(c, &pos), STRATA_OK);
    CHECK(pos == 31);
    RC(strata_cursor_position(c, NULL), STRATA_MISUSE_NULL);
    RC(strata_cursor_wait(c, 30), STRATA_TIMEOUT);
    RC(strata_cursor_seek(c, 5), STRATA_OK);
    RC(strata_cursor_next(c, &r), STRATA_ROW);
    CHECK(r.offset == 5);
    /* The cursor reads a batch's records ahead: position, wait and seek see through that. */
    RC(strata_cursor_position(c, &pos), STRATA_OK);
    CHECK(pos == 6);
    RC(strata_cursor_wait(c, 0), STRATA_OK);
    RC(strata_cursor_seek(c, 2), STRATA_OK);
    RC(strata_cursor_position(c, &pos), STRATA_OK);
    CHECK(pos == 2);
    RC(strata_cursor_next(c, &r), STRATA_ROW);
    CHECK(r.offset == 2 && r.key_len == 2 && memcmp(r.key, "k2", 2) == 0);
    RC(strata_cursor_seek(c, 29), STRATA_OK);
    RC(strata_cursor_next(c, &r), STRATA_ROW);
    CHECK(r.offset == 29 && r.header_count == 2);
    {
        const char *k; size_t kl; const void *v; size_t vl;
        RC(strata_cursor_header(c, 0, &k, &kl, &v, &vl), STRATA_OK);
        CHECK(kl == 5 && memcmp(k, "trace", 5) == 0);
    }
    RC(strata_cursor_next(c, &r), STRATA_ROW);
    CHECK(r.offset == 30 && r.header_count == 0);
    RC(strata_cursor_header(c, 0, NULL, NULL, NULL, NULL), STRATA_RANGE);
    /* read_committed from the middle of a read-ahead run: the same records (nothing here is
     * transactional), from the cursor's position; an unknown level is misuse. */
    RC(strata_cursor_seek(c, 3), STRATA_OK);
    RC(strata_cursor_next(c, &r), STRATA_ROW);
    CHECK(r.offset == 3);
    RC(strata_cursor_set_isolation(c, STRATA_READ_COMMITTED), STRATA_OK);
    RC(strata_cursor_position(c, &pos), STRATA_OK);
    CHECK(pos == 4);
    rows = 0;
    while (strata_cursor_next(c, &r) == STRATA_ROW) { CHECK(r.offset == 4 + rows); rows++; }
    CHECK(rows == 27);
    RC(strata_cursor_wait(c, 20), STRATA_TIMEOUT);
    RC(strata_cursor_set_isolation(c, 2), STRATA_MISUSE);
    CHECK(strstr(strata_cursor_errmsg(c), "STRATA_READ_COMMITTED") != NULL);
    RC(strata_cursor_set_isolation(c, STRATA_READ_UNCOMMITTED), STRATA_OK);
    RC(strata_cursor_seek(c, 999), STRATA_RANGE);
    CHECK(strstr(strata_cursor_errmsg(c), "out of range") != NULL);
    RC(strata_cursor_next(c, NULL), STRATA_MISUSE_NULL);
    RC(strata_cursor_close(c), STRATA_OK);
    RC(strata_cursor_close(c), STRATA_MISUSE_HANDLE);
    RC(strata_cursor_next(c, &r), STRATA_MISUSE_HANDLE);
    CHECK(strata_cursor_errmsg(c) != NULL);
    RC(strata_cursor_close(NULL), STRATA_OK);

    c = (strata_cursor *)0x1;
    RC(strata_cursor_open(db, "events", 1, 500, &c), STRATA_RANGE);
    CHECK(c == NULL);
    RC(strata_cursor_open(db, "events", 1, -7, &c), STRATA_RANGE);
    RC(strata_cursor_open(db, "events", 9, STRATA_EARLIEST, &c), STRATA_NOTFOUND);
    RC(strata_cursor_open(db, "nope", 0, STRATA_EARLIEST, &c), STRATA_NOTFOUND);
    RC(strata_cursor_open(db, "events", 1, STRATA_EARLIEST, NULL), STRATA_MISUSE_NULL);
    RC(strata_cursor_open_time(db, "events", 1, 1790000000020LL, &c), STRATA_OK);
    RC(strata_cursor_next(c, &r), STRATA_ROW);
    CHECK(r.offset == 20);
    /* Tailing: a record appended after the cursor reached the end wakes the wait. */
    RC(strata_cursor_seek(c, 31), STRATA_OK);
    strata_batch *b = NULL;
    RC(strata_batch_new(&b), STRATA_OK);
    RC(strata_batch_add(b, NULL, 0, "tail", 4, STRATA_TIMESTAMP_NOW), STRATA_OK);
    RC(strata_append(db, "events", 1, b), STRATA_OK);
    RC(strata_cursor_wait(c, 1000), STRATA_OK);
    RC(strata_cursor_next(c, &r), STRATA_ROW);
    CHECK(r.value_len == 4 && memcmp(r.value, "tail", 4) == 0);
    RC(strata_cursor_close(c), STRATA_OK);
    strata_batch_free(b);

    int64_t o = 0;
    RC(strata_group_fetch(db, "billing", "events", 1, &o), STRATA_NOTFOUND);
    RC(strata_group_commit(db, "billing", "events", 1, 12, "meta"), STRATA_OK);
    RC(strata_group_commit(db, "billing", "events", 1, 10, NULL), STRATA_OK);
    RC(strata_group_fetch(db, "billing", "events", 1, &o), STRATA_OK);
    CHECK(o == 10);
    RC(strata_group_commit(db, "billing", "events", 1, 5000, NULL), STRATA_RANGE);
    RC(strata_group_commit(db, "billing", "nope", 0, 0, NULL), STRATA_NOTFOUND);
    /* Any group id is fine (Kafka's rule): it is escaped into its file name. */
    RC(strata_group_commit(db, "../escape", "events", 1, 3, NULL), STRATA_OK);
    RC(strata_group_fetch(db, "../escape", "events", 1, &o), STRATA_OK);
    CHECK(o == 3 && access(path("main/escape.offsets"), F_OK) != 0);
    RC(strata_group_commit(db, "", "events", 1, 0, NULL), STRATA_INVALID);
    RC(strata_group_fetch(db, "billing", "events", 1, NULL), STRATA_MISUSE_NULL);
    RC(strata_cursor_open_group(db, "billing", "events", 1, STRATA_EARLIEST, &c), STRATA_OK);
    RC(strata_cursor_next(c, &r), STRATA_ROW);
    CHECK(r.offset == 10);
    RC(strata_cursor_close(c), STRATA_OK);
    RC(strata_cursor_open_group(db, "nobody", "events", 1, STRATA_LATEST, &c), STRATA_OK);
    RC(strata_cursor_next(c, &r), STRATA_DONE);
    RC(strata_cursor_close(c), STRATA_OK);
    RC(strata_cursor_open_group(db, "nobody", "events", 1, 3, &c), STRATA_RANGE);
}

static void test_indexes_and_search(strata *db) {
    char *json = NULL;
    RC(strata_index_create(db, "events", NULL, "{\"fields\":[{\"name\":\"msg\",\"type\":\"text\",\"analyzer\":\"english\"}]}", NULL), STRATA_OK);
    RC(strata_index_create(db, "bad", "events", "{\"fields\":[{\"name\":\"x\",\"type\":\"banana\"}]}", NULL), STRATA_INVALID_JSON);
    RC(strata_index_create(db, "bad", "events", "not json", NULL), STRATA_INVALID_JSON);
    RC(strata_index_create(db, "bad", "missing", NULL, NULL), STRATA_NOTFOUND);
    RC(strata_index_create(db, "events", NULL, "{\"fields\":[{\"name\":\"msg\",\"type\":\"keyword\"}]}", NULL), STRATA_INVALID);
    RC(strata_index_create(db, "x/y", "events", NULL, NULL), STRATA_INVALID_NAME);
    RC(strata_index_refresh(db, "events", 10000), STRATA_OK);
    int64_t lag = -1;
    RC(strata_index_lag(db, "events", &lag), STRATA_OK);
    CHECK(lag == 0);
    RC(strata_index_lag(db, "events", NULL), STRATA_MISUSE_NULL);
    RC(strata_index_status(db, "events", &json), STRATA_OK);
    CHECK(json && strstr(json, "\"documents\":32") && strstr(json, "\"lag\":0"));
    strata_free(json);

    strata_hits *h = NULL;
    strata_options *o = opts("limit", "3", "highlight", "true");
    RC(strata_search(db, "events", "msg:failure", o, &h), STRATA_OK);
    int64_t total = 0;
    RC(strata_hits_total(h, &total), STRATA_OK);
    CHECK(total == 10); /* records 0, 3, ..., 27 of partition 1 */
    strata_record r;
    double score = 0;
    const char *hl = NULL, *after = NULL;
    char token[256] = "";
    RC(strata_hits_highlight(h, &hl), STRATA_MISUSE); /* before the first hit */
    int n = 0;
    while (strata_hits_next(h, &r, &score) == STRATA_ROW) {
        CHECK(score > 0 && r.value && contains(r.value, r.value_len, "failure"));
        RC(strata_hits_highlight(h, &hl), STRATA_OK);
        CHECK(hl && strstr(hl, "<em>failure</em>"));
        RC(strata_hits_after(h, &after), STRATA_OK);
        CHECK(after && strncmp(after, "v1:", 3) == 0);
        strncpy(token, after, sizeof token - 1);
        n++;
    }
    CHECK(n == 3);
    RC(strata_hits_next(h, &r, NULL), STRATA_DONE);
    RC(strata_hits_next(h, NULL, NULL), STRATA_MISUSE_NULL);
    CHECK(strata_hits_errmsg(h) != NULL);
    RC(strata_hits_close(h), STRATA_OK);
    RC(strata_hits_close(h), STRATA_MISUSE_HANDLE);
    RC(strata_hits_total(h, &total), STRATA_MISUSE_HANDLE);
    RC(strata_hits_close(NULL), STRATA_OK);
    strata_options_free(o);
    /* The next page starts after the last hit. */
    o = opts("after", token, "limit", "100");
    RC(strata_search(db, "events", "msg:failure", o, &h), STRATA_OK);
    n = 0;
    while (strata_hits_next(h, &r, NULL) == STRATA_ROW) n++;
    CHECK(n == 7);
    strata_hits_close(h);
    strata_options_free(o);
    /* Newest first over a time range, with headers. */
    o = opts("sort", "oldest", "from_ms", "1790000000029");
    RC(strata_options_set(o, "to_ms", "1790000000029"), STRATA_OK);
    RC(strata_search(db, "events", "*", o, &h), STRATA_OK);
    RC(strata_hits_next(h, &r, NULL), STRATA_ROW);
    CHECK(r.timestamp == 1790000000029LL && r.header_count == 2);
    const char *k; size_t kl; const void *v; size_t vl;
    RC(strata_hits_header(h, 0, &k, &kl, &v, &vl), STRATA_OK);
    CHECK(kl == 5 && memcmp(k, "trace", 5) == 0);
    RC(strata_hits_header(h, 5, &k, &kl, &v, &vl), STRATA_RANGE);
    strata_hits_close(h);
    strata_options_free(o);

    h = (strata_hits *)0x1;
    RC(strata_search(db, "events", "msg:(failure", NULL, &h), STRATA_QUERY_SYNTAX);
    CHECK(h == NULL && strstr(strata_errmsg(db), "position") != NULL);
    RC(strata_search(db, "events", "nosuchfield:[1 TO 2]", NULL, &h), STRATA_QUERY_FIELD);
    RC(strata_search(db, "nope", "x", NULL, &h), STRATA_NOTFOUND);
    {   /* A query past the clause limit (4096): STRATA_QUERY with the limit named. */
        static char huge[5000 * 6 + 3];
        size_t at = 0;
        huge[at++] = '"';
        for (int i = 0; i < 5000; i++) at += (size_t)snprintf(huge + at, sizeof huge - at, "w%d ", i % 1000);
        huge[at - 1] = '"';
        RC(strata_search(db, "events", huge, NULL, &h), STRATA_QUERY);
        CHECK(h == NULL && strstr(strata_errmsg(db), "clauses") != NULL);
        o = opts("max_clauses", "6000", NULL, NULL);
        RC(strata_search(db, "events", huge, o, &h), STRATA_OK);
        strata_hits_close(h);
        strata_options_free(o);
        o = opts("timeout_ms", "0", NULL, NULL);
        RC(strata_search(db, "events", "failure", o, &h), STRATA_TIMEOUT);
        CHECK(h == NULL && strstr(strata_errmsg(db), "time limit") != NULL);
        strata_options_free(o);
    }
    o = opts("sort", "sideways", NULL, NULL);
    RC(strata_search(db, "events", "x", o, &h), STRATA_INVALID_OPTION);
    strata_options_free(o);
    o = opts("after", "garbage", NULL, NULL);
    RC(strata_search(db, "events", "x", o, &h), STRATA_INVALID_OPTION);
    strata_options_free(o);
    RC(strata_search(db, "events", "x", NULL, NULL), STRATA_MISUSE_NULL);

    int64_t count = 0;
    RC(strata_count(db, "events", "n:>=20", NULL, &count), STRATA_OK);
    CHECK(count == 10);
    o = opts("limit", "5", NULL, NULL);
    RC(strata_count(db, "events", "*", o, &count), STRATA_INVALID_OPTION); /* count takes no limit */
    strata_options_free(o);
    RC(strata_count(db, "events", "*", NULL, NULL), STRATA_MISUSE_NULL);
    RC(strata_aggregate(db, "events", "*", "{\"keys\":{\"terms\":{\"field\":\"_key\",\"size\":2}},\"n\":{\"stats\":{\"field\":\"n\"}}}", NULL, &json), STRATA_OK);
    CHECK(json && strstr(json, "\"keys\":{\"buckets\":[") && strstr(json, "\"n\":{\"count\":30,\"min\":0,\"max\":29"));
    strata_free(json);
    RC(strata_aggregate(db, "events", "*", "{\"x\":{\"median\":{\"field\":\"n\"}}}", NULL, &json), STRATA_INVALID_JSON);
    RC(strata_aggregate(db, "events", "*", "[1]", NULL, &json), STRATA_INVALID_JSON);
    RC(strata_aggregate(db, "events", "*", "{\"x\":{\"terms\":{\"field\":\"n\"}}}", NULL, &json), STRATA_QUERY);
    RC(strata_aggregate(db, "events", "*", NULL, NULL, &json), STRATA_MISUSE_NULL);

    RC(strata_index_rebuild(db, "events"), STRATA_OK);
    RC(strata_index_status(db, "events", &json), STRATA_OK);
    CHECK(json && strstr(json, "\"generation\":2"));
    strata_free(json);
    RC(strata_index_create(db, "second", "events", NULL, NULL), STRATA_OK);
    int rc0 = strata_index_refresh(db, "second", 0);  /* 0 ms: done only if the follower was quick */
    CHECK(rc0 == STRATA_TIMEOUT || rc0 == STRATA_OK);
    RC(strata_index_drop(db, "second"), STRATA_OK);
    RC(strata_index_drop(db, "second"), STRATA_NOTFOUND);
    RC(strata_index_rebuild(db, "nope"), STRATA_NOTFOUND);
}

static void test_maintenance(strata *db) {
    char *json = NULL;
    RC(strata_verify(db, NULL, &json), STRATA_OK);
    CHECK(json && strstr(json, "\"partition\":\"events-0\"") && strstr(json, "\"damaged\":false") && !strstr(json, "\"damaged\":true"));
    strata_free(json);
    RC(strata_verify(db, "missing", &json), STRATA_NOTFOUND);
    RC(strata_recovery_report(db, &json), STRATA_OK);
    CHECK(json && json[0] == '[');
    strata_free(json);
    RC(strata_verify(db, NULL, NULL), STRATA_MISUSE_NULL);
}

/* Every function with a NULL, a foreign and a wrong-kind handle: a code each, no crash. */
/* Errors on a shared store belong to the thread that made the call: two threads failing
 * with different messages each read their own, never the other's (or a freed one). */
struct thread_errors { strata *db; const char *topic; int wrong; };

static void *fail_repeatedly(void *arg) {
    struct thread_errors *t = arg;
    for (int i = 0; i < 2000; i++) {
        char *json = NULL;
        int rc = strata_topic_describe(t->db, t->topic, &json);
        if (rc != STRATA_NOTFOUND || strata_errcode(t->db) != STRATA_NOTFOUND || !strstr(strata_errmsg(t->db), t->topic)) t->wrong++;
    }
    return NULL;
}

static void test_thread_errors(strata *db) {
    struct thread_errors a = {db, "missing-topic-of-thread-a", 0}, b = {db, "missing-topic-of-thread-b", 0};
    pthread_t ta, tb;
    CHECK(pthread_create(&ta, NULL, fail_repeatedly, &a) == 0);
    CHECK(pthread_create(&tb, NULL, fail_repeatedly, &b) == 0);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    CHECK(a.wrong == 0);
    CHECK(b.wrong == 0);
    /* This thread made no failing call since its last one: its own message is unchanged. */
    char *json = NULL;
    RC(strata_topic_describe(db, "missing-topic-of-main", &json), STRATA_NOTFOUND);
    CHECK(strstr(strata_errmsg(db), "missing-topic-of-main") != NULL);
}

static void test_misuse(strata *db) {
    char stack = 0;
    strata *foreign = (strata *)&stack;
    strata_cursor *c = NULL;
    strata_options *o = NULL;
    RC(strata_options_new(&o), STRATA_OK);
    strata *wrong = (strata *)o; /* an options handle where a store is expected */
    strata *bad[] = {NULL, foreign, wrong};
    for (int i = 0; i < 3; i++) {
        strata *d = bad[i];
        char *json = NULL;
        int64_t x;
        strata_hits *h;
        RC(strata_close(d == NULL ? foreign : d), STRATA_MISUSE_HANDLE);
        CHECK(strata_errcode(d) == STRATA_MISUSE_HANDLE && strata_errmsg(d) != NULL);
        RC(strata_topic_create(d, "t", NULL), STRATA_MISUSE_HANDLE);
        RC(strata_topic_list(d, &json), STRATA_MISUSE_HANDLE);
        RC(strata_topic_describe(d, "t", &json), STRATA_MISUSE_HANDLE);
        RC(strata_append(d, "t", 0, NULL), STRATA_MISUSE_HANDLE);
        RC(strata_cursor_open(d, "t", 0, 0, &c), STRATA_MISUSE_HANDLE);
        RC(strata_cursor_open_time(d, "t", 0, 0, &c), STRATA_MISUSE_HANDLE);
        RC(strata_cursor_open_group(d, "g", "t", 0, STRATA_EARLIEST, &c), STRATA_MISUSE_HANDLE);
        RC(strata_group_commit(d, "g", "t", 0, 0, NULL), STRATA_MISUSE_HANDLE);
        RC(strata_group_fetch(d, "g", "t", 0, &x), STRATA_MISUSE_HANDLE);
        RC(strata_index_create(d, "i", "t", NULL, NULL), STRATA_MISUSE_HANDLE);
        RC(strata_index_drop(d, "i"), STRATA_MISUSE_HANDLE);
        RC(strata_index_refresh(d, "i", 0), STRATA_MISUSE_HANDLE);
        RC(strata_index_rebuild(d, "i"), STRATA_MISUSE_HANDLE);
        RC(strata_index_lag(d, "i", &x), STRATA_MISUSE_HANDLE);
        RC(strata_index_status(d, "i", &json), STRATA_MISUSE_HANDLE);
        RC(strata_search(d, "i", "q", NULL, &h), STRATA_MISUSE_HANDLE);
        RC(strata_count(d, "i", "q", NULL, &x), STRATA_MISUSE_HANDLE);
        RC(strata_aggregate(d, "i", "q", "{}", NULL, &json), STRATA_MISUSE_HANDLE);
        RC(strata_verify(d, NULL, &json), STRATA_MISUSE_HANDLE);
        RC(strata_recovery_report(d, &json), STRATA_MISUSE_HANDLE);
        /* Iterators and batches of the wrong kind. */
        strata_record r;
        const char *s;
        RC(strata_cursor_next((strata_cursor *)d, &r), STRATA_MISUSE_HANDLE);
        RC(strata_cursor_header((strata_cursor *)d, 0, &s, NULL, NULL, NULL), STRATA_MISUSE_HANDLE);
        RC(strata_cursor_wait((strata_cursor *)d, 0), STRATA_MISUSE_HANDLE);
        RC(strata_cursor_seek((strata_cursor *)d, 0), STRATA_MISUSE_HANDLE);
        RC(strata_cursor_position((strata_cursor *)d, &x), STRATA_MISUSE_HANDLE);
        CHECK(strata_cursor_errmsg((strata_cursor *)d) != NULL);
        RC(strata_hits_next((strata_hits *)d, &r, NULL), STRATA_MISUSE_HANDLE);
        RC(strata_hits_total((strata_hits *)d, &x), STRATA_MISUSE_HANDLE);
        RC(strata_hits_header((strata_hits *)d, 0, &s, NULL, NULL, NULL), STRATA_MISUSE_HANDLE);
        RC(strata_hits_highlight((strata_hits *)d, &s), STRATA_MISUSE_HANDLE);
        RC(strata_hits_after((strata_hits *)d, &s), STRATA_MISUSE_HANDLE);
        CHECK(strata_hits_errmsg((strata_hits *)d) != NULL);
        RC(strata_batch_add((strata_batch *)d, NULL, 0, NULL, 0, 0), STRATA_MISUSE_HANDLE);
        RC(strata_batch_add_header((strata_batch *)d, "k", NULL, 0), STRATA_MISUSE_HANDLE);
        RC(strata_batch_count((strata_batch *)d, NULL), STRATA_MISUSE_HANDLE);
        RC(strata_batch_result((strata_batch *)d, 0, NULL, NULL), STRATA_MISUSE_HANDLE);
        if (d) {
            RC(strata_cursor_close((strata_cursor *)d), STRATA_MISUSE_HANDLE);
            RC(strata_hits_close((strata_hits *)d), STRATA_MISUSE_HANDLE);
            RC(strata_batch_free((strata_batch *)d), STRATA_MISUSE_HANDLE);
            if (d != wrong) RC(strata_options_free((strata_options *)d), STRATA_MISUSE_HANDLE);
        }
    }
    strata_options_free(o);
    /* NULL string arguments on a live store. */
    int64_t x;
    RC(strata_group_commit(db, NULL, "events", 0, 0, NULL), STRATA_MISUSE_NULL);
    RC(strata_index_refresh(db, NULL, 0), STRATA_MISUSE_NULL);
    RC(strata_search(db, NULL, "x", NULL, NULL), STRATA_MISUSE_NULL);
    RC(strata_count(db, "events", NULL, NULL, &x), STRATA_OK); /* a NULL query is everything */
}

/* A cursor and hits used after their store closed; a closed store handle. */
static void test_after_close(void) {
    strata *db = store_with_topic(path("closing"), "t", "partitions", "1");
    strata_batch *b = NULL;
    strata_batch_new(&b);
    strata_batch_add(b, NULL, 0, "hello world", 11, STRATA_TIMESTAMP_NOW);
    RC(strata_append(db, "t", 0, b), STRATA_OK);
    RC(strata_index_create(db, "t", NULL, NULL, NULL), STRATA_OK);
    RC(strata_index_refresh(db, "t", 10000), STRATA_OK);
    strata_cursor *c = NULL;
    strata_hits *h = NULL;
    RC(strata_cursor_open(db, "t", 0, STRATA_EARLIEST, &c), STRATA_OK);
    RC(strata_search(db, "t", "hello", NULL, &h), STRATA_OK);
    RC(strata_close(db), STRATA_OK);
    strata_record r;
    RC(strata_cursor_next(c, &r), STRATA_MISUSE_CLOSED);
    RC(strata_hits_next(h, &r, NULL), STRATA_MISUSE_CLOSED);
    CHECK(strstr(strata_cursor_errmsg(c), "closed") != NULL);
    RC(strata_cursor_close(c), STRATA_OK);
    RC(strata_hits_close(h), STRATA_OK);
    RC(strata_close(db), STRATA_MISUSE_HANDLE);       /* double close */
    RC(strata_append(db, "t", 0, b), STRATA_MISUSE_HANDLE); /* use after close */
    RC(strata_close(NULL), STRATA_OK);
    strata_batch_free(b);
}

/* A second writer is refused; a read-only store cannot write; damage is reported. */
static void test_busy_readonly_corrupt(void) {
    strata *db = store_with_topic(path("busy"), "t", "partitions", "1");
    strata_batch *b = NULL;
    strata_batch_new(&b);
    for (int i = 0; i < 100; i++) strata_batch_add(b, NULL, 0, "some record text to checksum", 28, STRATA_TIMESTAMP_NOW);
    /* Four batches: the damage below is in the first, before the offset index's last entry,
     * so no open takes it for a torn tail (which a read-only open stops before). */
    for (int i = 0; i < 4; i++) RC(strata_append(db, "t", 0, b), STRATA_OK);
    strata *second = NULL;
    char *err = NULL;
    RC(strata_open(path("busy"), NULL, &second, &err), STRATA_BUSY);
    CHECK(second == NULL && err && strstr(err, "already open for writing"));
    strata_free(err);
    strata *ro = open_store(path("busy"), 1);
    RC(strata_topic_create(ro, "u", NULL), STRATA_READONLY);
    RC(strata_append(ro, "t", 0, b), STRATA_READONLY);
    RC(strata_group_commit(ro, "g", "t", 0, 0, NULL), STRATA_READONLY);
    RC(strata_index_create(ro, "t", NULL, NULL, NULL), STRATA_READONLY);
    RC(strata_close(ro), STRATA_OK);
    RC(strata_close(db), STRATA_OK);
    strata_batch_free(b);
    /* Flip a byte in the first batch: the cursor's CRC check catches it. */
    int fd = open(path("busy/topics/t-0/00000000000000000000.log"), O_RDWR);
    CHECK(fd >= 0);
    off_t size = lseek(fd, 0, SEEK_END);
    unsigned char byte;
    CHECK(pread(fd, &byte, 1, size / 8) == 1);
    byte ^= 0x5a;
    CHECK(pwrite(fd, &byte, 1, size / 8) == 1);
    close(fd);
    ro = open_store(path("busy"), 1);
    strata_cursor *c = NULL;
    RC(strata_cursor_open(ro, "t", 0, STRATA_EARLIEST, &c), STRATA_OK);
    strata_record r;
    int rc;
    while ((rc = strata_cursor_next(c, &r)) == STRATA_ROW) {}
    RC(rc, STRATA_CORRUPT_CRC);
    RC(strata_cursor_next(c, &r), STRATA_CORRUPT_CRC); /* stays there: never skips the batch */
    strata_cursor_close(c);
    char *json = NULL;
    RC(strata_verify(ro, "t", &json), STRATA_OK);
    CHECK(json && strstr(json, "\"damaged\":true"));
    strata_free(json);
    strata_close(ro);
    /* Full recovery takes the damaged batch out into a quarantine file; the other 300 records
     * keep their offsets. */
    strata_options *o = opts("force_full_recovery", "true", NULL, NULL);
    RC(strata_open(path("busy"), o, &db, NULL), STRATA_OK);
    strata_options_free(o);
    RC(strata_recovery_report(db, &json), STRATA_OK);
    CHECK(json && strstr(json, "\"repaired\":true") && strstr(json, ".log.quarantine-"));
    strata_free(json);
    RC(strata_cursor_open(db, "t", 0, STRATA_EARLIEST, &c), STRATA_OK);
    int n = 0;
    while ((rc = strata_cursor_next(c, &r)) == STRATA_ROW) { CHECK(r.offset == 100 + n); n++; }
    RC(rc, STRATA_DONE);
    CHECK(n == 300);
    strata_cursor_close(c);
    RC(strata_verify(db, "t", &json), STRATA_OK);
    CHECK(json && strstr(json, "\"damaged\":false"));
    strata_free(json);
    strata_close(db);
    /* A damaged index definition: opening for writing says so. */
    db = store_with_topic(path("defs"), "t", "partitions", "1");
    RC(strata_index_create(db, "t", NULL, NULL, NULL), STRATA_OK);
    strata_close(db);
    FILE *f = fopen(path("defs/indexes/t/index.json"), "w");
    fputs("{ not json", f);
    fclose(f);
    PRIMARY(strata_open(path("defs"), NULL, &db, NULL), STRATA_CORRUPT);
}

/* A full disk (a file-size limit): the append fails with STRATA_FULL, nothing is lost. */
/* A reflected CRC-32, bitwise, for polynomial `poly`: CRC-32C (0x82f63b78) forges a v2 batch's
 * checksum, CRC-32 IEEE (0xedb88320) a legacy message's. */
static uint32_t crc32_reflected(const unsigned char *p, size_t n, uint32_t poly) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c >> 1 ^ (poly & (0u - (c & 1)));
    }
    return ~c;
}

/* `v` big-endian at `p`. */
static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* A CRC-valid lz4 batch whose frame is garbage: the cursor reports STRATA_CORRUPT_DECOMPRESS
 * (the open-time scan checks structure and CRC only; the bytes decompress when read). */
static void test_corrupt_decompress(void) {
    strata *db = store_with_topic(path("lz4bad"), "z", "compression", "lz4");
    strata_batch *b = NULL;
    RC(strata_batch_new(&b), STRATA_OK);
    for (int i = 0; i < 20; i++) RC(strata_batch_add(b, NULL, 0, "compressible text compressible text", 35, STRATA_TIMESTAMP_NOW), STRATA_OK);
    RC(strata_append(db, "z", 0, b), STRATA_OK);
    strata_batch_free(b);
    RC(strata_close(db), STRATA_OK);
    int fd = open(path("lz4bad/topics/z-0/00000000000000000000.log"), O_RDWR);
    CHECK(fd >= 0);
    unsigned char batch[4096];
    ssize_t n = pread(fd, batch, sizeof batch, 0);
    CHECK(n > 61);
    uint32_t length = (uint32_t)batch[8] << 24 | (uint32_t)batch[9] << 16 | (uint32_t)batch[10] << 8 | batch[11];
    CHECK(length + 12 <= (uint32_t)n);
    memset(batch + 61, 0, 4); /* the lz4 frame's magic number */
    uint32_t crc = crc32_reflected(batch + 21, length + 12 - 21, 0x82f63b78u);
    put32(batch + 17, crc);
    CHECK(pwrite(fd, batch, length + 12, 0) == (ssize_t)(length + 12));
    close(fd);
    strata *ro = open_store(path("lz4bad"), 1);
    strata_cursor *c = NULL;
    RC(strata_cursor_open(ro, "z", 0, STRATA_EARLIEST, &c), STRATA_OK);
    strata_record r;
    RC(strata_cursor_next(c, &r), STRATA_CORRUPT_DECOMPRESS);
    CHECK(strstr(strata_cursor_errmsg(c), "lz4") != NULL);
    strata_cursor_close(c);
    strata_close(ro);
}

/* A partition holding an intact pre-0.11 message (magic 1, valid CRC-32): valid data this
 * version cannot read, so STRATA_UNSUPPORTED — not corruption, and nothing is cut. A store on
 * a directory the system refuses (sysfs) gives STRATA_IOERR_PERMISSION. */
static void test_unsupported_and_permission(void) {
    strata *db = store_with_topic(path("legacy"), "old", "partitions", "1");
    RC(strata_close(db), STRATA_OK);
    unsigned char m[12 + 26 + 5];
    memset(m, 0, sizeof m);                  /* offset 0 */
    put32(m + 8, 26 + 5);                    /* message size: crc .. value */
    m[16] = 1;                               /* magic 1, attributes 0, timestamp 0 */
    put32(m + 26, 0xffffffffu);              /* key: null */
    put32(m + 30, 5);                        /* value: 5 bytes */
    memcpy(m + 34, "hello", 5);
    put32(m + 12, crc32_reflected(m + 16, sizeof m - 16, 0xedb88320u));
    int fd = open(path("legacy/topics/old-0/00000000000000000000.log"), O_WRONLY | O_TRUNC);
    CHECK(fd >= 0);
    CHECK(write(fd, m, sizeof m) == (ssize_t)sizeof m);
    close(fd);
    unlink(path("legacy/topics/old-0/00000000000000000000.index"));
    unlink(path("legacy/topics/old-0/00000000000000000000.timeindex"));
    strata *ro = NULL;
    strata_options *o = opts("read_only", "true", NULL, NULL);
    int rc = strata_open(path("legacy"), o, &ro, NULL);
    strata_options_free(o);
    strata_cursor *c = NULL;
    if (rc == STRATA_OK) rc = strata_cursor_open(ro, "old", 0, STRATA_EARLIEST, &c);
    strata_record r;
    if (rc == STRATA_OK) rc = strata_cursor_next(c, &r);
    RC(rc, STRATA_UNSUPPORTED);
    strata_cursor_close(c);
    strata_close(ro);
    struct stat st;
    CHECK(stat(path("legacy/topics/old-0/00000000000000000000.log"), &st) == 0 && st.st_size == (off_t)sizeof m); /* nothing cut */

    if (stat("/sys/kernel", &st) == 0) {
        strata *none = NULL;
        char *err = NULL;
        RC(strata_open("/sys/strata-test-store", NULL, &none, &err), STRATA_IOERR_PERMISSION);
        CHECK(none == NULL && err != NULL);
        strata_free(err);
    } else {
        printf("skipped the IOERR_PERMISSION check: no /sys here\n");
    }
}

/* The child of test_full (a fresh process: libdispatch does not survive fork). */
static int child_full(void) {
    signal(SIGXFSZ, SIG_IGN);
    strata *db = open_store(path("full"), 0);
    strata_options *o = opts("partitions", "1", "segment_bytes", "1073741824");
    if (strata_topic_create(db, "t", o) != STRATA_OK) return 2;
    strata_options_free(o);
    struct rlimit lim = {4 << 20, 4 << 20};
    setrlimit(RLIMIT_FSIZE, &lim);
    strata_batch *b = NULL;
    strata_batch_new(&b);
    char value[1000];
    memset(value, 'v', sizeof value);
    for (int i = 0; i < 100; i++) strata_batch_add(b, NULL, 0, value, sizeof value, STRATA_TIMESTAMP_NOW);
    int rc = STRATA_OK;
    int64_t appended = 0;
    while ((rc = strata_append(db, "t", 0, b)) == STRATA_OK) appended += 100;
    if (rc != STRATA_FULL) { fprintf(stderr, "full: append returned %d %s\n", rc, strata_errmsg(db)); return 3; }
    struct rlimit unlimited = {RLIM_INFINITY, RLIM_INFINITY};
    setrlimit(RLIMIT_FSIZE, &unlimited);
    strata_cursor *c = NULL;
    strata_cursor_open(db, "t", 0, STRATA_EARLIEST, &c);
    strata_record r;
    int64_t n = 0;
    while (strata_cursor_next(c, &r) == STRATA_ROW) n++;
    if (n < appended) { fprintf(stderr, "full: read %lld of %lld\n", (long long)n, (long long)appended); return 4; }
    strata_cursor_close(c);
    strata_batch_free(b);
    strata_close(db);
    return failures ? 5 : 0;
}

static void test_full(void) {
    pid_t child = fork();
    if (child == 0) {
        execl(self_path, self_path, work, "--child", "full", (char *)NULL);
        _exit(127);
    }
    int status = 0;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* The writer of test_two_processes, in its own process. */
static int child_writer(void) {
    const char *dir = path("shared");
    strata *w = open_store(dir, 0);
    strata_batch *b = NULL;
    strata_batch_new(&b);
    for (int i = 0; i < 500; i++) {
        char v[64];
        snprintf(v, sizeof v, "event %d marker%s", i, i % 10 == 0 ? " tenth" : "");
        strata_batch_clear(b);
        strata_batch_add(b, NULL, 0, v, strlen(v), STRATA_TIMESTAMP_NOW);
        if (strata_append(w, "live", i % 2, b) != STRATA_OK) return 2;
        if (i % 50 == 0) sleep_ms(2);
    }
    if (strata_index_refresh(w, "live", 30000) != STRATA_OK) return 3;
    strata_batch_free(b);
    strata_close(w);
    return failures ? 5 : 0;
}

/* Two processes: a writer appends while a read-only reader tails and searches. */
static void test_two_processes(void) {
    const char *dir = path("shared");
    strata *db = store_with_topic(dir, "live", "partitions", "2");
    RC(strata_index_create(db, "live", NULL, NULL, NULL), STRATA_OK);
    RC(strata_close(db), STRATA_OK);
    pid_t writer = fork();
    if (writer == 0) {
        execl(self_path, self_path, work, "--child", "writer", (char *)NULL);
        _exit(127);
    }
    sleep_ms(20);
    strata *r = open_store(dir, 1);
    strata_cursor *c = NULL;
    RC(strata_cursor_open(r, "live", 0, STRATA_EARLIEST, &c), STRATA_OK);
    int seen = 0;
    for (int tries = 0; seen < 250 && tries < 400; tries++) {
        strata_record rec;
        int rc;
        while ((rc = strata_cursor_next(c, &rec)) == STRATA_ROW) {
            CHECK(rec.offset == seen);
            seen++;
        }
        if (seen < 250) {
            rc = strata_cursor_wait(c, 100);
            CHECK(rc == STRATA_OK || rc == STRATA_TIMEOUT);
        }
    }
    CHECK(seen == 250);
    strata_cursor_close(c);
    int status = 0;
    waitpid(writer, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    int64_t count = 0;
    RC(strata_index_refresh(r, "live", 0), STRATA_OK);
    RC(strata_count(r, "live", "tenth", NULL, &count), STRATA_OK);
    CHECK(count == 50);
    strata_hits *h = NULL;
    RC(strata_search(r, "live", "marker", NULL, &h), STRATA_OK);
    int64_t total = 0;
    strata_hits_total(h, &total);
    CHECK(total == 500);
    strata_hits_close(h);
    strata_close(r);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s WORKDIR\n", argv[0]);
        return 2;
    }
    work = argv[1];
    self_path = argv[0];
    if (argc == 4 && strcmp(argv[2], "--child") == 0) {
        if (strcmp(argv[3], "full") == 0) return child_full();
        if (strcmp(argv[3], "writer") == 0) return child_writer();
        return 2;
    }
    mkdir(work, 0755);
    test_version_and_codes();
    test_options();
    test_open_errors();
    strata *db = open_store(path("main"), 0);
    test_topics_and_appends(db);
    test_cursors_and_groups(db);
    test_indexes_and_search(db);
    test_maintenance(db);
    test_thread_errors(db);
    test_misuse(db);
    RC(strata_close(db), STRATA_OK);
    test_after_close();
    test_busy_readonly_corrupt();
    test_full();
    test_corrupt_decompress();
    test_unsupported_and_permission();
    test_two_processes();
    printf("C API tests: %d checks, %d failed\n", checks, failures);
    return failures == 0 ? 0 : 1;
}
