/* smoke.h - the body every compile-matrix program runs after churn.h is included.
   It touches each API area once so a matrix entry proves compile, link and basic behaviour
   (under C, C++, musl, CHURN_NO_STDIO, CHURN_NO_NET). It prints nothing: a failing step
   returns its own exit status (the Makefile shows it). No <stdio.h> here on purpose. */
#ifndef CHURN_MATRIX_SMOKE_H
#define CHURN_MATRIX_SMOKE_H

static int matrix_sink(void *user, const void *bytes, size_t length) {
    size_t *total = (size_t *)user;
    (void)bytes;
    *total += length;
    return 0;
}

#ifndef CHURN_NO_NET
static int matrix_cycle(void *user, long long index) {
    long long *count = (long long *)user;
    (void)index;
    ++*count;
    return 0;
}
#endif

static int matrix_smoke(void) {
    churn_snapshot base, peak, post;
    churn_limits limits;
    churn_verdict verdict;
    churn_inventory inv;
    churn_json j;
    size_t written = 0;
    int rc;

    if (churn_strerror(CHURN_E_INVAL) == 0) return 10;
    if (churn_metric_name(CHURN_METRIC_HANDLES) == 0) return 11;

    rc = churn_snapshot_take(0, &base);
    if (rc != CHURN_OK) return 20;
    if (base.value[CHURN_METRIC_HANDLES] < 3) return 21;   /* stdin, stdout, stderr at least */
    if (base.value[CHURN_METRIC_THREADS] < 1) return 22;
    rc = churn_snapshot_take_some(0, CHURN_METRIC_BIT(CHURN_METRIC_THREADS), &post);
    if (rc != CHURN_OK) return 23;
    if (post.value[CHURN_METRIC_HANDLES] != CHURN_UNKNOWN) return 24;
    peak = base;
    churn_snapshot_peak(&peak, &post);

    churn_limits_strict(&limits);
    rc = churn_evaluate(&base, &peak, &base, &limits, &verdict);
    if (rc != CHURN_OK) return 30;

    inv.handles = 0; inv.handle_count = 0; inv.threads = 0; inv.thread_count = 0;
    rc = churn_inventory_take(0, &inv);
    if (rc != CHURN_OK) return 40;
    if (inv.handle_count < 3 || inv.thread_count < 1) return 41;
    churn_inventory_free(&inv);
    churn_inventory_free(&inv);   /* safe on a freed inventory */

    churn_json_init(&j, matrix_sink, &written, 0);
    churn_json_object_begin(&j);
    churn_json_key(&j, "k");
    churn_json_string(&j, "v\x01\xff");
    churn_json_object_end(&j);
    if (churn_json_finish(&j) != CHURN_OK || written == 0) return 50;

#ifndef CHURN_NO_NET
    {
        churn_config cfg;
        churn_result res;
        long long count = 0;
        churn_config_init(&cfg, CHURN_BUDGET_SMOKE);
        cfg.cycles = 10;
        cfg.cycle = matrix_cycle;
        cfg.user = &count;
        churn_limits_none(&cfg.limits);
        rc = churn_run(&cfg, &res);
        if (rc != CHURN_OK) return 60;
        if (res.cycles_done != 10 || count < 10) return 61;
        written = 0;
        if (churn_report_write_fn(&cfg, &res, matrix_sink, &written) != CHURN_OK || written == 0)
            return 62;
        churn_result_free(&res);
    }
#endif
    return 0;
}

#endif
