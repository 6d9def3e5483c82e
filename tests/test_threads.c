/* test_threads.c - churn.h snapshots and inventories from several threads at once.

   4 worker threads each take 200 full snapshots, 200 cheap ones and 20 inventories (with
   diffs) of this process while the main thread keeps creating and closing fds of several
   kinds and starting short-lived threads. Everything returns CHURN_OK, nothing crashes,
   and afterwards the process's fds and threads are back to their starting counts.
   Also meant to run under ThreadSanitizer (no global mutable state in churn.h).
*/
#include "churn_test.h"
#include "churn_testutil.h"
#include "../churn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>

enum { WORKERS = 4, SNAPS = 200, INVENTORIES = 20, MAIN_ROUNDS_MAX = 200000 };

typedef struct t_worker {
    pthread_t th;
    int index;
    /* written by the worker only, read by main after join */
    int snaps_ok, snaps_bad, some_ok, some_bad, inv_ok, inv_bad, diff_bad, bad_values;
    int first_bad_rc;
} t_worker;

static pthread_mutex_t t_lock = PTHREAD_MUTEX_INITIALIZER;
static int t_done_workers;

static void t_note_bad(t_worker *w, int rc) {
    if (w->first_bad_rc == 0) w->first_bad_rc = rc;
}

static void *t_worker_main(void *arg) {
    t_worker *w = (t_worker *)arg;
    churn_inventory prev, cur, added;
    int i, have_prev = 0;
    memset(&prev, 0, sizeof prev);
    memset(&cur, 0, sizeof cur);
    memset(&added, 0, sizeof added);
    for (i = 0; i < SNAPS; i++) {
        churn_snapshot s;
        int rc = churn_snapshot_take(0, &s);
        if (rc == CHURN_OK) {
            w->snaps_ok++;
            if (s.value[CHURN_METRIC_HANDLES] < 3 || s.value[CHURN_METRIC_THREADS] < 2 ||
                s.value[CHURN_METRIC_RSS_BYTES] <= 0 || s.value[CHURN_METRIC_SOCKETS] < 0 ||
                s.value[CHURN_METRIC_CLOSE_WAIT] < 0 || s.value[CHURN_METRIC_ZOMBIES] < 0)
                w->bad_values++;
        } else {
            w->snaps_bad++;
            t_note_bad(w, rc);
        }
        rc = churn_snapshot_take_some(0, CHURN_METRICS_CHEAP, &s);
        if (rc == CHURN_OK) {
            w->some_ok++;
            if (s.value[CHURN_METRIC_HANDLES] < 3 || s.value[CHURN_METRIC_SOCKETS] != CHURN_UNKNOWN)
                w->bad_values++;
        } else {
            w->some_bad++;
            t_note_bad(w, rc);
        }
        if (i % (SNAPS / INVENTORIES) == 0) {
            rc = churn_inventory_take(0, &cur);
            if (rc == CHURN_OK) {
                w->inv_ok++;
                if (cur.handle_count < 3 || cur.thread_count < 2) w->bad_values++;
                if (have_prev) {
                    if (churn_inventory_diff(&prev, &cur, &added) != CHURN_OK) w->diff_bad++;
                    churn_inventory_free(&added);
                }
                churn_inventory_free(&prev);
                prev = cur;
                memset(&cur, 0, sizeof cur);
                have_prev = 1;
            } else {
                w->inv_bad++;
                t_note_bad(w, rc);
                churn_inventory_free(&cur);
            }
        }
    }
    churn_inventory_free(&prev);
    pthread_mutex_lock(&t_lock);
    t_done_workers++;
    pthread_mutex_unlock(&t_lock);
    return NULL;
}

static int t_all_done(void) {
    int d;
    pthread_mutex_lock(&t_lock);
    d = t_done_workers;
    pthread_mutex_unlock(&t_lock);
    return d == WORKERS;
}

static long t_gettid(void) { return (long)syscall(SYS_gettid); }

static void *t_short_thread(void *arg) { return arg; }

CT_TEST(test_concurrent_snapshots_and_inventories) {
    t_worker w[WORKERS];
    int i, started = 0, rounds = 0, fds0, thr0, churned_fds = 0, short_threads = 0;
    churn_snapshot s0, s1;
    t_warm_threads();
    CT_REQUIRE(churn_snapshot_take(0, &s0) == CHURN_OK);
    fds0 = t_self_fds();
    thr0 = t_self_threads();
    CT_EQ_LL(s0.value[CHURN_METRIC_HANDLES], fds0);
    memset(w, 0, sizeof w);
    for (i = 0; i < WORKERS; i++) {
        w[i].index = i;
        if (pthread_create(&w[i].th, NULL, t_worker_main, &w[i]) != 0) break;
        started++;
    }
    CT_REQUIRE(started == WORKERS);
    /* the main thread churns fds (and now and then a thread) until the workers finish */
    while (!t_all_done() && rounds < MAIN_ROUNDS_MAX) {
        int p[2], s, e, d;
        rounds++;
        if (pipe(p) == 0) {
            churned_fds += 2;
            close(p[0]);
            close(p[1]);
        }
        s = socket(rounds % 2 ? AF_INET : AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s >= 0) {
            churned_fds++;
            close(s);
        }
        e = eventfd(0, EFD_CLOEXEC);
        if (e >= 0) {
            churned_fds++;
            /* a close that reuses the number for another kind while someone lists */
            d = open("/dev/null", O_RDONLY | O_CLOEXEC);
            if (d >= 0) {
                churned_fds++;
                dup2(d, e);
                close(d);
            }
            close(e);
        }
        if (rounds % 50 == 0) {
            pthread_t t;
            if (pthread_create(&t, NULL, t_short_thread, NULL) == 0) {
                pthread_join(t, NULL);
                short_threads++;
            }
        }
    }
    for (i = 0; i < WORKERS; i++) pthread_join(w[i].th, NULL);
    printf("    info: main churned %d fds and %d threads in %d rounds\n", churned_fds, short_threads,
           rounds);
    CT_CHECK(t_all_done());
    for (i = 0; i < WORKERS; i++) {
        if (w[i].snaps_bad || w[i].some_bad || w[i].inv_bad || w[i].diff_bad || w[i].bad_values)
            printf("    worker %d: snapshots %d ok %d bad, cheap %d ok %d bad, inventories %d ok %d bad, "
                   "diffs bad %d, implausible values %d, first error %d (%s)\n",
                   i, w[i].snaps_ok, w[i].snaps_bad, w[i].some_ok, w[i].some_bad, w[i].inv_ok,
                   w[i].inv_bad, w[i].diff_bad, w[i].bad_values, w[i].first_bad_rc,
                   churn_strerror(w[i].first_bad_rc));
        CT_EQ_LL(w[i].snaps_ok, SNAPS);
        CT_EQ_LL(w[i].some_ok, SNAPS);
        CT_EQ_LL(w[i].inv_ok, INVENTORIES);
        CT_EQ_LL(w[i].diff_bad, 0);
        CT_EQ_LL(w[i].bad_values, 0);
    }
    /* joined threads leave /proc/self/task a moment after join returns */
    for (i = 0; i < 2000 && t_self_threads() != thr0; i++) t_sleep_ms(1);
    CT_EQ_LL(t_self_fds(), fds0);
    CT_EQ_LL(t_self_threads(), thr0);
    CT_REQUIRE(churn_snapshot_take(0, &s1) == CHURN_OK);
    CT_EQ_LL(s1.value[CHURN_METRIC_HANDLES], s0.value[CHURN_METRIC_HANDLES]);
    CT_EQ_LL(s1.value[CHURN_METRIC_THREADS], s0.value[CHURN_METRIC_THREADS]);
    CT_EQ_LL(s1.value[CHURN_METRIC_SOCKETS], s0.value[CHURN_METRIC_SOCKETS]);
}

/* Several threads inventory each other while they rename themselves; as they finish at
   different times, listings race with thread exits (a /proc/P/task listing whose cursor
   thread exits ends early: churn.h must still see every live thread). Exits are what
   matter, so the whole batch repeats: t_namer_batches, more under CHURN_SOAK=1. */
static int t_namer_rounds = 50, t_namer_batches = 40;

typedef struct t_namer {
    pthread_t th;
    int index, bad, rounds;
} t_namer;

static void *t_namer_main(void *arg) {
    t_namer *n = (t_namer *)arg;
    int i;
    for (i = 0; i < t_namer_rounds; i++) {
        char name[32];
        churn_inventory inv;
        memset(&inv, 0, sizeof inv);
        snprintf(name, sizeof name, "ct-n%d-%d", n->index % 10, i % 100);
        name[15] = '\0';
        pthread_setname_np(pthread_self(), name);
        if (churn_inventory_take(0, &inv) != CHURN_OK) n->bad++;
        else {
            int j, found = 0;
            long long me = (long long)t_gettid();
            for (j = 0; j < inv.thread_count; j++)
                if (inv.threads[j].tid == me) found = strcmp(inv.threads[j].name, name) == 0 ? 1 : 2;
            if (found != 1) n->bad++;
        }
        churn_inventory_free(&inv);
        n->rounds++;
    }
    return NULL;
}

CT_TEST(test_concurrent_inventories_see_own_names) {
    enum { NAMERS = 4 };
    t_namer n[NAMERS];
    int i, b, bad = 0, thr0 = t_self_threads();
    for (b = 0; b < t_namer_batches; b++) {
        int started = 0;
        memset(n, 0, sizeof n);
        for (i = 0; i < NAMERS; i++) {
            n[i].index = i;
            if (pthread_create(&n[i].th, NULL, t_namer_main, &n[i]) != 0) break;
            started++;
        }
        for (i = 0; i < started; i++) pthread_join(n[i].th, NULL);
        CT_REQUIRE(started == NAMERS);
        for (i = 0; i < NAMERS; i++) {
            CT_EQ_LL(n[i].rounds, t_namer_rounds);
            bad += n[i].bad;
        }
    }
    if (bad) printf("    %d of %d inventories missed the calling thread or its name\n", bad,
                    t_namer_batches * NAMERS * t_namer_rounds);
    CT_EQ_LL(bad, 0);
    for (i = 0; i < 2000 && t_self_threads() != thr0; i++) t_sleep_ms(1);
    CT_EQ_LL(t_self_threads(), thr0);
}

int main(void) {
    const char *soak = getenv("CHURN_SOAK");
    signal(SIGPIPE, SIG_IGN);
    if (soak && strcmp(soak, "1") == 0) t_namer_batches = 400;
    CT_RUN(test_concurrent_snapshots_and_inventories);
    CT_RUN(test_concurrent_inventories_see_own_names);
    return ct_finish();
}
