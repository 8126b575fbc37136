/*
 * One round of the C API benchmark (the C side of `strata-bench --only capi`, which runs the
 * same work through the Swift API in the same run and prints the ratios).
 *
 *   capi_bench DIR RECORDS [scan-only]
 *
 * In a fresh store at DIR: appends RECORDS generated log lines (~100 bytes, values made before
 * the clock starts) to one partition in batches of 1,000 (strata_batch_add + strata_append),
 * scans them all with a cursor (touching every value), then indexes the topic, waits until it
 * is searchable and runs each benchmark query 50 times (top 10 with the exact count, every
 * hit's record read). Prints one JSON line: seconds for append and scan, p50 µs per query.
 * With `scan-only` it stops after the scan (scripts/bench-c.sh --instructions counts the
 * scan's cursor calls under callgrind).
 * The generator and queries must stay identical to Benchmarks/StrataBench/CAPIBench.swift.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strata.h"

static const char *queries[] = {"error", "svc3 AND debug", "\"svc2 error\"", "u42", "svc1 OR svc2"};
enum { QUERIES = sizeof queries / sizeof queries[0], RUNS = 50, BATCH = 1000 };

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void check(strata *db, int rc, const char *what) {
    if (rc == STRATA_OK) return;
    fprintf(stderr, "capi_bench: %s: %s (%s)\n", what, strata_errstr(rc), db ? strata_errmsg(db) : "");
    exit(1);
}

static int compare(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The index's segment count, from strata_index_status's JSON. */
static long index_segments(strata *db) {
    char *json = NULL;
    check(db, strata_index_status(db, "bench", &json), "status");
    const char *at = strstr(json, "\"segments\":");
    long n = at ? atol(at + strlen("\"segments\":")) : -1;
    strata_free(json);
    return n;
}

int main(int argc, char **argv) {
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: capi_bench DIR RECORDS [scan-only]\n");
        return 2;
    }
    const char *dir = argv[1];
    long records = atol(argv[2]);
    static const char *levels[] = {"info", "warn", "error", "debug"};
    char *values = malloc((size_t)records * 128);
    size_t *lengths = malloc((size_t)records * sizeof *lengths);
    if (!values || !lengths) return 1;
    for (long i = 0; i < records; i++) {
        lengths[i] = (size_t)snprintf(values + i * 128, 128, "%06ld svc%ld %s request for user u%ld took %ld ms path /api/v%ld/items/%ld",
                                      i, i % 16, levels[i % 4], i * 7919 % 10000, i * 31 % 1000, i % 3, i * 104729 % 100000);
    }

    strata *db = NULL;
    char *err = NULL;
    if (strata_open(dir, NULL, &db, &err) != STRATA_OK) {
        fprintf(stderr, "capi_bench: open %s: %s\n", dir, err);
        return 1;
    }
    check(db, strata_topic_create(db, "bench", NULL), "topic");

    strata_batch *b = NULL;
    check(db, strata_batch_new(&b), "batch");
    double t0 = now();
    for (long i = 0; i < records; i += BATCH) {
        strata_batch_clear(b);
        for (long j = i; j < i + BATCH && j < records; j++)
            check(db, strata_batch_add(b, NULL, 0, values + j * 128, lengths[j], STRATA_TIMESTAMP_NOW), "add");
        check(db, strata_append(db, "bench", 0, b), "append");
    }
    double append = now() - t0;
    strata_batch_free(b);

    strata_cursor *c = NULL;
    check(db, strata_cursor_open(db, "bench", 0, STRATA_EARLIEST, &c), "cursor");
    t0 = now();
    strata_record r;
    long n = 0;
    size_t bytes = 0;
    int rc;
    while ((rc = strata_cursor_next(c, &r)) == STRATA_ROW) {
        n++;
        bytes += r.value_len + (r.value_len ? ((const unsigned char *)r.value)[0] : 0);
    }
    double scan = now() - t0;
    if (rc != STRATA_DONE || n != records) {
        fprintf(stderr, "capi_bench: scan read %ld of %ld records (%s)\n", n, records, strata_errstr(rc));
        return 1;
    }
    strata_cursor_close(c);
    if (argc == 4 && strcmp(argv[3], "scan-only") == 0) { /* for callgrind: no index, no queries */
        printf("{\"append_s\":%.6f,\"scan_s\":%.6f,\"checksum\":%zu}\n", append, scan, bytes);
        check(db, strata_close(db), "close");
        free(values);
        free(lengths);
        return 0;
    }

    check(db, strata_index_create(db, "bench", NULL, NULL, NULL), "index");
    check(db, strata_index_refresh(db, "bench", 600000), "refresh");
    /* Background merges change the segments under the queries: wait until the count holds
     * still for a second (CAPIBench.swift does the same). */
    for (long segments = index_segments(db), still = 0; still < 5;) {
        nanosleep(&(struct timespec){.tv_nsec = 200000000}, NULL);
        long now_segments = index_segments(db);
        still = now_segments == segments ? still + 1 : 0;
        segments = now_segments;
    }
    printf("{\"append_s\":%.6f,\"scan_s\":%.6f,\"checksum\":%zu,\"query_p50_us\":[", append, scan, bytes);
    static double times[RUNS];
    for (int q = 0; q < QUERIES; q++) {
        for (int k = -1; k < RUNS; k++) {
            double s = now();
            strata_hits *h = NULL;
            check(db, strata_search(db, "bench", queries[q], NULL, &h), queries[q]);
            double score;
            while (strata_hits_next(h, &r, &score) == STRATA_ROW) bytes += r.value_len;
            strata_hits_close(h);
            if (k >= 0) times[k] = (now() - s) * 1e6;
        }
        qsort(times, RUNS, sizeof times[0], compare);
        printf("%s%.2f", q ? "," : "", times[RUNS / 2]);
    }
    printf("]}\n");
    check(db, strata_close(db), "close");
    free(values);
    free(lengths);
    return 0;
}
