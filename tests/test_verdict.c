/* test_verdict.c - limits presets, churn_evaluate, growth (slope and window rule) and drain.

   Pure logic runs on synthetic snapshots (churn_snapshot_init, then values set by hand).
   Drain runs for real against this process: fds opened after the baseline and closed by a
   thread 300 ms later (drain must wait, then pass), or never closed (drain times out and the
   verdict names the handles). No timing assertions: only that calls return. */
#include "churn_test.h"
#include "../churn.h"

#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MIB (1024LL * 1024LL)
#define NFDS 20

/* ---- helpers ------------------------------------------------------------------------------ */

static void snap_all(churn_snapshot *s, long long v) {
    int m;
    churn_snapshot_init(s);
    for (m = 0; m < CHURN_METRIC_COUNT; m++) s->value[m] = v;
    s->pid = 4242;
}

static int verdict_consistent(const churn_verdict *v) {
    return (v->ok == 1) == (v->status == CHURN_PASS) && (v->ok == 0 || v->ok == 1) &&
           v->violation_count >= 0 && v->violation_count <= 3 * CHURN_METRIC_COUNT;
}

/* slopes are computed in floating point: compare them with a relative tolerance */
static int close_enough(double a, double b) {
    double d = fabs(a - b), s = fabs(a) > fabs(b) ? fabs(a) : fabs(b);
    return d <= 1e-7 * (s > 1.0 ? s : 1.0);
}

typedef struct expect_v {
    churn_metric metric;
    churn_phase phase;
    double observed, limit;
} expect_v;

/* The violation list is a set: order is not part of the contract. */
static void check_violations(const churn_verdict *v, const expect_v *e, int n, const char *file, int line) {
    int used[3 * CHURN_METRIC_COUNT];
    int i, k;
    char msg[512];
    if (v->violation_count != n) {
        snprintf(msg, sizeof msg, "violation_count %d, expected %d", v->violation_count, n);
        ct_fail_at(file, line, msg);
    }
    memset(used, 0, sizeof used);
    for (i = 0; i < n; i++) {
        int found = 0;
        for (k = 0; k < v->violation_count && k < 3 * CHURN_METRIC_COUNT; k++) {
            const churn_violation *x = &v->violations[k];
            if (used[k]) continue;
            /* deltas and limits are integers: exact; growth slopes: within a tolerance */
            int obs_ok = e[i].phase == CHURN_PHASE_GROWTH ? close_enough(x->observed, e[i].observed)
                                                          : x->observed == e[i].observed;
            int lim_ok = e[i].phase == CHURN_PHASE_GROWTH ? close_enough(x->limit, e[i].limit)
                                                          : x->limit == e[i].limit;
            if (x->metric == e[i].metric && x->phase == e[i].phase && obs_ok && lim_ok) {
                used[k] = 1;
                found = 1;
                break;
            }
        }
        if (!found) {
            snprintf(msg, sizeof msg, "missing violation {%s, %s, observed %.17g, limit %.17g}",
                     churn_metric_name(e[i].metric), churn_phase_name(e[i].phase), e[i].observed, e[i].limit);
            ct_fail_at(file, line, msg);
        }
    }
    for (k = 0; k < v->violation_count && k < 3 * CHURN_METRIC_COUNT; k++) {
        if (!used[k]) {
            const churn_violation *x = &v->violations[k];
            snprintf(msg, sizeof msg, "unexpected violation {metric %d, phase %d, observed %.17g, limit %.17g}",
                     (int)x->metric, (int)x->phase, x->observed, x->limit);
            ct_fail_at(file, line, msg);
        }
    }
}
#define CHECK_VIOLATIONS(v, e, n) check_violations((v), (e), (n), __FILE__, __LINE__)

static void poison_verdict(churn_verdict *v) { memset(v, 0xAB, sizeof *v); }

static void sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* ---- names -------------------------------------------------------------------------------- */

CT_TEST(phase_and_status_names) {
    CT_EQ_STR(churn_phase_name(CHURN_PHASE_PEAK), "peak");
    CT_EQ_STR(churn_phase_name(CHURN_PHASE_POST_DRAIN), "post_drain");
    CT_EQ_STR(churn_phase_name(CHURN_PHASE_GROWTH), "growth");
    CT_EQ_STR(churn_status_name(CHURN_PASS), "pass");
    CT_EQ_STR(churn_status_name(CHURN_FAIL), "fail");
    CT_EQ_STR(churn_status_name(CHURN_INCONCLUSIVE), "inconclusive");
    CT_EQ_LL(CHURN_PASS, 0);
    /* out of range: still a printable string, never NULL */
    CT_CHECK(churn_phase_name((churn_phase)77) != NULL);
    CT_CHECK(churn_status_name((churn_status)77) != NULL);
    CT_CHECK(churn_phase_name((churn_phase)-1) != NULL);
}

/* ---- presets ------------------------------------------------------------------------------ */

CT_TEST(limits_none_is_all_unchecked) {
    churn_limits l;
    int m;
    memset(&l, 0x5A, sizeof l);
    churn_limits_none(&l);
    for (m = 0; m < CHURN_METRIC_COUNT; m++) {
        CT_EQ_LL(l.peak[m], CHURN_NO_LIMIT);
        CT_EQ_LL(l.post_drain[m], CHURN_NO_LIMIT);
        CT_CHECK(l.growth_per_1k[m] < 0);
    }
    CT_CHECK(l.growth_windows >= 0 && l.growth_windows < 1000);
    CT_CHECK(l.growth_min_samples >= 0 && l.growth_min_samples < 1000);
}

CT_TEST(limits_release_exact_numbers) {
    churn_limits l;
    long long peak[CHURN_METRIC_COUNT], post[CHURN_METRIC_COUNT];
    int m;
    for (m = 0; m < CHURN_METRIC_COUNT; m++) peak[m] = post[m] = CHURN_NO_LIMIT;
    peak[CHURN_METRIC_HANDLES] = 128;       post[CHURN_METRIC_HANDLES] = 64;
    peak[CHURN_METRIC_THREADS] = 32;        post[CHURN_METRIC_THREADS] = 4;
    peak[CHURN_METRIC_GDI_OBJECTS] = 64;    post[CHURN_METRIC_GDI_OBJECTS] = 32;
    peak[CHURN_METRIC_USER_OBJECTS] = 64;   post[CHURN_METRIC_USER_OBJECTS] = 32;
    peak[CHURN_METRIC_PRIVATE_BYTES] = 384 * MIB; post[CHURN_METRIC_PRIVATE_BYTES] = 256 * MIB;
    peak[CHURN_METRIC_RSS_BYTES] = 384 * MIB;     post[CHURN_METRIC_RSS_BYTES] = 256 * MIB;
    memset(&l, 0x5A, sizeof l);
    churn_limits_release(&l);
    for (m = 0; m < CHURN_METRIC_COUNT; m++) {
        char what[128];
        if (l.peak[m] != peak[m] || l.post_drain[m] != post[m] || !(l.growth_per_1k[m] < 0)) {
            snprintf(what, sizeof what, "release %s: peak %lld (want %lld) post %lld (want %lld) growth %g (want <0)",
                     churn_metric_name((churn_metric)m), l.peak[m], peak[m], l.post_drain[m], post[m],
                     l.growth_per_1k[m]);
            ct_fail_at(__FILE__, __LINE__, what);
        }
    }
    CT_CHECK(l.growth_windows >= 0 && l.growth_windows < 1000);
    CT_CHECK(l.growth_min_samples >= 0 && l.growth_min_samples < 1000);
}

/* The numbers documented in churn.h's LIMITS AND VERDICTS table. */
CT_TEST(limits_strict_documented_numbers) {
    churn_limits l;
    long long peak[CHURN_METRIC_COUNT], post[CHURN_METRIC_COUNT];
    double growth[CHURN_METRIC_COUNT];
    int m;
    for (m = 0; m < CHURN_METRIC_COUNT; m++) {
        peak[m] = post[m] = CHURN_NO_LIMIT;
        growth[m] = -1;
    }
    peak[CHURN_METRIC_RSS_BYTES] = 256 * MIB;
    peak[CHURN_METRIC_PRIVATE_BYTES] = 256 * MIB;
    post[CHURN_METRIC_HANDLES] = 0;
    post[CHURN_METRIC_THREADS] = 0;
    post[CHURN_METRIC_RSS_BYTES] = 64 * MIB;
    post[CHURN_METRIC_PRIVATE_BYTES] = 64 * MIB;
    post[CHURN_METRIC_SOCKETS] = 0;
    post[CHURN_METRIC_CLOSE_WAIT] = 0;
    post[CHURN_METRIC_ZOMBIES] = 0;
    post[CHURN_METRIC_GDI_OBJECTS] = 0;
    post[CHURN_METRIC_USER_OBJECTS] = 0;
    growth[CHURN_METRIC_HANDLES] = 8;
    growth[CHURN_METRIC_THREADS] = 2;
    growth[CHURN_METRIC_RSS_BYTES] = 4.0 * MIB;
    growth[CHURN_METRIC_PRIVATE_BYTES] = 4.0 * MIB;
    growth[CHURN_METRIC_SOCKETS] = 8;
    growth[CHURN_METRIC_CLOSE_WAIT] = 4;
    growth[CHURN_METRIC_ZOMBIES] = 2;
    growth[CHURN_METRIC_CHILDREN] = 2;
    growth[CHURN_METRIC_GDI_OBJECTS] = 4;
    growth[CHURN_METRIC_USER_OBJECTS] = 4;
    memset(&l, 0x5A, sizeof l);
    churn_limits_strict(&l);
    for (m = 0; m < CHURN_METRIC_COUNT; m++) {
        char what[160];
        int growth_ok = growth[m] < 0 ? l.growth_per_1k[m] < 0 : l.growth_per_1k[m] == growth[m];
        if (l.peak[m] != peak[m] || l.post_drain[m] != post[m] || !growth_ok) {
            snprintf(what, sizeof what, "strict %s: peak %lld (want %lld) post %lld (want %lld) growth %g (want %g)",
                     churn_metric_name((churn_metric)m), l.peak[m], peak[m], l.post_drain[m], post[m],
                     l.growth_per_1k[m], growth[m]);
            ct_fail_at(__FILE__, __LINE__, what);
        }
    }
    /* the issue: zero residual handles, threads, sockets, close_wait and zombies after drain */
    CT_EQ_LL(l.post_drain[CHURN_METRIC_HANDLES], 0);
    CT_EQ_LL(l.post_drain[CHURN_METRIC_THREADS], 0);
    CT_EQ_LL(l.post_drain[CHURN_METRIC_SOCKETS], 0);
    CT_EQ_LL(l.post_drain[CHURN_METRIC_CLOSE_WAIT], 0);
    CT_EQ_LL(l.post_drain[CHURN_METRIC_ZOMBIES], 0);
    CT_EQ_LL(l.growth_windows, 4); /* "the growth rule (K = 4 windows)" */
    CT_CHECK(l.growth_min_samples >= 0 && l.growth_min_samples < 1000);
}

/* ---- churn_evaluate ----------------------------------------------------------------------- */

CT_TEST(evaluate_none_passes_known) {
    churn_snapshot b, p, d;
    churn_limits l;
    churn_verdict v;
    snap_all(&b, 10);
    snap_all(&p, 1000000);
    snap_all(&d, 999999);
    churn_limits_none(&l);
    poison_verdict(&v);
    CT_EQ_LL(churn_evaluate(&b, &p, &d, &l, &v), CHURN_OK);
    CT_EQ_LL(v.status, CHURN_PASS);
    CT_EQ_LL(v.ok, 1);
    CT_EQ_LL(v.violation_count, 0);
    CT_EQ_LL(v.unchecked, 0);
    CT_EQ_LL(v.reason[0], 0);
    CT_CHECK(verdict_consistent(&v));
}

CT_TEST(evaluate_release_exact_violations) {
    churn_snapshot b, p, d;
    churn_limits l;
    churn_verdict v;
    const long long base = 1000 * MIB;
    unsigned want_checked;
    expect_v e[6];
    snap_all(&b, base);
    snap_all(&p, base);
    snap_all(&d, base);
    /* peak: handles and gdi one over, threads and user exactly at, private one byte over, rss at */
    p.value[CHURN_METRIC_HANDLES] = base + 129;
    p.value[CHURN_METRIC_THREADS] = base + 32;
    p.value[CHURN_METRIC_GDI_OBJECTS] = base + 65;
    p.value[CHURN_METRIC_USER_OBJECTS] = base + 64;
    p.value[CHURN_METRIC_PRIVATE_BYTES] = base + 384 * MIB + 1;
    p.value[CHURN_METRIC_RSS_BYTES] = base + 384 * MIB;
    /* unchecked metrics may grow without bound */
    p.value[CHURN_METRIC_SOCKETS] = base + 100000;
    p.value[CHURN_METRIC_VIRTUAL_BYTES] = base + 100000 * MIB;
    p.value[CHURN_METRIC_CLOSE_WAIT] = base + 5000;
    /* post-drain: threads and gdi one over, rss one byte over, the rest exactly at */
    d.value[CHURN_METRIC_HANDLES] = base + 64;
    d.value[CHURN_METRIC_THREADS] = base + 5;
    d.value[CHURN_METRIC_GDI_OBJECTS] = base + 33;
    d.value[CHURN_METRIC_USER_OBJECTS] = base + 32;
    d.value[CHURN_METRIC_PRIVATE_BYTES] = base + 256 * MIB;
    d.value[CHURN_METRIC_RSS_BYTES] = base + 256 * MIB + 1;
    d.value[CHURN_METRIC_ZOMBIES] = base + 77;
    churn_limits_release(&l);
    poison_verdict(&v);
    CT_EQ_LL(churn_evaluate(&b, &p, &d, &l, &v), CHURN_OK);
    e[0].metric = CHURN_METRIC_HANDLES;       e[0].phase = CHURN_PHASE_PEAK;       e[0].observed = 129; e[0].limit = 128;
    e[1].metric = CHURN_METRIC_GDI_OBJECTS;   e[1].phase = CHURN_PHASE_PEAK;       e[1].observed = 65;  e[1].limit = 64;
    e[2].metric = CHURN_METRIC_PRIVATE_BYTES; e[2].phase = CHURN_PHASE_PEAK;
    e[2].observed = (double)(384 * MIB + 1); e[2].limit = (double)(384 * MIB);
    e[3].metric = CHURN_METRIC_THREADS;       e[3].phase = CHURN_PHASE_POST_DRAIN; e[3].observed = 5;   e[3].limit = 4;
    e[4].metric = CHURN_METRIC_GDI_OBJECTS;   e[4].phase = CHURN_PHASE_POST_DRAIN; e[4].observed = 33;  e[4].limit = 32;
    e[5].metric = CHURN_METRIC_RSS_BYTES;     e[5].phase = CHURN_PHASE_POST_DRAIN;
    e[5].observed = (double)(256 * MIB + 1); e[5].limit = (double)(256 * MIB);
    CHECK_VIOLATIONS(&v, e, 6);
    CT_EQ_LL(v.status, CHURN_FAIL);
    CT_EQ_LL(v.ok, 0);
    CT_EQ_LL(v.unchecked, 0);
    want_checked = CHURN_METRIC_BIT(CHURN_METRIC_HANDLES) | CHURN_METRIC_BIT(CHURN_METRIC_THREADS) |
                   CHURN_METRIC_BIT(CHURN_METRIC_RSS_BYTES) | CHURN_METRIC_BIT(CHURN_METRIC_PRIVATE_BYTES) |
                   CHURN_METRIC_BIT(CHURN_METRIC_GDI_OBJECTS) | CHURN_METRIC_BIT(CHURN_METRIC_USER_OBJECTS);
    CT_EQ_LL(v.checked, want_checked);
    CT_CHECK(v.reason[0] != 0);
    CT_CHECK(verdict_consistent(&v));
}

/* a delta equal to the limit passes; limit + 1 fails; a negative delta passes a 0 limit */
CT_TEST(evaluate_boundary_equal_passes) {
    churn_snapshot b, p, d;
    churn_limits l;
    churn_verdict v;
    expect_v e[2];
    int m;
    snap_all(&b, 50);
    churn_limits_none(&l);
    for (m = 0; m < CHURN_METRIC_COUNT; m++) {
        l.peak[m] = 7;
        l.post_drain[m] = 0;
    }
    snap_all(&p, 57);
    snap_all(&d, 50);
    d.value[CHURN_METRIC_THREADS] = 3; /* shrank */
    CT_EQ_LL(churn_evaluate(&b, &p, &d, &l, &v), CHURN_OK);
    CT_EQ_LL(v.violation_count, 0);
    CT_EQ_LL(v.status, CHURN_PASS);
    CT_EQ_LL(v.ok, 1);
    CT_EQ_LL(v.checked, CHURN_METRICS_ALL);
    CT_EQ_LL(v.unchecked, 0);

    p.value[CHURN_METRIC_SOCKETS] = 58;
    d.value[CHURN_METRIC_ZOMBIES] = 51;
    CT_EQ_LL(churn_evaluate(&b, &p, &d, &l, &v), CHURN_OK);
    e[0].metric = CHURN_METRIC_SOCKETS; e[0].phase = CHURN_PHASE_PEAK;       e[0].observed = 8; e[0].limit = 7;
    e[1].metric = CHURN_METRIC_ZOMBIES; e[1].phase = CHURN_PHASE_POST_DRAIN; e[1].observed = 1; e[1].limit = 0;
    CHECK_VIOLATIONS(&v, e, 2);
    CT_EQ_LL(v.status, CHURN_FAIL);
    CT_EQ_LL(v.ok, 0);
    CT_CHECK(verdict_consistent(&v));
}

/* every metric failing in both phases: 2 * COUNT violations fit in the array */
CT_TEST(evaluate_all_fail_both_phases) {
    churn_snapshot b, p, d;
    churn_limits l;
    churn_verdict v;
    expect_v e[2 * CHURN_METRIC_COUNT];
    int m;
    snap_all(&b, 0);
    snap_all(&p, 10);
    snap_all(&d, 5);
    churn_limits_none(&l);
    for (m = 0; m < CHURN_METRIC_COUNT; m++) {
        l.peak[m] = 9;
        l.post_drain[m] = 4;
        e[2 * m].metric = (churn_metric)m;     e[2 * m].phase = CHURN_PHASE_PEAK;
        e[2 * m].observed = 10;                e[2 * m].limit = 9;
        e[2 * m + 1].metric = (churn_metric)m; e[2 * m + 1].phase = CHURN_PHASE_POST_DRAIN;
        e[2 * m + 1].observed = 5;             e[2 * m + 1].limit = 4;
    }
    poison_verdict(&v);
    CT_EQ_LL(churn_evaluate(&b, &p, &d, &l, &v), CHURN_OK);
    CHECK_VIOLATIONS(&v, e, 2 * CHURN_METRIC_COUNT);
    CT_EQ_LL(v.status, CHURN_FAIL);
    CT_EQ_LL(v.ok, 0);
}

/* unknown in the baseline: no phase of that metric is judged, and the verdict says so */
CT_TEST(evaluate_unknown_is_unchecked_not_pass) {
    churn_snapshot b, p, d;
    churn_limits l;
    churn_verdict v;
    expect_v e[1];
    snap_all(&b, 100);
    snap_all(&p, 100);
    snap_all(&d, 100);
    churn_limits_none(&l);
    l.peak[CHURN_METRIC_HANDLES] = 0;
    l.post_drain[CHURN_METRIC_HANDLES] = 0;
    l.post_drain[CHURN_METRIC_THREADS] = 0;
    b.value[CHURN_METRIC_HANDLES] = CHURN_UNKNOWN;
    p.value[CHURN_METRIC_HANDLES] = 1000; /* would fail if it were judged against an unknown */
    d.value[CHURN_METRIC_HANDLES] = 1000;
    d.value[CHURN_METRIC_THREADS] = 101;
    /* an unknown metric with no limit is not "unchecked" */
    b.value[CHURN_METRIC_GDI_OBJECTS] = CHURN_UNKNOWN;
    poison_verdict(&v);
    CT_EQ_LL(churn_evaluate(&b, &p, &d, &l, &v), CHURN_OK);
    e[0].metric = CHURN_METRIC_THREADS; e[0].phase = CHURN_PHASE_POST_DRAIN; e[0].observed = 1; e[0].limit = 0;
    CHECK_VIOLATIONS(&v, e, 1);
    CT_EQ_LL(v.unchecked, CHURN_METRIC_BIT(CHURN_METRIC_HANDLES));
    CT_EQ_LL(v.checked, CHURN_METRIC_BIT(CHURN_METRIC_THREADS));
    CT_EQ_LL(v.status, CHURN_FAIL);

    /* same without the threads failure: a pass, but handles is still named unchecked */
    d.value[CHURN_METRIC_THREADS] = 100;
    poison_verdict(&v);
    CT_EQ_LL(churn_evaluate(&b, &p, &d, &l, &v), CHURN_OK);
    CT_EQ_LL(v.violation_count, 0);
    CT_EQ_LL(v.status, CHURN_PASS);
    CT_EQ_LL(v.ok, 1);
    CT_EQ_LL(v.unchecked, CHURN_METRIC_BIT(CHURN_METRIC_HANDLES));
    CT_CHECK(verdict_consistent(&v));
}

/* unknown only in one snapshot: that phase is unchecked, the other phase is still judged
   ("a metric unknown in any snapshot it needs is not checked") */
CT_TEST(evaluate_unknown_per_phase) {
    churn_snapshot b, p, d;
    churn_limits l;
    churn_verdict v;
    expect_v e[1];
    snap_all(&b, 100);
    snap_all(&p, 100);
    snap_all(&d, 100);
    churn_limits_none(&l);
    l.peak[CHURN_METRIC_SOCKETS] = 0;
    l.post_drain[CHURN_METRIC_SOCKETS] = 0;
    l.peak[CHURN_METRIC_CHILDREN] = 0;
    l.post_drain[CHURN_METRIC_CHILDREN] = 0;
    p.value[CHURN_METRIC_SOCKETS] = CHURN_UNKNOWN;
    d.value[CHURN_METRIC_SOCKETS] = 103;            /* judged: fails */
    p.value[CHURN_METRIC_CHILDREN] = 102;           /* judged: fails */
    d.value[CHURN_METRIC_CHILDREN] = CHURN_UNKNOWN;
    CT_EQ_LL(churn_evaluate(&b, &p, &d, &l, &v), CHURN_OK);
    {
        expect_v e2[2];
        e2[0].metric = CHURN_METRIC_SOCKETS;  e2[0].phase = CHURN_PHASE_POST_DRAIN; e2[0].observed = 3; e2[0].limit = 0;
        e2[1].metric = CHURN_METRIC_CHILDREN; e2[1].phase = CHURN_PHASE_PEAK;       e2[1].observed = 2; e2[1].limit = 0;
        CHECK_VIOLATIONS(&v, e2, 2);
    }
    CT_EQ_LL(v.unchecked, CHURN_METRIC_BIT(CHURN_METRIC_SOCKETS) | CHURN_METRIC_BIT(CHURN_METRIC_CHILDREN));
    CT_EQ_LL(v.checked, CHURN_METRIC_BIT(CHURN_METRIC_SOCKETS) | CHURN_METRIC_BIT(CHURN_METRIC_CHILDREN));
    CT_EQ_LL(v.status, CHURN_FAIL);

    /* unknown peak with a known, failing post-drain delta only */
    snap_all(&p, 100);
    snap_all(&d, 100);
    p.value[CHURN_METRIC_SOCKETS] = CHURN_UNKNOWN;
    d.value[CHURN_METRIC_SOCKETS] = 101;
    e[0].metric = CHURN_METRIC_SOCKETS; e[0].phase = CHURN_PHASE_POST_DRAIN; e[0].observed = 1; e[0].limit = 0;
    CT_EQ_LL(churn_evaluate(&b, &p, &d, &l, &v), CHURN_OK);
    CHECK_VIOLATIONS(&v, e, 1);
    CT_EQ_LL(v.status, CHURN_FAIL);
    CT_CHECK(v.unchecked & CHURN_METRIC_BIT(CHURN_METRIC_SOCKETS));
}

/* every limited metric unknown: inconclusive, never a pass */
CT_TEST(evaluate_all_unknown_inconclusive) {
    churn_snapshot b, p, d;
    churn_limits l;
    churn_verdict v;
    unsigned limited = CHURN_METRIC_BIT(CHURN_METRIC_HANDLES) | CHURN_METRIC_BIT(CHURN_METRIC_THREADS) |
                       CHURN_METRIC_BIT(CHURN_METRIC_RSS_BYTES) | CHURN_METRIC_BIT(CHURN_METRIC_PRIVATE_BYTES) |
                       CHURN_METRIC_BIT(CHURN_METRIC_GDI_OBJECTS) | CHURN_METRIC_BIT(CHURN_METRIC_USER_OBJECTS);
    churn_snapshot_init(&b);
    churn_snapshot_init(&p);
    churn_snapshot_init(&d);
    churn_limits_release(&l);
    poison_verdict(&v);
    CT_EQ_LL(churn_evaluate(&b, &p, &d, &l, &v), CHURN_OK);
    CT_EQ_LL(v.status, CHURN_INCONCLUSIVE);
    CT_EQ_LL(v.ok, 0);
    CT_EQ_LL(v.violation_count, 0);
    CT_EQ_LL(v.unchecked, limited);
    CT_EQ_LL(v.checked, 0);
    CT_CHECK(v.reason[0] != 0);

    /* only unlimited metrics known: still inconclusive */
    b.value[CHURN_METRIC_SOCKETS] = p.value[CHURN_METRIC_SOCKETS] = d.value[CHURN_METRIC_SOCKETS] = 3;
    poison_verdict(&v);
    CT_EQ_LL(churn_evaluate(&b, &p, &d, &l, &v), CHURN_OK);
    CT_EQ_LL(v.status, CHURN_INCONCLUSIVE);
    CT_EQ_LL(v.ok, 0);
    CT_EQ_LL(v.unchecked, limited);

    /* one limited metric known: a pass with the rest named unchecked */
    b.value[CHURN_METRIC_THREADS] = p.value[CHURN_METRIC_THREADS] = d.value[CHURN_METRIC_THREADS] = 3;
    poison_verdict(&v);
    CT_EQ_LL(churn_evaluate(&b, &p, &d, &l, &v), CHURN_OK);
    CT_EQ_LL(v.status, CHURN_PASS);
    CT_EQ_LL(v.ok, 1);
    CT_EQ_LL(v.unchecked, limited & ~CHURN_METRIC_BIT(CHURN_METRIC_THREADS));
    CT_EQ_LL(v.checked, CHURN_METRIC_BIT(CHURN_METRIC_THREADS));
}

/* a real snapshot against itself under strict: passes; what this platform cannot give
   (gdi/user objects on Linux) is named unchecked */
CT_TEST(evaluate_real_snapshot_strict) {
    churn_snapshot s;
    churn_limits l;
    churn_verdict v;
    unsigned unknown_limited = 0;
    int m;
    CT_REQUIRE(churn_snapshot_take(0, &s) == CHURN_OK);
    churn_limits_strict(&l);
    for (m = 0; m < CHURN_METRIC_COUNT; m++)
        if (s.value[m] == CHURN_UNKNOWN && (l.peak[m] >= 0 || l.post_drain[m] >= 0))
            unknown_limited |= CHURN_METRIC_BIT(m);
    CT_EQ_LL(churn_evaluate(&s, &s, &s, &l, &v), CHURN_OK);
    CT_EQ_LL(v.status, CHURN_PASS);
    CT_EQ_LL(v.ok, 1);
    CT_EQ_LL(v.violation_count, 0);
    CT_EQ_LL(v.unchecked, unknown_limited);
#ifdef __linux__
    CT_CHECK(v.unchecked & CHURN_METRIC_BIT(CHURN_METRIC_GDI_OBJECTS));
    CT_CHECK(v.checked & CHURN_METRIC_BIT(CHURN_METRIC_HANDLES));
#endif
}

CT_TEST(evaluate_bad_input) {
    churn_snapshot s;
    churn_limits l;
    churn_verdict v;
    snap_all(&s, 1);
    churn_limits_release(&l);
    CT_EQ_LL(churn_evaluate(NULL, &s, &s, &l, &v), CHURN_E_INVAL);
    CT_EQ_LL(churn_evaluate(&s, &s, &s, NULL, &v), CHURN_E_INVAL);
    CT_EQ_LL(churn_evaluate(&s, &s, &s, &l, NULL), CHURN_E_INVAL);
    CT_EQ_LL(churn_evaluate(NULL, NULL, NULL, NULL, NULL), CHURN_E_INVAL);
    CT_CHECK(churn_strerror(CHURN_E_INVAL) != NULL);
}

/* ---- growth ------------------------------------------------------------------------------- */

static void series_init(churn_sample *s, int n, long long stride) {
    int i;
    for (i = 0; i < n; i++) {
        s[i].cycle = (long long)i * stride;
        snap_all(&s[i].snapshot, 100);
        s[i].snapshot.at = (double)i;
    }
}

CT_TEST(growth_slope_known_series) {
    churn_sample s[20];
    double slope = -12345;
    int i;
    /* linear, 1 per cycle -> 1000 per 1000 cycles */
    series_init(s, 20, 10);
    for (i = 0; i < 20; i++) s[i].snapshot.value[CHURN_METRIC_HANDLES] = 100 + s[i].cycle;
    CT_EQ_LL(churn_growth_slope(s, 20, CHURN_METRIC_HANDLES, &slope), CHURN_OK);
    CT_CHECK(close_enough(slope, 1000.0));
    /* constant -> 0 */
    slope = -12345;
    CT_EQ_LL(churn_growth_slope(s, 20, CHURN_METRIC_THREADS, &slope), CHURN_OK);
    CT_CHECK(fabs(slope) < 1e-9);
    /* 2 per cycle, with unknown points (which would break linearity if used as -1) skipped */
    for (i = 0; i < 20; i++) s[i].snapshot.value[CHURN_METRIC_SOCKETS] = 5 + 2 * s[i].cycle;
    s[0].snapshot.value[CHURN_METRIC_SOCKETS] = CHURN_UNKNOWN;
    s[7].snapshot.value[CHURN_METRIC_SOCKETS] = CHURN_UNKNOWN;
    s[19].snapshot.value[CHURN_METRIC_SOCKETS] = CHURN_UNKNOWN;
    slope = -12345;
    CT_EQ_LL(churn_growth_slope(s, 20, CHURN_METRIC_SOCKETS, &slope), CHURN_OK);
    CT_CHECK(close_enough(slope, 2000.0));
    /* decreasing */
    for (i = 0; i < 20; i++) s[i].snapshot.value[CHURN_METRIC_ZOMBIES] = 10000 - 3 * s[i].cycle;
    CT_EQ_LL(churn_growth_slope(s, 20, CHURN_METRIC_ZOMBIES, &slope), CHURN_OK);
    CT_CHECK(close_enough(slope, -3000.0));
}

/* least squares, not the endpoint difference: (0,0) (1,3) (2,0) (3,3) -> 0.6 per cycle */
CT_TEST(growth_slope_least_squares) {
    churn_sample s[4];
    churn_sample u[3];
    double slope = 0;
    series_init(s, 4, 1);
    s[0].snapshot.value[CHURN_METRIC_RSS_BYTES] = 0;
    s[1].snapshot.value[CHURN_METRIC_RSS_BYTES] = 3;
    s[2].snapshot.value[CHURN_METRIC_RSS_BYTES] = 0;
    s[3].snapshot.value[CHURN_METRIC_RSS_BYTES] = 3;
    CT_EQ_LL(churn_growth_slope(s, 4, CHURN_METRIC_RSS_BYTES, &slope), CHURN_OK);
    CT_CHECK(close_enough(slope, 600.0));
    /* unevenly spaced cycles: (0,0) (10,5) (100,50) -> 0.5 per cycle */
    series_init(u, 3, 1);
    u[0].cycle = 0;   u[0].snapshot.value[CHURN_METRIC_HANDLES] = 0;
    u[1].cycle = 10;  u[1].snapshot.value[CHURN_METRIC_HANDLES] = 5;
    u[2].cycle = 100; u[2].snapshot.value[CHURN_METRIC_HANDLES] = 50;
    CT_EQ_LL(churn_growth_slope(u, 3, CHURN_METRIC_HANDLES, &slope), CHURN_OK);
    CT_CHECK(close_enough(slope, 500.0));
}

CT_TEST(growth_slope_bad_input) {
    churn_sample s[5];
    double slope;
    series_init(s, 5, 10);
    CT_EQ_LL(churn_growth_slope(NULL, 5, CHURN_METRIC_HANDLES, &slope), CHURN_E_INVAL);
    CT_EQ_LL(churn_growth_slope(s, 5, CHURN_METRIC_HANDLES, NULL), CHURN_E_INVAL);
    CT_EQ_LL(churn_growth_slope(s, 0, CHURN_METRIC_HANDLES, &slope), CHURN_E_INVAL);
    CT_EQ_LL(churn_growth_slope(s, 1, CHURN_METRIC_HANDLES, &slope), CHURN_E_INVAL);
    CT_EQ_LL(churn_growth_slope(s, 5, CHURN_METRIC_COUNT, &slope), CHURN_E_INVAL);
    /* fewer than two known points */
    s[0].snapshot.value[CHURN_METRIC_THREADS] = CHURN_UNKNOWN;
    s[1].snapshot.value[CHURN_METRIC_THREADS] = CHURN_UNKNOWN;
    s[2].snapshot.value[CHURN_METRIC_THREADS] = CHURN_UNKNOWN;
    s[3].snapshot.value[CHURN_METRIC_THREADS] = CHURN_UNKNOWN;
    CT_EQ_LL(churn_growth_slope(s, 5, CHURN_METRIC_THREADS, &slope), CHURN_E_INVAL);
    /* two known points with the same cycle */
    s[4].cycle = 7;
    s[3].cycle = 7;
    s[3].snapshot.value[CHURN_METRIC_THREADS] = 1;
    CT_EQ_LL(churn_growth_slope(s, 5, CHURN_METRIC_THREADS, &slope), CHURN_E_INVAL);
}

/* values whose successive deltas repeat [0, 1, -1] (CPython regrtest's example of noise) */
static void fill_noise(churn_sample *s, int n, churn_metric m, long long level) {
    int i;
    for (i = 0; i < n; i++) s[i].snapshot.value[m] = level + (i % 3 == 2 ? 1 : 0);
}

CT_TEST(growth_every_window_rule) {
    churn_sample s[24];
    int i;
    series_init(s, 24, 10);
    for (i = 0; i < 24; i++) s[i].snapshot.value[CHURN_METRIC_HANDLES] = 100 + 3 * i; /* steady */
    fill_noise(s, 24, CHURN_METRIC_THREADS, 50);
    for (i = 0; i < 24; i++) /* a step, then flat */
        s[i].snapshot.value[CHURN_METRIC_SOCKETS] = i < 12 ? 10 : 20;
    CT_EQ_LL(churn_growth_every_window(s, 24, CHURN_METRIC_HANDLES, 3), 1);
    CT_EQ_LL(churn_growth_every_window(s, 24, CHURN_METRIC_HANDLES, 4), 1);
    CT_EQ_LL(churn_growth_every_window(s, 24, CHURN_METRIC_THREADS, 3), 0);
    CT_EQ_LL(churn_growth_every_window(s, 24, CHURN_METRIC_THREADS, 4), 0);
    CT_EQ_LL(churn_growth_every_window(s, 24, CHURN_METRIC_SOCKETS, 4), 0);
    CT_EQ_LL(churn_growth_every_window(s, 24, CHURN_METRIC_RSS_BYTES, 4), 0); /* constant */
}

static void verdict_after_known_eval(churn_verdict *v, const churn_limits *l) {
    churn_snapshot b;
    snap_all(&b, 100);
    poison_verdict(v);
    (void)churn_evaluate(&b, &b, &b, l, v);
}

CT_TEST(growth_evaluate_steady_fails) {
    churn_sample s[20];
    churn_limits l;
    churn_verdict v;
    expect_v e[1];
    int i, k;
    for (k = 0; k <= 4; k += 4) { /* without and with the window rule */
        series_init(s, 20, 10);
        for (i = 0; i < 20; i++) s[i].snapshot.value[CHURN_METRIC_HANDLES] = 100 + s[i].cycle;
        churn_limits_none(&l);
        l.growth_per_1k[CHURN_METRIC_HANDLES] = 8;
        l.growth_per_1k[CHURN_METRIC_THREADS] = 2; /* constant: passes */
        l.growth_windows = k;
        verdict_after_known_eval(&v, &l); /* growth not judged yet: its status is not asserted */
        CT_EQ_LL(v.violation_count, 0);
        CT_EQ_LL(churn_evaluate_growth(s, 20, &l, &v), CHURN_OK);
        e[0].metric = CHURN_METRIC_HANDLES; e[0].phase = CHURN_PHASE_GROWTH; e[0].observed = 1000; e[0].limit = 8;
        CHECK_VIOLATIONS(&v, e, 1);
        CT_EQ_LL(v.status, CHURN_FAIL);
        CT_EQ_LL(v.ok, 0);
        CT_CHECK(v.checked & CHURN_METRIC_BIT(CHURN_METRIC_HANDLES));
        CT_CHECK(v.checked & CHURN_METRIC_BIT(CHURN_METRIC_THREADS));
        CT_EQ_LL(v.unchecked, 0);
    }
}

/* growth violations add to the peak/post-drain ones */
CT_TEST(growth_evaluate_appends) {
    churn_snapshot b, p;
    churn_sample s[10];
    churn_limits l;
    churn_verdict v;
    expect_v e[2];
    int i;
    snap_all(&b, 100);
    snap_all(&p, 100);
    p.value[CHURN_METRIC_THREADS] = 110;
    churn_limits_none(&l);
    l.peak[CHURN_METRIC_THREADS] = 5;
    l.growth_per_1k[CHURN_METRIC_PRIVATE_BYTES] = 4.0 * MIB;
    series_init(s, 10, 100);
    for (i = 0; i < 10; i++) s[i].snapshot.value[CHURN_METRIC_PRIVATE_BYTES] = 1000 * MIB + s[i].cycle * 8 * 1024;
    CT_EQ_LL(churn_evaluate(&b, &p, &b, &l, &v), CHURN_OK);
    CT_EQ_LL(churn_evaluate_growth(s, 10, &l, &v), CHURN_OK);
    e[0].metric = CHURN_METRIC_THREADS;       e[0].phase = CHURN_PHASE_PEAK;   e[0].observed = 10; e[0].limit = 5;
    e[1].metric = CHURN_METRIC_PRIVATE_BYTES; e[1].phase = CHURN_PHASE_GROWTH;
    e[1].observed = 1000.0 * 8 * 1024; e[1].limit = 4.0 * MIB; /* 8 KiB per cycle */
    CHECK_VIOLATIONS(&v, e, 2);
    CT_EQ_LL(v.status, CHURN_FAIL);
    CT_EQ_LL(v.ok, 0);
}

/* a step then flat, with [0,1,-1] noise on top: the slope is over the limit, but the last K
   windows did not all grow, so with growth_windows = K it is not a leak */
CT_TEST(growth_evaluate_window_tolerates_noise) {
    churn_sample s[20];
    churn_limits l;
    churn_verdict v;
    double slope = 0;
    int i;
    series_init(s, 20, 10);
    fill_noise(s, 20, CHURN_METRIC_HANDLES, 100);
    for (i = 10; i < 20; i++) s[i].snapshot.value[CHURN_METRIC_HANDLES] += 10;
    CT_EQ_LL(churn_growth_slope(s, 20, CHURN_METRIC_HANDLES, &slope), CHURN_OK);
    CT_CHECK(slope > 8);
    CT_EQ_LL(churn_growth_every_window(s, 20, CHURN_METRIC_HANDLES, 4), 0);
    churn_limits_none(&l);
    l.growth_per_1k[CHURN_METRIC_HANDLES] = 8;
    l.growth_windows = 4;
    verdict_after_known_eval(&v, &l);
    CT_EQ_LL(churn_evaluate_growth(s, 20, &l, &v), CHURN_OK);
    CT_EQ_LL(v.violation_count, 0);
    CT_EQ_LL(v.status, CHURN_PASS);
    CT_EQ_LL(v.ok, 1);
    /* without the window rule the same series is a violation at its slope */
    l.growth_windows = 0;
    verdict_after_known_eval(&v, &l);
    CT_EQ_LL(churn_evaluate_growth(s, 20, &l, &v), CHURN_OK);
    CT_EQ_LL(v.violation_count, 1);
    CT_EQ_LL(v.violations[0].metric, CHURN_METRIC_HANDLES);
    CT_EQ_LL(v.violations[0].phase, CHURN_PHASE_GROWTH);
    CT_CHECK(close_enough(v.violations[0].observed, slope));
    CT_CHECK(close_enough(v.violations[0].limit, 8));
    CT_EQ_LL(v.status, CHURN_FAIL);
    /* pure noise: no violation at all with the window rule, even at a 0 limit */
    fill_noise(s, 20, CHURN_METRIC_THREADS, 7);
    churn_limits_none(&l);
    l.growth_per_1k[CHURN_METRIC_THREADS] = 0;
    l.growth_windows = 4;
    verdict_after_known_eval(&v, &l);
    CT_EQ_LL(churn_evaluate_growth(s, 20, &l, &v), CHURN_OK);
    CT_EQ_LL(v.violation_count, 0);
    CT_EQ_LL(v.status, CHURN_PASS);
}

/* unknown in the series: growth unchecked and said so; with nothing else checked, inconclusive */
CT_TEST(growth_evaluate_unknown) {
    churn_sample s[10];
    churn_limits l;
    churn_verdict v;
    int i;
    series_init(s, 10, 10);
    for (i = 0; i < 10; i++) s[i].snapshot.value[CHURN_METRIC_CLOSE_WAIT] = CHURN_UNKNOWN;
    churn_limits_none(&l);
    l.growth_per_1k[CHURN_METRIC_CLOSE_WAIT] = 4;
    verdict_after_known_eval(&v, &l);
    CT_EQ_LL(churn_evaluate_growth(s, 10, &l, &v), CHURN_OK);
    CT_EQ_LL(v.violation_count, 0);
    CT_CHECK(v.unchecked & CHURN_METRIC_BIT(CHURN_METRIC_CLOSE_WAIT));
    CT_EQ_LL(v.status, CHURN_INCONCLUSIVE);
    CT_EQ_LL(v.ok, 0);

    /* with another growth metric checked and passing: a pass that names the unknown one */
    l.growth_per_1k[CHURN_METRIC_HANDLES] = 8;
    verdict_after_known_eval(&v, &l);
    CT_EQ_LL(churn_evaluate_growth(s, 10, &l, &v), CHURN_OK);
    CT_EQ_LL(v.violation_count, 0);
    CT_EQ_LL(v.status, CHURN_PASS);
    CT_EQ_LL(v.ok, 1);
    CT_CHECK(v.unchecked & CHURN_METRIC_BIT(CHURN_METRIC_CLOSE_WAIT));
    CT_CHECK(v.checked & CHURN_METRIC_BIT(CHURN_METRIC_HANDLES));
}

/* fewer samples than growth_min_samples (default 5): not judged */
CT_TEST(growth_evaluate_too_few_samples) {
    churn_sample s[4];
    churn_limits l;
    churn_verdict v;
    int i;
    series_init(s, 4, 10);
    for (i = 0; i < 4; i++) s[i].snapshot.value[CHURN_METRIC_HANDLES] = 100 + 50 * i;
    churn_limits_none(&l);
    l.peak[CHURN_METRIC_THREADS] = 0; /* something checked, so the verdict can pass */
    l.growth_per_1k[CHURN_METRIC_HANDLES] = 8;
    l.growth_min_samples = 0;
    verdict_after_known_eval(&v, &l);
    CT_EQ_LL(churn_evaluate_growth(s, 4, &l, &v), CHURN_OK);
    CT_EQ_LL(v.violation_count, 0);
    CT_CHECK(v.status != CHURN_FAIL);
    /* with a minimum of 3 the same series is judged */
    l.growth_min_samples = 3;
    verdict_after_known_eval(&v, &l);
    CT_EQ_LL(churn_evaluate_growth(s, 4, &l, &v), CHURN_OK);
    CT_EQ_LL(v.violation_count, 1);
    CT_EQ_LL(v.status, CHURN_FAIL);
}

CT_TEST(growth_evaluate_bad_input) {
    churn_sample s[5];
    churn_limits l;
    churn_verdict v;
    series_init(s, 5, 10);
    churn_limits_strict(&l);
    verdict_after_known_eval(&v, &l);
    CT_EQ_LL(churn_evaluate_growth(s, 5, NULL, &v), CHURN_E_INVAL);
    CT_EQ_LL(churn_evaluate_growth(s, 5, &l, NULL), CHURN_E_INVAL);
    CT_EQ_LL(churn_evaluate_growth(NULL, 5, &l, &v), CHURN_E_INVAL);
}

/* ---- drain, for real ---------------------------------------------------------------------- */

typedef struct closer {
    int fds[NFDS];
    int delay_ms;
} closer;

static void *closer_main(void *arg) {
    closer *c = (closer *)arg;
    int i;
    sleep_ms(c->delay_ms);
    for (i = 0; i < NFDS; i++) close(c->fds[i]);
    return NULL;
}

static int open_fds(int *fds) {
    int i;
    for (i = 0; i < NFDS; i++) {
        fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) {
            while (i-- > 0) close(fds[i]);
            return -1;
        }
    }
    return 0;
}

static void handles_only(churn_limits *l) {
    churn_limits_none(l);
    l->post_drain[CHURN_METRIC_HANDLES] = 0;
}

CT_TEST(drain_waits_for_late_close) {
    churn_snapshot base, post;
    churn_limits l;
    churn_drain_stats st;
    closer c;
    pthread_t t;
    int rc;
    CT_REQUIRE(churn_snapshot_take(0, &base) == CHURN_OK);
    CT_REQUIRE(base.value[CHURN_METRIC_HANDLES] >= 0);
    handles_only(&l);
    CT_REQUIRE(open_fds(c.fds) == 0);
    c.delay_ms = 300;
    CT_REQUIRE(pthread_create(&t, NULL, closer_main, &c) == 0);
    memset(&st, 0, sizeof st);
    memset(&post, 0, sizeof post);
    rc = churn_drain_ex(0, &base, &l, 8000, 64, &post, &st);
    pthread_join(t, NULL);
    CT_EQ_LL(rc, CHURN_OK);
    CT_CHECK(st.attempts > 1);
    CT_LE_LL(st.attempts, 64);
    CT_EQ_LL(st.settled, 1);
    CT_CHECK(st.settle_s > 0);
    CT_LE_LL(post.value[CHURN_METRIC_HANDLES], base.value[CHURN_METRIC_HANDLES]);
    CT_CHECK(post.pid > 0);
}

CT_TEST(drain_times_out_then_verdict_names_handles) {
    churn_snapshot base, post;
    churn_limits l;
    churn_verdict v;
    churn_drain_stats st;
    int fds[NFDS];
    int i, rc;
    expect_v e[1];
    CT_REQUIRE(churn_snapshot_take(0, &base) == CHURN_OK);
    handles_only(&l);
    CT_REQUIRE(open_fds(fds) == 0);
    memset(&st, 0, sizeof st);
    churn_snapshot_init(&post);
    rc = churn_drain_ex(0, &base, &l, 700, 64, &post, &st);
    CT_EQ_LL(rc, CHURN_E_TIMEOUT);
    CT_EQ_LL(st.settled, 0);
    CT_GE_LL(st.attempts, 1);
    CT_LE_LL(st.attempts, 64);
    /* the last snapshot is still written */
    CT_EQ_LL(post.value[CHURN_METRIC_HANDLES] - base.value[CHURN_METRIC_HANDLES], NFDS);
    CT_EQ_LL(churn_evaluate(&base, &post, &post, &l, &v), CHURN_OK);
    e[0].metric = CHURN_METRIC_HANDLES; e[0].phase = CHURN_PHASE_POST_DRAIN; e[0].observed = NFDS; e[0].limit = 0;
    CHECK_VIOLATIONS(&v, e, 1);
    CT_EQ_LL(v.status, CHURN_FAIL);
    CT_EQ_LL(v.ok, 0);

    /* the plain churn_drain agrees */
    churn_snapshot_init(&post);
    CT_EQ_LL(churn_drain(0, &base, &l, 300, &post), CHURN_E_TIMEOUT);
    CT_EQ_LL(post.value[CHURN_METRIC_HANDLES] - base.value[CHURN_METRIC_HANDLES], NFDS);
    for (i = 0; i < NFDS; i++) close(fds[i]);
}

/* bounded by attempts as well as time: 3 attempts end it long before the 10 s timeout */
CT_TEST(drain_bounded_by_attempts) {
    churn_snapshot base, post;
    churn_limits l;
    churn_drain_stats st;
    int fds[NFDS];
    int i;
    CT_REQUIRE(churn_snapshot_take(0, &base) == CHURN_OK);
    handles_only(&l);
    CT_REQUIRE(open_fds(fds) == 0);
    memset(&st, 0, sizeof st);
    CT_EQ_LL(churn_drain_ex(0, &base, &l, 10000, 3, &post, &st), CHURN_E_TIMEOUT);
    CT_GE_LL(st.attempts, 1);
    CT_LE_LL(st.attempts, 3);
    CT_EQ_LL(st.settled, 0);
    CT_EQ_LL(post.value[CHURN_METRIC_HANDLES] - base.value[CHURN_METRIC_HANDLES], NFDS);
    for (i = 0; i < NFDS; i++) close(fds[i]);
}

/* nothing to wait for: the first snapshot settles. Limits on metrics this platform cannot
   measure (release's gdi/user objects on Linux) never hold a drain up. */
CT_TEST(drain_settles_at_once) {
    churn_snapshot base, post;
    churn_limits l;
    churn_drain_stats st;
    CT_REQUIRE(churn_snapshot_take(0, &base) == CHURN_OK);
    handles_only(&l);
    memset(&st, 0, sizeof st);
    CT_EQ_LL(churn_drain_ex(0, &base, &l, 5000, 64, &post, &st), CHURN_OK);
    CT_EQ_LL(st.attempts, 1);
    CT_EQ_LL(st.settled, 1);
    churn_limits_release(&l);
    memset(&st, 0, sizeof st);
    CT_EQ_LL(churn_drain_ex(0, &base, &l, 5000, 64, &post, &st), CHURN_OK);
    CT_EQ_LL(st.settled, 1);
    churn_limits_strict(&l);
    l.post_drain[CHURN_METRIC_RSS_BYTES] = CHURN_NO_LIMIT;     /* memory of this binary may move */
    l.post_drain[CHURN_METRIC_PRIVATE_BYTES] = CHURN_NO_LIMIT;
    CT_EQ_LL(churn_drain(0, &base, &l, 5000, &post), CHURN_OK);
    churn_limits_none(&l);
    CT_EQ_LL(churn_drain(0, &base, &l, 5000, &post), CHURN_OK);
}

CT_TEST(drain_bad_input) {
    churn_snapshot base, post;
    churn_limits l;
    churn_drain_stats st;
    pid_t child;
    CT_REQUIRE(churn_snapshot_take(0, &base) == CHURN_OK);
    handles_only(&l);
    CT_EQ_LL(churn_drain(0, NULL, &l, 100, &post), CHURN_E_INVAL);
    CT_EQ_LL(churn_drain(0, &base, NULL, 100, &post), CHURN_E_INVAL);
    CT_EQ_LL(churn_drain(0, &base, &l, 100, NULL), CHURN_E_INVAL);
    CT_EQ_LL(churn_drain_ex(0, NULL, &l, 100, 5, &post, &st), CHURN_E_INVAL);
    CT_EQ_LL(churn_drain_ex(0, &base, NULL, 100, 5, &post, &st), CHURN_E_INVAL);
    CT_EQ_LL(churn_drain_ex(0, &base, &l, 100, 5, NULL, &st), CHURN_E_INVAL);
    /* a process that is gone */
    child = fork();
    CT_REQUIRE(child >= 0);
    if (child == 0) _exit(0);
    CT_REQUIRE(waitpid(child, NULL, 0) == child);
    CT_EQ_LL(churn_drain(child, &base, &l, 200, &post), CHURN_E_NOPROC);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    CT_RUN(phase_and_status_names);
    CT_RUN(limits_none_is_all_unchecked);
    CT_RUN(limits_release_exact_numbers);
    CT_RUN(limits_strict_documented_numbers);
    CT_RUN(evaluate_none_passes_known);
    CT_RUN(evaluate_release_exact_violations);
    CT_RUN(evaluate_boundary_equal_passes);
    CT_RUN(evaluate_all_fail_both_phases);
    CT_RUN(evaluate_unknown_is_unchecked_not_pass);
    CT_RUN(evaluate_unknown_per_phase);
    CT_RUN(evaluate_all_unknown_inconclusive);
    CT_RUN(evaluate_real_snapshot_strict);
    CT_RUN(evaluate_bad_input);
    CT_RUN(growth_slope_known_series);
    CT_RUN(growth_slope_least_squares);
    CT_RUN(growth_slope_bad_input);
    CT_RUN(growth_every_window_rule);
    CT_RUN(growth_evaluate_steady_fails);
    CT_RUN(growth_evaluate_appends);
    CT_RUN(growth_evaluate_window_tolerates_noise);
    CT_RUN(growth_evaluate_unknown);
    CT_RUN(growth_evaluate_too_few_samples);
    CT_RUN(growth_evaluate_bad_input);
    CT_RUN(drain_waits_for_late_close);
    CT_RUN(drain_times_out_then_verdict_names_handles);
    CT_RUN(drain_bounded_by_attempts);
    CT_RUN(drain_settles_at_once);
    CT_RUN(drain_bad_input);
    return ct_finish();
}
