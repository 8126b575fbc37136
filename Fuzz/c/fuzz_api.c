/*
 * libFuzzer target for the C API: each input is a program of API calls with random arguments
 * — live handles, stale ones, handles of the wrong kind and arbitrary integers posing as
 * handles; random strings as names, queries, options, mapping and aggregation JSON; random
 * lengths. Nothing may crash: every call must return a code. One store stays open across
 * inputs (reopened after a program closes it; emptied every few thousand inputs).
 *
 * Build (scripts/fuzz-c.sh): clang -fsanitize=fuzzer,address fuzz_api.c -lstrata
 * Replay: the same file built with -DSTRATA_FUZZ_REPLAY runs each file given as an argument.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "strata.h"

static strata *db;
static char dir[256];
static unsigned long runs;

struct input {
    const uint8_t *p;
    size_t n;
};

static uint8_t byte(struct input *in) {
    if (in->n == 0) return 0;
    in->n--;
    return *in->p++;
}

static uint32_t u32(struct input *in) {
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v = v << 8 | byte(in);
    return v;
}

/* A NUL-terminated string of up to 40 input bytes (any bytes: invalid UTF-8 included), or
 * sometimes NULL or one of a few meaningful words. */
static const char *text(struct input *in, char *buf, size_t cap) {
    static const char *words[] = {"t", "events", "idx", "*", "a AND b", "\"x y\"~2", "n:[1 TO 5]", "_timestamp:[0 TO 9]",
                                  "{\"fields\":[{\"name\":\"m\",\"type\":\"text\"}]}", "{\"a\":{\"terms\":{\"field\":\"_key\"}}}",
                                  "limit", "sort", "after", "partitions", "compression", "lz4", "true", "-1", "99999999999999999999"};
    uint8_t k = byte(in);
    if (k < 20) return NULL;
    if (k < 140) return words[k % (sizeof words / sizeof words[0])];
    size_t len = byte(in) % 40;
    if (len >= cap) len = cap - 1;
    for (size_t i = 0; i < len; i++) buf[i] = (char)byte(in);
    buf[len] = 0;
    return buf;
}

/* Handles: live ones of each kind, stale ones, and arbitrary values. */
#define SLOTS 4
static strata_options *options[SLOTS];
static strata_batch *batches[SLOTS];
static strata_cursor *cursors[SLOTS];
static strata_hits *hits[SLOTS];
static void *stale[SLOTS];

static void *handle(struct input *in, void **live, int kind) {
    uint8_t k = byte(in);
    switch (k % 6) {
    case 0: return NULL;
    case 1: return stale[k % SLOTS];
    case 2: return (void *)(uintptr_t)u32(in);                                  /* foreign */
    case 3: return (void *)(uintptr_t)((uint64_t)u32(in) << 28 | (uint64_t)(kind * 2 + 1)); /* forged token */
    default: return live[k % SLOTS];
    }
}

static void forget(void **live, void *h) {
    for (int i = 0; i < SLOTS; i++) if (live[i] == h) live[i] = NULL;
    stale[runs % SLOTS] = h;
}

static void ensure_store(void) {
    if (db) return;
    strata_options *o = NULL;
    strata_options_new(&o);
    strata_options_set(o, "refresh_interval_ms", "5");
    strata_options_set(o, "background_interval_ms", "0");
    strata_open(dir, o, &db, NULL);
    strata_options_free(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0]) snprintf(dir, sizeof dir, "/tmp/strata-fuzz-c-%d", (int)getpid());
    if (++runs % 3000 == 0 && db) {
        strata_close(db);
        db = NULL;
        char cmd[300];
        snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
        if (system(cmd) != 0) return 0;
    }
    ensure_store();
    struct input in = {data, size};
    char a[48], b[48], c[48];
    strata_record r;
    for (int step = 0; step < 24 && in.n > 0; step++) {
        strata *d = byte(&in) % 8 == 0 ? (strata *)handle(&in, (void **)cursors, 1) : db;
        int64_t x = 0;
        char *json = NULL;
        const char *s = NULL;
        size_t len;
        switch (byte(&in) % 28) {
        case 0: { int i = byte(&in) % SLOTS; if (!options[i]) strata_options_new(&options[i]); break; }
        case 1: strata_options_set((strata_options *)handle(&in, (void **)options, 2), text(&in, a, sizeof a), text(&in, b, sizeof b)); break;
        case 2: { strata_options *o = handle(&in, (void **)options, 2); if (strata_options_free(o) == STRATA_OK && o) forget((void **)options, o); break; }
        case 3: strata_topic_create(d, text(&in, a, sizeof a), handle(&in, (void **)options, 2)); break;
        case 4: strata_topic_list(d, byte(&in) & 1 ? &json : NULL); break;
        case 5: strata_topic_describe(d, text(&in, a, sizeof a), &json); break;
        case 6: { int i = byte(&in) % SLOTS; if (!batches[i]) strata_batch_new(&batches[i]); break; }
        case 7: {
            const char *k = text(&in, a, sizeof a), *v = text(&in, b, sizeof b);
            size_t kl = k ? strlen(k) : byte(&in) % 3, vl = v ? strlen(v) : byte(&in) % 3;
            if (byte(&in) == 255) vl = (size_t)-1;
            strata_batch_add((strata_batch *)handle(&in, (void **)batches, 3), k, kl, v, vl, (int64_t)u32(&in) - 2);
            break;
        }
        case 8: {
            /* The length must not exceed the value (the API cannot check a C pointer's extent). */
            const char *k = text(&in, a, sizeof a), *v = text(&in, b, sizeof b);
            size_t vl = v ? strlen(v) : byte(&in) % 3;
            strata_batch_add_header((strata_batch *)handle(&in, (void **)batches, 3), k, v, vl);
            break;
        }
        case 9: strata_append(d, text(&in, a, sizeof a), (int32_t)(byte(&in) % 5) - 2, (strata_batch *)handle(&in, (void **)batches, 3)); break;
        case 10: strata_batch_result((strata_batch *)handle(&in, (void **)batches, 3), byte(&in), NULL, &x); break;
        case 11: { strata_batch *bt = handle(&in, (void **)batches, 3); if (strata_batch_free(bt) == STRATA_OK && bt) forget((void **)batches, bt); break; }
        case 12: { int i = byte(&in) % SLOTS; if (!cursors[i]) strata_cursor_open(d, text(&in, a, sizeof a), (int32_t)(byte(&in) % 4) - 1, (int64_t)(byte(&in) % 8) - 2, &cursors[i]); break; }
        case 13: { int i = byte(&in) % SLOTS; if (!cursors[i]) strata_cursor_open_group(d, text(&in, a, sizeof a), text(&in, b, sizeof b), byte(&in) % 3, (int64_t)(byte(&in) % 4) - 2, &cursors[i]); break; }
        case 14: strata_cursor_next((strata_cursor *)handle(&in, (void **)cursors, 4), byte(&in) & 1 ? &r : NULL); break;
        case 15: strata_cursor_header((strata_cursor *)handle(&in, (void **)cursors, 4), byte(&in), &s, &len, NULL, NULL); break;
        case 16: strata_cursor_seek((strata_cursor *)handle(&in, (void **)cursors, 4), (int64_t)u32(&in) - 100); break;
        case 17: strata_cursor_wait((strata_cursor *)handle(&in, (void **)cursors, 4), 0); break;
        case 18: { strata_cursor *cu = handle(&in, (void **)cursors, 4); if (strata_cursor_close(cu) == STRATA_OK && cu) forget((void **)cursors, cu); break; }
        case 19: strata_group_commit(d, text(&in, a, sizeof a), text(&in, b, sizeof b), byte(&in) % 3, u32(&in) % 50, text(&in, c, sizeof c)); break;
        case 20: strata_group_fetch(d, text(&in, a, sizeof a), text(&in, b, sizeof b), byte(&in) % 3, &x); break;
        case 21: strata_index_create(d, text(&in, a, sizeof a), text(&in, b, sizeof b), text(&in, c, sizeof c), NULL); break;
        case 22: strata_index_refresh(d, text(&in, a, sizeof a), 0); strata_index_lag(d, text(&in, b, sizeof b), &x); break;
        case 23: { int i = byte(&in) % SLOTS; if (!hits[i]) strata_search(d, text(&in, a, sizeof a), text(&in, b, sizeof b), handle(&in, (void **)options, 2), &hits[i]); break; }
        case 24: {
            strata_hits *h = handle(&in, (void **)hits, 5);
            double score;
            strata_hits_next(h, byte(&in) & 1 ? &r : NULL, &score);
            strata_hits_highlight(h, &s);
            strata_hits_after(h, &s);
            strata_hits_header(h, byte(&in), &s, &len, NULL, NULL);
            strata_hits_total(h, &x);
            break;
        }
        case 25: { strata_hits *h = handle(&in, (void **)hits, 5); if (strata_hits_close(h) == STRATA_OK && h) forget((void **)hits, h); break; }
        case 26: strata_count(d, text(&in, a, sizeof a), text(&in, b, sizeof b), handle(&in, (void **)options, 2), &x);
                 strata_aggregate(d, text(&in, a, sizeof a), "*", text(&in, c, sizeof c), NULL, &json); break;
        case 27:
            if (byte(&in) % 16 == 0 && d == db) {
                /* Close the store under everything: its cursors and hits must say so. */
                strata_close(db);
                db = NULL;
                ensure_store();
            } else {
                (void)strata_errmsg(d);
                (void)strata_errcode(d);
                (void)strata_cursor_errmsg((strata_cursor *)handle(&in, (void **)cursors, 4));
                (void)strata_hits_errmsg((strata_hits *)handle(&in, (void **)hits, 5));
            }
            break;
        }
        strata_free(json);
    }
    return 0;
}

#ifdef STRATA_FUZZ_REPLAY
int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) { perror(argv[i]); return 1; }
        static uint8_t buf[1 << 16];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput(buf, n);
    }
    /* Close what the programs left open: the replay must end clean under valgrind too. */
    for (int i = 0; i < SLOTS; i++) {
        strata_options_free(options[i]);
        strata_batch_free(batches[i]);
        strata_cursor_close(cursors[i]);
        strata_hits_close(hits[i]);
    }
    strata_close(db);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
    printf("replayed %d inputs\n", argc - 1);
    return 0;
}
#endif
