/* test_report.c - the JSON report (churn_report_write / _fprint / _write_fn), its schema
   (churn-report.schema.json) and the human summary (churn_summary_fprint).

   Golden files: fixed synthetic churn_config + churn_result pairs (every field set
   deterministically, awkward bytes in leaked paths and thread names) must render byte for
   byte as tests/golden/<name>.json, through all three writers. Regenerate after an intended
   format change with
       CHURN_UPDATE_GOLDEN=1 build/tests/test_report
   and review the diff by eye before committing.
   Schema: the golden files and reports of real churn_run()s (a loopback accept-and-close
   server on a thread of this test; a custom cycle) parse with `python3 -m json.tool` and
   validate against the schema with /usr/bin/python3 + jsonschema (Debian
   python3-jsonschema); the schema itself is checked against the 2020-12 metaschema, key order
   in reports must follow the schema's property order, and mutated reports must be rejected.
   Without the module the schema tests skip, except under CI (env CI set), where they fail.
   Atomicity: missing directory, parent is a file, target is a directory, read-only
   directory (as root: in a child running as nobody) and read-only tmpfs, RLIMIT_FSIZE below
   the report size, a full 16 KiB tmpfs (tmpfs cases in a child in its own mount namespace;
   skipped with the reason when that is not permitted), a failing report_extra: each is an
   error, the previous report stays byte-identical and no ".tmp-" file is left. A successful
   write replaces the file completely, and concurrent readers only ever see whole reports.

   Build: gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -D_GNU_SOURCE -pthread -Itests -I. \
          tests/test_report.c build/churn_impl.o -o build/tests/test_report -lm
*/
#include "churn_test.h"
#include "../churn.h"

#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

/* ---- paths ------------------------------------------------------------------------------ */

static char g_tmp[1024];        /* this run's scratch directory (removed at exit) */
static char g_src_dir[1024];    /* directory of this source file: tests */
static char g_golden_dir[2048]; /* tests/golden */
static char g_schema[2048];     /* churn-report.schema.json */

static void init_paths(void) {
    const char *f = __FILE__, *slash = strrchr(f, '/'), *env;
    if (slash) snprintf(g_src_dir, sizeof g_src_dir, "%.*s", (int)(slash - f), f);
    else snprintf(g_src_dir, sizeof g_src_dir, ".");
    env = getenv("CHURN_GOLDEN_DIR");
    if (env && env[0]) snprintf(g_golden_dir, sizeof g_golden_dir, "%s", env);
    else snprintf(g_golden_dir, sizeof g_golden_dir, "%s/golden", g_src_dir);
    snprintf(g_schema, sizeof g_schema, "%s/../churn-report.schema.json", g_src_dir);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st; (void)ftw;
    if (flag == FTW_DP || flag == FTW_D) rmdir(path);
    else unlink(path);
    return 0;
}
static void rm_rf(const char *path) {
    chmod(path, 0700);
    nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A fresh empty directory under g_tmp. */
static void fresh_dir(char *out, size_t cap, const char *name) {
    snprintf(out, cap, "%s/%s", g_tmp, name);
    rm_rf(out);
    mkdir(out, 0755);
}

/* ---- byte buffers and files ------------------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
    int fail_after;     /* > 0: the write call with this number fails */
    int calls;
} buf;

static int buf_write(void *user, const void *bytes, size_t n) {
    buf *b = (buf *)user;
    b->calls++;
    if (b->fail_after && b->calls >= b->fail_after) return -1;
    if (b->len + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 4096;
        char *np;
        while (b->len + n + 1 > nc) nc *= 2;
        np = (char *)realloc(b->p, nc);
        if (!np) return -1;
        b->p = np;
        b->cap = nc;
    }
    if (n) memcpy(b->p + b->len, bytes, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}
static void buf_free(buf *b) { free(b->p); memset(b, 0, sizeof *b); }

/* Whole file into b; 0 ok, -1 (errno) on error. */
static int read_file(const char *path, buf *b) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char tmp[8192];
    memset(b, 0, sizeof *b);
    if (fd < 0) return -1;
    for (;;) {
        ssize_t n = read(fd, tmp, sizeof tmp);
        if (n < 0) { if (errno == EINTR) continue; close(fd); buf_free(b); return -1; }
        if (n == 0) break;
        buf_write(b, tmp, (size_t)n);
    }
    close(fd);
    if (!b->p) buf_write(b, "", 0);
    return 0;
}

static int write_file_raw(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    int ok;
    if (!f) return -1;
    ok = fwrite(p, 1, n, f) == n;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static int buf_eq(const buf *a, const buf *b) {
    return a->len == b->len && (a->len == 0 || memcmp(a->p, b->p, a->len) == 0);
}

/* Entries of dir (without . and ..), joined by ' '; returns their number, or -1. */
static int list_dir(const char *dir, char *out, size_t cap, int *temps) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    if (out && cap) out[0] = '\0';
    if (temps) *temps = 0;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        n++;
        if (temps && strstr(e->d_name, ".tmp-")) (*temps)++;
        if (out && strlen(out) + strlen(e->d_name) + 2 < cap) {
            if (out[0]) strcat(out, " ");
            strcat(out, e->d_name);
        }
    }
    closedir(d);
    return n;
}

static int is_churn_error(int rc) {
    return rc <= CHURN_E_INVAL && rc >= CHURN_E_CANCELED && strcmp(churn_strerror(rc), "") != 0;
}

static void failf(const char *file, int line, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static void failf(const char *file, int line, const char *fmt, ...) {
    char m[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    ct_fail_at(file, line, m);
}
#define FAILF(...) failf(__FILE__, __LINE__, __VA_ARGS__)

/* After a failed write: the old bytes at path are intact (when old is given), no temp file is
   left in dir, and dir holds expect_entries entries (when >= 0). */
#define CHECK_INTACT(dir_, path_, old_, expect_entries_) \
    check_intact((dir_), (path_), (old_), (expect_entries_), __FILE__, __LINE__)
static void check_intact(const char *dir, const char *path, const buf *old, int expect_entries, const char *file,
                         int line) {
    char names[2048];
    int temps = 0, n;
    if (old) {
        buf now;
        if (read_file(path, &now) != 0) failf(file, line, "previous report %s is gone (%s)", path, strerror(errno));
        else {
            if (!buf_eq(&now, old))
                failf(file, line, "previous report %s changed (%zu bytes, was %zu)", path, now.len, old->len);
            buf_free(&now);
        }
    }
    n = list_dir(dir, names, sizeof names, &temps);
    if (temps) failf(file, line, "temporary files left in %s: %s", dir, names);
    if (expect_entries >= 0 && n != expect_entries)
        failf(file, line, "%s holds %d entries, expected %d: [%s]", dir, n, expect_entries, names);
}
/* ... and rc is a negative CHURN_E_* code. */
#define CHECK_WRITE_FAILED(rc_, dir_, path_, old_, expect_entries_)                                         \
    do {                                                                                                  \
        int rc__ = (rc_);                                                                                 \
        if (rc__ >= 0 || !is_churn_error(rc__)) FAILF("expected a negative CHURN_E_* code, got %d", rc__); \
        CHECK_INTACT(dir_, path_, old_, expect_entries_);                                                 \
    } while (0)

/* ---- fixtures ---------------------------------------------------------------------------- */

static void set_handle(churn_handle_info *h, long long id, const char *kind, size_t kind_len, const char *detail,
                       size_t detail_len, unsigned long long object) {
    memset(h, 0, sizeof *h);
    h->id = id;
    memcpy(h->kind, kind, kind_len < sizeof h->kind ? kind_len : sizeof h->kind);
    memcpy(h->detail, detail, detail_len < sizeof h->detail ? detail_len : sizeof h->detail);
    h->object = object;
}
#define SET_HANDLE(h, id, kind, detail, obj) set_handle((h), (id), (kind), strlen(kind), (detail), strlen(detail), (obj))

static void set_thread(churn_thread_info *t, long long tid, const char *name, size_t len) {
    memset(t, 0, sizeof *t);
    t->tid = tid;
    memcpy(t->name, name, len < sizeof t->name ? len : sizeof t->name);
}
#define SET_THREAD(t, tid, name) set_thread((t), (tid), (name), strlen(name))

static int stub_cycle(void *user, long long index) { (void)user; (void)index; return 0; }
static int stub_stop(void *user) { (void)user; return 0; }
static int stub_start(void *user) { (void)user; return 0; }

/* The common part: every churn_config field set (no churn_config_init: a new default must not
   silently change the golden reports), every churn_result field zeroed then set. */
static void fixture_common(churn_config *cfg, churn_result *r, const char *label) {
    memset(cfg, 0, sizeof *cfg);
    cfg->host = "127.0.0.1";
    cfg->port = 8080;
    cfg->cycles = 1000;
    cfg->warmup_cycles = 20;
    cfg->concurrency = 4;
    cfg->profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_RESET) | CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST);
    cfg->watch_pid = 4321;
    cfg->sample_every = 100;
    cfg->timeout_ms = 2000;
    cfg->idle_ms = 50;
    cfg->drain_timeout_ms = 3000;
    cfg->allow_remote = 0;
    cfg->sample_metrics = 0;
    churn_limits_release(&cfg->limits);
    cfg->label = label;
    cfg->http_path = "/health";
    cfg->http_host = NULL;
    cfg->series_max = 256;

    memset(r, 0, sizeof *r);
    churn_snapshot_init(&r->baseline);
    churn_snapshot_init(&r->peak);
    churn_snapshot_init(&r->post_drain);
    r->baseline.pid = r->peak.pid = r->post_drain.pid = 4321;
    r->baseline.at = 1000.0;
    r->peak.at = 1002.5;
    r->post_drain.at = 1003.0;
    r->restart_ok = -1;
    r->cycles_done = 1000;
    r->elapsed_s = 2.5;
    r->cycles_per_s = 400.0;
    r->warmup_done = 20;
    r->drain.attempts = 3;
    r->drain.settle_s = 0.125;
    r->drain.settled = 1;
    r->drain_rc = CHURN_OK;
    r->run_rc = CHURN_OK;
    r->watched_pid = 4321;
    r->started_unix = 1795000000.0;   /* 2026-11-18T11:06:40Z */
    r->finished_unix = 1795000003.75; /* 2026-11-18T11:06:43Z */
    r->series_stride = 100;
    r->cfg_cycles = 1000;
    r->cfg_warmup = 20;
    r->cfg_concurrency = 4;
    r->cfg_sample_every = 100;
    r->cfg_timeout_ms = 2000;
    r->cfg_idle_ms = 50;
    r->cfg_drain_timeout_ms = 3000;
    r->cfg_profiles = cfg->profiles;
    r->cfg_sample_metrics = CHURN_METRICS_CHEAP;
    snprintf(r->os, sizeof r->os, "Linux 6.1.0-golden x86_64");
}

static void fill_outcomes(churn_outcomes *o, long long attempted, long long seed) {
    memset(o, 0, sizeof *o);
    o->attempted = attempted;
    o->refused = seed % 3;
    o->timed_out = seed % 2;
    o->reset_by_peer = seed % 5;
    o->closed_by_peer = seed % 7;
    o->failed = seed % 4;
    o->completed = attempted - o->refused - o->timed_out - o->reset_by_peer - o->closed_by_peer - o->failed;
    o->connected = attempted - o->refused - o->timed_out;
    o->bytes_sent = attempted * 61 + seed;
    o->bytes_received = attempted * 17;
}

static void snap_set(churn_snapshot *s, long long handles, long long threads, long long rss, long long priv,
                     long long virt, long long sockets, long long close_wait, long long sendq, long long children,
                     long long zombies) {
    s->value[CHURN_METRIC_HANDLES] = handles;
    s->value[CHURN_METRIC_THREADS] = threads;
    s->value[CHURN_METRIC_RSS_BYTES] = rss;
    s->value[CHURN_METRIC_PRIVATE_BYTES] = priv;
    s->value[CHURN_METRIC_VIRTUAL_BYTES] = virt;
    s->value[CHURN_METRIC_SOCKETS] = sockets;
    s->value[CHURN_METRIC_CLOSE_WAIT] = close_wait;
    s->value[CHURN_METRIC_SEND_QUEUE_BYTES] = sendq;
    s->value[CHURN_METRIC_CHILDREN] = children;
    s->value[CHURN_METRIC_ZOMBIES] = zombies;
    /* gdi/user objects stay CHURN_UNKNOWN, as on Linux */
}

/* count samples at cycles 0, 100, ...; metric values from per-sample functions of i. Values
   are small integers so the slopes are exact in doubles on every FPU (goldens stay stable). */
static void fill_series(churn_result *r, int count, int handle_step, int with_noise) {
    int i;
    r->series = (churn_sample *)calloc((size_t)count, sizeof *r->series);
    r->series_count = count;
    for (i = 0; i < count; i++) {
        churn_sample *s = &r->series[i];
        long long noise = with_noise ? (long long)((i * 7) % 3) - 1 : 0;
        s->cycle = (long long)i * 100;
        churn_snapshot_init(&s->snapshot);
        s->snapshot.pid = 4321;
        s->snapshot.at = 1000.0 + 0.25 * i;
        s->snapshot.value[CHURN_METRIC_HANDLES] = 40 + (long long)handle_step * i + noise;
        s->snapshot.value[CHURN_METRIC_THREADS] = 9 + (i > 3 ? 1 : 0);
        s->snapshot.value[CHURN_METRIC_RSS_BYTES] = 52428800 + 4096LL * i * (i % 4);
        s->snapshot.value[CHURN_METRIC_PRIVATE_BYTES] = 31457280 + 8192LL * i;
        s->snapshot.value[CHURN_METRIC_VIRTUAL_BYTES] = i == 5 ? CHURN_UNKNOWN : 209715200;
        if (r->cfg_sample_metrics & CHURN_METRIC_BIT(CHURN_METRIC_SOCKETS))
            s->snapshot.value[CHURN_METRIC_SOCKETS] = 12 + (long long)handle_step * i;
    }
}

static void judge(const churn_config *cfg, churn_result *r) {
    CT_EQ_LL(churn_evaluate(&r->baseline, &r->peak, &r->post_drain, &cfg->limits, &r->verdict), CHURN_OK);
    CT_EQ_LL(churn_evaluate_growth(r->series, r->series_count, &cfg->limits, &r->verdict), CHURN_OK);
}

/* pass: release limits, all within bounds, no leaks. */
static void fixture_pass(churn_config *cfg, churn_result *r) {
    fixture_common(cfg, r, "golden-pass");
    snap_set(&r->baseline, 40, 9, 52428800, 31457280, 209715200, 12, 0, 0, 0, 0);
    snap_set(&r->peak, 52, 10, 60817408, 35651584, 213909504, 20, 1, 512, 0, 0);
    snap_set(&r->post_drain, 41, 9, 54525952, 32505856, 209715200, 12, 0, 0, 0, 0);
    fill_outcomes(&r->outcomes, 1000, 0);
    fill_outcomes(&r->by_profile[CHURN_PROFILE_RESET], 500, 0);
    fill_outcomes(&r->by_profile[CHURN_PROFILE_REQUEST], 500, 0);
    r->by_profile[CHURN_PROFILE_REQUEST].bytes_received = 500 * 34;
    fill_series(r, 11, 0, 1);
    judge(cfg, r);
    CT_EQ_LL(r->verdict.status, CHURN_PASS);
}

/* fail: strict limits, post-drain leaks, growth, leaked handles/threads with awkward bytes. */
static void fixture_fail(churn_config *cfg, churn_result *r) {
    static const churn_ignore ignore[] = {
        {"file", "/var/log/", NULL},
        {NULL, NULL, "pool-"},
        {"socket", "udp ", NULL},
    };
    char longdetail[256];
    int i;
    fixture_common(cfg, r, "golden \"fail\" \\ gate");
    churn_limits_strict(&cfg->limits);
    cfg->profiles = CHURN_PROFILES_ALL;
    cfg->concurrency = 16;
    cfg->ignore = ignore;
    cfg->ignore_count = 3;
    cfg->http_host = "example.test";
    cfg->stop = stub_stop;
    cfg->start = stub_start;
    r->cfg_profiles = CHURN_PROFILES_ALL;
    r->cfg_concurrency = 16;
    r->cfg_sample_metrics = CHURN_METRICS_CHEAP | CHURN_METRIC_BIT(CHURN_METRIC_SOCKETS);
    snap_set(&r->baseline, 40, 9, 52428800, 31457280, 209715200, 12, 0, 0, 0, 0);
    snap_set(&r->peak, 95, 12, 73400320, 41943040, 218103808, 60, 10, 65536, 2, 1);
    snap_set(&r->post_drain, 50, 10, 62914560, 36700160, 213909504, 22, 10, 4096, 0, 1);
    r->baseline.value[CHURN_METRIC_SEND_QUEUE_BYTES] = CHURN_UNKNOWN; /* unknown in one snapshot only */
    fill_outcomes(&r->outcomes, 1000, 11);
    for (i = 0; i < CHURN_PROFILE_COUNT; i++) fill_outcomes(&r->by_profile[i], 100, 11 + i);
    fill_series(r, 11, 2, 0);
    r->drain.settled = 0;
    r->drain.attempts = 64;
    r->drain.settle_s = 3.0009765625;
    r->drain_rc = CHURN_E_TIMEOUT;
    judge(cfg, r);
    CT_EQ_LL(r->verdict.status, CHURN_FAIL);

    r->leaked.pid = 4321;
    r->leaked.handle_count = 9;
    r->leaked.handles = (churn_handle_info *)calloc(9, sizeof *r->leaked.handles);
    SET_HANDLE(&r->leaked.handles[0], 7, "socket", "tcp 127.0.0.1:8080 -> 127.0.0.1:53422 CLOSE_WAIT", 812345);
    SET_HANDLE(&r->leaked.handles[1], 8, "socket", "tcp6 [::1]:8080 -> [::1]:40000 ESTABLISHED", 812346);
    SET_HANDLE(&r->leaked.handles[2], 9, "pipe", "pipe:[812347]", 812347);
    SET_HANDLE(&r->leaked.handles[3], 11, "file", "/var/tmp/a \"quoted\" name\\with\\back\\\\slashes.log", 99);
    SET_HANDLE(&r->leaked.handles[4], 12, "file", "/tmp/ctl\x01\x02\x1f\x7f\b\f\n\r\t|\x1b[31mred", 100);
    SET_HANDLE(&r->leaked.handles[5], 13, "file",
               "/tmp/bad-\xff\xfe-\xc3\x28-\xe2\x82-\xed\xa0\x80-\xf4\x90\x80\x80-\xc0\xaf-\x80-ok", 101);
    SET_HANDLE(&r->leaked.handles[6], 14, "file", "/tmp/utf8-\xc3\xa9-\xe2\x82\xac-\xf0\x9f\x98\x80 (deleted)", 102);
    /* detail filling all 256 bytes, no NUL, ending in a cut UTF-8 sequence */
    memset(longdetail, 'p', sizeof longdetail);
    longdetail[0] = '/';
    longdetail[254] = '\xe2';
    longdetail[255] = '\x82';
    set_handle(&r->leaked.handles[7], 15, "file", 4, longdetail, sizeof longdetail, 103);
    /* kind filling all 16 bytes, no NUL; empty detail */
    set_handle(&r->leaked.handles[8], 1023, "sixteen-bytes-ok", 16, "", 0, 0);

    r->leaked.thread_count = 7;
    r->leaked.threads = (churn_thread_info *)calloc(7, sizeof *r->leaked.threads);
    SET_THREAD(&r->leaked.threads[0], 4242, "conn-worker");
    SET_THREAD(&r->leaked.threads[1], 4243, "q\"uote\\slash");
    SET_THREAD(&r->leaked.threads[2], 4244, "\x01" "ctl\x1b[31m\x7f");
    SET_THREAD(&r->leaked.threads[3], 4245, "bad\xff\xc0" "utf8\xe2\x82");
    set_thread(&r->leaked.threads[4], 4246, "0123456789abcdef0123456789abcdef", 32); /* no NUL */
    SET_THREAD(&r->leaked.threads[5], 4247, "");
    SET_THREAD(&r->leaked.threads[6], 2147483647LL, "\xc3\xbcn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9");
}

/* inconclusive: only limits on metrics this platform cannot measure; partial run. */
static void fixture_inconclusive(churn_config *cfg, churn_result *r) {
    int m;
    fixture_common(cfg, r, "golden-inconclusive");
    churn_limits_none(&cfg->limits);
    cfg->limits.post_drain[CHURN_METRIC_GDI_OBJECTS] = 32;
    cfg->limits.post_drain[CHURN_METRIC_USER_OBJECTS] = 32;
    cfg->limits.growth_per_1k[CHURN_METRIC_GDI_OBJECTS] = 4;
    cfg->limits.growth_windows = 0;
    cfg->profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_IDLE) | CHURN_PROFILE_BIT(CHURN_PROFILE_TLS_STALL);
    cfg->allow_remote = 1;
    cfg->host = "::1";
    cfg->port = 65535;
    r->cfg_profiles = cfg->profiles;
    r->cfg_sample_metrics = CHURN_METRICS_CHEAP | CHURN_METRIC_BIT(CHURN_METRIC_GDI_OBJECTS);
    r->cycles_done = 300;
    r->elapsed_s = 0.75;
    r->cycles_per_s = 400.0;
    r->warmup_done = 0;
    r->cfg_warmup = 0;
    cfg->warmup_cycles = 0;
    r->os[0] = '\0';
    for (m = 0; m < CHURN_METRIC_COUNT; m++) {
        r->baseline.value[m] = r->peak.value[m] = r->post_drain.value[m] = CHURN_UNKNOWN;
    }
    r->baseline.value[CHURN_METRIC_HANDLES] = 7;
    r->peak.value[CHURN_METRIC_HANDLES] = 9;
    fill_outcomes(&r->outcomes, 300, 5);
    fill_outcomes(&r->by_profile[CHURN_PROFILE_IDLE], 150, 5);
    fill_outcomes(&r->by_profile[CHURN_PROFILE_TLS_STALL], 150, 0);
    fill_series(r, 4, 1, 0);
    r->series_stride = 100;
    judge(cfg, r);
    CT_EQ_LL(r->verdict.status, CHURN_INCONCLUSIVE);
}

typedef struct extra_state {
    int calls;
    void *seen_user;
    int mode;   /* 0: a proper value; 1: nothing; 2: unbalanced; 3: two values */
} extra_state;

static void extra_cb(void *user, churn_json *j) {
    extra_state *st = (extra_state *)user;
    st->calls++;
    st->seen_user = user;
    if (st->mode == 1) return;
    if (st->mode == 2) { churn_json_object_begin(j); churn_json_key(j, "open"); churn_json_int(j, 1); return; }
    if (st->mode == 3) { churn_json_int(j, 1); churn_json_int(j, 2); return; }
    churn_json_object_begin(j);
    churn_json_key(j, "build");
    churn_json_string(j, "ci-1234");
    churn_json_key(j, "commit \"subject\"");
    churn_json_string_n(j, "fix \"leak\" in \\conn\n\x01\xff\0tail", sizeof "fix \"leak\" in \\conn\n\x01\xff\0tail" - 1);
    churn_json_key(j, "numbers");
    churn_json_array_begin(j);
    churn_json_int(j, 0);
    churn_json_int(j, LLONG_MIN);
    churn_json_int(j, LLONG_MAX);
    churn_json_double(j, 0.1);
    churn_json_double(j, -0.0);
    churn_json_double(j, 1e300);
    churn_json_double(j, 2.5);
    churn_json_double(j, NAN);
    churn_json_double(j, HUGE_VAL);
    churn_json_array_end(j);
    churn_json_key(j, "flags");
    churn_json_object_begin(j);
    churn_json_key(j, "t");
    churn_json_bool(j, 1);
    churn_json_key(j, "f");
    churn_json_bool(j, 0);
    churn_json_key(j, "n");
    churn_json_null(j);
    churn_json_key(j, "s");
    churn_json_string(j, NULL);
    churn_json_object_end(j);
    churn_json_key(j, "empty_object");
    churn_json_object_begin(j);
    churn_json_object_end(j);
    churn_json_key(j, "empty_array");
    churn_json_array_begin(j);
    churn_json_array_end(j);
    churn_json_object_end(j);
}

/* extra: the pass fixture plus a report_extra callback. */
static extra_state g_extra;
static void fixture_extra(churn_config *cfg, churn_result *r) {
    fixture_pass(cfg, r);
    cfg->label = "golden-extra";
    memset(&g_extra, 0, sizeof g_extra);
    cfg->report_extra = extra_cb;
    cfg->user = &g_extra;
}

/* custom: a custom cycle (host/port null, no profiles), restart failed, no series, no
   timestamps, pid from the baseline, ignore rules with every field null or set. */
static void fixture_custom(churn_config *cfg, churn_result *r) {
    static const churn_ignore ignore[] = {{NULL, NULL, NULL}, {"anon", "[eventfd]", NULL}, {NULL, NULL, "\t\"x\""}};
    fixture_common(cfg, r, "golden-custom");
    cfg->cycle = stub_cycle;
    cfg->stop = stub_stop;
    cfg->start = stub_start;
    cfg->watch_pid = 0;
    cfg->allow_remote = 1;
    cfg->http_path = NULL;
    cfg->http_host = "h\xc3\xb6st";
    cfg->ignore = ignore;
    cfg->ignore_count = 3;
    cfg->label = NULL;
    r->cfg_concurrency = 1;
    r->cfg_sample_metrics = CHURN_METRIC_BIT(CHURN_METRIC_THREADS);
    r->watched_pid = 0;
    r->baseline.pid = 777;
    r->started_unix = 0;
    r->finished_unix = 0;
    r->os[0] = '\0';
    r->elapsed_s = 0.5;
    r->cycles_per_s = 2000;
    snap_set(&r->baseline, 3, 1, 1048576, 524288, 8388608, 0, 0, 0, 0, 0);
    r->peak = r->baseline;
    r->post_drain = r->baseline;
    /* custom cycles: completed or failed, never connected */
    memset(&r->outcomes, 0, sizeof r->outcomes);
    r->outcomes.attempted = 1000;
    r->outcomes.completed = 998;
    r->outcomes.failed = 2;
    judge(cfg, r);
    r->restart_ok = 0;
    r->verdict.status = CHURN_FAIL;
    r->verdict.ok = 0;
    snprintf(r->verdict.reason, sizeof r->verdict.reason, "the server did not serve after stop/start");
}

/* no_config: churn_report_write_fn(NULL, r, ...) with a result as churn_run leaves it on an
   early error (snapshots unknown, inconclusive, series and leaks empty). */
static void fixture_no_config(churn_config *cfg, churn_result *r) {
    (void)cfg;
    memset(r, 0, sizeof *r);
    churn_snapshot_init(&r->baseline);
    churn_snapshot_init(&r->peak);
    churn_snapshot_init(&r->post_drain);
    r->restart_ok = -1;
    r->verdict.status = CHURN_INCONCLUSIVE;
    snprintf(r->verdict.reason, sizeof r->verdict.reason, "invalid configuration");
    r->run_rc = CHURN_E_INVAL;
}

typedef struct golden_case {
    const char *name;
    void (*fill)(churn_config *, churn_result *);
    int use_cfg;
} golden_case;

static const golden_case g_cases[] = {
    {"pass", fixture_pass, 1},
    {"fail", fixture_fail, 1},
    {"inconclusive", fixture_inconclusive, 1},
    {"extra", fixture_extra, 1},
    {"custom_cycle", fixture_custom, 1},
    {"no_config", fixture_no_config, 0},
};
#define N_CASES ((int)(sizeof g_cases / sizeof g_cases[0]))

/* ---- golden files ------------------------------------------------------------------------- */

static void show_diff(const char *what, const buf *want, const buf *got, const char *file, int line) {
    size_t i = 0, ln = 1, ls = 0;
    char w[80], g[80];
    while (i < want->len && i < got->len && want->p[i] == got->p[i]) {
        if (want->p[i] == '\n') { ln++; ls = i + 1; }
        i++;
    }
    snprintf(w, sizeof w, "%.60s", want->p + (ls < want->len ? ls : want->len));
    snprintf(g, sizeof g, "%.60s", got->p + (ls < got->len ? ls : got->len));
    { char *nl = strchr(w, '\n'); if (nl) *nl = 0; nl = strchr(g, '\n'); if (nl) *nl = 0; }
    failf(file, line, "%s: differs at byte %zu (line %zu; %zu vs %zu bytes)\n      want: %s\n      got:  %s", what, i, ln,
          want->len, got->len, w, g);
}

static void render(const golden_case *c, buf *out, int *rc) {
    churn_config cfg;
    churn_result r;
    memset(out, 0, sizeof *out);
    c->fill(&cfg, &r);
    *rc = churn_report_write_fn(c->use_cfg ? &cfg : NULL, &r, buf_write, out);
    churn_result_free(&r);
}

CT_TEST(golden_reports) {
    int i, update = getenv("CHURN_UPDATE_GOLDEN") && getenv("CHURN_UPDATE_GOLDEN")[0] &&
                    strcmp(getenv("CHURN_UPDATE_GOLDEN"), "0") != 0;
    for (i = 0; i < N_CASES; i++) {
        const golden_case *c = &g_cases[i];
        char gpath[PATH_MAX + 64];
        buf got, want;
        int rc;
        render(c, &got, &rc);
        if (rc != CHURN_OK) { FAILF("%s: churn_report_write_fn returned %d", c->name, rc); buf_free(&got); continue; }
        snprintf(gpath, sizeof gpath, "%s/%s.json", g_golden_dir, c->name);
        if (update) {
            mkdir(g_golden_dir, 0755);
            if (write_file_raw(gpath, got.p, got.len) != 0) FAILF("cannot write %s: %s", gpath, strerror(errno));
            else printf("    updated %s (%zu bytes)\n", gpath, got.len);
            buf_free(&got);
            continue;
        }
        if (read_file(gpath, &want) != 0) {
            FAILF("%s: cannot read %s (%s); generate with CHURN_UPDATE_GOLDEN=1", c->name, gpath, strerror(errno));
            buf_free(&got);
            continue;
        }
        if (!buf_eq(&want, &got)) {
            char apath[PATH_MAX + 64];
            const char *td = getenv("TMPDIR");
            snprintf(apath, sizeof apath, "%s/churn-report-%s.actual.json", td && td[0] ? td : "/tmp", c->name);
            write_file_raw(apath, got.p, got.len);
            show_diff(gpath, &want, &got, __FILE__, __LINE__);
            printf("      (actual output saved as %s)\n", apath);
        }
        buf_free(&want);
        buf_free(&got);
    }
}

/* Rendering twice gives the same bytes (no hidden state, clock or address in the output). */
CT_TEST(golden_deterministic) {
    int i;
    for (i = 0; i < N_CASES; i++) {
        buf a, b;
        int ra, rb;
        render(&g_cases[i], &a, &ra);
        render(&g_cases[i], &b, &rb);
        CT_EQ_LL(ra, CHURN_OK);
        CT_EQ_LL(rb, CHURN_OK);
        if (!buf_eq(&a, &b)) FAILF("%s: two renderings differ", g_cases[i].name);
        buf_free(&a);
        buf_free(&b);
    }
}

/* churn_report_write (file), churn_report_fprint (stream) and churn_report_write_fn give the
   same bytes, for every fixture. */
CT_TEST(writers_agree) {
    int i;
    char dir[PATH_MAX];
    fresh_dir(dir, sizeof dir, "writers");
    for (i = 0; i < N_CASES; i++) {
        const golden_case *c = &g_cases[i];
        churn_config cfg;
        churn_result r;
        buf viafn, viafile, viastream;
        char path[PATH_MAX + 64];
        char *mem = NULL;
        size_t memlen = 0;
        FILE *ms;
        int rc;
        c->fill(&cfg, &r);
        memset(&viafn, 0, sizeof viafn);
        CT_EQ_LL(churn_report_write_fn(c->use_cfg ? &cfg : NULL, &r, buf_write, &viafn), CHURN_OK);
        snprintf(path, sizeof path, "%s/%s.json", dir, c->name);
        CT_EQ_LL(churn_report_write(c->use_cfg ? &cfg : NULL, &r, path), CHURN_OK);
        if (read_file(path, &viafile) != 0) FAILF("%s: not written", path);
        else {
            if (!buf_eq(&viafn, &viafile)) show_diff("churn_report_write vs _write_fn", &viafn, &viafile, __FILE__, __LINE__);
            buf_free(&viafile);
        }
        ms = open_memstream(&mem, &memlen);
        CT_REQUIRE(ms != NULL);
        rc = churn_report_fprint(c->use_cfg ? &cfg : NULL, &r, ms);
        CT_EQ_LL(rc, CHURN_OK);
        fclose(ms);
        viastream.p = mem;
        viastream.len = memlen;
        if (!buf_eq(&viafn, &viastream)) show_diff("churn_report_fprint vs _write_fn", &viafn, &viastream, __FILE__, __LINE__);
        free(mem);
        /* a stdio FILE on disk too (fflush, not just a memstream) */
        {
            char p2[PATH_MAX + 80];
            FILE *f;
            buf disk;
            snprintf(p2, sizeof p2, "%s/%s.fprint", dir, c->name);
            f = fopen(p2, "wb");
            CT_REQUIRE(f != NULL);
            CT_EQ_LL(churn_report_fprint(c->use_cfg ? &cfg : NULL, &r, f), CHURN_OK);
            fclose(f);
            if (read_file(p2, &disk) == 0) {
                if (!buf_eq(&viafn, &disk)) show_diff("churn_report_fprint (file) vs _write_fn", &viafn, &disk, __FILE__, __LINE__);
                buf_free(&disk);
            }
        }
        /* the document ends in exactly one newline */
        CT_CHECK(viafn.len > 2 && viafn.p[viafn.len - 1] == '\n' && viafn.p[viafn.len - 2] == '}');
        buf_free(&viafn);
        churn_result_free(&r);
    }
}

/* What the fixtures promise shows up in the bytes (a cheap guard that the goldens were
   reviewed against the right things, independent of the schema tests). */
CT_TEST(report_contents) {
    buf b;
    int rc;
    render(&g_cases[1], &b, &rc); /* fail */
    CT_EQ_LL(rc, CHURN_OK);
    CT_REQUIRE(b.p != NULL);
    {
        static const char head[] = "{\n  \"schema\": \"churn-report/1\",\n  \"churn_version\": \"" CHURN_VERSION_STRING "\",\n";
        CT_CHECK(b.len > sizeof head && memcmp(b.p, head, sizeof head - 1) == 0);
    }
    CT_CHECK(strstr(b.p, "\"label\": \"golden \\\"fail\\\" \\\\ gate\"") != NULL);
    CT_CHECK(strstr(b.p, "\"ok\": false,\n  \"verdict\": \"fail\"") != NULL);
    CT_CHECK(strstr(b.p, "\"phase\": \"post_drain\"") != NULL);
    CT_CHECK(strstr(b.p, "\"phase\": \"growth\"") != NULL);
    CT_CHECK(strstr(b.p, "\"started_at\": \"2026-11-18T11:06:40Z\"") != NULL);
    CT_CHECK(strstr(b.p, "\"finished_at\": \"2026-11-18T11:06:43Z\"") != NULL);
    /* awkward bytes: escapes and U+FFFD, never raw controls or invalid UTF-8 */
    CT_CHECK(strstr(b.p, "\"/var/tmp/a \\\"quoted\\\" name\\\\with\\\\back\\\\\\\\slashes.log\"") != NULL);
    CT_CHECK(strstr(b.p, "\"/tmp/ctl\\u0001\\u0002\\u001f\x7f\\b\\f\\n\\r\\t|\\u001b[31mred\"") != NULL);
    CT_CHECK(strstr(b.p, "\"q\\\"uote\\\\slash\"") != NULL);
    CT_CHECK(strstr(b.p, "\"0123456789abcdef0123456789abcdef\"") != NULL);
    CT_CHECK(strstr(b.p, "\"kind\": \"sixteen-bytes-ok\",") != NULL);
    CT_CHECK(strstr(b.p, "pp\xef\xbf\xbd\"") != NULL); /* cut sequence at the end of the 256-byte detail */
    {
        size_t i;
        int raw_ctl = 0;
        for (i = 0; i < b.len; i++) {
            unsigned char c = (unsigned char)b.p[i];
            if (c < 0x20 && c != '\n') raw_ctl++;
            if (c == 0xff || c == 0xfe || c == 0xc0) raw_ctl++;
        }
        CT_EQ_LL(raw_ctl, 0);
    }
    buf_free(&b);

    render(&g_cases[5], &b, &rc); /* no_config */
    CT_EQ_LL(rc, CHURN_OK);
    CT_CHECK(b.p && strstr(b.p, "\"label\": \"churn\"") != NULL);
    CT_CHECK(b.p && strstr(b.p, "\"started_at\": null") != NULL);
    CT_CHECK(b.p && strstr(b.p, "\"host\": null") != NULL);
    CT_CHECK(b.p && strstr(b.p, "\"extra\"") == NULL);
    buf_free(&b);

    render(&g_cases[3], &b, &rc); /* extra */
    CT_EQ_LL(rc, CHURN_OK);
    CT_EQ_LL(g_extra.calls, 1);
    CT_CHECK(g_extra.seen_user == &g_extra);
    CT_CHECK(b.p && strstr(b.p, "\n  \"extra\": {\n    \"build\": \"ci-1234\",") != NULL);
    CT_CHECK(b.p && strstr(b.p, "\"fix \\\"leak\\\" in \\\\conn\\n\\u0001\xef\xbf\xbd\\u0000tail\"") != NULL);
    CT_CHECK(b.p && strstr(b.p, "-9223372036854775808") != NULL);
    /* "extra" is the last key */
    CT_CHECK(b.p && b.len > 8 && strcmp(b.p + b.len - 8, "]\n  }\n}\n") == 0);
    buf_free(&b);
}

/* ---- error paths of the writers ---------------------------------------------------------- */

CT_TEST(report_errors) {
    churn_config cfg;
    churn_result r;
    buf b;
    char dir[PATH_MAX], path[PATH_MAX + 64];
    int calls, k, temps;
    FILE *full;
    fixture_fail(&cfg, &r);
    fresh_dir(dir, sizeof dir, "errors");
    snprintf(path, sizeof path, "%s/r.json", dir);

    CT_EQ_LL(churn_report_write_fn(&cfg, NULL, buf_write, &b), CHURN_E_INVAL);
    CT_EQ_LL(churn_report_write_fn(&cfg, &r, NULL, &b), CHURN_E_INVAL);
    CT_EQ_LL(churn_report_write(&cfg, NULL, path), CHURN_E_INVAL);
    CT_EQ_LL(churn_report_write(&cfg, &r, NULL), CHURN_E_INVAL);
    CT_EQ_LL(churn_report_write(&cfg, &r, ""), CHURN_E_INVAL);
    {
        char slashpath[PATH_MAX + 64];
        snprintf(slashpath, sizeof slashpath, "%s/", dir);
        CT_EQ_LL(churn_report_write(&cfg, &r, slashpath), CHURN_E_INVAL);
    }
    CT_EQ_LL(churn_report_fprint(&cfg, &r, NULL), CHURN_E_INVAL);
    CT_EQ_LL(churn_report_fprint(&cfg, NULL, stdout), CHURN_E_INVAL);
    CT_EQ_LL(list_dir(dir, NULL, 0, &temps), 0);

    /* a failing sink at every write call in turn: CHURN_E_IO, no call after the failure */
    memset(&b, 0, sizeof b);
    CT_EQ_LL(churn_report_write_fn(&cfg, &r, buf_write, &b), CHURN_OK);
    calls = b.calls;
    buf_free(&b);
    for (k = 1; k <= calls; k += (k < 40 ? 1 : 37)) {
        memset(&b, 0, sizeof b);
        b.fail_after = k;
        if (churn_report_write_fn(&cfg, &r, buf_write, &b) != CHURN_E_IO) FAILF("sink failing at call %d: not CHURN_E_IO", k);
        if (b.calls != k) FAILF("sink failing at call %d: %d calls made (writes after the error)", k, b.calls);
        buf_free(&b);
    }

    /* a stream that cannot take the bytes */
    full = fopen("/dev/full", "wb");
    if (full) {
        CT_EQ_LL(churn_report_fprint(&cfg, &r, full), CHURN_E_IO);
        fclose(full);
    }
    churn_result_free(&r);
}

/* ---- atomic writes ----------------------------------------------------------------------- */

/* A report bigger than n bytes: the fail fixture with extra leaked handles. */
static void fixture_big(churn_config *cfg, churn_result *r, int extra_handles) {
    int i, base;
    fixture_fail(cfg, r);
    base = r->leaked.handle_count;
    r->leaked.handles = (churn_handle_info *)realloc(r->leaked.handles,
                                                     (size_t)(base + extra_handles) * sizeof *r->leaked.handles);
    for (i = 0; i < extra_handles; i++) {
        char d[128];
        snprintf(d, sizeof d, "/srv/data/cache/segment-%05d.bin (deleted)", i);
        SET_HANDLE(&r->leaked.handles[base + i], 100 + i, "file", d, 5000 + (unsigned long long)i);
    }
    r->leaked.handle_count = base + extra_handles;
}

static void render_cfg(const churn_config *cfg, const churn_result *r, buf *out) {
    memset(out, 0, sizeof *out);
    if (churn_report_write_fn(cfg, r, buf_write, out) != CHURN_OK) buf_free(out);
}

CT_TEST(atomic_missing_directory) {
    churn_config cfg;
    churn_result r;
    char dir[PATH_MAX], path[PATH_MAX + 64];
    struct stat st;
    int rc;
    fixture_pass(&cfg, &r);
    fresh_dir(dir, sizeof dir, "missing");
    snprintf(path, sizeof path, "%s/no/such/dir/r.json", dir);
    rc = churn_report_write(&cfg, &r, path);
    /* ENOENT on a directory is an I/O error, not "no such process" */
    CT_EQ_LL(rc, CHURN_E_IO);
    CHECK_WRITE_FAILED(rc, dir, path, NULL, 0);
    snprintf(path, sizeof path, "%s/no", dir);
    CT_CHECK(stat(path, &st) != 0 && errno == ENOENT);
    churn_result_free(&r);
}

CT_TEST(atomic_parent_is_file) {
    churn_config cfg;
    churn_result r;
    char dir[PATH_MAX], path[PATH_MAX + 64], file[PATH_MAX + 64];
    buf before, after;
    int rc;
    fixture_pass(&cfg, &r);
    fresh_dir(dir, sizeof dir, "parentfile");
    snprintf(file, sizeof file, "%s/plain", dir);
    CT_REQUIRE(write_file_raw(file, "not a directory\n", 16) == 0);
    snprintf(path, sizeof path, "%s/plain/r.json", dir);
    rc = churn_report_write(&cfg, &r, path);
    CT_EQ_LL(rc, CHURN_E_IO);
    CHECK_WRITE_FAILED(rc, dir, NULL, NULL, 1);
    CT_REQUIRE(read_file(file, &after) == 0);
    before.p = (char *)"not a directory\n";
    before.len = 16;
    CT_CHECK(buf_eq(&before, &after));
    buf_free(&after);
    churn_result_free(&r);
}

/* The target is a directory: the temp file is written, rename() fails, the temp goes. */
CT_TEST(atomic_target_is_directory) {
    churn_config cfg;
    churn_result r;
    char dir[PATH_MAX], path[PATH_MAX + 64];
    struct stat st;
    int rc;
    fixture_pass(&cfg, &r);
    fresh_dir(dir, sizeof dir, "targetdir");
    snprintf(path, sizeof path, "%s/r.json", dir);
    CT_REQUIRE(mkdir(path, 0755) == 0);
    rc = churn_report_write(&cfg, &r, path);
    CHECK_WRITE_FAILED(rc, dir, NULL, NULL, 1);
    CT_CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    churn_result_free(&r);
}

/* A successful write replaces the old file completely (a new inode, no tail of the old bytes),
   with the permissions fopen() would give, and leaves no temp file. */
CT_TEST(atomic_replace) {
    churn_config cfg;
    churn_result big, small;
    char dir[PATH_MAX], path[PATH_MAX + 64];
    buf want_big, want_small, got;
    struct stat st1, st2;
    mode_t um;
    int temps;
    churn_config cfg2;
    fixture_big(&cfg, &big, 200);
    fixture_pass(&cfg2, &small);
    fresh_dir(dir, sizeof dir, "replace");
    snprintf(path, sizeof path, "%s/r.json", dir);
    render_cfg(&cfg, &big, &want_big);
    render_cfg(&cfg2, &small, &want_small);
    CT_REQUIRE(want_big.p && want_small.p && want_big.len > want_small.len);

    CT_EQ_LL(churn_report_write(&cfg, &big, path), CHURN_OK);
    CT_REQUIRE(read_file(path, &got) == 0);
    CT_CHECK(buf_eq(&got, &want_big));
    buf_free(&got);
    CT_REQUIRE(stat(path, &st1) == 0);
    um = umask(022);
    umask(um);
    CT_EQ_LL(st1.st_mode & 0777, 0666 & ~um);

    CT_EQ_LL(churn_report_write(&cfg2, &small, path), CHURN_OK);
    CT_REQUIRE(read_file(path, &got) == 0);
    if (!buf_eq(&got, &want_small)) show_diff("after replacing a bigger report", &want_small, &got, __FILE__, __LINE__);
    buf_free(&got);
    CT_REQUIRE(stat(path, &st2) == 0);
    CT_CHECK(st2.st_ino != st1.st_ino); /* renamed over, not rewritten in place */
    CT_EQ_LL(st2.st_size, (long long)want_small.len);
    CT_EQ_LL(list_dir(dir, NULL, 0, &temps), 1);
    CT_EQ_LL(temps, 0);

    /* over a read-only (0444) old file: replaced too (rename needs only the directory) */
    CT_REQUIRE(chmod(path, 0444) == 0);
    CT_EQ_LL(churn_report_write(&cfg, &big, path), CHURN_OK);
    CT_REQUIRE(read_file(path, &got) == 0);
    CT_CHECK(buf_eq(&got, &want_big));
    buf_free(&got);

    buf_free(&want_big);
    buf_free(&want_small);
    churn_result_free(&big);
    churn_result_free(&small);
}

/* A relative path without a directory part writes into the current directory. */
CT_TEST(atomic_relative_path) {
    churn_config cfg;
    churn_result r;
    char dir[PATH_MAX];
    buf want, got;
    pid_t pid;
    int status = 0, temps = 0;
    char path[PATH_MAX + 64];
    fixture_pass(&cfg, &r);
    fresh_dir(dir, sizeof dir, "relative");
    render_cfg(&cfg, &r, &want);
    fflush(stdout);
    pid = fork();
    CT_REQUIRE(pid >= 0);
    if (pid == 0) {
        int rc = chdir(dir) == 0 ? churn_report_write(&cfg, &r, "report.json") : -100;
        _exit(rc == CHURN_OK ? 0 : 1);
    }
    CT_REQUIRE(waitpid(pid, &status, 0) == pid);
    CT_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    snprintf(path, sizeof path, "%s/report.json", dir);
    CT_REQUIRE(read_file(path, &got) == 0);
    CT_CHECK(buf_eq(&got, &want));
    CT_EQ_LL(list_dir(dir, NULL, 0, &temps), 1);
    buf_free(&got);
    buf_free(&want);
    churn_result_free(&r);
}

/* A report_extra that writes nothing, an unbalanced value or two values: CHURN_E_INVAL, and
   churn_report_write touches nothing (it renders before it opens a file). */
CT_TEST(atomic_render_error) {
    churn_config cfg;
    churn_result r;
    char dir[PATH_MAX], path[PATH_MAX + 64];
    buf old;
    int mode;
    fixture_extra(&cfg, &r);
    fresh_dir(dir, sizeof dir, "render");
    snprintf(path, sizeof path, "%s/r.json", dir);
    CT_REQUIRE(churn_report_write(&cfg, &r, path) == CHURN_OK);
    CT_REQUIRE(read_file(path, &old) == 0);
    for (mode = 1; mode <= 3; mode++) {
        buf b;
        int rc;
        g_extra.mode = mode;
        rc = churn_report_write(&cfg, &r, path);
        if (rc != CHURN_E_INVAL) FAILF("report_extra mode %d: churn_report_write returned %d, want CHURN_E_INVAL", mode, rc);
        CHECK_WRITE_FAILED(rc, dir, path, &old, 1);
        memset(&b, 0, sizeof b);
        rc = churn_report_write_fn(&cfg, &r, buf_write, &b);
        if (rc != CHURN_E_INVAL) FAILF("report_extra mode %d: churn_report_write_fn returned %d", mode, rc);
        buf_free(&b);
    }
    g_extra.mode = 0;
    buf_free(&old);
    churn_result_free(&r);
}

/* ---- checks in a child process ------------------------------------------------------------ */

/* The child collects failure lines and sends them back through a pipe; exit 0 ok, 77 skip
   (the text is the reason), 1 failed. */
static char g_child_msg[8192];
static int g_child_failed;

static void child_note(int line, const char *fmt, ...)
#ifdef __GNUC__
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void child_note(int line, const char *fmt, ...) {
    char m[1024];
    size_t len = strlen(g_child_msg);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    snprintf(g_child_msg + len, sizeof g_child_msg - len, "%s[child, line %d] %s", len ? "\n    " : "", line, m);
    g_child_failed = 1;
}
#define C_FAIL(...) child_note(__LINE__, __VA_ARGS__)
#define C_CHECK(e) do { if (!(e)) C_FAIL("check failed: %s", #e); } while (0)

static void c_check_failed(int rc, const char *dir, const char *path, const buf *old, int line) {
    char names[2048];
    int temps = 0;
    if (rc >= 0 || !is_churn_error(rc)) child_note(line, "expected a negative CHURN_E_* code, got %d", rc);
    if (old) {
        buf now;
        if (read_file(path, &now) != 0) child_note(line, "previous report is gone (%s)", strerror(errno));
        else {
            if (!buf_eq(&now, old)) child_note(line, "previous report changed (%zu bytes, was %zu)", now.len, old->len);
            buf_free(&now);
        }
    }
    list_dir(dir, names, sizeof names, &temps);
    if (temps) child_note(line, "temporary files left in %s: %s", dir, names);
}
#define C_CHECK_FAILED(rc, dir, path, old) c_check_failed((rc), (dir), (path), (old), __LINE__)

typedef int (*child_fn)(void *arg); /* returns 0 ok / 77 skip (reason in g_child_msg) */

/* Runs fn in a child; 0 ok, 77 skipped (reason in why), -1 failed (reported here). */
static int in_child(child_fn fn, void *arg, char *why, size_t why_cap, const char *file, int line) {
    int pfd[2], status = 0;
    pid_t pid;
    char msg[8192];
    size_t got = 0;
    if (pipe(pfd) != 0) { failf(file, line, "pipe: %s", strerror(errno)); return -1; }
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) { failf(file, line, "fork: %s", strerror(errno)); close(pfd[0]); close(pfd[1]); return -1; }
    if (pid == 0) {
        int code;
        size_t len, off = 0;
        close(pfd[0]);
        g_child_msg[0] = '\0';
        g_child_failed = 0;
        code = fn(arg);
        if (code != 77 && g_child_failed) code = 1;
        len = strlen(g_child_msg);
        while (off < len) {
            ssize_t n = write(pfd[1], g_child_msg + off, len - off);
            if (n <= 0) break;
            off += (size_t)n;
        }
        _exit(code);
    }
    close(pfd[1]);
    for (;;) {
        ssize_t n = read(pfd[0], msg + got, sizeof msg - 1 - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
        if (got == sizeof msg - 1) break;
    }
    msg[got] = '\0';
    close(pfd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (WIFSIGNALED(status)) {
        failf(file, line, "child killed by signal %d (%s)%s%s", WTERMSIG(status), strsignal(WTERMSIG(status)),
              got ? ": " : "", msg);
        return -1;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
        if (why_cap) {
            size_t n = got < why_cap - 1 ? got : why_cap - 1;
            memcpy(why, msg, n);
            why[n] = '\0';
        }
        return 77;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        failf(file, line, "%s", got ? msg : "child failed without a message");
        return -1;
    }
    return 0;
}
#define IN_CHILD(fn, arg, why) in_child((fn), (arg), (why), sizeof(why), __FILE__, __LINE__)

typedef struct atomic_arg {
    char dir[PATH_MAX];
    char path[PATH_MAX + 64];
    churn_config cfg;
    churn_result small;   /* fits anywhere */
    churn_result small2;  /* a different small report */
    churn_result big;     /* > 16 KiB */
    buf old;              /* bytes of the small report */
} atomic_arg;

static void atomic_arg_init(atomic_arg *a, const char *name) {
    churn_config c2;
    memset(a, 0, sizeof *a);
    fresh_dir(a->dir, sizeof a->dir, name);
    snprintf(a->path, sizeof a->path, "%s/report.json", a->dir);
    fixture_pass(&a->cfg, &a->small);
    fixture_inconclusive(&c2, &a->small2);
    fixture_big(&c2, &a->big, 300);
    render_cfg(&a->cfg, &a->small, &a->old);
}
static void atomic_arg_free(atomic_arg *a) {
    churn_result_free(&a->small);
    churn_result_free(&a->small2);
    churn_result_free(&a->big);
    buf_free(&a->old);
}

/* Read-only directory for a non-root user. */
static int child_readonly_dir(void *p) {
    atomic_arg *a = (atomic_arg *)p;
    int rc;
    if (geteuid() == 0) {
        /* root ignores directory permissions: become nobody for the write */
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
            snprintf(g_child_msg, sizeof g_child_msg, "cannot drop root to uid 65534 (%s)", strerror(errno));
            return 77;
        }
        if (access(a->dir, W_OK) == 0) {
            snprintf(g_child_msg, sizeof g_child_msg, "directory still writable after dropping root");
            return 77;
        }
    }
    rc = churn_report_write(&a->cfg, &a->big, a->path);
    C_CHECK(rc == CHURN_E_PERM || rc == CHURN_E_IO);
    C_CHECK_FAILED(rc, a->dir, a->path, &a->old);
    return 0;
}

CT_TEST(atomic_readonly_directory) {
    atomic_arg a;
    char why[1024], base[PATH_MAX];
    int rc;
    atomic_arg_init(&a, "rodir");
    CT_REQUIRE(a.old.p != NULL);
    CT_REQUIRE(churn_report_write(&a.cfg, &a.small, a.path) == CHURN_OK);
    snprintf(base, sizeof base, "%s", g_tmp);
    chmod(base, 0755); /* nobody must reach the directory */
    CT_REQUIRE(chmod(a.dir, 0555) == 0);
    rc = IN_CHILD(child_readonly_dir, &a, why);
    chmod(a.dir, 0755);
    chmod(base, 0700);
    CHECK_INTACT(a.dir, a.path, &a.old, 1); /* again from the parent's side */
    atomic_arg_free(&a);
    if (rc == 77) CT_SKIP(why);
}

/* RLIMIT_FSIZE below the report size, SIGXFSZ ignored (and, second, at its default). */
static int g_fsize_default_sig;
static int child_fsize(void *p) {
    atomic_arg *a = (atomic_arg *)p;
    struct rlimit rl;
    buf bigbytes;
    int rc;
    render_cfg(&a->cfg, &a->big, &bigbytes);
    if (!bigbytes.p) { C_FAIL("render failed"); return 1; }
    signal(SIGXFSZ, g_fsize_default_sig ? SIG_DFL : SIG_IGN);
    rl.rlim_cur = rl.rlim_max = (rlim_t)(bigbytes.len / 2);
    if (setrlimit(RLIMIT_FSIZE, &rl) != 0) { C_FAIL("setrlimit: %s", strerror(errno)); return 1; }
    rc = churn_report_write(&a->cfg, &a->big, a->path);
    C_CHECK(rc == CHURN_E_IO);
    C_CHECK_FAILED(rc, a->dir, a->path, &a->old);
    /* a report under the limit still goes through */
    rc = churn_report_write(&a->cfg, &a->small, a->path);
    C_CHECK(rc == CHURN_OK);
    buf_free(&bigbytes);
    return 0;
}

CT_TEST(atomic_rlimit_fsize) {
    atomic_arg a;
    char why[1024];
    atomic_arg_init(&a, "fsize");
    CT_REQUIRE(a.old.p != NULL);
    CT_REQUIRE(churn_report_write(&a.cfg, &a.small, a.path) == CHURN_OK);
    g_fsize_default_sig = 0;
    IN_CHILD(child_fsize, &a, why);
    CHECK_INTACT(a.dir, a.path, &a.old, 1);
    /* SIGXFSZ at its default disposition: the writer must still return, not die */
    g_fsize_default_sig = 1;
    IN_CHILD(child_fsize, &a, why);
    CHECK_INTACT(a.dir, a.path, &a.old, 1);
    atomic_arg_free(&a);
}

/* Own mount namespace with a private 16 KiB tmpfs at dir/mnt. 0 ok, 77 not permitted. */
static int private_tmpfs(const char *mnt, const char *opts) {
    if (unshare(CLONE_NEWNS) != 0) {
        snprintf(g_child_msg, sizeof g_child_msg, "unshare(CLONE_NEWNS) not permitted (%s)", strerror(errno));
        return 77;
    }
    if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0) { /* type ignored; not NULL for valgrind */
        snprintf(g_child_msg, sizeof g_child_msg, "cannot make / private in the new namespace (%s)", strerror(errno));
        return 77;
    }
    if (mount("churn-test", mnt, "tmpfs", MS_NOSUID | MS_NODEV, opts) != 0) {
        snprintf(g_child_msg, sizeof g_child_msg, "mount -t tmpfs not permitted (%s)", strerror(errno));
        return 77;
    }
    return 0;
}

static int child_tmpfs_full(void *p) {
    atomic_arg *a = (atomic_arg *)p;
    char mnt[PATH_MAX + 8], path[PATH_MAX + 64];
    buf bigbytes, small2bytes, got;
    int rc, s;
    snprintf(mnt, sizeof mnt, "%s/mnt", a->dir);
    s = private_tmpfs(mnt, "size=16k,mode=0755");
    if (s) return s;
    snprintf(path, sizeof path, "%s/report.json", mnt);
    render_cfg(&a->cfg, &a->big, &bigbytes);
    render_cfg(&a->cfg, &a->small2, &small2bytes);
    C_CHECK(bigbytes.p && bigbytes.len > 16384);
    C_CHECK(a->old.len < 8192 && small2bytes.p && small2bytes.len < 8192);
    rc = churn_report_write(&a->cfg, &a->small, path);
    C_CHECK(rc == CHURN_OK);
    /* the big one does not fit: ENOSPC part-way through the write */
    rc = churn_report_write(&a->cfg, &a->big, path);
    C_CHECK(rc == CHURN_E_IO);
    C_CHECK_FAILED(rc, mnt, path, &a->old);
    /* again, to be sure the first failure freed its space */
    rc = churn_report_write(&a->cfg, &a->big, path);
    C_CHECK(rc == CHURN_E_IO);
    C_CHECK_FAILED(rc, mnt, path, &a->old);
    /* and a report that fits still replaces the old one */
    rc = churn_report_write(&a->cfg, &a->small2, path);
    C_CHECK(rc == CHURN_OK);
    if (read_file(path, &got) == 0) {
        C_CHECK(buf_eq(&got, &small2bytes));
        buf_free(&got);
    } else C_FAIL("report missing after a successful write");
    {
        int temps = 0, n = list_dir(mnt, NULL, 0, &temps);
        C_CHECK(n == 1 && temps == 0);
    }
    buf_free(&bigbytes);
    buf_free(&small2bytes);
    return 0;
}

CT_TEST(atomic_tmpfs_full) {
    atomic_arg a;
    char why[1024], mnt[PATH_MAX + 8];
    int rc;
    atomic_arg_init(&a, "tmpfs_full");
    snprintf(mnt, sizeof mnt, "%s/mnt", a.dir);
    CT_REQUIRE(mkdir(mnt, 0755) == 0);
    rc = IN_CHILD(child_tmpfs_full, &a, why);
    atomic_arg_free(&a);
    if (rc == 77) CT_SKIP(why);
}

static int child_tmpfs_readonly(void *p) {
    atomic_arg *a = (atomic_arg *)p;
    char mnt[PATH_MAX + 8], path[PATH_MAX + 64];
    int rc, s;
    snprintf(mnt, sizeof mnt, "%s/mnt", a->dir);
    s = private_tmpfs(mnt, "size=1m,mode=0755");
    if (s) return s;
    snprintf(path, sizeof path, "%s/report.json", mnt);
    rc = churn_report_write(&a->cfg, &a->small, path);
    C_CHECK(rc == CHURN_OK);
    if (mount("churn-test", mnt, "tmpfs", MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) != 0) {
        snprintf(g_child_msg, sizeof g_child_msg, "remount read-only not permitted (%s)", strerror(errno));
        return 77;
    }
    rc = churn_report_write(&a->cfg, &a->big, path);
    C_CHECK(rc == CHURN_E_IO || rc == CHURN_E_PERM);
    C_CHECK_FAILED(rc, mnt, path, &a->old);
    return 0;
}

CT_TEST(atomic_readonly_tmpfs) {
    atomic_arg a;
    char why[1024], mnt[PATH_MAX + 8];
    int rc;
    atomic_arg_init(&a, "tmpfs_ro");
    snprintf(mnt, sizeof mnt, "%s/mnt", a.dir);
    CT_REQUIRE(mkdir(mnt, 0755) == 0);
    rc = IN_CHILD(child_tmpfs_readonly, &a, why);
    atomic_arg_free(&a);
    if (rc == 77) CT_SKIP(why);
}

/* Readers never see a partial report while it is rewritten again and again. */
typedef struct reader_arg {
    const char *path;
    const buf *a, *b;
    volatile int stop;
    int reads, bad, missing;
    size_t bad_len;
} reader_arg;

static void *reader_main(void *p) {
    reader_arg *r = (reader_arg *)p;
    while (!r->stop) {
        buf got;
        if (read_file(r->path, &got) != 0) { r->missing++; continue; }
        r->reads++;
        if (!buf_eq(&got, r->a) && !buf_eq(&got, r->b)) { r->bad++; r->bad_len = got.len; }
        buf_free(&got);
    }
    return NULL;
}

CT_TEST(atomic_concurrent_readers) {
    churn_config cfg, cfg2;
    churn_result big, small;
    char dir[PATH_MAX], path[PATH_MAX + 64];
    buf wa, wb;
    reader_arg ra;
    pthread_t th[2];
    int i, temps = 0, writes = 60;
    fixture_big(&cfg, &big, 150);
    fixture_pass(&cfg2, &small);
    render_cfg(&cfg, &big, &wa);
    render_cfg(&cfg2, &small, &wb);
    fresh_dir(dir, sizeof dir, "readers");
    snprintf(path, sizeof path, "%s/r.json", dir);
    CT_REQUIRE(churn_report_write(&cfg2, &small, path) == CHURN_OK);
    memset(&ra, 0, sizeof ra);
    ra.path = path;
    ra.a = &wa;
    ra.b = &wb;
    CT_REQUIRE(pthread_create(&th[0], NULL, reader_main, &ra) == 0);
    CT_REQUIRE(pthread_create(&th[1], NULL, reader_main, &ra) == 0);
    for (i = 0; i < writes; i++) {
        int rc = (i & 1) ? churn_report_write(&cfg2, &small, path) : churn_report_write(&cfg, &big, path);
        if (rc != CHURN_OK) { FAILF("write %d: %d", i, rc); break; }
    }
    ra.stop = 1;
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    if (ra.bad) FAILF("%d of %d reads saw neither report (e.g. %zu bytes)", ra.bad, ra.reads, ra.bad_len);
    CT_EQ_LL(ra.missing, 0);
    CT_GE_LL(ra.reads, 1);
    CT_EQ_LL(list_dir(dir, NULL, 0, &temps), 1);
    CT_EQ_LL(temps, 0);
    buf_free(&wa);
    buf_free(&wb);
    churn_result_free(&big);
    churn_result_free(&small);
}

/* ---- summary ------------------------------------------------------------------------------ */

static char *summary_of(const churn_result *r) {
    char *mem = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&mem, &len);
    if (!f) return NULL;
    churn_summary_fprint(r, f);
    fclose(f);
    return mem;
}

static const char *last_line(const char *s, char *out, size_t cap) {
    size_t n = strlen(s);
    const char *e, *b;
    while (n > 0 && s[n - 1] == '\n') n--;
    e = s + n;
    b = e;
    while (b > s && b[-1] != '\n') b--;
    snprintf(out, cap, "%.*s", (int)(e - b), b);
    return out;
}

static void check_header(const char *s, const char *file, int line) {
    /* first line: the metric table header, columns in order */
    const char *cols[] = {"metric", "baseline", "peak", "post-drain", "delta", "status"};
    const char *p = s, *eol = strchr(s, '\n');
    int i;
    if (!eol || strncmp(s, "metric", 6) != 0) { failf(file, line, "summary does not start with the metric table header"); return; }
    for (i = 0; i < 6; i++) {
        const char *q = strstr(p, cols[i]);
        if (!q || q > eol) { failf(file, line, "header lacks column \"%s\" (in order)", cols[i]); return; }
        p = q + strlen(cols[i]);
    }
}

/* The row of metric m: "name ... status" */
static int row_has(const char *s, const char *metric, const char *what) {
    const char *p = s;
    size_t ml = strlen(metric);
    while ((p = strstr(p, metric)) != NULL) {
        if ((p == s || p[-1] == '\n') && p[ml] == ' ') {
            const char *eol = strchr(p, '\n');
            const char *q = strstr(p, what);
            return q && (!eol || q < eol);
        }
        p += ml;
    }
    return 0;
}

CT_TEST(summary_pass) {
    churn_config cfg;
    churn_result r;
    char *s, ll[256];
    fixture_pass(&cfg, &r);
    s = summary_of(&r);
    CT_REQUIRE(s != NULL);
    check_header(s, __FILE__, __LINE__);
    CT_EQ_STR(last_line(s, ll, sizeof ll), "PASS");
    CT_CHECK(strstr(s, "leaked handles") == NULL);
    CT_CHECK(strstr(s, "violation:") == NULL);
    CT_CHECK(row_has(s, "handles", " ok"));
    CT_CHECK(row_has(s, "rss_bytes", "50.0M"));
    CT_CHECK(strstr(s, "\ngdi_objects ") == NULL); /* unknown everywhere: no row */
    CT_CHECK(strstr(s, "unchecked (a limit was set, the value was unknown in that phase): gdi_objects user_objects\n") != NULL);
    CT_CHECK(strstr(s, "cycles 1000 in 2.50 s (400/s)") != NULL);
    free(s);
    churn_result_free(&r);
}

CT_TEST(summary_fail) {
    churn_config cfg;
    churn_result r;
    char *s, ll[256];
    fixture_fail(&cfg, &r);
    s = summary_of(&r);
    CT_REQUIRE(s != NULL);
    check_header(s, __FILE__, __LINE__);
    last_line(s, ll, sizeof ll);
    CT_CHECK(strncmp(ll, "FAIL: ", 6) == 0);
    CT_CHECK(strstr(ll, r.verdict.reason) != NULL);
    CT_CHECK(row_has(s, "handles", "FAIL"));
    CT_CHECK(row_has(s, "close_wait", "FAIL"));
    CT_CHECK(row_has(s, "handles", "+10"));
    CT_CHECK(strstr(s, "violation: handles post_drain observed 10 > limit 0\n") != NULL);
    CT_CHECK(strstr(s, "violation: handles growth observed 20 > limit 8 per 1k cycles\n") != NULL);
    CT_CHECK(strstr(s, "drain: did not settle after 64 snapshots") != NULL);
    CT_CHECK(strstr(s, "leaked handles (9):") != NULL);
    CT_CHECK(strstr(s, "tcp 127.0.0.1:8080 -> 127.0.0.1:53422 CLOSE_WAIT") != NULL);
    /* controls in details and names are printed as '?', never raw */
    CT_CHECK(strstr(s, "/tmp/ctl\?\?\?\?\?\?\?\?\?|\?[31mred\n") != NULL);
    CT_CHECK(strstr(s, "\?ctl\?[31m\?\n") != NULL);
    {
        const char *c;
        int raw = 0;
        for (c = s; *c; c++)
            if (((unsigned char)*c < 0x20 && *c != '\n') || *c == 0x7f) raw++;
        CT_EQ_LL(raw, 0);
    }
    CT_CHECK(strstr(s, "leaked threads (7):") != NULL);
    CT_CHECK(strstr(s, "conn-worker") != NULL);
    CT_CHECK(strstr(s, "q\"uote\\slash") != NULL);
    CT_CHECK(strstr(s, "0123456789abcdef0123456789abcdef") != NULL); /* a 32-byte name, no NUL */
    CT_CHECK(strstr(s, "... and") == NULL);
    free(s);
    churn_result_free(&r);
}

CT_TEST(summary_inconclusive) {
    churn_config cfg;
    churn_result r;
    char *s, ll[256];
    fixture_inconclusive(&cfg, &r);
    s = summary_of(&r);
    CT_REQUIRE(s != NULL);
    check_header(s, __FILE__, __LINE__);
    last_line(s, ll, sizeof ll);
    CT_CHECK(strncmp(ll, "INCONCLUSIVE", 12) == 0);
    CT_CHECK(strstr(ll, "no limited metric could be measured") != NULL);
    CT_CHECK(strstr(s, "unchecked (a limit was set, the value was unknown in that phase): gdi_objects user_objects") != NULL);
    free(s);
    churn_result_free(&r);
}

/* More than 20 leaked entries: the first 20 of each list, then "... and N more". */
CT_TEST(summary_truncates_leaks) {
    churn_config cfg;
    churn_result r;
    char *s, needle[64];
    int i, nh = 25, nt = 23;
    fixture_fail(&cfg, &r);
    churn_inventory_free(&r.leaked);
    r.leaked.handles = (churn_handle_info *)calloc((size_t)nh, sizeof *r.leaked.handles);
    r.leaked.threads = (churn_thread_info *)calloc((size_t)nt, sizeof *r.leaked.threads);
    r.leaked.handle_count = nh;
    r.leaked.thread_count = nt;
    for (i = 0; i < nh; i++) {
        snprintf(needle, sizeof needle, "/tmp/leak-file-%02d", i);
        SET_HANDLE(&r.leaked.handles[i], 100 + i, "file", needle, 1000 + (unsigned long long)i);
    }
    for (i = 0; i < nt; i++) {
        snprintf(needle, sizeof needle, "leak-thread-%02d", i);
        SET_THREAD(&r.leaked.threads[i], 5000 + i, needle);
    }
    s = summary_of(&r);
    CT_REQUIRE(s != NULL);
    CT_CHECK(strstr(s, "leaked handles (25):") != NULL);
    CT_CHECK(strstr(s, "leaked threads (23):") != NULL);
    for (i = 0; i < nh; i++) {
        snprintf(needle, sizeof needle, "/tmp/leak-file-%02d\n", i);
        if ((strstr(s, needle) != NULL) != (i < 20)) FAILF("handle %d %s", i, i < 20 ? "missing" : "shown past 20");
    }
    for (i = 0; i < nt; i++) {
        snprintf(needle, sizeof needle, "leak-thread-%02d\n", i);
        if ((strstr(s, needle) != NULL) != (i < 20)) FAILF("thread %d %s", i, i < 20 ? "missing" : "shown past 20");
    }
    CT_CHECK(strstr(s, "... and 5 more\n") != NULL);
    CT_CHECK(strstr(s, "... and 3 more\n") != NULL);
    free(s);

    /* exactly 20: all shown, no "... and" */
    r.leaked.handle_count = 20;
    r.leaked.thread_count = 20;
    s = summary_of(&r);
    CT_REQUIRE(s != NULL);
    CT_CHECK(strstr(s, "/tmp/leak-file-19\n") != NULL);
    CT_CHECK(strstr(s, "leak-thread-19\n") != NULL);
    CT_CHECK(strstr(s, "... and") == NULL);
    free(s);
    r.leaked.handle_count = nh;
    r.leaked.thread_count = nt;
    churn_result_free(&r);
}

CT_TEST(summary_null_args) {
    churn_result r;
    churn_config cfg;
    fixture_pass(&cfg, &r);
    churn_summary_fprint(NULL, stdout);
    churn_summary_fprint(&r, NULL);
    churn_result_free(&r);
}

/* ---- schema validation --------------------------------------------------------------------- */

/* The validator, one string per line (C99 caps string literals at 4095 bytes). */
static const char *const VALIDATOR_PY[] = {
    "import json, sys, copy",
    "try:",
    "    import jsonschema",
    "except ImportError as e:",
    "    print('python3-jsonschema is not installed (%s)' % e); sys.exit(3)",
    "mode, schema_path, files = sys.argv[1], sys.argv[2], sys.argv[3:]",
    "schema = json.load(open(schema_path, encoding='utf-8'))",
    "V = jsonschema.Draft202012Validator",
    "V.check_schema(schema)",
    "fc = getattr(V, 'FORMAT_CHECKER', None) or jsonschema.FormatChecker()",
    "v = V(schema, format_checker=fc)",
    "def bad_const(c): raise ValueError('non-standard JSON constant ' + c)",
    "def hook(pairs):",
    "    keys = [k for k, _ in pairs]",
    "    if len(set(keys)) != len(keys): raise ValueError('duplicate keys: %r' % keys)",
    "    return dict(pairs)",
    "def load(p):",
    "    raw = open(p, 'rb').read()",
    "    return json.loads(raw.decode('utf-8'), parse_constant=bad_const, object_pairs_hook=hook)",
    "def resolve(s):",
    "    while isinstance(s, dict) and '$ref' in s:",
    "        s = schema['$defs'][s['$ref'].rsplit('/', 1)[1]]",
    "    return s",
    "def order(s, x, where, errs):",
    "    s = resolve(s)",
    "    if not isinstance(s, dict): return",
    "    if isinstance(x, dict) and 'properties' in s:",
    "        got = [k for k in x if k in s['properties']]",
    "        want = [k for k in s['properties'] if k in x]",
    "        if got != want: errs.append('%s: key order %s, schema order %s' % (where, got, want))",
    "        for k in got: order(s['properties'][k], x[k], where + '/' + k, errs)",
    "    elif isinstance(x, list) and 'items' in s:",
    "        for i, y in enumerate(x): order(s['items'], y, '%s/%d' % (where, i), errs)",
    "def problems(doc):",
    "    errs = ['%s: %s' % ('/' + '/'.join(str(p) for p in e.absolute_path), e.message[:300])",
    "            for e in v.iter_errors(doc)]",
    "    return errs",
    "bad = 0",
    "if mode == 'validate':",
    "    for p in files:",
    "        try:",
    "            doc = load(p)",
    "        except Exception as e:",
    "            print('%s: not strict JSON: %s' % (p, e)); bad += 1; continue",
    "        errs = problems(doc)",
    "        order(schema, doc, '', errs)",
    "        for e in errs[:20]: print('%s: %s' % (p, e))",
    "        if errs: bad += 1",
    "elif mode == 'mutate':",
    "    base = load(files[0])",
    "    if problems(base): print('base document invalid'); sys.exit(1)",
    "    def M(desc, fn, ok=False):",
    "        global bad",
    "        d = copy.deepcopy(base); fn(d)",
    "        errs = problems(d)",
    "        if ok and errs: print('rejected but valid: %s: %s' % (desc, errs[0])); bad += 1",
    "        if not ok and not errs: print('accepted but invalid: %s' % desc); bad += 1",
    "    def setp(path, val):",
    "        def f(d):",
    "            for k in path[:-1]: d = d[k]",
    "            d[path[-1]] = val",
    "        return f",
    "    def delp(path):",
    "        def f(d):",
    "            for k in path[:-1]: d = d[k]",
    "            del d[path[-1]]",
    "        return f",
    "    for k in list(base):",
    "        if k != 'extra': M('without ' + k, delp([k]))",
    "    for k in list(base['config']): M('without config.' + k, delp(['config', k]))",
    "    for k in list(base['outcomes']): M('without outcomes.' + k, delp(['outcomes', k]))",
    "    for k in list(base['baseline']): M('without baseline.' + k, delp(['baseline', k]))",
    "    for obj in ([], ['config'], ['baseline'], ['deltas'], ['deltas', 'peak'], ['growth_per_1k'], ['limits'],",
    "                ['limits', 'peak'], ['limits', 'growth_per_1k'], ['drain'], ['outcomes'], ['by_profile'],",
    "                ['leaked'], ['series'], ['violations', 0], ['leaked', 'handles', 0], ['leaked', 'threads', 0],",
    "                ['series', 'samples', 0], ['config', 'ignore', 0], ['by_profile', 'reset']):",
    "        M('unknown key in /' + '/'.join(map(str, obj)), setp(obj + ['bogus'], 1))",
    "    M('schema churn-report/2', setp(['schema'], 'churn-report/2'))",
    "    M('verdict maybe', setp(['verdict'], 'maybe'))",
    "    M('ok true with verdict fail', setp(['ok'], True))",
    "    M('ok as 1', setp(['ok'], 1))",
    "    M('platform beos', setp(['platform'], 'beos'))",
    "    M('phase drain', setp(['violations', 0, 'phase'], 'drain'))",
    "    M('metric fds', setp(['violations', 0, 'metric'], 'fds'))",
    "    M('observed as string', setp(['violations', 0, 'observed'], '10'))",
    "    M('snapshot value negative', setp(['baseline', 'handles'], -1))",
    "    M('snapshot value fractional', setp(['baseline', 'handles'], 1.5))",
    "    M('snapshot value string', setp(['baseline', 'handles'], '1'))",
    "    M('delta fractional', setp(['deltas', 'peak', 'handles'], 0.5))",
    "    M('limit negative', setp(['limits', 'post_drain', 'handles'], -1))",
    "    M('growth limit negative', setp(['limits', 'growth_per_1k', 'handles'], -1.0))",
    "    M('outcome negative', setp(['outcomes', 'attempted'], -1))",
    "    M('profile bogus', setp(['config', 'profiles'], ['bogus']))",
    "    M('profile twice', setp(['config', 'profiles'], ['reset', 'reset']))",
    "    M('metric list bogus', setp(['checked'], ['fds']))",
    "    M('by_profile bogus profile', setp(['by_profile', 'bogus'], base['outcomes']))",
    "    M('started_at not a time', setp(['started_at'], 'yesterday'))",
    "    M('thread name number', setp(['leaked', 'threads', 0, 'name'], 5))",
    "    M('thread name too long', setp(['leaked', 'threads', 0, 'name'], 'x' * 33))",
    "    M('sample value string', setp(['series', 'samples', 0, 'handles'], 'x'))",
    "    M('restart_ok string', setp(['restart_ok'], 'yes'))",
    "    for val in ({}, [], 'x', None, 1, 2.5, True, {'a': [1, {'b': None}]}):",
    "        M('extra = %r' % (val,), setp(['extra'], val), ok=True)",
    "    M('by_profile empty', setp(['by_profile'], {}), ok=True)",
    "    M('no leaks', setp(['leaked'], {'handles': [], 'threads': []}), ok=True)",
    "    M('started_at null', setp(['started_at'], None), ok=True)",
    "    M('non-finite double as null', setp(['elapsed_s'], None), ok=True)",
    "    M('negative delta', setp(['deltas', 'post_drain', 'handles'], -3), ok=True)",
    "sys.exit(1 if bad else 0)",
    NULL};

/* 1: /usr/bin/python3 with jsonschema is there; else 0 with the reason. */
static int have_jsonschema(char *why, size_t cap) {
    int st;
    if (access("/usr/bin/python3", X_OK) != 0) { snprintf(why, cap, "/usr/bin/python3 not found"); return 0; }
    st = system("/usr/bin/python3 -c 'import jsonschema' >/dev/null 2>&1");
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        snprintf(why, cap, "/usr/bin/python3 has no jsonschema module (apt-get install python3-jsonschema)");
        return 0;
    }
    return 1;
}

/* Skip, or under CI fail, when the validator is missing. Returns 1 to go on. */
#define NEED_JSONSCHEMA()                                                              \
    do {                                                                                \
        char why_[256];                                                                 \
        if (!have_jsonschema(why_, sizeof why_)) {                                      \
            if (getenv("CI") && getenv("CI")[0]) { FAILF("CI: %s", why_); return; }     \
            CT_SKIP(why_);                                                              \
        }                                                                               \
    } while (0)

/* Runs the validator; returns its exit status, output in out. */
static int run_validator(const char *mode, const char *const *files, int nfiles, char *out, size_t cap) {
    char script[PATH_MAX + 32], cmd[16384];
    FILE *p;
    size_t got = 0;
    int i, st;
    snprintf(script, sizeof script, "%s/validate.py", g_tmp);
    {
        FILE *f = fopen(script, "w");
        int ok = f != NULL;
        for (i = 0; ok && VALIDATOR_PY[i]; i++) ok = fprintf(f, "%s\n", VALIDATOR_PY[i]) > 0;
        if (f && fclose(f) != 0) ok = 0;
        if (!ok) { snprintf(out, cap, "cannot write %s", script); return -1; }
    }
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' %s '%s'", script, mode, g_schema);
    for (i = 0; i < nfiles; i++) {
        size_t l = strlen(cmd);
        snprintf(cmd + l, sizeof cmd - l, " '%s'", files[i]);
    }
    strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
    p = popen(cmd, "r");
    if (!p) { snprintf(out, cap, "popen failed"); return -1; }
    out[0] = '\0';
    while (got + 1 < cap) {
        size_t n = fread(out + got, 1, cap - 1 - got, p);
        if (n == 0) break;
        got += n;
    }
    out[got] = '\0';
    { char sink[512]; while (fread(sink, 1, sizeof sink, p) > 0) {} }
    st = pclose(p);
    return (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
}

CT_TEST(schema_golden_files_validate) {
    const char *files[N_CASES];
    char paths[N_CASES][PATH_MAX + 64], out[16384];
    int i, st;
    NEED_JSONSCHEMA();
    for (i = 0; i < N_CASES; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s.json", g_golden_dir, g_cases[i].name);
        files[i] = paths[i];
    }
    st = run_validator("validate", files, N_CASES, out, sizeof out);
    if (st != 0) FAILF("golden files do not validate (status %d):\n%s", st, out);
}

CT_TEST(schema_rejects_invalid_reports) {
    const char *files[1];
    char path[PATH_MAX + 64], out[16384];
    int st;
    NEED_JSONSCHEMA();
    snprintf(path, sizeof path, "%s/fail.json", g_golden_dir);
    files[0] = path;
    st = run_validator("mutate", files, 1, out, sizeof out);
    if (st != 0) FAILF("schema mutation checks (status %d):\n%s", st, out);
}

/* ---- real runs ------------------------------------------------------------------------------ */

typedef struct server {
    int lfd, port, wake[2];
    long accepted;
    pthread_t th;
} server;

static void *server_main(void *p) {
    server *s = (server *)p;
    for (;;) {
        struct pollfd pf[2];
        pf[0].fd = s->lfd; pf[0].events = POLLIN; pf[0].revents = 0;
        pf[1].fd = s->wake[0]; pf[1].events = POLLIN; pf[1].revents = 0;
        if (poll(pf, 2, 1000) < 0) { if (errno == EINTR) continue; break; }
        if (pf[1].revents) break;
        if (pf[0].revents & POLLIN) {
            int c = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
            if (c >= 0) { close(c); s->accepted++; }
        }
    }
    return NULL;
}

static int server_start(server *s) {
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int one = 1;
    memset(s, 0, sizeof *s);
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->lfd < 0) return -1;
    setsockopt(s->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s->lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(s->lfd, 256) != 0 ||
        getsockname(s->lfd, (struct sockaddr *)&a, &al) != 0 || pipe2(s->wake, O_CLOEXEC) != 0) {
        close(s->lfd);
        return -1;
    }
    s->port = ntohs(a.sin_port);
    if (pthread_create(&s->th, NULL, server_main, s) != 0) {
        close(s->lfd); close(s->wake[0]); close(s->wake[1]);
        return -1;
    }
    return 0;
}

static void server_stop(server *s) {
    ssize_t w = write(s->wake[1], "x", 1);
    (void)w;
    pthread_join(s->th, NULL);
    close(s->lfd);
    close(s->wake[0]);
    close(s->wake[1]);
}

/* Writes the report of one real run to path; 0 ok. */
static int real_run(const char *path, int custom, const char *file, int line) {
    churn_config cfg;
    churn_result res;
    server srv;
    extra_state ex;
    int rc, ok = 1;
    buf viafn, viafile;
    memset(&ex, 0, sizeof ex);
    memset(&srv, 0, sizeof srv);
    churn_config_init(&cfg, CHURN_BUDGET_SMOKE);
    cfg.cycles = 50;
    cfg.watch_pid = 0;
    cfg.label = custom ? "real-custom" : "real-reset";
    churn_limits_strict(&cfg.limits);
    if (custom) {
        cfg.cycle = stub_cycle;
        cfg.report_extra = extra_cb;
        cfg.user = &ex;
    } else {
        if (server_start(&srv) != 0) { failf(file, line, "cannot start the loopback server"); return -1; }
        cfg.port = srv.port;
        cfg.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_RESET);
    }
    rc = churn_run(&cfg, &res);
    if (!custom) server_stop(&srv);
    if (rc != CHURN_OK) { failf(file, line, "churn_run: %s", churn_strerror(rc)); ok = 0; }
    if (res.cycles_done != 50) { failf(file, line, "cycles_done %lld, want 50", res.cycles_done); ok = 0; }
    if (!custom && res.outcomes.attempted != 50) { failf(file, line, "attempted %lld", res.outcomes.attempted); ok = 0; }
    rc = churn_report_write(&cfg, &res, path);
    if (rc != CHURN_OK) { failf(file, line, "churn_report_write: %s", churn_strerror(rc)); ok = 0; }
    memset(&viafn, 0, sizeof viafn);
    if (churn_report_write_fn(&cfg, &res, buf_write, &viafn) != CHURN_OK) { failf(file, line, "write_fn failed"); ok = 0; }
    if (read_file(path, &viafile) == 0) {
        if (!buf_eq(&viafn, &viafile)) { show_diff("real run: file vs write_fn", &viafn, &viafile, file, line); ok = 0; }
        buf_free(&viafile);
    }
    buf_free(&viafn);
    if (custom && ex.calls != 2) { failf(file, line, "report_extra called %d times for 2 renderings", ex.calls); ok = 0; }
    churn_result_free(&res);
    return ok ? 0 : -1;
}

CT_TEST(real_run_reports) {
    char dir[PATH_MAX], p1[PATH_MAX + 64], p2[PATH_MAX + 64], cmd[3 * PATH_MAX], out[16384];
    const char *files[2];
    int st;
    fresh_dir(dir, sizeof dir, "real");
    snprintf(p1, sizeof p1, "%s/reset.json", dir);
    snprintf(p2, sizeof p2, "%s/custom.json", dir);
    CT_REQUIRE(real_run(p1, 0, __FILE__, __LINE__) == 0);
    CT_REQUIRE(real_run(p2, 1, __FILE__, __LINE__) == 0);

    /* python3 from PATH (whichever it is) parses both */
    snprintf(cmd, sizeof cmd, "python3 -m json.tool '%s' >/dev/null && python3 -m json.tool '%s' >/dev/null", p1, p2);
    st = system(cmd);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) == 127) {
        if (getenv("CI") && getenv("CI")[0]) FAILF("CI: python3 not runnable");
        else CT_SKIP("python3 not runnable");
    } else if (WEXITSTATUS(st) != 0) {
        FAILF("python3 -m json.tool rejected a real report (kept in %s)", dir);
        return;
    }

    NEED_JSONSCHEMA();
    files[0] = p1;
    files[1] = p2;
    st = run_validator("validate", files, 2, out, sizeof out);
    if (st != 0) FAILF("real reports do not validate (status %d):\n%s", st, out);
}

/* ---- main ---------------------------------------------------------------------------------- */

int main(void) {
    const char *td = getenv("TMPDIR");
    signal(SIGPIPE, SIG_IGN);
    init_paths();
    snprintf(g_tmp, sizeof g_tmp, "%s/churn-test-report.XXXXXX", td && td[0] ? td : "/tmp");
    if (!mkdtemp(g_tmp)) {
        printf("cannot create a scratch directory: %s\n", strerror(errno));
        return 1;
    }
    CT_RUN(golden_reports);
    CT_RUN(golden_deterministic);
    CT_RUN(writers_agree);
    CT_RUN(report_contents);
    CT_RUN(report_errors);
    CT_RUN(atomic_missing_directory);
    CT_RUN(atomic_parent_is_file);
    CT_RUN(atomic_target_is_directory);
    CT_RUN(atomic_replace);
    CT_RUN(atomic_relative_path);
    CT_RUN(atomic_render_error);
    CT_RUN(atomic_readonly_directory);
    CT_RUN(atomic_rlimit_fsize);
    CT_RUN(atomic_tmpfs_full);
    CT_RUN(atomic_readonly_tmpfs);
    CT_RUN(atomic_concurrent_readers);
    CT_RUN(summary_pass);
    CT_RUN(summary_fail);
    CT_RUN(summary_inconclusive);
    CT_RUN(summary_truncates_leaks);
    CT_RUN(summary_null_args);
    CT_RUN(schema_golden_files_validate);
    CT_RUN(schema_rejects_invalid_reports);
    CT_RUN(real_run_reports);
    rm_rf(g_tmp);
    return ct_finish();
}
