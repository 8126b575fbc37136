/* Append JSON events, search them a moment later, read one back: the C quick start.
 * cc quickstart.c $(pkg-config --cflags --libs strata) -o quickstart && ./quickstart /tmp/qs */
#include <stdio.h>
#include <string.h>
#include <strata.h>

static int fail(strata *db, int rc) {
    fprintf(stderr, "error %d (%s): %s\n", rc, strata_errstr(rc), db ? strata_errmsg(db) : "");
    strata_close(db);
    return 1;
}

int main(int argc, char **argv) {
    const char *dir = argc > 1 ? argv[1] : "quickstart-data";
    strata *db = NULL;
    char *err = NULL;
    int rc = strata_open(dir, NULL, &db, &err);
    if (rc != STRATA_OK) { fprintf(stderr, "open: %s\n", err); strata_free(err); return 1; }

    strata_options *topic = NULL;
    strata_options_new(&topic);
    strata_options_set(topic, "partitions", "4");
    strata_options_set(topic, "compression", "lz4");
    rc = strata_topic_create(db, "app-logs", topic);
    strata_options_free(topic);
    if (rc != STRATA_OK) return fail(db, rc);
    if ((rc = strata_index_create(db, "app-logs", NULL, NULL, NULL)) != STRATA_OK) return fail(db, rc);

    const char *events[] = {
        "{\"level\":\"error\",\"service\":\"billing\",\"msg\":\"payment gateway timeout\"}",
        "{\"level\":\"info\",\"service\":\"search\",\"msg\":\"query served in 3 ms\"}",
        "{\"level\":\"error\",\"service\":\"search\",\"msg\":\"shard timeout after 30 s\"}",
    };
    strata_batch *batch = NULL;
    strata_batch_new(&batch);
    for (int i = 0; i < 3; i++) {
        const char *key = strstr(events[i], "billing") ? "billing" : "search";
        strata_batch_add(batch, key, strlen(key), events[i], strlen(events[i]), STRATA_TIMESTAMP_NOW);
    }
    rc = strata_append(db, "app-logs", STRATA_PARTITION_BY_KEY, batch);
    strata_batch_free(batch);
    if (rc != STRATA_OK) return fail(db, rc);

    /* Read-your-writes: wait until the appended records are searchable (else within ~100 ms). */
    if ((rc = strata_index_refresh(db, "app-logs", 5000)) != STRATA_OK) return fail(db, rc);

    strata_options *search = NULL;
    strata_options_new(&search);
    strata_options_set(search, "highlight", "true");
    strata_hits *hits = NULL;
    rc = strata_search(db, "app-logs", "level:error AND timeout", search, &hits);
    strata_options_free(search);
    if (rc != STRATA_OK) return fail(db, rc);
    int64_t total = 0;
    strata_hits_total(hits, &total);
    printf("%lld hits\n", (long long)total);
    strata_record r;
    double score;
    while (strata_hits_next(hits, &r, &score) == STRATA_ROW) {
        const char *highlights = NULL;
        strata_hits_highlight(hits, &highlights);
        printf("  partition %d offset %lld score %.3f: %.*s\n    %s\n", r.partition, (long long)r.offset, score,
               (int)r.value_len, (const char *)r.value, highlights);
    }
    strata_hits_close(hits);

    char *aggs = NULL;
    rc = strata_aggregate(db, "app-logs", "*", "{\"by_service\":{\"terms\":{\"field\":\"service.keyword\"}}}", NULL, &aggs);
    if (rc != STRATA_OK) return fail(db, rc);
    printf("%s\n", aggs);
    strata_free(aggs);
    return strata_close(db) == STRATA_OK ? 0 : 1;
}
