/* bench/churn.c - churn_run's RESET cycles against a hand-written C connect/RST loop.

   One process, one run: an accept()+close() loopback server thread, then
     raw c=1    socket, connect, SO_LINGER {1,0}, close
     raw c=16   non-blocking sockets, 16 connects in flight, poll(), SO_LINGER {1,0}, close
     churn c=1  churn_run, CHURN_PROFILE_RESET, sample_every 100, watch_pid 0, limits none
     churn c=16 the same with concurrency 16
   each about 20000 cycles (and at most ~8 s), five rounds interleaved, medians printed,
   ratio churn/raw (target >= 0.8x, ANCHORS.md).
   CHURN_BENCH_LONG=1 adds 1,000,000 no-op custom cycles with sample_every 1 and reports
   how much the harness's own memory moved (target: flat).

   Build: gcc -O2 -std=c99 -D_GNU_SOURCE -pthread -I. bench/churn.c -o build/bench_churn -lm
   Env:   CHURN_BENCH_CYCLES (default 20000), CHURN_BENCH_ROUNDS (default 5), CHURN_BENCH_LONG=1
*/
#define CHURN_IMPLEMENTATION
#include "../churn.h"

#define BENCH_NAME "bench/churn"
#include "bench_util.h" /* die, now_*, median, read_all_at, raise_nofile */

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

/* ---- accept-and-close server ----------------------------------------------------------- */

static int srv_fd = -1;
static volatile int srv_stop;
static struct sockaddr_in srv_addr;

static void *srv_main(void *arg) {
    (void)arg;
    while (!srv_stop) {
        int c = accept(srv_fd, NULL, NULL);
        if (c >= 0) close(c);
        else if (errno != EINTR && errno != ECONNABORTED && errno != EMFILE && errno != ENFILE) break;
    }
    return NULL;
}

static int srv_start(pthread_t *th) {
    socklen_t al = sizeof srv_addr;
    int one = 1;
    srv_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (srv_fd < 0) return -1;
    setsockopt(srv_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&srv_addr, 0, sizeof srv_addr);
    srv_addr.sin_family = AF_INET;
    srv_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(srv_fd, (struct sockaddr *)&srv_addr, sizeof srv_addr) != 0 || listen(srv_fd, 4096) != 0) return -1;
    getsockname(srv_fd, (struct sockaddr *)&srv_addr, &al);
    return pthread_create(th, NULL, srv_main, NULL) == 0 ? 0 : -1;
}

static void srv_end(pthread_t th) {
    srv_stop = 1;
    shutdown(srv_fd, SHUT_RDWR); /* wakes accept() */
    pthread_join(th, NULL);
    close(srv_fd);
}

/* ---- raw loops ------------------------------------------------------------------------- */

static void rst_close(int fd) {
    struct linger lg;
    lg.l_onoff = 1;
    lg.l_linger = 0;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(fd);
}

typedef struct run_out { long long cycles, errors; double seconds; } run_out;

static run_out raw_c1(long long n, double max_s) {
    run_out r;
    double t0 = now_s(), end = t0 + max_s;
    long long i;
    memset(&r, 0, sizeof r);
    for (i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) { r.errors++; continue; }
        if (connect(fd, (struct sockaddr *)&srv_addr, sizeof srv_addr) != 0) r.errors++;
        rst_close(fd);
        r.cycles++;
        if ((i & 255) == 0 && now_s() > end) break;
    }
    r.seconds = now_s() - t0;
    return r;
}

#define RAW_MAXC 64
static int raw_open(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&srv_addr, sizeof srv_addr) != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    return fd;
}

static run_out raw_poll(long long n, int conc, double max_s) {
    run_out r;
    struct pollfd pf[RAW_MAXC];
    int live = 0, i;
    long long started = 0;
    double t0 = now_s(), end = t0 + max_s;
    memset(&r, 0, sizeof r);
    if (conc > RAW_MAXC) conc = RAW_MAXC;
    while (live < conc && started < n) {
        int fd = raw_open();
        started++;
        if (fd < 0) { r.errors++; r.cycles++; continue; }
        pf[live].fd = fd; pf[live].events = POLLOUT; pf[live].revents = 0; live++;
    }
    while (live > 0) {
        int k = poll(pf, (nfds_t)live, 1000);
        if (k < 0 && errno != EINTR) break;
        for (i = 0; i < live; i++) {
            int err = 0;
            socklen_t el = sizeof err;
            if (!pf[i].revents) continue;
            getsockopt(pf[i].fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err) r.errors++;
            rst_close(pf[i].fd);
            r.cycles++;
            pf[i].fd = -1;
            if (started < n && now_s() < end) {
                int fd = raw_open();
                started++;
                if (fd < 0) { r.errors++; r.cycles++; }
                else { pf[i].fd = fd; pf[i].revents = 0; }
            }
        }
        {
            int j = 0;
            for (i = 0; i < live; i++)
                if (pf[i].fd >= 0) pf[j++] = pf[i];
            live = j;
        }
    }
    r.seconds = now_s() - t0;
    return r;
}

/* ---- churn runs ------------------------------------------------------------------------ */

typedef struct time_box { double end; } time_box;
static int stop_at(void *user, long long done, long long total) {
    (void)done; (void)total;
    return now_s() > ((time_box *)user)->end;
}

static run_out churn_reset(long long n, int conc, double max_s, int *rc_out) {
    churn_config c;
    churn_result res;
    time_box tb;
    run_out r;
    int rc;
    memset(&r, 0, sizeof r);
    churn_config_init(&c, CHURN_BUDGET_SMOKE);
    c.host = "127.0.0.1";
    c.port = ntohs(srv_addr.sin_port);
    c.cycles = n;
    c.concurrency = conc;
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_RESET);
    c.sample_every = 100;
    c.watch_pid = 0;
    churn_limits_none(&c.limits);
    tb.end = now_s() + max_s;
    c.progress = stop_at;
    c.user = &tb;
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    *rc_out = rc;
    r.cycles = res.cycles_done;
    r.errors = res.outcomes.attempted - res.outcomes.completed;
    r.seconds = res.elapsed_s;
    churn_result_free(&res);
    return r;
}

/* "min..max" of the rounds, sorted by median() already */
static const char *spread(const double *v, int n, char *buf, size_t cap) {
    snprintf(buf, cap, "%.0f..%.0f", v[0], v[n - 1]);
    return buf;
}

/* ---- long memory run ------------------------------------------------------------------- */

static int noop_cycle(void *user, long long index) {
    (void)user; (void)index;
    return 0;
}

static long max_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static void long_run(void) {
    churn_config c;
    churn_result res;
    long rss0 = max_rss_kb(), rss1;
    long long base, peak, post, series_max = 0, series_min = -1;
    int rc, i;
    double t0 = now_s();
    churn_config_init(&c, CHURN_BUDGET_SOAK);
    c.cycles = 1000000;
    c.cycle = noop_cycle;
    c.sample_every = 1;
    c.watch_pid = 0;
    churn_limits_none(&c.limits);
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    rss1 = max_rss_kb();
    base = res.baseline.value[CHURN_METRIC_RSS_BYTES];
    peak = res.peak.value[CHURN_METRIC_RSS_BYTES];
    post = res.post_drain.value[CHURN_METRIC_RSS_BYTES];
    for (i = 0; i < res.series_count; i++) {
        long long v = res.series[i].snapshot.value[CHURN_METRIC_RSS_BYTES];
        if (v < 0) continue;
        if (v > series_max) series_max = v;
        if (series_min < 0 || v < series_min) series_min = v;
    }
    printf("\nlong run: 1,000,000 no-op custom cycles, sample_every 1 (rc %d %s, %.1f s, %lld cycles, "
           "%.0f cycles/s)\n", rc, churn_strerror(rc), now_s() - t0, res.cycles_done,
           res.elapsed_s > 0 ? (double)res.cycles_done / res.elapsed_s : 0.0);
    printf("  series samples kept      %d (stride %lld)\n", res.series_count, res.series_stride);
    printf("  rss baseline / peak / post_drain   %lld / %lld / %lld KiB\n", base / 1024, peak / 1024, post / 1024);
    printf("  max rss change vs baseline (peak)  %+lld KiB\n", (peak - base) / 1024);
    printf("  series rss min..max                %lld..%lld KiB (spread %lld KiB)\n", series_min / 1024,
           series_max / 1024, (series_max - series_min) / 1024);
    printf("  getrusage max rss before / after   %ld / %ld KiB (%+ld KiB)\n", rss0, rss1, rss1 - rss0);
    printf("  private bytes baseline / post      %lld / %lld KiB\n",
           res.baseline.value[CHURN_METRIC_PRIVATE_BYTES] / 1024,
           res.post_drain.value[CHURN_METRIC_PRIVATE_BYTES] / 1024);
    churn_result_free(&res);
}

int main(void) {
    pthread_t th;
    const char *e;
    long long n = 20000;
    int rounds = 5, i, rc1 = 0, rc16 = 0;
    double max_s = 8.0;
    double rc1v[16], rp16v[16], cc1v[16], cc16v[16];
    long long cc1_cycles = 0, cc16_cycles = 0, errs = 0;
    if ((e = getenv("CHURN_BENCH_CYCLES")) != NULL && atoll(e) > 0) n = atoll(e);
    if ((e = getenv("CHURN_BENCH_ROUNDS")) != NULL && atoi(e) > 0) rounds = atoi(e) > 16 ? 16 : atoi(e);
    if (srv_start(&th) != 0) {
        fprintf(stderr, "bench: cannot start the loopback server: %s\n", strerror(errno));
        return 2;
    }
    printf("churn.h %s bench: RESET cycles against an accept()+close() server on 127.0.0.1:%d\n",
           churn_version_string(), ntohs(srv_addr.sin_port));
    printf("%lld cycles per measurement (at most %.0f s), %d rounds interleaved, medians\n\n", n, max_s, rounds);
    /* warm the path (and the page cache of the allocator) once */
    raw_c1(2000, 2.0);
    for (i = 0; i < rounds; i++) {
        run_out a = raw_c1(n, max_s);
        run_out b;
        run_out c = raw_poll(n, 16, max_s);
        run_out d;
        b = churn_reset(n, 1, max_s, &rc1);
        d = churn_reset(n, 16, max_s, &rc16);
        rc1v[i] = a.seconds > 0 ? (double)a.cycles / a.seconds : 0;
        rp16v[i] = c.seconds > 0 ? (double)c.cycles / c.seconds : 0;
        cc1v[i] = b.seconds > 0 ? (double)b.cycles / b.seconds : 0;
        cc16v[i] = d.seconds > 0 ? (double)d.cycles / d.seconds : 0;
        cc1_cycles = b.cycles;
        cc16_cycles = d.cycles;
        errs += a.errors + b.errors + c.errors + d.errors;
        if (rc1 != CHURN_OK || rc16 != CHURN_OK)
            printf("round %d: churn_run returned %d (%s) / %d (%s)\n", i, rc1, churn_strerror(rc1), rc16,
                   churn_strerror(rc16));
    }
    {
        double r1 = median(rc1v, rounds), r16 = median(rp16v, rounds);
        double c1 = median(cc1v, rounds), c16 = median(cc16v, rounds);
        char b[64];
        printf("%-30s %10s %8s   %s\n", "loop", "cycles/s", "ratio", "rounds min..max");
        printf("%-30s %10.0f %8s   %s\n", "raw C connect+RST, c=1", r1, "1.00x", spread(rc1v, rounds, b, sizeof b));
        printf("%-30s %10.0f %7.2fx   %s (%lld cycles/run)\n", "churn_run RESET, c=1", c1,
               r1 > 0 ? c1 / r1 : 0.0, spread(cc1v, rounds, b, sizeof b), cc1_cycles);
        printf("%-30s %10.0f %8s   %s\n", "raw C poll() 16 in flight", r16, "1.00x", spread(rp16v, rounds, b, sizeof b));
        printf("%-30s %10.0f %7.2fx   %s (%lld cycles/run)\n", "churn_run RESET, c=16", c16,
               r16 > 0 ? c16 / r16 : 0.0, spread(cc16v, rounds, b, sizeof b), cc16_cycles);
        printf("\ntarget >= 0.80x: c=1 %s, c=16 %s   (non-completed cycles over all runs: %lld)\n",
               r1 > 0 && c1 / r1 >= 0.8 ? "met" : "MISSED", r16 > 0 && c16 / r16 >= 0.8 ? "met" : "MISSED", errs);
    }
    srv_end(th);
    if ((e = getenv("CHURN_BENCH_LONG")) != NULL && strcmp(e, "1") == 0) long_run();
    return 0;
}
