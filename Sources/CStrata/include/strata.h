/*
 * strata.h — the C interface of Strata, an embeddable log-and-index storage engine:
 * Kafka-format topics and the full-text indexes that follow them, in one directory.
 *
 * Conventions (every function below follows them):
 *
 *  - Every function returns an int result code; STRATA_OK (0) is success. The code is
 *    authoritative. A primary code is the low 8 bits (`rc & 0xff`); extended codes add detail
 *    in the bits above (`primary | n << 8`, e.g. STRATA_CORRUPT_CRC).
 *  - The message of the calling thread's last failed call on a store is strata_errmsg(db),
 *    its extended code strata_errcode(db); iterators keep their own (strata_cursor_errmsg,
 *    strata_hits_errmsg). strata_errstr(rc) describes any code. There is no global or
 *    thread-local error state: errors belong to the handle (and, on a shared store, to the
 *    thread that made the call on it).
 *  - Handles are opaque. The library never dereferences a handle you pass: a NULL, closed,
 *    freed or foreign handle gives STRATA_MISUSE (a handle of the wrong kind too).
 *  - Memory: inputs (strings, keys, values) are copied before a call returns. Outputs that the
 *    library allocates (JSON text) are released with strata_free(). On failure every `*out`
 *    is set to NULL. Every close/free function accepts NULL (returns STRATA_OK).
 *  - Records returned by a cursor or a hits iterator are borrowed: the pointers in a
 *    strata_record point into the log's mapping or the iterator's own buffer and stay valid
 *    until the next call on that iterator or its close. Copy what you keep.
 *  - Strings are NUL-terminated UTF-8. Names of topics and indexes: 1–249 characters of
 *    [a-zA-Z0-9._-], not "." or "..".
 *
 * Threads:
 *  - A strata* may be shared between threads: every function taking a strata* may be called
 *    concurrently, except strata_close, which must not race with other calls on that store.
 *    strata_errmsg/strata_errcode describe the calling thread's last failed call on the store,
 *    so another thread failing meanwhile does not replace or free it.
 *  - strata_options, strata_batch, strata_cursor and strata_hits objects are used by one
 *    thread at a time (they may move between threads).
 *
 * Build and link:  cc app.c $(pkg-config --cflags --libs strata)
 */
#ifndef STRATA_H
#define STRATA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Version ------------------------------------------------------------------------ */

#define STRATA_VERSION        "0.9.0"
/** major * 1000000 + minor * 1000 + patch */
#define STRATA_VERSION_NUMBER 9000

/** The library's version text (static; equals STRATA_VERSION when header and library agree). */
const char *strata_libversion(void);
/** The library's version number (STRATA_VERSION_NUMBER of the library). */
int strata_libversion_number(void);

/* ---- Result codes ------------------------------------------------------------------- */

#define STRATA_OK           0   /* success */
#define STRATA_ERROR        1   /* an error no other code describes (see the message) */
#define STRATA_MISUSE       2   /* NULL, closed or foreign handle; a call out of sequence */
#define STRATA_NOTFOUND     3   /* no such topic, partition, index, group offset, record */
#define STRATA_EXISTS       4   /* exists already with other settings */
#define STRATA_IOERR        5   /* a system call failed (see the extended code) */
#define STRATA_CORRUPT      6   /* data on disk does not follow its format */
#define STRATA_BUSY         7   /* the directory is open for writing by another process */
#define STRATA_RANGE        8   /* an offset outside the log, a value out of range */
#define STRATA_QUERY        9   /* the query is invalid (syntax, field, aggregation) */
#define STRATA_FULL         10  /* the disk or a file-size limit is full; nothing acknowledged was lost */
#define STRATA_INVALID      11  /* an argument is invalid: a name, an option, JSON, a length */
#define STRATA_TOOBIG       12  /* a record or batch is larger than the topic allows */
#define STRATA_UNSUPPORTED  13  /* valid data this version cannot read */
#define STRATA_TIMEOUT      14  /* the wait ended before it was satisfied */
#define STRATA_READONLY     15  /* a write on a store opened read-only */
#define STRATA_ROW          100 /* an iterator produced a row */
#define STRATA_DONE         101 /* an iterator has no more rows (for now) */

/* Extended codes. */
#define STRATA_MISUSE_NULL 258     /* STRATA_MISUSE | 1 << 8: a required pointer was NULL */
#define STRATA_MISUSE_HANDLE 514   /* STRATA_MISUSE | 2 << 8: not a live handle of that kind */
#define STRATA_MISUSE_CLOSED 770   /* STRATA_MISUSE | 3 << 8: the store was closed */
#define STRATA_IOERR_PERMISSION 261 /* STRATA_IOERR | 1 << 8: EACCES / EPERM */
#define STRATA_IOERR_NOENT 517     /* STRATA_IOERR | 2 << 8: ENOENT */
#define STRATA_CORRUPT_CRC 262     /* STRATA_CORRUPT | 1 << 8: a checksum did not match */
#define STRATA_CORRUPT_DECOMPRESS 518 /* STRATA_CORRUPT | 2 << 8: decompression failed or exceeded its cap */
#define STRATA_QUERY_SYNTAX 265    /* STRATA_QUERY | 1 << 8: the message names the position */
#define STRATA_QUERY_FIELD 521     /* STRATA_QUERY | 2 << 8: an unknown field */
#define STRATA_INVALID_NAME 267    /* STRATA_INVALID | 1 << 8: a topic or index name */
#define STRATA_INVALID_JSON 523    /* STRATA_INVALID | 2 << 8: a mapping or aggregation */
#define STRATA_INVALID_OPTION 779  /* STRATA_INVALID | 3 << 8: an option name or value */

/** A static English description of a result code (primary or extended); never NULL. */
const char *strata_errstr(int rc);

/* ---- Handles and the record view ---------------------------------------------------- */

typedef struct strata strata;                 /* an open store */
typedef struct strata_options strata_options; /* name=value settings for a call */
typedef struct strata_batch strata_batch;     /* records to append */
typedef struct strata_cursor strata_cursor;   /* reads one partition in offset order */
typedef struct strata_hits strata_hits;       /* the hits of a search */

/** A record as a cursor or hits iterator returns it; borrowed (see the conventions). */
typedef struct strata_record {
    int32_t partition;
    int64_t offset;
    int64_t timestamp;     /* milliseconds since the epoch */
    const void *key;       /* NULL: the record has no key */
    size_t key_len;
    const void *value;     /* NULL: a null value (a tombstone) */
    size_t value_len;
    size_t header_count;   /* read them with strata_cursor_header / strata_hits_header */
} strata_record;

/** Pass as a partition to append by key (Kafka's murmur2; unkeyed records round-robin). */
#define STRATA_PARTITION_BY_KEY (-1)
/** Cursor start positions besides an offset >= 0. */
#define STRATA_EARLIEST (-2)
#define STRATA_LATEST   (-1)
/** A batch timestamp meaning "the time of the append". */
#define STRATA_TIMESTAMP_NOW (-1)

/** Frees memory the library returned (JSON text). NULL is fine. */
void strata_free(void *p);

/* ---- Options ------------------------------------------------------------------------ */

/** Creates an empty options object. Returns STRATA_OK, or STRATA_MISUSE_NULL. */
int strata_options_new(strata_options **out);
/**
 * Sets `key` to `value` (both copied; setting a key again replaces it). Which keys a call
 * reads is documented at the call; a key the call does not know, or a value that does not
 * parse, is reported by that call as STRATA_INVALID_OPTION naming the key.
 * Returns STRATA_OK, STRATA_MISUSE (NULL/invalid handle or NULL key/value).
 */
int strata_options_set(strata_options *o, const char *key, const char *value);
/** Frees an options object (NULL: STRATA_OK; a freed one: STRATA_MISUSE_HANDLE). */
int strata_options_free(strata_options *o);

/* ---- Opening and closing ------------------------------------------------------------ */

/**
 * Opens (creating when needed) the store in directory `path`. `opt` may be NULL. On failure
 * `*out` is NULL and, when `errmsg` is not NULL, `*errmsg` is the message (free it with
 * strata_free; NULL on success). Keys:
 *   read_only (true/false: without the writer lock, beside a writer process),
 *   indexing (true: indexes follow their topics on background threads),
 *   refresh_interval_ms (100), minimum_refresh_gap_ms (10), catch_up_refresh_interval_ms
 *   (1000), commit_interval_ms (5000), index_buffer_bytes (64 MiB),
 *   background_interval_ms (100), force_full_recovery (false: validate every batch).
 * Returns STRATA_OK, STRATA_BUSY (another process writes to it), STRATA_NOTFOUND (read-only
 * and no store there), STRATA_IOERR*, STRATA_CORRUPT*, STRATA_INVALID_OPTION, STRATA_MISUSE.
 */
int strata_open(const char *path, const strata_options *opt, strata **out, char **errmsg);
/**
 * Stops the indexers (each commits what it indexed), flushes the topics, releases the writer
 * lock and frees the handle. Cursors and hits of the store then return STRATA_MISUSE_CLOSED
 * and must still be closed. NULL: STRATA_OK. Returns STRATA_OK, STRATA_MISUSE_HANDLE, or the
 * error of a final flush (the handle is freed anyway).
 */
int strata_close(strata *db);
/** The extended result code of the calling thread's last failed call on `db` (STRATA_OK when
 *  none; STRATA_MISUSE_HANDLE for a bad handle). */
int strata_errcode(strata *db);
/** The message of the calling thread's last failed call on `db` ("" when none); valid until
 *  that thread's next call on `db`. Never NULL. */
const char *strata_errmsg(strata *db);

/* ---- Topics ------------------------------------------------------------------------- */

/**
 * Creates topic `topic`; quietly OK when it exists with the same settings, STRATA_EXISTS when
 * they differ. `opt` may be NULL. Keys: partitions (1), compression (none|gzip|snappy|lz4|zstd),
 * retention_ms, retention_bytes (none: keep everything), cleanup_policy (delete|compact),
 * segment_bytes (1 GiB), flush (os | every-batch | interval:<records>:<ms>).
 * Returns STRATA_OK, STRATA_EXISTS, STRATA_INVALID_NAME, STRATA_INVALID_OPTION,
 * STRATA_READONLY, STRATA_IOERR*, STRATA_MISUSE.
 */
int strata_topic_create(strata *db, const char *topic, const strata_options *opt);
/** `*json` = ["name", ...] (free with strata_free). Returns STRATA_OK, STRATA_IOERR*, STRATA_MISUSE. */
int strata_topic_list(strata *db, char **json);
/**
 * `*json` = {"name":..,"partitions":[{"partition":0,"log_start":..,"high_watermark":..,
 * "bytes":..,"segments":..}],"compression":..,"cleanup_policy":..,"indexes":[..]}.
 * Returns STRATA_OK, STRATA_NOTFOUND, STRATA_MISUSE.
 */
int strata_topic_describe(strata *db, const char *topic, char **json);

/* ---- Appending ---------------------------------------------------------------------- */

/** Creates an empty batch. Returns STRATA_OK or STRATA_MISUSE_NULL. */
int strata_batch_new(strata_batch **out);
/**
 * Adds a record (key and value copied; NULL key: no key; NULL value: a null value;
 * timestamp: milliseconds since the epoch, or STRATA_TIMESTAMP_NOW for the append's time).
 * Returns STRATA_OK, STRATA_MISUSE, STRATA_INVALID (a length over 2 GiB, a NULL pointer with
 * a non-zero length, or a timestamp below STRATA_TIMESTAMP_NOW).
 */
int strata_batch_add(strata_batch *b, const void *key, size_t key_len, const void *value, size_t value_len, int64_t timestamp_ms);
/**
 * Adds a header to the last record added (`key` UTF-8, `value` copied, NULL value: null).
 * Returns STRATA_OK, STRATA_MISUSE (no record yet, NULL key), STRATA_INVALID.
 */
int strata_batch_add_header(strata_batch *b, const char *key, const void *value, size_t value_len);
/** `*count` = records in the batch. Returns STRATA_OK or STRATA_MISUSE. */
int strata_batch_count(const strata_batch *b, size_t *count);
/** Removes every record (capacity kept) so the batch can be filled again. */
int strata_batch_clear(strata_batch *b);
/** Frees a batch (NULL: STRATA_OK). */
int strata_batch_free(strata_batch *b);
/**
 * Appends the batch's records to `topic`: all to `partition`, or with
 * STRATA_PARTITION_BY_KEY each to the partition its key selects. Durable as the topic's flush
 * policy says. Afterwards strata_batch_result gives each record's partition and offset.
 * Returns STRATA_OK, STRATA_NOTFOUND (topic or partition), STRATA_TOOBIG, STRATA_FULL,
 * STRATA_READONLY, STRATA_INVALID (an empty batch), STRATA_IOERR*, STRATA_MISUSE.
 */
int strata_append(strata *db, const char *topic, int32_t partition, strata_batch *b);
/** Record `i` of the last successful append of `b`: its partition and offset.
 *  Returns STRATA_OK, STRATA_RANGE (i out of range or no append yet), STRATA_MISUSE. */
int strata_batch_result(const strata_batch *b, size_t i, int32_t *partition, int64_t *offset);

/* ---- Reading ------------------------------------------------------------------------ */

/**
 * Opens a cursor on one partition at `offset` (>= 0), STRATA_EARLIEST or STRATA_LATEST.
 * Returns STRATA_OK, STRATA_NOTFOUND, STRATA_RANGE (an offset outside the log), STRATA_MISUSE.
 */
int strata_cursor_open(strata *db, const char *topic, int32_t partition, int64_t offset, strata_cursor **out);
/** Opens a cursor at the first record whose timestamp is >= `timestamp_ms` (the end when none). */
int strata_cursor_open_time(strata *db, const char *topic, int32_t partition, int64_t timestamp_ms, strata_cursor **out);
/**
 * Opens a cursor at consumer group `group`'s committed offset, or at `otherwise`
 * (STRATA_EARLIEST or STRATA_LATEST) when the group has none or it is out of range.
 */
int strata_cursor_open_group(strata *db, const char *group, const char *topic, int32_t partition, int64_t otherwise, strata_cursor **out);
/**
 * The next record: STRATA_ROW with `*out` filled (borrowed until the next call on `c`), or
 * STRATA_DONE at the end of the log (call again later, or strata_cursor_wait, for new ones).
 * Batches are CRC-checked as they are entered. Returns also STRATA_CORRUPT*, STRATA_RANGE
 * (retention removed the position), STRATA_MISUSE (bad handle, or its store closed).
 * After STRATA_CORRUPT* every call returns the same error until strata_cursor_seek: a cursor
 * never skips records it could not read (`strata recover` repairs the partition).
 * The cursor reads a batch's records ahead; strata_cursor_position and strata_cursor_wait
 * count from the next record it will return, not from what it read ahead.
 */
int strata_cursor_next(strata_cursor *c, strata_record *out);
/**
 * Header `i` (< header_count) of the record the last STRATA_ROW returned: key (UTF-8, not
 * NUL-terminated) and value (NULL for a null value), borrowed like the record.
 * Returns STRATA_OK, STRATA_RANGE, STRATA_MISUSE.
 */
int strata_cursor_header(strata_cursor *c, size_t i, const char **key, size_t *key_len, const void **value, size_t *value_len);
/**
 * Blocks until records past the cursor's position are appended (woken by the append, no
 * polling, in the writer process; every 50 ms read-only), for at most `timeout_ms`
 * (< 0: no limit). Returns STRATA_OK (records are there), STRATA_TIMEOUT, STRATA_MISUSE.
 */
int strata_cursor_wait(strata_cursor *c, int timeout_ms);
/** Moves to `offset`. Returns STRATA_OK, STRATA_RANGE, STRATA_MISUSE. */
int strata_cursor_seek(strata_cursor *c, int64_t offset);
/** Isolation levels (Kafka's isolation.level) for strata_cursor_set_isolation. */
#define STRATA_READ_UNCOMMITTED 0 /* default: every data record, aborted transactions' too */
#define STRATA_READ_COMMITTED 1   /* committed and non-transactional records only */
/**
 * Sets which records of Kafka transactions the cursor returns, from its position on.
 * STRATA_READ_COMMITTED skips aborted transactions and stops (STRATA_DONE) before a transaction
 * still open; strata_cursor_wait then waits for records past the log's end as it was. Returns
 * STRATA_OK, STRATA_MISUSE (unknown level). Formats/transactions.md describes the semantics.
 */
int strata_cursor_set_isolation(strata_cursor *c, int level);
/** `*offset` = the offset the next record will have at least. */
int strata_cursor_position(strata_cursor *c, int64_t *offset);
/** The message of the cursor's last failed call; valid until its next call. Never NULL. */
const char *strata_cursor_errmsg(strata_cursor *c);
/** Closes a cursor (NULL: STRATA_OK). */
int strata_cursor_close(strata_cursor *c);

/* ---- Consumer groups ---------------------------------------------------------------- */

/** Commits `offset` (the next record to read) for group/topic/partition, durably and
 *  atomically; `metadata` may be NULL. Returns STRATA_OK, STRATA_NOTFOUND, STRATA_RANGE
 *  (beyond the log end), STRATA_INVALID_NAME, STRATA_READONLY, STRATA_IOERR*, STRATA_MISUSE. */
int strata_group_commit(strata *db, const char *group, const char *topic, int32_t partition, int64_t offset, const char *metadata);
/** `*offset` = the group's committed offset. Returns STRATA_OK, STRATA_NOTFOUND (none), STRATA_MISUSE. */
int strata_group_fetch(strata *db, const char *group, const char *topic, int32_t partition, int64_t *offset);

/* ---- Indexes ------------------------------------------------------------------------ */

/**
 * Creates index `index` following every partition of `topic` (NULL: the topic named like the
 * index), with a mapping as JSON (NULL: dynamic mapping of everything;
 * {"fields":[{"name":"msg","type":"text","analyzer":"english"}],"dynamic":"add"}) and the
 * JSON field holding each record's time (NULL: the record's timestamp). On an existing index,
 * adds the mapping's new fields. It catches up in the background.
 * Returns STRATA_OK, STRATA_NOTFOUND (topic), STRATA_INVALID_JSON, STRATA_INVALID (a changed
 * type: rebuild instead), STRATA_INVALID_NAME, STRATA_READONLY, STRATA_IOERR*, STRATA_MISUSE.
 */
int strata_index_create(strata *db, const char *index, const char *topic, const char *mapping_json, const char *timestamp_field);
/** Removes an index (its topic stays). Returns STRATA_OK, STRATA_NOTFOUND, STRATA_READONLY, STRATA_MISUSE. */
int strata_index_drop(strata *db, const char *index);
/**
 * Makes every record appended to the index's topic before the call searchable, waiting up to
 * `timeout_ms` (read-your-writes; < 0: 30 s). In a read-only store: opens the writer's newest
 * refresh. `index` may name a topic with one index. Returns STRATA_OK, STRATA_TIMEOUT,
 * STRATA_NOTFOUND, STRATA_MISUSE, or the error that stops indexing.
 */
int strata_index_refresh(strata *db, const char *index, int timeout_ms);
/** Re-derives the index from its topic into a new generation and switches atomically. */
int strata_index_rebuild(strata *db, const char *index);
/** `*lag` = records appended but not yet searchable, over all partitions. */
int strata_index_lag(strata *db, const char *index, int64_t *lag);
/** `*json` = {"name","topic","generation","documents","segments","bytes","fallback_documents",
 *  "failure","partitions":[{"partition","log_end","indexed","searchable","committed","lag"}]}. */
int strata_index_status(strata *db, const char *index, char **json);

/* ---- Searching ---------------------------------------------------------------------- */

/**
 * Searches index `index` (or a topic's one index) with a Lucene-syntax `query` ("" or "*":
 * everything) over all partitions, into a hits iterator. `opt` may be NULL. Keys:
 *   limit (10), from_ms / to_ms (a closed time range), sort (relevance | newest | oldest |
 *   FIELD:asc | FIELD:desc; default relevance for text queries, else newest),
 *   after (a hit's strata_hits_after token: the next page), count (true: strata_hits_total),
 *   highlight (false), fragment_size (100), fragments (5), pre_tag ("<em>"), post_tag ("</em>"),
 *   timeout_ms (none: the whole search, count and aggregations), max_clauses (4096; phrase
 *   words count one each).
 * Returns STRATA_OK, STRATA_QUERY_SYNTAX (the message names the position),
 * STRATA_QUERY_FIELD, STRATA_QUERY (also: past max_clauses or the fuzzy expansion limit),
 * STRATA_TIMEOUT (past timeout_ms), STRATA_NOTFOUND (index), STRATA_INVALID_OPTION, STRATA_MISUSE.
 */
int strata_search(strata *db, const char *index, const char *query, const strata_options *opt, strata_hits **out);
/** `*total` = every match (when counted; else -1). */
int strata_hits_total(strata_hits *h, int64_t *total);
/**
 * The next hit: STRATA_ROW with its record in `*out` (borrowed until the next call on `h`) and
 * its BM25 score in `*score` (0 when sorted by time or a field; `score` may be NULL), or
 * STRATA_DONE. A hit whose record retention removed meanwhile is skipped.
 */
int strata_hits_next(strata_hits *h, strata_record *out, double *score);
/** Header `i` of the current hit's record (as strata_cursor_header). */
int strata_hits_header(strata_hits *h, size_t i, const char **key, size_t *key_len, const void **value, size_t *value_len);
/** `*json` = the current hit's highlights {"field":["fragment",...]} (borrowed until the next call). */
int strata_hits_highlight(strata_hits *h, const char **json);
/** `*token` = the current hit's search-after token (borrowed until the next call): set it as
 *  option "after" to get the hits after this one. */
int strata_hits_after(strata_hits *h, const char **token);
/** The message of the iterator's last failed call. Never NULL. */
const char *strata_hits_errmsg(strata_hits *h);
/** Closes a hits iterator (NULL: STRATA_OK). */
int strata_hits_close(strata_hits *h);
/** `*count` = documents matching `query` (opt: from_ms, to_ms). */
int strata_count(strata *db, const char *index, const char *query, const strata_options *opt, int64_t *count);
/**
 * Aggregations over the documents matching `query`, as JSON in and out:
 *   in:  {"by_level":{"terms":{"field":"level.keyword","size":10}},"latency":{"stats":{"field":"ms"}},
 *         "h":{"histogram":{"field":"ms","interval":100}},"d":{"date_histogram":{"field":"_timestamp","interval":"hour"}}}
 *   out: {"by_level":{"buckets":[{"key":"error","count":3}],"other":0},"latency":{"count":..,"min":..,"max":..,"sum":..,"avg":..}}
 * (date_histogram intervals: minute, hour, day, week, month, year, or milliseconds).
 * opt: from_ms, to_ms. Returns STRATA_OK, STRATA_INVALID_JSON, STRATA_QUERY*, STRATA_NOTFOUND, STRATA_MISUSE.
 */
int strata_aggregate(strata *db, const char *index, const char *query, const char *aggregations_json, const strata_options *opt, char **json);

/* ---- Maintenance -------------------------------------------------------------------- */

/**
 * Checks every segment of `topic` (NULL: every topic) — structure, CRCs, records, offsets,
 * index entries — without changing anything. `*json` = [{"partition":"t-0","damaged":false,
 * "segments":..,"batches":..,"records":..,"bytes":..,"findings":["..."]}]. Returns STRATA_OK
 * (also when damage is found: see "damaged"), STRATA_NOTFOUND, STRATA_IOERR*, STRATA_MISUSE.
 */
int strata_verify(strata *db, const char *topic, char **json);
/** `*json` = what opening repaired, per partition of the open topics: [{"partition":"t-0",
 *  "repaired":true,"report":"...","quarantined":["<path>",...]}] (open with
 *  force_full_recovery=true to validate every batch and record, as `strata recover` does;
 *  what it takes out is kept in the quarantine files listed). */
int strata_recovery_report(strata *db, char **json);

#ifdef __cplusplus
}
#endif

#endif /* STRATA_H */
