/* test_hardening.c - a gate that never lies, never hangs and never disturbs what it measures.

   Self-cleanliness    20 back-to-back churn runs in one process (in-process accept-and-close
                       server and tiny HTTP responder on threads, a mix of profiles, inventories,
                       a report per run and a summary to /dev/null): fds, threads and heap come
                       back to where they were after run 1.
   Bounded memory      1,000,000 no-op custom cycles sampled every cycle: the series stays within
                       series_max, peak RSS and peak heap barely move (2,000,000 with CHURN_SOAK=1).
   Fault injection     RLIMIT_NOFILE below the concurrency (forked child, a sweep of budgets);
                       the server SIGKILLed at ~50% and restarted on the same port (at once, and
                       after a pause); servers that never read, never answer, or answer forever
                       (raw / Content-Length / chunked firehoses) with timeout_ms 200; servers that
                       reset while we send (SIGPIPE left at SIG_DFL, forked child); SIGUSR1 every
                       1 ms (no SA_RESTART) during IDLE/TLS_STALL runs and during churn_drain;
                       a report path in a missing directory.
   Bad input           every public function with NULL (each case in its own forked child, so a
                       crash is a named failure, not a dead binary), bad configs, bad limits, bad
                       pids, malformed hosts; non-loopback hosts inside `unshare -n` (this binary
                       re-executed with --netns-remote).
   Thread safety       two churn runs against two servers in parallel threads while two more
                       threads take snapshots and inventories (TSan-friendly: no racy globals).

   Servers in child processes are this binary re-executed with --serve MODE PORT FD;
   --only NAME runs one test.
   Hang guard: the tests that could hang arm alarm(); on expiry the test is named as hung and
   the binary exits with a summary line. No timing assertions except lower bounds that only
   prove a wait was not cut short.

   Build: gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -D_GNU_SOURCE -pthread -Itests -I. \
          tests/test_hardening.c build/churn_impl.o -o build/tests/test_hardening -lm
*/
#include "churn_test.h"
#include "churn_testutil.h"
#include "../churn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#if defined(__GLIBC__) && defined(__GLIBC_MINOR__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define HAVE_MALLINFO2 1
#endif

/* Documented configuration macros; the declarations part does not define them (only the
   implementation does), so a declarations-only includer falls back to the documented defaults. */
#ifndef CHURN_SERIES_MAX
#define CHURN_SERIES_MAX 256
#endif
#ifndef CHURN_MAX_CONCURRENCY
#define CHURN_MAX_CONCURRENCY 4096
#endif

/* ---- small helpers --------------------------------------------------------------------- */

static char self_exe[4096] = "/proc/self/exe";

/* Entries of a report directory whose names do not start with '.'; -1 when it cannot be opened. */
static int count_dir(const char *path) {
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* A "Key:   123 kB" line of /proc/self/status, in bytes; -1 when absent. */
static long long status_bytes(const char *key) {
    char line[256];
    size_t kl = strlen(key);
    long long v = -1;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') { v = atoll(line + kl + 1) * 1024; break; }
    fclose(f);
    return v;
}

/* Bytes the allocator has handed out (all arenas, mmapped chunks included); -1 unknown. */
static long long heap_in_use(void) {
#ifdef HAVE_MALLINFO2
    struct mallinfo2 mi = mallinfo2();
    return (long long)mi.uordblks + (long long)mi.hblkhd;
#else
    return -1;
#endif
}

/* 1 when heap_in_use() follows malloc here (not under a sanitizer's own allocator). */
static int heap_measurable(void) {
    long long h0 = heap_in_use(), h1;
    volatile char *p;
    if (h0 < 0) return 0;
    p = (volatile char *)malloc(100000); /* below the mmap threshold */
    if (!p) return 0;
    p[0] = 1; p[99999] = 1;              /* used, so the allocation is not elided */
    h1 = heap_in_use();
    free((void *)p);
    return h1 - h0 >= 100000;
}

static const char *tool_name(void) {
    const char *t = getenv("CHURN_TEST_TOOL");
    return t && t[0] ? t : NULL;
}

#if defined(__GNUC__)
static void failf_at(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
#endif
static void failf_at(const char *file, int line, const char *fmt, ...) {
    char m[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    ct_fail_at(file, line, m);
}
#define FAILF(...) failf_at(__FILE__, __LINE__, __VA_ARGS__)

/* Every code a function may return is one of the documented CHURN_* values. */
static int documented_code(int rc) {
    return rc == CHURN_OK || rc == CHURN_E_INVAL || rc == CHURN_E_NOPROC || rc == CHURN_E_PERM ||
           rc == CHURN_E_NOMEM || rc == CHURN_E_IO || rc == CHURN_E_UNSUPPORTED || rc == CHURN_E_CONNECT ||
           rc == CHURN_E_REMOTE || rc == CHURN_E_TIMEOUT || rc == CHURN_E_CANCELED;
}

static long long outcome_sum(const churn_outcomes *o) {
    return o->completed + o->refused + o->timed_out + o->reset_by_peer + o->closed_by_peer + o->failed;
}

static void print_outcomes(const char *what, const churn_outcomes *o) {
    printf("    %s: attempted %lld connected %lld completed %lld refused %lld timed_out %lld reset %lld "
           "closed %lld failed %lld\n", what, o->attempted, o->connected, o->completed, o->refused, o->timed_out,
           o->reset_by_peer, o->closed_by_peer, o->failed);
}

/* attempted == the sum of the classes, totals and per profile; attempted == want when want >= 0. */
static void check_outcomes_at(const char *file, int line, const char *what, const churn_result *r, long long want) {
    int p;
    long long by_att = 0;
    if (r->outcomes.attempted != outcome_sum(&r->outcomes))
        failf_at(file, line, "%s: attempted %lld != sum of classes %lld", what, r->outcomes.attempted,
                 outcome_sum(&r->outcomes));
    if (want >= 0 && r->outcomes.attempted != want)
        failf_at(file, line, "%s: attempted %lld, want %lld", what, r->outcomes.attempted, want);
    if (r->outcomes.connected > r->outcomes.attempted)
        failf_at(file, line, "%s: connected %lld > attempted %lld", what, r->outcomes.connected, r->outcomes.attempted);
    for (p = 0; p < CHURN_PROFILE_COUNT; p++) {
        const churn_outcomes *o = &r->by_profile[p];
        by_att += o->attempted;
        if (o->attempted != outcome_sum(o))
            failf_at(file, line, "%s: profile %s: attempted %lld != sum %lld", what, churn_profile_name((churn_profile)p),
                     o->attempted, outcome_sum(o));
    }
    if (by_att != r->outcomes.attempted && by_att != 0)
        failf_at(file, line, "%s: by_profile attempted %lld != total %lld", what, by_att, r->outcomes.attempted);
}
#define CHECK_OUTCOMES(what, r, want) check_outcomes_at(__FILE__, __LINE__, (what), (r), (want))

/* A listening socket on 127.0.0.1:port (0: any), non-blocking, SO_REUSEADDR; retries while the
   port is still held (a killed server's listener can take a moment to go). */
static int listen_on(int port, int *actual) {
    int attempt;
    for (attempt = 0; attempt < 150; attempt++) {
        struct sockaddr_in a;
        socklen_t al = sizeof a;
        int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) return -1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        memset(&a, 0, sizeof a);
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons((unsigned short)port);
        if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 1024) == 0 &&
            getsockname(fd, (struct sockaddr *)&a, &al) == 0) {
            *actual = ntohs(a.sin_port);
            return fd;
        }
        close(fd);
        if (errno != EADDRINUSE || port == 0) return -1;
        t_sleep_ms(20);
    }
    return -1;
}

/* ---- hang guard ------------------------------------------------------------------------ */

static void guard_fired(int sig) {
    char m[512];
    int n;
    (void)sig;
    n = snprintf(m, sizeof m, "FAIL %s\n    hang guard: the test was still running when its alarm fired\n%d passed, %d failed\n",
                 ct_cur_name ? ct_cur_name : "?", ct_passed, ct_failed + 1);
    if (n > 0 && write(STDOUT_FILENO, m, (size_t)n) < 0) {}
    _exit(3);
}
static void guard_arm(unsigned seconds) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = guard_fired;
    sigaction(SIGALRM, &sa, NULL);
    alarm(seconds);
}
static void guard_disarm(void) { alarm(0); }

/* ---- servers: one poll loop, used on a thread (in-process) or in a child process -------- */

enum { SV_CLOSE, SV_HTTP, SV_HOLD, SV_NOREAD, SV_FIRE_RAW, SV_FIRE_CL, SV_FIRE_CHUNKED, SV_RST_ACCEPT, SV_RST_READ,
       SV_COUNT };
static const char *const sv_names[SV_COUNT] = {"close", "http", "hold", "noread", "firehose-raw", "firehose-cl",
                                               "firehose-chunked", "rst-accept", "rst-read"};
/* close: accept and close. http: answer a GET head with a Content-Length response, read and
   discard anything else. hold: read and discard, never answer. noread: accept, never read.
   firehose-*: write without end (raw bytes / a Content-Length head and an endless body /
   endless chunks), read and discard. rst-accept: reset on accept. rst-read: reset once the
   first byte arrives. */

static const char HTTP_RESP[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
static const char FIRE_CL_HEAD[] = "HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000\r\n\r\n";
static const char FIRE_CHUNKED_HEAD[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
#define FIRE_BUF 16384
static char fire_buf[FIRE_BUF];            /* child process only */
static char fire_unit[FIRE_BUF + 8];       /* "4000\r\n" + 16384 bytes + "\r\n" */
static size_t fire_unit_len;

#define SV_MAXC 1024
typedef struct sv_conn {
    int fd;
    unsigned win;      /* last four bytes, for the end of a request head */
    char first[4];
    int nfirst;
    int answered;
    unsigned long long off;  /* firehose: bytes of the endless stream sent */
    double t0;
} sv_conn;

typedef struct sv_ctx {
    int mode, lfd, wake;     /* wake: a pipe's read end (thread servers) or -1 */
    pthread_mutex_t mu;      /* guards active and accepted (thread servers) */
    int active;
    long accepted;
    int nconn;
    sv_conn conns[SV_MAXC];
    struct pollfd pfd[SV_MAXC + 2];
} sv_ctx;

static volatile sig_atomic_t sv_child_stop;
static void sv_on_term(int sig) { (void)sig; sv_child_stop = 1; }

static void sv_drop(sv_ctx *x, int i, int rst) {
    if (x->conns[i].fd >= 0) {
        if (rst) t_set_rst(x->conns[i].fd);
        close(x->conns[i].fd);
    }
    x->conns[i].fd = -1;
}

static void sv_fire(sv_ctx *x, sv_conn *c) {
    int rounds;
    for (rounds = 0; rounds < 8 && c->fd >= 0; rounds++) {
        const char *head = x->mode == SV_FIRE_CL ? FIRE_CL_HEAD : x->mode == SV_FIRE_CHUNKED ? FIRE_CHUNKED_HEAD : "";
        unsigned long long hl = strlen(head);
        const char *p;
        size_t len;
        ssize_t k;
        if (c->off < hl) { p = head + c->off; len = (size_t)(hl - c->off); }
        else if (x->mode == SV_FIRE_CHUNKED) {
            size_t q = (size_t)((c->off - hl) % fire_unit_len);
            p = fire_unit + q;
            len = fire_unit_len - q;
        } else { p = fire_buf; len = FIRE_BUF; }
        k = send(c->fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            close(c->fd);
            c->fd = -1;
            return;
        }
        c->off += (unsigned long long)k;
    }
}

static void sv_read(sv_ctx *x, sv_conn *c) {
    char buf[16384];
    int rounds;
    for (rounds = 0; rounds < 8 && c->fd >= 0; rounds++) {
        ssize_t k = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
        if (k > 0) {
            ssize_t i;
            if (x->mode == SV_RST_READ) { t_set_rst(c->fd); close(c->fd); c->fd = -1; return; }
            if (x->mode != SV_HTTP) continue;
            for (i = 0; i < k; i++) {
                if (c->nfirst < 4) c->first[c->nfirst++] = buf[i];
                c->win = (c->win << 8) | (unsigned char)buf[i];
                if (c->win == 0x0d0a0d0au && !c->answered && c->nfirst == 4 && memcmp(c->first, "GET ", 4) == 0) {
                    c->answered = 1;
                    if (send(c->fd, HTTP_RESP, sizeof HTTP_RESP - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {}
                    shutdown(c->fd, SHUT_WR);
                }
            }
        } else if (k == 0) {
            close(c->fd);
            c->fd = -1;
            return;
        } else {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
            close(c->fd);
            c->fd = -1;
            return;
        }
    }
}

static int sv_should_stop(sv_ctx *x) {
    if (x->wake >= 0) return x->pfd[0].revents != 0;
    return sv_child_stop != 0;
}

static void sv_loop(sv_ctx *x, double max_s) {
    double end = t_now() + max_s;
    int i;
    for (;;) {
        int n = 0, lidx = -1, base, r;
        double t = t_now();
        if (t > end) break;
        if (x->wake >= 0) { x->pfd[n].fd = x->wake; x->pfd[n].events = POLLIN; x->pfd[n].revents = 0; n++; }
        if (x->nconn < SV_MAXC) {
            lidx = n;
            x->pfd[n].fd = x->lfd; x->pfd[n].events = POLLIN; x->pfd[n].revents = 0; n++;
        }
        base = n;
        for (i = 0; i < x->nconn; i++) {
            short ev = 0;
            if (x->mode != SV_NOREAD) ev |= POLLIN;
            if (x->mode == SV_FIRE_RAW || x->mode == SV_FIRE_CL || x->mode == SV_FIRE_CHUNKED) ev |= POLLOUT;
            x->pfd[n].fd = x->conns[i].fd; x->pfd[n].events = ev; x->pfd[n].revents = 0; n++;
        }
        r = poll(x->pfd, (nfds_t)n, 50);
        if (r < 0 && errno != EINTR) break;
        if (r < 0) { if (x->wake < 0 && sv_child_stop) break; continue; }
        if (sv_should_stop(x)) break;
        for (i = 0; i < x->nconn; i++) {
            sv_conn *c = &x->conns[i];
            short rev = x->pfd[base + i].revents;
            if (rev & POLLOUT) sv_fire(x, c);
            if (c->fd >= 0 && (rev & (POLLIN | POLLERR | POLLHUP))) {
                if (x->mode == SV_NOREAD) { if (rev & (POLLERR | POLLHUP)) sv_drop(x, i, 0); }
                else sv_read(x, c);
            }
            if (c->fd >= 0 && t - c->t0 > 10.0) sv_drop(x, i, 0);
        }
        {   /* compact */
            int w = 0;
            for (i = 0; i < x->nconn; i++)
                if (x->conns[i].fd >= 0) x->conns[w++] = x->conns[i];
            x->nconn = w;
        }
        if (lidx >= 0 && (x->pfd[lidx].revents & POLLIN)) {
            while (x->nconn < SV_MAXC) {
                int fd = accept4(x->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                sv_conn *c;
                if (fd < 0) break;
                pthread_mutex_lock(&x->mu);
                x->accepted++;
                pthread_mutex_unlock(&x->mu);
                if (x->mode == SV_CLOSE) { close(fd); continue; }
                if (x->mode == SV_RST_ACCEPT) { t_set_rst(fd); close(fd); continue; }
                c = &x->conns[x->nconn++];
                memset(c, 0, sizeof *c);
                c->fd = fd;
                c->t0 = t_now();
            }
        }
        pthread_mutex_lock(&x->mu);
        x->active = x->nconn;
        pthread_mutex_unlock(&x->mu);
    }
    for (i = 0; i < x->nconn; i++) sv_drop(x, i, 0);
    x->nconn = 0;
    pthread_mutex_lock(&x->mu);
    x->active = 0;
    pthread_mutex_unlock(&x->mu);
}

/* --serve MODE PORT FD: listens on 127.0.0.1:PORT (0: any), reports "PORT n\n" on FD, serves
   until SIGTERM (or 120 s), then reports "ACCEPTED n\n". */
static int serve_child_main(const char *mode_name, int port, int report_fd) {
    sv_ctx *x;
    struct sigaction sa;
    char line[64];
    int mode = -1, i, ln, actual = 0;
    for (i = 0; i < SV_COUNT; i++) if (strcmp(sv_names[i], mode_name) == 0) mode = i;
    if (mode < 0) return 2;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sv_on_term;
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    memset(fire_buf, 'A', sizeof fire_buf);
    memcpy(fire_unit, "4000\r\n", 6);
    memset(fire_unit + 6, 'c', FIRE_BUF);
    memcpy(fire_unit + 6 + FIRE_BUF, "\r\n", 2);
    fire_unit_len = 6 + FIRE_BUF + 2;
    x = (sv_ctx *)calloc(1, sizeof *x);
    if (!x) return 3;
    pthread_mutex_init(&x->mu, NULL);
    x->mode = mode;
    x->wake = -1;
    x->lfd = listen_on(port, &actual);
    if (x->lfd < 0) return 3;
    ln = snprintf(line, sizeof line, "PORT %d\n", actual);
    if (write(report_fd, line, (size_t)ln) != ln) return 3;
    sv_loop(x, 120.0);
    ln = snprintf(line, sizeof line, "ACCEPTED %ld\n", x->accepted);
    if (write(report_fd, line, (size_t)ln) != ln) {}
    _exit(0);
}

/* A server child process. */
typedef struct srvproc { pid_t pid; int port, rfd, mode; long accepted; char buf[256]; size_t len; } srvproc;

/* Reads report lines until one starts with `key`; its number, or -1 after `seconds`. */
static long sp_wait_line(srvproc *sp, const char *key, double seconds) {
    double end = t_now() + seconds;
    size_t kl = strlen(key);
    for (;;) {
        char *nl;
        while ((nl = (char *)memchr(sp->buf, '\n', sp->len)) != NULL) {
            long v = -1;
            size_t used = (size_t)(nl - sp->buf) + 1;
            int match = strncmp(sp->buf, key, kl) == 0;
            if (match) v = atol(sp->buf + kl);
            memmove(sp->buf, sp->buf + used, sp->len - used);
            sp->len -= used;
            if (match) return v;
        }
        {
            struct pollfd pf;
            int left = (int)((end - t_now()) * 1000.0);
            ssize_t k;
            if (left <= 0 || sp->rfd < 0) return -1;
            pf.fd = sp->rfd; pf.events = POLLIN; pf.revents = 0;
            if (poll(&pf, 1, left) <= 0) { if (errno == EINTR) continue; return -1; }
            k = read(sp->rfd, sp->buf + sp->len, sizeof sp->buf - 1 - sp->len);
            if (k <= 0) { if (k < 0 && errno == EINTR) continue; return -1; }
            sp->len += (size_t)k;
        }
    }
}

/* Starts `--serve MODE PORT FD`; async-signal-safe between fork and exec (argv built first),
   so a helper thread may call it while other threads run. 0 ok. */
static int sp_start(srvproc *sp, int mode, int port) {
    int p[2];
    char port_s[16], fd_s[16];
    char *argv[6];
    memset(sp, 0, sizeof *sp);
    sp->rfd = -1;
    sp->mode = mode;
    if (pipe2(p, O_CLOEXEC) != 0) return -1;
    snprintf(port_s, sizeof port_s, "%d", port);
    snprintf(fd_s, sizeof fd_s, "%d", p[1]);
    argv[0] = (char *)"test_hardening";
    argv[1] = (char *)"--serve";
    argv[2] = (char *)sv_names[mode];
    argv[3] = port_s;
    argv[4] = fd_s;
    argv[5] = NULL;
    fflush(stdout);
    sp->pid = fork();
    if (sp->pid < 0) { close(p[0]); close(p[1]); return -1; }
    if (sp->pid == 0) {
        fcntl(p[1], F_SETFD, 0);
        execv(self_exe, argv);
        _exit(127);
    }
    close(p[1]);
    sp->rfd = p[0];
    sp->port = (int)sp_wait_line(sp, "PORT ", 10.0);
    if (sp->port <= 0) {
        kill(sp->pid, SIGKILL);
        waitpid(sp->pid, NULL, 0);
        close(sp->rfd);
        sp->rfd = -1;
        sp->pid = 0;
        return -1;
    }
    return 0;
}

/* SIGTERM, collect "ACCEPTED n", reap (SIGKILL when it does not go). */
static void sp_stop(srvproc *sp) {
    if (sp->pid <= 0) return;
    kill(sp->pid, SIGTERM);
    sp->accepted = sp_wait_line(sp, "ACCEPTED ", 10.0);
    if (sp->accepted < 0) kill(sp->pid, SIGKILL);
    waitpid(sp->pid, NULL, 0);
    if (sp->rfd >= 0) close(sp->rfd);
    sp->rfd = -1;
    sp->pid = 0;
}

/* SIGKILL now: the kernel closes its sockets (listener included). */
static void sp_kill(srvproc *sp) {
    if (sp->pid <= 0) return;
    kill(sp->pid, SIGKILL);
    waitpid(sp->pid, NULL, 0);
    if (sp->rfd >= 0) close(sp->rfd);
    sp->rfd = -1;
    sp->pid = 0;
}

/* A server on a thread of this process. */
typedef struct tsrv { sv_ctx *x; int wake[2]; pthread_t th; int port; int up; } tsrv;

static void *tsrv_main(void *arg) {
    sv_loop((sv_ctx *)arg, 600.0);
    return NULL;
}

static int tsrv_open(tsrv *t, int mode) {
    memset(t, 0, sizeof *t);
    t->x = (sv_ctx *)calloc(1, sizeof *t->x);
    if (!t->x) return -1;
    pthread_mutex_init(&t->x->mu, NULL);
    t->x->mode = mode;
    t->x->lfd = listen_on(0, &t->port);
    if (t->x->lfd < 0 || pipe2(t->wake, O_CLOEXEC) != 0) return -1;
    t->x->wake = t->wake[0];
    if (pthread_create(&t->th, NULL, tsrv_main, t->x) != 0) return -1;
    t->up = 1;
    return 0;
}

static int tsrv_active(tsrv *t) {
    int a;
    pthread_mutex_lock(&t->x->mu);
    a = t->x->active;
    pthread_mutex_unlock(&t->x->mu);
    return a;
}

/* Until the server holds no connection (bounded). */
static void tsrv_settle(tsrv *t) {
    int i;
    for (i = 0; i < 200 && tsrv_active(t) > 0; i++) t_sleep_ms(10);
    t_sleep_ms(20); /* one more loop: a connection accepted right now would show */
    for (i = 0; i < 200 && tsrv_active(t) > 0; i++) t_sleep_ms(10);
}

static void tsrv_close(tsrv *t) {
    if (t->up) {
        if (write(t->wake[1], "x", 1) != 1) {}
        pthread_join(t->th, NULL);
    }
    if (t->x) {
        if (t->x->lfd >= 0) close(t->x->lfd);
        pthread_mutex_destroy(&t->x->mu);
        free(t->x);
    }
    if (t->wake[0] > 0) { close(t->wake[0]); close(t->wake[1]); }
    memset(t, 0, sizeof *t);
}

/* ---- churn_run in a forked child: crashes, hangs and raised signals become named results -- */

typedef struct child_out {
    int rc;
    churn_outcomes o;
    churn_outcomes by[CHURN_PROFILE_COUNT];
    long long cycles_done;
    int status;
    int sigpipe_default;   /* SIGPIPE still SIG_DFL and unblocked after the run */
    char note[160];
} child_out;

typedef void (*child_prep_fn)(void *arg, child_out *out);

/* 0: the child ran and reported. Otherwise *why says how it ended (signal, hang, ...). */
static int run_churn_child(const churn_config *c, child_prep_fn prep, void *arg, unsigned guard_s, child_out *out,
                           char *why, size_t why_cap) {
    int p[2], st = 0;
    size_t got = 0;
    pid_t pid;
    double end;
    memset(out, 0, sizeof *out);
    why[0] = '\0';
    if (pipe2(p, O_CLOEXEC) != 0) { snprintf(why, why_cap, "pipe failed"); return -1; }
    fflush(stdout);
    pid = fork();
    if (pid < 0) { close(p[0]); close(p[1]); snprintf(why, why_cap, "fork failed"); return -1; }
    if (pid == 0) {
        churn_result res;
        child_out o;
        struct sigaction sa;
        sigset_t mask;
        close(p[0]);
        signal(SIGALRM, SIG_DFL); /* a hang ends as "killed by SIGALRM" */
        alarm(guard_s);
        memset(&o, 0, sizeof o);
        if (prep) prep(arg, &o);
        memset(&res, 0, sizeof res);
        o.rc = churn_run(c, &res);
        o.o = res.outcomes;
        memcpy(o.by, res.by_profile, sizeof o.by);
        o.cycles_done = res.cycles_done;
        o.status = res.verdict.status;
        sigaction(SIGPIPE, NULL, &sa);
        sigprocmask(SIG_BLOCK, NULL, &mask);
        o.sigpipe_default = sa.sa_handler == SIG_DFL && !sigismember(&mask, SIGPIPE);
        churn_result_free(&res);
        if (write(p[1], &o, sizeof o) != (ssize_t)sizeof o) _exit(4);
        _exit(0);
    }
    close(p[1]);
    end = t_now() + guard_s + 10.0;
    while (got < sizeof *out) {
        struct pollfd pf;
        int left = (int)((end - t_now()) * 1000.0);
        ssize_t k;
        if (left <= 0) break;
        pf.fd = p[0]; pf.events = POLLIN; pf.revents = 0;
        if (poll(&pf, 1, left) <= 0) { if (errno == EINTR) continue; break; }
        k = read(p[0], (char *)out + got, sizeof *out - got);
        if (k <= 0) { if (k < 0 && errno == EINTR) continue; break; }
        got += (size_t)k;
    }
    close(p[0]);
    if (got < sizeof *out) kill(pid, SIGKILL);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        snprintf(why, why_cap, "%s (signal %d: %s)", sig == SIGALRM ? "hung: the child's alarm fired" : "child killed",
                 sig, strsignal(sig));
        return -1;
    }
    if (got < sizeof *out) { snprintf(why, why_cap, "child exited (%d) without a result", WEXITSTATUS(st)); return -1; }
    return 0;
}

/* ---- self-cleanliness ------------------------------------------------------------------ */

static int make_tmpdir(char *out, size_t cap) {
    const char *t = getenv("TMPDIR");
    snprintf(out, cap, "%s/churn-hardening.XXXXXX", t && t[0] ? t : "/tmp");
    return mkdtemp(out) ? 0 : -1;
}

static void rm_tree_flat(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[1024];
    if (d) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

#define SELF_RUNS 20
CT_TEST(self_clean_20_runs) {
    static const struct { int http; unsigned profiles; int conc; } mix[] = {
        {0, CHURN_PROFILE_BIT(CHURN_PROFILE_RESET) | CHURN_PROFILE_BIT(CHURN_PROFILE_CLOSE), 1},
        {1, CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST), 4},
        {0, CHURN_PROFILE_BIT(CHURN_PROFILE_RESET) | CHURN_PROFILE_BIT(CHURN_PROFILE_IDLE) |
                CHURN_PROFILE_BIT(CHURN_PROFILE_TLS_STALL), 8},
        {1, CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST) | CHURN_PROFILE_BIT(CHURN_PROFILE_UNREAD_RESPONSE) |
                CHURN_PROFILE_BIT(CHURN_PROFILE_WS_UPGRADE_RESET), 2},
        {1, CHURN_PROFILE_BIT(CHURN_PROFILE_PARTIAL_HEADERS) | CHURN_PROFILE_BIT(CHURN_PROFILE_PARTIAL_BODY) |
                CHURN_PROFILE_BIT(CHURN_PROFILE_TLS_PARTIAL_HELLO) | CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST), 4},
        {1, CHURN_PROFILES_ALL, 8},
        {0, CHURN_PROFILES_ALL, 3},
    };
    tsrv closer, http;
    char dir[600];
    int run, fds[SELF_RUNS + 1], thr[SELF_RUNS + 1];
    long long heap[SELF_RUNS + 1];
    int reports = 0;
    memset(&closer, 0, sizeof closer);
    memset(&http, 0, sizeof http);
    CT_REQUIRE(make_tmpdir(dir, sizeof dir) == 0);
    CT_REQUIRE(tsrv_open(&closer, SV_CLOSE) == 0);
    CT_REQUIRE(tsrv_open(&http, SV_HTTP) == 0);
    guard_arm(120);
    fds[0] = t_self_fds();
    thr[0] = t_self_threads();
    heap[0] = heap_measurable() ? heap_in_use() : -1;
    for (run = 0; run < SELF_RUNS; run++) {
        churn_config c;
        churn_result res;
        char path[700], what[64];
        FILE *devnull;
        int rc, m = run % (int)(sizeof mix / sizeof mix[0]);
        churn_config_init(&c, CHURN_BUDGET_SMOKE);
        c.port = mix[m].http ? http.port : closer.port;
        c.profiles = mix[m].profiles;
        c.concurrency = mix[m].conc;
        c.cycles = 100;
        c.idle_ms = 5;
        c.timeout_ms = 1000;
        c.label = "hardening-self-clean";
        snprintf(what, sizeof what, "run %d (%s server)", run + 1, mix[m].http ? "http" : "accept-and-close");
        memset(&res, 0, sizeof res);
        rc = churn_run(&c, &res);
        if (rc != CHURN_OK) FAILF("%s: churn_run returned %d (%s)", what, rc, churn_strerror(rc));
        CHECK_OUTCOMES(what, &res, 100);
        if (res.outcomes.connected != 100) FAILF("%s: connected %lld of 100", what, res.outcomes.connected);
        snprintf(path, sizeof path, "%s/report-%02d.json", dir, run + 1);
        rc = churn_report_write(&c, &res, path);
        if (rc != CHURN_OK) FAILF("%s: churn_report_write returned %d (%s)", what, rc, churn_strerror(rc));
        else reports++;
        devnull = fopen("/dev/null", "w");
        if (devnull) { churn_summary_fprint(&res, devnull); fclose(devnull); }
        churn_result_free(&res);
        tsrv_settle(&closer);
        tsrv_settle(&http);
        fds[run + 1] = t_self_fds();
        thr[run + 1] = t_self_threads();
        heap[run + 1] = heap[0] >= 0 ? heap_in_use() : -1;
    }
    guard_disarm();
    printf("    fds:     start %d, after run 1 %d, after run %d %d\n", fds[0], fds[1], SELF_RUNS, fds[SELF_RUNS]);
    printf("    threads: start %d, after run 1 %d, after run %d %d\n", thr[0], thr[1], SELF_RUNS, thr[SELF_RUNS]);
    if (heap[0] >= 0) {
        long long mx = heap[1], mn = heap[1];
        for (run = 2; run <= SELF_RUNS; run++) { if (heap[run] > mx) mx = heap[run]; if (heap[run] < mn) mn = heap[run]; }
        printf("    heap:    start %lld, after run 1 %lld, after run %d %lld (runs 2..%d: min %lld max %lld)\n", heap[0],
               heap[1], SELF_RUNS, heap[SELF_RUNS], SELF_RUNS, mn, mx);
        printf("    heap after each run, minus after run 1:");
        for (run = 1; run <= SELF_RUNS; run++) printf(" %lld", heap[run] - heap[1]);
        printf("\n");
    } else {
        printf("    heap:    not measurable here (no mallinfo2, or a sanitizer's allocator): not checked\n");
    }
    for (run = 2; run <= SELF_RUNS; run++) {
        if (fds[run] != fds[1]) FAILF("after run %d: %d fds open, %d after run 1", run, fds[run], fds[1]);
        if (thr[run] != thr[1]) FAILF("after run %d: %d threads, %d after run 1", run, thr[run], thr[1]);
    }
    /* allocations of the test's own stdio and the servers are made before run 1; slack for
       glibc's bookkeeping (tcache, fopen buffers), far below one leak per run */
    if (heap[0] >= 0 && heap[SELF_RUNS] - heap[1] > 16 * 1024)
        FAILF("heap grew by %lld bytes between run 1 and run %d (slack 16 KiB): a leak of about %lld bytes per run",
              heap[SELF_RUNS] - heap[1], SELF_RUNS, (heap[SELF_RUNS] - heap[1]) / (SELF_RUNS - 1));
    /* every profile mix has run once by run 7: from there on nothing may accumulate */
    if (heap[0] >= 0 && heap[SELF_RUNS] - heap[7] > 2 * 1024)
        FAILF("heap grew by %lld bytes between run 7 and run %d (slack 2 KiB)", heap[SELF_RUNS] - heap[7], SELF_RUNS);
    {   /* only the reports in the directory: no temporary left behind */
        int n = count_dir(dir);
        if (n != reports) FAILF("%d entries in the report directory, %d reports written", n, reports);
    }
    rm_tree_flat(dir);
    tsrv_close(&closer);
    tsrv_close(&http);
}

/* ---- bounded memory -------------------------------------------------------------------- */

typedef struct nop_state { long long calls; long long heap_peak; } nop_state;

static int nop_cycle(void *user, long long index) {
    nop_state *s = (nop_state *)user;
    s->calls++;
    if ((index & 4095) == 0) {
        long long h = heap_in_use();
        if (h > s->heap_peak) s->heap_peak = h;
    }
    return 0;
}

/* VmHWM back to the current RSS ("5" > clear_refs, Linux 4.0+); 0 ok. */
static int reset_hwm(void) {
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC), ok;
    if (fd < 0) return -1;
    ok = write(fd, "5", 1) == 1;
    close(fd);
    return ok ? 0 : -1;
}

static void bounded_memory(long long cycles) {
    churn_config c;
    churn_result res;
    nop_state st;
    long long hwm0, hwm1, heap0, heap1, limit = 8LL * 1024 * 1024;
    int rc, hwm_reset, valgrind = tool_name() && strcmp(tool_name(), "valgrind") == 0;
    double t0, t;
    churn_config_init(&c, CHURN_BUDGET_SMOKE);
    c.cycle = nop_cycle;
    c.user = &st;
    c.cycles = cycles;
    c.sample_every = 1;
    c.watch_pid = 0;
    c.no_inventory = 1;
    c.series_max = CHURN_SERIES_MAX;
    churn_limits_none(&c.limits);
    memset(&st, 0, sizeof st);
    memset(&res, 0, sizeof res);
    heap0 = heap_measurable() ? heap_in_use() : -1;
    st.heap_peak = heap0;
    hwm_reset = reset_hwm();
    hwm0 = status_bytes("VmHWM");
    guard_arm(100);
    t0 = t_now();
    rc = churn_run(&c, &res);
    t = t_now() - t0;
    guard_disarm();
    hwm1 = status_bytes("VmHWM");
    CT_EQ_LL(rc, CHURN_OK);
    CT_EQ_LL(res.cycles_done, cycles);
    CT_EQ_LL(res.outcomes.attempted, cycles);
    CT_EQ_LL(res.outcomes.completed, cycles);
    CT_EQ_LL(st.calls, cycles);
    CT_LE_LL(res.series_count, c.series_max);
    CT_GE_LL(res.series_count, 2);
    printf("    %lld cycles sampled every cycle: %.2f s (%.0f cycles/s), series %d (max %d, stride %lld)\n", cycles, t,
           (double)cycles / (t > 0 ? t : 1e-9), res.series_count, c.series_max, res.series_stride);
    if (t > 20.0) printf("    NOTE: %lld cycles took %.1f s here (more than ~20 s)\n", cycles, t);
    churn_result_free(&res);
    heap1 = heap_in_use();
    /* enforced under ASan/TSan too (they measured ~1.2 MiB here), not under valgrind */
    if (hwm0 > 0 && hwm1 > 0) {
        printf("    VmHWM %lld KiB -> %lld KiB (growth %lld KiB)%s\n", hwm0 / 1024, hwm1 / 1024, (hwm1 - hwm0) / 1024,
               hwm_reset == 0 ? "" : " [clear_refs refused: growth is a lower bound]");
        if (!valgrind && hwm1 - hwm0 >= limit)
            FAILF("peak RSS grew by %lld KiB over %lld cycles (limit 8 MiB)", (hwm1 - hwm0) / 1024, cycles);
    } else {
        printf("    VmHWM unavailable: peak RSS not checked\n");
    }
    if (heap0 >= 0) {
        printf("    heap in use %lld -> peak %lld during the run -> %lld after churn_result_free (peak growth %lld bytes)\n",
               heap0, st.heap_peak, heap1, st.heap_peak - heap0);
        if (st.heap_peak - heap0 >= limit)
            FAILF("peak heap grew by %lld bytes over %lld cycles (limit 8 MiB)", st.heap_peak - heap0, cycles);
        if (heap1 - heap0 > 16 * 1024)
            FAILF("heap after churn_result_free is %lld bytes above the start", heap1 - heap0);
    } else {
        printf("    heap not measurable here (no mallinfo2, or a sanitizer's allocator): peak heap not checked\n");
    }
}

CT_TEST(bounded_memory_1m_cycles) {
    long long n = 1000000;
    if (tool_name() && strcmp(tool_name(), "valgrind") == 0) {
        n = 20000;
        printf("    under valgrind: %lld cycles instead of 1,000,000\n", n);
    }
    bounded_memory(n);
}

CT_TEST(bounded_memory_2m_cycles_soak) {
    const char *soak = getenv("CHURN_SOAK");
    if (!soak || strcmp(soak, "1") != 0) CT_SKIP("set CHURN_SOAK=1 for 2,000,000 cycles");
    bounded_memory(2000000);
}

/* ---- fault injection: RLIMIT_NOFILE below the concurrency (forked child) ---------------- */

static void prep_nofile(void *arg, child_out *out) {
    int room = *(const int *)arg, fd = 0, found = 0;
    struct rlimit lim;
    while (found < room) { if (fcntl(fd, F_GETFD) < 0) found++; fd++; }
    getrlimit(RLIMIT_NOFILE, &lim);
    lim.rlim_cur = (rlim_t)fd; /* exactly `room` free descriptors below the limit */
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) snprintf(out->note, sizeof out->note, "setrlimit failed: %s", strerror(errno));
}

CT_TEST(fault_nofile_below_concurrency) {
    static const int rooms[] = {0, 1, 2, 3, 4, 6, 8, 16, 32};
    srvproc sp;
    size_t i;
    CT_REQUIRE(sp_start(&sp, SV_HTTP, 0) == 0);
    for (i = 0; i < sizeof rooms / sizeof rooms[0]; i++) {
        churn_config c;
        child_out o;
        char why[256], what[64];
        int room = rooms[i];
        churn_config_init(&c, CHURN_BUDGET_SMOKE);
        c.port = sp.port;
        c.cycles = 128;
        c.concurrency = 64;
        c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_RESET) | CHURN_PROFILE_BIT(CHURN_PROFILE_CLOSE) |
                     CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST);
        c.timeout_ms = 1000;
        c.drain_timeout_ms = 500;
        snprintf(what, sizeof what, "%d free fds, concurrency 64", room);
        if (run_churn_child(&c, prep_nofile, &room, 60, &o, why, sizeof why) != 0) {
            FAILF("%s: %s", what, why);
            continue;
        }
        if (o.note[0]) FAILF("%s: %s", what, o.note);
        printf("    %-28s rc %d (%s)", what, o.rc, churn_strerror(o.rc));
        if (o.rc == CHURN_OK)
            printf(": completed %lld failed %lld refused %lld reset %lld closed %lld timed_out %lld, verdict %s\n",
                   o.o.completed, o.o.failed, o.o.refused, o.o.reset_by_peer, o.o.closed_by_peer, o.o.timed_out,
                   churn_status_name((churn_status)o.status));
        else
            printf("\n");
        if (!documented_code(o.rc)) FAILF("%s: churn_run returned %d, not a documented CHURN_* code", what, o.rc);
        if (o.rc == CHURN_OK) {
            if (o.o.attempted != 128 || o.cycles_done != 128)
                FAILF("%s: attempted %lld, cycles_done %lld, want 128", what, o.o.attempted, o.cycles_done);
            if (o.o.attempted != outcome_sum(&o.o))
                FAILF("%s: attempted %lld != sum of classes %lld", what, o.o.attempted, outcome_sum(&o.o));
            /* a cycle that finds no free fd waits for one of churn's own sockets to close
               (fewer in flight, no failure); only with none of its own open is it failed */
            if (o.o.failed * 2 > o.o.attempted && o.status == CHURN_PASS)
                FAILF("%s: most cycles failed locally yet the verdict passed", what);
        } else if (o.rc == CHURN_E_INVAL || o.rc == CHURN_E_CANCELED || o.rc == CHURN_E_REMOTE) {
            FAILF("%s: churn_run returned %s for a valid config", what, churn_strerror(o.rc));
        }
    }
    sp_stop(&sp);
}

/* ---- fault injection: the server killed mid-run and restarted on the same port ---------- */

typedef struct restart_state {
    srvproc *cur;          /* the first server, killed at ~50% */
    srvproc next;          /* its replacement on the same port */
    int port, mode, async_ms;
    int killed, restart_rc;
    long long killed_at;
    pthread_t th;
    int th_started;
} restart_state;

static void *restart_later(void *arg) {
    restart_state *st = (restart_state *)arg;
    t_sleep_ms(st->async_ms);
    st->restart_rc = sp_start(&st->next, st->mode, st->port);
    return NULL;
}

static int restart_progress(void *user, long long done, long long total) {
    restart_state *st = (restart_state *)user;
    if (!st->killed && done * 2 >= total && done < total) {
        sp_kill(st->cur);
        st->killed = 1;
        st->killed_at = done;
        if (st->async_ms > 0) {
            st->th_started = pthread_create(&st->th, NULL, restart_later, st) == 0;
            if (!st->th_started) st->restart_rc = -1;
        } else {
            st->restart_rc = sp_start(&st->next, st->mode, st->port);
        }
    }
    return 0;
}

static void server_killed_restarted(int async_ms) {
    srvproc first;
    restart_state st;
    churn_config c;
    churn_result res;
    int rc;
    long long cycles = 600;
    CT_REQUIRE(sp_start(&first, SV_HTTP, 0) == 0);
    memset(&st, 0, sizeof st);
    st.cur = &first;
    st.port = first.port;
    st.mode = SV_HTTP;
    st.async_ms = async_ms;
    churn_config_init(&c, CHURN_BUDGET_SMOKE);
    c.port = first.port;
    c.cycles = cycles;
    c.concurrency = 4;
    /* IDLE keeps connections in flight when the server dies; REQUEST proves it serves */
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_IDLE) | CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST);
    c.idle_ms = 20;
    c.timeout_ms = 1000;
    c.progress = restart_progress;
    c.user = &st;
    churn_limits_none(&c.limits);
    memset(&res, 0, sizeof res);
    guard_arm(60);
    rc = churn_run(&c, &res);
    guard_disarm();
    if (st.th_started) pthread_join(st.th, NULL);
    CT_EQ_LL(rc, CHURN_OK);
    CHECK_OUTCOMES("kill/restart", &res, cycles);
    CT_EQ_LL(res.cycles_done, cycles);
    print_outcomes(async_ms ? "killed, restarted after a pause" : "killed, restarted at once", &res.outcomes);
    print_outcomes("  idle", &res.by_profile[CHURN_PROFILE_IDLE]);
    print_outcomes("  request", &res.by_profile[CHURN_PROFILE_REQUEST]);
    if (!st.killed) {
        FAILF("the progress callback never ran between 50%% and 100%% (run took %.2f s): nothing was killed",
              res.elapsed_s);
    } else {
        printf("    killed at cycle %lld of %lld; restart %s\n", st.killed_at, cycles, st.restart_rc == 0 ? "ok" : "FAILED");
        CT_EQ_LL(st.restart_rc, 0);
        /* every cycle is counted in a class (checked above); nothing here is a local error.
           With a pause, the connects while nothing listened are refused. At once, the
           connections in flight when the server died end closed/reset unless their script
           was already due in the same poll round (IDLE slots start together, so that is
           common): not asserted, printed. */
        CT_EQ_LL(res.outcomes.failed, 0);
        if (async_ms > 0) CT_GE_LL(res.outcomes.refused, 1);
        else printf("    cycles cut by the kill: %lld (refused %lld, reset %lld, closed %lld)\n",
                    res.outcomes.refused + res.outcomes.reset_by_peer + res.outcomes.closed_by_peer,
                    res.outcomes.refused, res.outcomes.reset_by_peer, res.outcomes.closed_by_peer);
        CT_GE_LL(res.outcomes.completed, st.killed_at); /* the server was healthy until then */
    }
    if (st.restart_rc == 0 && st.next.pid > 0) {
        sp_stop(&st.next);
        printf("    the restarted server accepted %ld connections\n", st.next.accepted);
        /* at once: the rest of the run went on against the new server */
        if (async_ms == 0) CT_GE_LL(st.next.accepted, 1);
    }
    sp_kill(&first); /* no-op when killed */
    churn_result_free(&res);
}

CT_TEST(fault_server_killed_restarted_at_once) { server_killed_restarted(0); }
CT_TEST(fault_server_killed_restarted_after_pause) { server_killed_restarted(50); }

/* ---- fault injection: servers that never read, never answer, or never stop ------------- */

static void stuck_server(int mode) {
    srvproc sp;
    churn_config c;
    churn_result res;
    int rc, p, per = 3;
    long long cycles = (long long)per * CHURN_PROFILE_COUNT;
    CT_REQUIRE(sp_start(&sp, mode, 0) == 0);
    churn_config_init(&c, CHURN_BUDGET_SMOKE);
    c.port = sp.port;
    c.cycles = cycles;
    c.concurrency = 10;
    c.profiles = CHURN_PROFILES_ALL;
    c.timeout_ms = 200;
    c.idle_ms = 20;
    c.drain_timeout_ms = 500;
    churn_limits_none(&c.limits);
    memset(&res, 0, sizeof res);
    guard_arm(60); /* hang guard only: every cycle must end at timeout_ms */
    rc = churn_run(&c, &res);
    guard_disarm();
    CT_EQ_LL(rc, CHURN_OK);
    CHECK_OUTCOMES(sv_names[mode], &res, cycles);
    print_outcomes(sv_names[mode], &res.outcomes);
    for (p = 0; p < CHURN_PROFILE_COUNT; p++) {
        const churn_outcomes *o = &res.by_profile[p];
        /* what each script must end in against this server */
        int want_timeout = p == CHURN_PROFILE_REQUEST ||
                           (p == CHURN_PROFILE_UNREAD_RESPONSE && (mode == SV_HOLD || mode == SV_NOREAD)) ||
                           (p == CHURN_PROFILE_WS_UPGRADE_RESET &&
                            (mode == SV_HOLD || mode == SV_NOREAD || mode == SV_FIRE_RAW));
        long long want = want_timeout ? o->timed_out : o->completed;
        if (o->attempted != per || want != per)
            FAILF("%s server, %s: attempted %lld, %s %lld (want %d each); completed %lld timed_out %lld reset %lld "
                  "closed %lld refused %lld failed %lld", sv_names[mode], churn_profile_name((churn_profile)p),
                  o->attempted, want_timeout ? "timed_out" : "completed", want, per, o->completed, o->timed_out,
                  o->reset_by_peer, o->closed_by_peer, o->refused, o->failed);
    }
    CT_EQ_LL(res.outcomes.connected, cycles);
    churn_result_free(&res);
    sp_stop(&sp);
}

CT_TEST(fault_server_never_answers) { stuck_server(SV_HOLD); }
CT_TEST(fault_server_never_reads) { stuck_server(SV_NOREAD); }
CT_TEST(fault_server_firehose_raw) { stuck_server(SV_FIRE_RAW); }
CT_TEST(fault_server_firehose_endless_content_length) { stuck_server(SV_FIRE_CL); }
CT_TEST(fault_server_firehose_endless_chunks) { stuck_server(SV_FIRE_CHUNKED); }

/* ---- fault injection: resets while we send, SIGPIPE at SIG_DFL (forked child) ------------ */

static char big_path[256 * 1024];

/* big: a 256 KiB http_path, so the request head needs many send() calls while the peer resets */
static void sigpipe_server(int mode, int big) {
    srvproc sp;
    churn_config c;
    child_out o;
    char why[256];
    CT_REQUIRE(sp_start(&sp, mode, 0) == 0);
    churn_config_init(&c, CHURN_BUDGET_SMOKE);
    c.port = sp.port;
    c.cycles = 240;
    c.concurrency = 8;
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_PARTIAL_BODY) | CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST) |
                 CHURN_PROFILE_BIT(CHURN_PROFILE_PARTIAL_HEADERS) | CHURN_PROFILE_BIT(CHURN_PROFILE_UNREAD_RESPONSE) |
                 CHURN_PROFILE_BIT(CHURN_PROFILE_WS_UPGRADE_RESET) | CHURN_PROFILE_BIT(CHURN_PROFILE_TLS_PARTIAL_HELLO);
    c.timeout_ms = 1000;
    c.drain_timeout_ms = 500;
    churn_limits_none(&c.limits);
    if (big) {
        big_path[0] = '/';
        memset(big_path + 1, 'p', sizeof big_path - 2);
        big_path[sizeof big_path - 1] = '\0';
        c.http_path = big_path;
        c.cycles = 60;
        c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_PARTIAL_BODY) | CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST);
    }
    if (run_churn_child(&c, NULL, NULL, 60, &o, why, sizeof why) != 0) {
        FAILF("%s server: %s", sv_names[mode], why);
    } else {
        print_outcomes(sv_names[mode], &o.o);
        CT_EQ_LL(o.rc, CHURN_OK);
        CT_EQ_LL(o.o.attempted, c.cycles);
        CT_EQ_LL(o.o.attempted, outcome_sum(&o.o));
        /* the resets really happened (REQUEST waits for an answer and gets the RST) */
        CT_GE_LL(o.o.reset_by_peer + o.o.closed_by_peer, 1);
        if (!o.sigpipe_default) FAILF("%s server: SIGPIPE is no longer SIG_DFL/unblocked after churn_run", sv_names[mode]);
    }
    sp_stop(&sp);
}

CT_TEST(fault_sigpipe_reset_on_accept) { sigpipe_server(SV_RST_ACCEPT, 0); }
CT_TEST(fault_sigpipe_reset_on_first_byte) { sigpipe_server(SV_RST_READ, 0); }
CT_TEST(fault_sigpipe_reset_during_256k_request) { sigpipe_server(SV_RST_READ, 1); }

/* ---- fault injection: signals every millisecond during waits (no SA_RESTART) ------------- */

static volatile sig_atomic_t usr1_seen;
static void on_usr1(int sig) { (void)sig; usr1_seen = usr1_seen + 1; }

typedef struct storm { pthread_t target, th; int stop; long sent; int up; } storm;

static void *storm_main(void *arg) {
    storm *s = (storm *)arg;
    while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE)) {
        t_sleep_ms(1);
        if (pthread_kill(s->target, SIGUSR1) != 0) break;
        __atomic_add_fetch(&s->sent, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

/* SIGUSR1 handler without SA_RESTART, then a thread that signals this thread every 1 ms. */
static int storm_start(storm *s, struct sigaction *old) {
    struct sigaction sa;
    memset(s, 0, sizeof *s);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sa.sa_flags = 0; /* no SA_RESTART: blocking calls return EINTR */
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGUSR1, &sa, old) != 0) return -1;
    usr1_seen = 0;
    s->target = pthread_self();
    if (pthread_create(&s->th, NULL, storm_main, s) != 0) { sigaction(SIGUSR1, old, NULL); return -1; }
    s->up = 1;
    return 0;
}

static long storm_stop(storm *s, const struct sigaction *old) {
    long sent;
    if (!s->up) return 0;
    __atomic_store_n(&s->stop, 1, __ATOMIC_RELEASE);
    pthread_join(s->th, NULL);
    sent = __atomic_load_n(&s->sent, __ATOMIC_RELAXED);
    sigaction(SIGUSR1, old, NULL);
    s->up = 0;
    return sent;
}

CT_TEST(fault_signals_during_idle_waits) {
    srvproc sp;
    storm s;
    struct sigaction old;
    churn_config c;
    churn_result res;
    int rc;
    long sent;
    long long cycles = 40;
    int conc = 4, idle = 30;
    CT_REQUIRE(sp_start(&sp, SV_HOLD, 0) == 0);
    churn_config_init(&c, CHURN_BUDGET_SMOKE);
    c.port = sp.port;
    c.cycles = cycles;
    c.concurrency = conc;
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_IDLE) | CHURN_PROFILE_BIT(CHURN_PROFILE_TLS_STALL);
    c.idle_ms = idle;
    c.timeout_ms = 2000;
    memset(&res, 0, sizeof res);
    if (storm_start(&s, &old) != 0) { sp_stop(&sp); CT_SKIP("cannot start the signal thread"); }
    guard_arm(60);
    rc = churn_run(&c, &res);
    guard_disarm();
    sent = storm_stop(&s, &old);
    printf("    %ld SIGUSR1 sent, %d handled on the churn thread during the run (%.3f s)\n", sent, (int)usr1_seen,
           res.elapsed_s);
    CT_EQ_LL(rc, CHURN_OK);
    CHECK_OUTCOMES("IDLE/TLS_STALL under SIGUSR1", &res, cycles);
    print_outcomes("IDLE/TLS_STALL under SIGUSR1", &res.outcomes);
    CT_EQ_LL(res.outcomes.completed, cycles);
    CT_EQ_LL(res.outcomes.connected, cycles);
    CT_GE_LL(usr1_seen, 1);
    /* a lower bound only (load cannot make it shorter): every slot ran cycles/conc idle
       waits of idle_ms back to back, so waits cut short by EINTR would show here */
    if (res.elapsed_s < 0.9 * (double)(cycles / conc) * idle / 1000.0)
        FAILF("measured phase took %.3f s, less than %lld back-to-back idle waits of %d ms: EINTR cut waits short",
              res.elapsed_s, cycles / conc, idle);
    churn_result_free(&res);
    sp_stop(&sp);
}

static void *linger_thread(void *arg) {
    t_sleep_ms(*(const int *)arg);
    return NULL;
}

/* A thread that lives 400 ms after the baseline: the drain must wait it out. */
static void drain_with_lingering_thread(int with_storm) {
    storm s;
    struct sigaction old;
    churn_snapshot base, post;
    churn_limits lim;
    churn_drain_stats stats;
    pthread_t th;
    int rc, linger_ms = 400;
    memset(&s, 0, sizeof s);
    if (with_storm && storm_start(&s, &old) != 0) CT_SKIP("cannot start the signal thread");
    churn_limits_none(&lim);
    lim.post_drain[CHURN_METRIC_THREADS] = 0;
    rc = churn_snapshot_take(0, &base);
    if (rc != CHURN_OK || pthread_create(&th, NULL, linger_thread, &linger_ms) != 0) {
        storm_stop(&s, &old);
        FAILF("setup: snapshot %d", rc);
        return;
    }
    memset(&stats, 0, sizeof stats);
    guard_arm(60);
    rc = churn_drain_ex(0, &base, &lim, 5000, 0, &post, &stats);
    guard_disarm();
    pthread_join(th, NULL);
    if (with_storm) {
        long sent = storm_stop(&s, &old);
        printf("    %ld SIGUSR1 sent, %d handled during the drain\n", sent, (int)usr1_seen);
    }
    printf("    churn_drain: rc %d (%s), %d attempts, %.3f s, threads %lld -> %lld\n", rc, churn_strerror(rc),
           stats.attempts, stats.settle_s, base.value[CHURN_METRIC_THREADS], post.value[CHURN_METRIC_THREADS]);
    if (rc != CHURN_OK)
        FAILF("churn_drain returned %d (%s) after %d attempts in %.3f s; a thread that exits after %d ms and a 5000 ms "
              "timeout must settle%s", rc, churn_strerror(rc), stats.attempts, stats.settle_s, linger_ms,
              with_storm ? " (signals must not cut the backoff waits short)" : "");
    CT_EQ_LL(post.value[CHURN_METRIC_THREADS], base.value[CHURN_METRIC_THREADS]);
    CT_EQ_LL(stats.settled, 1);
}

CT_TEST(drain_waits_for_lingering_thread) { drain_with_lingering_thread(0); }
CT_TEST(fault_signals_during_drain) { drain_with_lingering_thread(1); }

/* ---- fault injection: report path in a missing directory -------------------------------- */

CT_TEST(fault_report_missing_directory) {
    char dir[600], path[800], sub[700];
    churn_config c;
    churn_result r;
    struct stat st;
    int rc;
    CT_REQUIRE(make_tmpdir(dir, sizeof dir) == 0);
    churn_config_init(&c, CHURN_BUDGET_SMOKE);
    memset(&r, 0, sizeof r);
    churn_snapshot_init(&r.baseline);
    churn_snapshot_init(&r.peak);
    churn_snapshot_init(&r.post_drain);
    snprintf(sub, sizeof sub, "%s/missing", dir);
    snprintf(path, sizeof path, "%s/report.json", sub);
    rc = churn_report_write(&c, &r, path);
    printf("    %s -> %d (%s)\n", path, rc, churn_strerror(rc));
    CT_CHECK(rc < 0);
    CT_CHECK(documented_code(rc));
    CT_CHECK(stat(path, &st) != 0);
    CT_CHECK(stat(sub, &st) != 0);
    CT_EQ_LL(count_dir(dir), 0);
    /* a regular file where a directory should be */
    {
        FILE *f;
        snprintf(sub, sizeof sub, "%s/file", dir);
        f = fopen(sub, "w");
        CT_REQUIRE(f != NULL);
        fclose(f);
        snprintf(path, sizeof path, "%s/report.json", sub);
        rc = churn_report_write(&c, &r, path);
        CT_CHECK(rc < 0);
        CT_CHECK(documented_code(rc));
        CT_EQ_LL(count_dir(dir), 1);
    }
    rm_tree_flat(dir);
}

/* ---- bad input: every public function, each case in its own forked child ----------------- */

static long nonexistent_pid(void) {
    FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
    long m = 4194304;
    if (f) { if (fscanf(f, "%ld", &m) != 1) m = 4194304; fclose(f); }
    return m + 1; /* above pid_max: no process can have it */
}

static int sink_ok(void *user, const void *b, size_t n) { (void)user; (void)b; (void)n; return 0; }

static churn_result *synthetic_result(void) {
    static churn_result r;
    memset(&r, 0, sizeof r);
    churn_snapshot_init(&r.baseline);
    churn_snapshot_init(&r.peak);
    churn_snapshot_init(&r.post_drain);
    r.restart_ok = -1;
    return &r;
}

static void valid_snaps(churn_snapshot *b, churn_snapshot *p, churn_snapshot *d) {
    int m;
    churn_snapshot_init(b);
    for (m = 0; m < CHURN_METRIC_COUNT; m++) b->value[m] = 10;
    *p = *b;
    *d = *b;
}

static char report_dir[600];

/* Each returns the function's code; void functions return 0 (they must simply return). */
static int c_snap_null(void) { return churn_snapshot_take(0, NULL); }
static int c_snap_some_null(void) { return churn_snapshot_take_some(0, CHURN_METRICS_ALL, NULL); }
static int c_snap_neg(void) { churn_snapshot s; return churn_snapshot_take(-1, &s); }
static int c_snap_some_neg(void) { churn_snapshot s; return churn_snapshot_take_some(-1, CHURN_METRICS_ALL, &s); }
static int c_snap_nonexistent(void) { churn_snapshot s; return churn_snapshot_take(nonexistent_pid(), &s); }
static int c_snap_reaped(void) {
    churn_snapshot s;
    pid_t p = fork();
    if (p == 0) _exit(0);
    if (p < 0) return 99;
    waitpid(p, NULL, 0);
    return churn_snapshot_take(p, &s);
}
static int c_snap_longmax(void) { churn_snapshot s; return churn_snapshot_take(LONG_MAX, &s); }
static int c_snap_self(void) { churn_snapshot s; return churn_snapshot_take(0, &s); }
static int c_inv_null(void) { return churn_inventory_take(0, NULL); }
static int c_inv_neg(void) { churn_inventory i; int rc = churn_inventory_take(-1, &i); churn_inventory_free(&i); return rc; }
static int c_inv_nonexistent(void) {
    churn_inventory i;
    int rc = churn_inventory_take(nonexistent_pid(), &i);
    if (i.handles || i.threads || i.handle_count || i.thread_count) rc = 98; /* must come back empty */
    churn_inventory_free(&i);
    return rc;
}
static int c_inv_self(void) { churn_inventory i; int rc = churn_inventory_take(0, &i); churn_inventory_free(&i); return rc; }
static int c_diff_null_before(void) { churn_inventory a, o; memset(&a, 0, sizeof a); return churn_inventory_diff(NULL, &a, &o); }
static int c_diff_null_after(void) { churn_inventory a, o; memset(&a, 0, sizeof a); return churn_inventory_diff(&a, NULL, &o); }
static int c_diff_null_added(void) { churn_inventory a, b; memset(&a, 0, sizeof a); memset(&b, 0, sizeof b); return churn_inventory_diff(&a, &b, NULL); }
static int c_diff_alias(void) { churn_inventory a, b; memset(&a, 0, sizeof a); memset(&b, 0, sizeof b); return churn_inventory_diff(&a, &b, &a); }
static int c_diff_inconsistent(void) {
    churn_inventory a, b, o;
    memset(&a, 0, sizeof a); memset(&b, 0, sizeof b);
    b.handle_count = 5; /* handles NULL */
    return churn_inventory_diff(&a, &b, &o);
}
static int c_filter_null(void) { churn_ignore r; memset(&r, 0, sizeof r); churn_inventory_filter(NULL, &r, 1); return 0; }
static int c_filter_null_rules(void) {
    churn_inventory i;
    memset(&i, 0, sizeof i);
    churn_inventory_filter(&i, NULL, 3);
    return 0;
}
static int c_inv_free_null(void) { churn_inventory_free(NULL); return 0; }
static int c_inv_fprint_null(void) {
    churn_inventory i;
    memset(&i, 0, sizeof i);
    churn_inventory_fprint(NULL, stdout, 5);
    churn_inventory_fprint(&i, NULL, 5);
    return 0;
}
static int c_peak_null(void) { churn_snapshot s; churn_snapshot_init(&s); churn_snapshot_peak(NULL, &s); churn_snapshot_peak(&s, NULL); return 0; }
static int c_snap_init_null(void) { churn_snapshot_init(NULL); return 0; }
static int c_limits_null(void) { churn_limits_none(NULL); churn_limits_release(NULL); churn_limits_strict(NULL); return 0; }
static int c_eval_null_out(void) {
    churn_snapshot b, p, d; churn_limits l;
    valid_snaps(&b, &p, &d); churn_limits_strict(&l);
    return churn_evaluate(&b, &p, &d, &l, NULL);
}
static int c_eval_null_base(void) { churn_snapshot b, p, d; churn_limits l; churn_verdict v; valid_snaps(&b, &p, &d); churn_limits_strict(&l); return churn_evaluate(NULL, &p, &d, &l, &v); }
static int c_eval_null_peak(void) { churn_snapshot b, p, d; churn_limits l; churn_verdict v; valid_snaps(&b, &p, &d); churn_limits_strict(&l); return churn_evaluate(&b, NULL, &d, &l, &v); }
static int c_eval_null_post(void) { churn_snapshot b, p, d; churn_limits l; churn_verdict v; valid_snaps(&b, &p, &d); churn_limits_strict(&l); return churn_evaluate(&b, &p, NULL, &l, &v); }
static int c_eval_null_limits(void) { churn_snapshot b, p, d; churn_verdict v; valid_snaps(&b, &p, &d); return churn_evaluate(&b, &p, &d, NULL, &v); }

/* limits with one nonsense value */
static void bad_limits(churn_limits *l, int which) {
    churn_limits_strict(l);
    switch (which) {
        case 0: l->peak[CHURN_METRIC_HANDLES] = -5; break;
        case 1: l->post_drain[CHURN_METRIC_THREADS] = -5; break;
        case 2: l->growth_per_1k[CHURN_METRIC_RSS_BYTES] = NAN; break;
        case 3: l->growth_windows = -1; break;
        case 4: l->growth_min_samples = -1; break;
        default: l->peak[CHURN_METRIC_COUNT - 1] = LLONG_MIN; break;
    }
}
#define BAD_LIMITS 6
static int c_eval_bad_limits(int which) {
    churn_snapshot b, p, d; churn_limits l; churn_verdict v;
    valid_snaps(&b, &p, &d);
    bad_limits(&l, which);
    return churn_evaluate(&b, &p, &d, &l, &v);
}
static int c_eval_bad0(void) { return c_eval_bad_limits(0); }
static int c_eval_bad1(void) { return c_eval_bad_limits(1); }
static int c_eval_bad2(void) { return c_eval_bad_limits(2); }
static int c_eval_bad3(void) { return c_eval_bad_limits(3); }
static int c_eval_bad4(void) { return c_eval_bad_limits(4); }
static int c_eval_bad5(void) { return c_eval_bad_limits(5); }
static int c_growth_null_series(void) { churn_limits l; churn_verdict v; churn_limits_strict(&l); memset(&v, 0, sizeof v); return churn_evaluate_growth(NULL, 3, &l, &v); }
static int c_growth_neg_count(void) { churn_sample s[2]; churn_limits l; churn_verdict v; memset(s, 0, sizeof s); churn_limits_strict(&l); memset(&v, 0, sizeof v); return churn_evaluate_growth(s, -1, &l, &v); }
static int c_growth_null_limits(void) { churn_sample s[2]; churn_verdict v; memset(s, 0, sizeof s); memset(&v, 0, sizeof v); return churn_evaluate_growth(s, 2, NULL, &v); }
static int c_growth_null_verdict(void) { churn_sample s[2]; churn_limits l; memset(s, 0, sizeof s); churn_limits_strict(&l); return churn_evaluate_growth(s, 2, &l, NULL); }
static int c_growth_nan(void) { churn_sample s[2]; churn_limits l; churn_verdict v; memset(s, 0, sizeof s); bad_limits(&l, 2); memset(&v, 0, sizeof v); return churn_evaluate_growth(s, 2, &l, &v); }
static int c_slope_null(void) { double d; return churn_growth_slope(NULL, 3, CHURN_METRIC_HANDLES, &d); }
static int c_slope_null_out(void) { churn_sample s[3]; memset(s, 0, sizeof s); return churn_growth_slope(s, 3, CHURN_METRIC_HANDLES, NULL); }
static int c_slope_bad_metric(void) { churn_sample s[3]; double d; memset(s, 0, sizeof s); return churn_growth_slope(s, 3, (churn_metric)CHURN_METRIC_COUNT, &d); }
static int c_slope_neg_metric(void) { churn_sample s[3]; double d; memset(s, 0, sizeof s); return churn_growth_slope(s, 3, (churn_metric)-1, &d); }
static int c_window_null(void) { return churn_growth_every_window(NULL, 3, CHURN_METRIC_HANDLES, 2); }
static int c_drain_null_base(void) { churn_limits l; churn_snapshot p; churn_limits_strict(&l); return churn_drain(0, NULL, &l, 100, &p); }
static int c_drain_null_limits(void) { churn_snapshot b, p; churn_snapshot_take(0, &b); return churn_drain(0, &b, NULL, 100, &p); }
static int c_drain_null_post(void) { churn_snapshot b; churn_limits l; churn_snapshot_take(0, &b); churn_limits_none(&l); return churn_drain(0, &b, &l, 100, NULL); }
static int c_drain_neg_pid(void) { churn_snapshot b, p; churn_limits l; churn_snapshot_take(0, &b); churn_limits_none(&l); return churn_drain(-1, &b, &l, 100, &p); }
static int c_drain_neg_timeout(void) { churn_snapshot b, p; churn_limits l; churn_snapshot_take(0, &b); churn_limits_none(&l); return churn_drain(0, &b, &l, -1, &p); }
static int c_drain_nan(void) { churn_snapshot b, p; churn_limits l; churn_snapshot_take(0, &b); bad_limits(&l, 2); return churn_drain(0, &b, &l, 100, &p); }
static int c_drain_neg_limit(void) { churn_snapshot b, p; churn_limits l; churn_snapshot_take(0, &b); bad_limits(&l, 0); return churn_drain(0, &b, &l, 100, &p); }
static int c_drain_neg_attempts(void) { churn_snapshot b, p; churn_limits l; churn_snapshot_take(0, &b); churn_limits_none(&l); return churn_drain_ex(0, &b, &l, 100, -1, &p, NULL); }
static int c_drain_nonexistent(void) { churn_snapshot b, p; churn_limits l; churn_snapshot_take(0, &b); churn_limits_none(&l); return churn_drain(nonexistent_pid(), &b, &l, 100, &p); }
static int c_json_null_writer(void) {
    churn_json_init(NULL, sink_ok, NULL, 2);
    churn_json_object_begin(NULL); churn_json_key(NULL, "k"); churn_json_string(NULL, "v");
    churn_json_string_n(NULL, "v", 1); churn_json_int(NULL, 1); churn_json_double(NULL, 1.5); churn_json_bool(NULL, 1);
    churn_json_null(NULL); churn_json_array_begin(NULL); churn_json_array_end(NULL); churn_json_object_end(NULL);
    return churn_json_finish(NULL);
}
static int c_json_null_write_fn(void) {
    churn_json j;
    churn_json_init(&j, NULL, NULL, 2);
    churn_json_object_begin(&j); churn_json_key(&j, "k"); churn_json_int(&j, 1); churn_json_object_end(&j);
    return churn_json_finish(&j);
}
static int c_json_null_key(void) {
    churn_json j;
    churn_json_init(&j, sink_ok, NULL, 0);
    churn_json_object_begin(&j); churn_json_key(&j, NULL); churn_json_int(&j, 1); churn_json_object_end(&j);
    return churn_json_finish(&j);
}
static int c_json_null_string(void) {
    churn_json j;
    churn_json_init(&j, sink_ok, NULL, 0);
    churn_json_array_begin(&j); churn_json_string(&j, NULL); churn_json_string_n(&j, NULL, 7); churn_json_array_end(&j);
    return churn_json_finish(&j);
}
static int c_json_escape_null_in(void) { char b[8]; size_t n = churn_json_escape(NULL, 5, b, sizeof b); return (n == 0 && b[0] == '\0') ? 0 : 97; }
static int c_json_escape_sizing(void) { return churn_json_escape("a\"b", 3, NULL, 0) == 4 ? 0 : 97; }
static int c_json_escape_null_out(void) { (void)churn_json_escape("abc", 3, NULL, 16); return 0; }
static int c_json_write_file_null(void) { return churn_json_write_file(NULL, "x", 1) != 0 ? CHURN_E_INVAL : 0; }
static int c_profile_parse_null(void) { churn_profile p; return churn_profile_parse(NULL, &p); }
static int c_profile_parse_null_out(void) { return churn_profile_parse("reset", NULL); }
static int c_names_out_of_range(void) {
    const char *s[9];
    int i;
    s[0] = churn_profile_name((churn_profile)-1); s[1] = churn_profile_name((churn_profile)99);
    s[2] = churn_metric_name((churn_metric)-1); s[3] = churn_metric_name((churn_metric)CHURN_METRIC_COUNT);
    s[4] = churn_phase_name((churn_phase)99); s[5] = churn_status_name((churn_status)99);
    s[6] = churn_strerror(-999); s[7] = churn_strerror(5); s[8] = churn_strerror(INT_MIN);
    for (i = 0; i < 9; i++) if (!s[i]) return 96;
    return 0;
}
static int c_config_init_null(void) { churn_config_init(NULL, CHURN_BUDGET_SMOKE); return 0; }
static int c_result_free_null(void) { churn_result r; churn_result_free(NULL); memset(&r, 0, sizeof r); churn_result_free(&r); churn_result_free(&r); return 0; }
static int c_run_null_cfg(void) {
    churn_result r;
    int rc = churn_run(NULL, &r);
    churn_result_free(&r); /* filled enough to free */
    return rc;
}
static int c_run_null_out(void) { churn_config c; churn_config_init(&c, CHURN_BUDGET_SMOKE); c.port = 1; return churn_run(&c, NULL); }
static int c_report_null_cfg(void) {
    char p[700];
    struct stat st;
    int rc;
    snprintf(p, sizeof p, "%s/null-cfg.json", report_dir);
    rc = churn_report_write(NULL, synthetic_result(), p);
    if (rc == CHURN_OK && (stat(p, &st) != 0 || st.st_size < 2)) return 95; /* claimed ok, no file */
    if (rc != CHURN_OK && stat(p, &st) == 0) return 94;                     /* error, but a file */
    unlink(p);
    return rc;
}
static int c_report_null_result(void) {
    char p[700];
    struct stat st;
    churn_config c;
    int rc;
    churn_config_init(&c, CHURN_BUDGET_SMOKE);
    snprintf(p, sizeof p, "%s/null-result.json", report_dir);
    rc = churn_report_write(&c, NULL, p);
    if (stat(p, &st) == 0) return 94;
    return rc;
}
static int c_report_null_path(void) { churn_config c; churn_config_init(&c, CHURN_BUDGET_SMOKE); return churn_report_write(&c, synthetic_result(), NULL); }
static int c_report_empty_path(void) { churn_config c; churn_config_init(&c, CHURN_BUDGET_SMOKE); return churn_report_write(&c, synthetic_result(), ""); }
static int c_report_dir_path(void) {
    char p[700];
    churn_config c;
    churn_config_init(&c, CHURN_BUDGET_SMOKE);
    snprintf(p, sizeof p, "%s/", report_dir);
    return churn_report_write(&c, synthetic_result(), p);
}
static int c_fprint_null_file(void) { churn_config c; churn_config_init(&c, CHURN_BUDGET_SMOKE); return churn_report_fprint(&c, synthetic_result(), NULL); }
static int c_fprint_null_result(void) {
    churn_config c;
    FILE *f = tmpfile();
    int rc;
    long sz;
    if (!f) return 93;
    churn_config_init(&c, CHURN_BUDGET_SMOKE);
    rc = churn_report_fprint(&c, NULL, f);
    fflush(f);
    sz = ftell(f);
    fclose(f);
    return sz != 0 ? 92 : rc;
}
static int c_write_fn_null_fn(void) { churn_config c; churn_config_init(&c, CHURN_BUDGET_SMOKE); return churn_report_write_fn(&c, synthetic_result(), NULL, NULL); }
static int c_write_fn_null_result(void) { churn_config c; churn_config_init(&c, CHURN_BUDGET_SMOKE); return churn_report_write_fn(&c, NULL, sink_ok, NULL); }
static int c_summary_null(void) {
    FILE *f = tmpfile();
    long sz;
    if (!f) return 93;
    churn_summary_fprint(NULL, f);
    churn_summary_fprint(synthetic_result(), NULL);
    fflush(f);
    sz = ftell(f);
    fclose(f);
    return sz != 0 ? 92 : 0;
}

typedef struct api_case { const char *name; int (*fn)(void); int want, alt; } api_case;
#define NA 1 /* no alternative */
static const api_case api_cases[] = {
    {"churn_snapshot_take(0, NULL)", c_snap_null, CHURN_E_INVAL, NA},
    {"churn_snapshot_take_some(0, ALL, NULL)", c_snap_some_null, CHURN_E_INVAL, NA},
    {"churn_snapshot_take(-1, &s)", c_snap_neg, CHURN_E_INVAL, NA},
    {"churn_snapshot_take_some(-1, ALL, &s)", c_snap_some_neg, CHURN_E_INVAL, NA},
    {"churn_snapshot_take(pid_max + 1, &s)", c_snap_nonexistent, CHURN_E_NOPROC, NA},
    {"churn_snapshot_take(reaped child, &s)", c_snap_reaped, CHURN_E_NOPROC, NA},
    {"churn_snapshot_take(LONG_MAX, &s)", c_snap_longmax, CHURN_E_NOPROC, CHURN_E_INVAL},
    {"churn_snapshot_take(0, &s) (control)", c_snap_self, CHURN_OK, NA},
    {"churn_inventory_take(0, NULL)", c_inv_null, CHURN_E_INVAL, NA},
    {"churn_inventory_take(-1, &inv)", c_inv_neg, CHURN_E_INVAL, NA},
    {"churn_inventory_take(pid_max + 1, &inv) (and empty)", c_inv_nonexistent, CHURN_E_NOPROC, NA},
    {"churn_inventory_take(0, &inv) (control)", c_inv_self, CHURN_OK, NA},
    {"churn_inventory_diff(NULL, &a, &out)", c_diff_null_before, CHURN_E_INVAL, NA},
    {"churn_inventory_diff(&a, NULL, &out)", c_diff_null_after, CHURN_E_INVAL, NA},
    {"churn_inventory_diff(&a, &b, NULL)", c_diff_null_added, CHURN_E_INVAL, NA},
    {"churn_inventory_diff(&a, &b, &a)", c_diff_alias, CHURN_E_INVAL, NA},
    {"churn_inventory_diff(count 5, handles NULL)", c_diff_inconsistent, CHURN_E_INVAL, NA},
    {"churn_inventory_filter(NULL, rules, 1)", c_filter_null, 0, NA},
    {"churn_inventory_filter(&inv, NULL, 3)", c_filter_null_rules, 0, NA},
    {"churn_inventory_free(NULL)", c_inv_free_null, 0, NA},
    {"churn_inventory_fprint(NULL, f) / (&inv, NULL)", c_inv_fprint_null, 0, NA},
    {"churn_snapshot_peak(NULL, &s) / (&s, NULL)", c_peak_null, 0, NA},
    {"churn_snapshot_init(NULL)", c_snap_init_null, 0, NA},
    {"churn_limits_none/release/strict(NULL)", c_limits_null, 0, NA},
    {"churn_evaluate(..., NULL)", c_eval_null_out, CHURN_E_INVAL, NA},
    {"churn_evaluate(NULL baseline)", c_eval_null_base, CHURN_E_INVAL, NA},
    {"churn_evaluate(NULL peak)", c_eval_null_peak, CHURN_E_INVAL, NA},
    {"churn_evaluate(NULL post_drain)", c_eval_null_post, CHURN_E_INVAL, NA},
    {"churn_evaluate(NULL limits)", c_eval_null_limits, CHURN_E_INVAL, NA},
    {"churn_evaluate(peak[handles] = -5)", c_eval_bad0, CHURN_E_INVAL, NA},
    {"churn_evaluate(post_drain[threads] = -5)", c_eval_bad1, CHURN_E_INVAL, NA},
    {"churn_evaluate(growth_per_1k[rss] = NaN)", c_eval_bad2, CHURN_E_INVAL, NA},
    {"churn_evaluate(growth_windows = -1)", c_eval_bad3, CHURN_E_INVAL, NA},
    {"churn_evaluate(growth_min_samples = -1)", c_eval_bad4, CHURN_E_INVAL, NA},
    {"churn_evaluate(peak[last] = LLONG_MIN)", c_eval_bad5, CHURN_E_INVAL, NA},
    {"churn_evaluate_growth(NULL, 3, ...)", c_growth_null_series, CHURN_E_INVAL, NA},
    {"churn_evaluate_growth(s, -1, ...)", c_growth_neg_count, CHURN_E_INVAL, NA},
    {"churn_evaluate_growth(s, 2, NULL, &v)", c_growth_null_limits, CHURN_E_INVAL, NA},
    {"churn_evaluate_growth(s, 2, &l, NULL)", c_growth_null_verdict, CHURN_E_INVAL, NA},
    {"churn_evaluate_growth(growth NaN)", c_growth_nan, CHURN_E_INVAL, NA},
    {"churn_growth_slope(NULL, ...)", c_slope_null, CHURN_E_INVAL, NA},
    {"churn_growth_slope(s, 3, m, NULL)", c_slope_null_out, CHURN_E_INVAL, NA},
    {"churn_growth_slope(metric COUNT)", c_slope_bad_metric, CHURN_E_INVAL, NA},
    {"churn_growth_slope(metric -1)", c_slope_neg_metric, CHURN_E_INVAL, NA},
    {"churn_growth_every_window(NULL, ...) -> 0", c_window_null, 0, NA},
    {"churn_drain(0, NULL baseline, ...)", c_drain_null_base, CHURN_E_INVAL, NA},
    {"churn_drain(0, &b, NULL limits, ...)", c_drain_null_limits, CHURN_E_INVAL, NA},
    {"churn_drain(0, &b, &l, 100, NULL)", c_drain_null_post, CHURN_E_INVAL, NA},
    {"churn_drain(-1, ...)", c_drain_neg_pid, CHURN_E_INVAL, NA},
    {"churn_drain(timeout_ms -1)", c_drain_neg_timeout, CHURN_E_INVAL, NA},
    {"churn_drain(limits growth NaN)", c_drain_nan, CHURN_E_INVAL, NA},
    {"churn_drain(limits peak -5)", c_drain_neg_limit, CHURN_E_INVAL, NA},
    {"churn_drain_ex(max_attempts -1)", c_drain_neg_attempts, CHURN_E_INVAL, NA},
    {"churn_drain(pid_max + 1, ...)", c_drain_nonexistent, CHURN_E_NOPROC, NA},
    {"churn_json_*(NULL writer) / churn_json_finish(NULL)", c_json_null_writer, CHURN_E_INVAL, NA},
    {"churn_json_init(&j, NULL write fn) then finish", c_json_null_write_fn, CHURN_E_INVAL, NA},
    {"churn_json_key(&j, NULL) then finish", c_json_null_key, CHURN_E_INVAL, NA},
    {"churn_json_string(&j, NULL) writes null", c_json_null_string, CHURN_OK, NA},
    {"churn_json_escape(NULL, 5, buf, 8)", c_json_escape_null_in, 0, NA},
    {"churn_json_escape(s, n, NULL, 0) (sizing)", c_json_escape_sizing, 0, NA},
    {"churn_json_escape(s, n, NULL, 16)", c_json_escape_null_out, 0, NA},
    {"churn_json_write_file(NULL FILE, ...)", c_json_write_file_null, CHURN_E_INVAL, NA},
    {"churn_profile_parse(NULL, &p)", c_profile_parse_null, CHURN_E_INVAL, NA},
    {"churn_profile_parse(\"reset\", NULL)", c_profile_parse_null_out, CHURN_E_INVAL, NA},
    {"name functions out of range are non-NULL", c_names_out_of_range, 0, NA},
    {"churn_config_init(NULL, SMOKE)", c_config_init_null, 0, NA},
    {"churn_result_free(NULL) / zeroed twice", c_result_free_null, 0, NA},
    {"churn_run(NULL, &res)", c_run_null_cfg, CHURN_E_INVAL, NA},
    {"churn_run(&cfg, NULL)", c_run_null_out, CHURN_E_INVAL, NA},
    {"churn_report_write(NULL cfg, &res, path)", c_report_null_cfg, CHURN_OK, CHURN_E_INVAL},
    {"churn_report_write(&cfg, NULL, path) (no file)", c_report_null_result, CHURN_E_INVAL, NA},
    {"churn_report_write(&cfg, &res, NULL)", c_report_null_path, CHURN_E_INVAL, NA},
    {"churn_report_write(&cfg, &res, \"\")", c_report_empty_path, CHURN_E_INVAL, NA},
    {"churn_report_write(&cfg, &res, \"dir/\")", c_report_dir_path, CHURN_E_INVAL, NA},
    {"churn_report_fprint(&cfg, &res, NULL)", c_fprint_null_file, CHURN_E_INVAL, NA},
    {"churn_report_fprint(&cfg, NULL, f) (nothing written)", c_fprint_null_result, CHURN_E_INVAL, NA},
    {"churn_report_write_fn(&cfg, &res, NULL, NULL)", c_write_fn_null_fn, CHURN_E_INVAL, NA},
    {"churn_report_write_fn(&cfg, NULL, fn, NULL)", c_write_fn_null_result, CHURN_E_INVAL, NA},
    {"churn_summary_fprint(NULL, f) / (&res, NULL)", c_summary_null, 0, NA},
};

/* Runs fn in a forked child (guarded by alarm); 0 and its code, or -1 and why. */
static int in_child(int (*fn)(void), int *code, char *why, size_t cap) {
    int p[2], st = 0, v = 0;
    ssize_t k;
    pid_t pid;
    if (pipe2(p, O_CLOEXEC) != 0) { snprintf(why, cap, "pipe failed"); return -1; }
    fflush(stdout);
    pid = fork();
    if (pid < 0) { close(p[0]); close(p[1]); snprintf(why, cap, "fork failed"); return -1; }
    if (pid == 0) {
        int r;
        close(p[0]);
        signal(SIGALRM, SIG_DFL);
        alarm(30);
        r = fn();
        fflush(stdout);
        if (write(p[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(4);
        _exit(0);
    }
    close(p[1]);
    do k = read(p[0], &v, sizeof v); while (k < 0 && errno == EINTR);
    close(p[0]);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    if (WIFSIGNALED(st)) {
        snprintf(why, cap, "%s (signal %d: %s)", WTERMSIG(st) == SIGALRM ? "hung" : "crashed", WTERMSIG(st),
                 strsignal(WTERMSIG(st)));
        return -1;
    }
    if (k != (ssize_t)sizeof v) { snprintf(why, cap, "child exited %d without a result", WEXITSTATUS(st)); return -1; }
    *code = v;
    return 0;
}

CT_TEST(bad_input_public_functions) {
    size_t i;
    int crashed = 0;
    CT_REQUIRE(make_tmpdir(report_dir, sizeof report_dir) == 0);
    for (i = 0; i < sizeof api_cases / sizeof api_cases[0]; i++) {
        const api_case *k = &api_cases[i];
        char why[256];
        int code = 0;
        if (in_child(k->fn, &code, why, sizeof why) != 0) {
            FAILF("%s: %s", k->name, why);
            crashed++;
            continue;
        }
        if (code != k->want && (k->alt == NA || code != k->alt)) {
            if (code > 0)
                FAILF("%s: the case's own check %d failed (see the case)", k->name, code);
            else
                FAILF("%s: returned %d (%s), want %d (%s)", k->name, code, churn_strerror(code), k->want,
                      churn_strerror(k->want));
        } else if (!documented_code(code) && code <= 0) {
            FAILF("%s: returned %d, not a documented CHURN_* code", k->name, code);
        }
    }
    printf("    %d cases, each in its own process; %d crashed or hung\n", (int)(sizeof api_cases / sizeof api_cases[0]),
           crashed);
    CT_EQ_LL(count_dir(report_dir), 0);
    rm_tree_flat(report_dir);
}

/* Config cases: churn_run must refuse before touching anything. */
static int cfg_port; /* a live http server for the valid controls (set before forking) */
static int cfg_case_index;
static char long_host[301];
static churn_ignore dummy_ignore;

static int cfg_case_count(void);
static int apply_cfg_case(int i, churn_config *c, const char **name, int *want) {
    churn_config_init(c, CHURN_BUDGET_SMOKE);
    c->port = cfg_port;
    c->cycles = 4;
    churn_limits_none(&c->limits);
    *want = CHURN_E_INVAL;
    switch (i) {
        case 0: *name = "port 0"; c->port = 0; break;
        case 1: *name = "port -1"; c->port = -1; break;
        case 2: *name = "port 65536"; c->port = 65536; break;
        case 3: *name = "port 70000"; c->port = 70000; break;
        case 4: *name = "cycles 0"; c->cycles = 0; break;
        case 5: *name = "cycles -5"; c->cycles = -5; break;
        case 6: *name = "warmup_cycles -1"; c->warmup_cycles = -1; break;
        case 7: *name = "concurrency -1"; c->concurrency = -1; break;
        case 8: *name = "concurrency CHURN_MAX_CONCURRENCY + 1"; c->concurrency = CHURN_MAX_CONCURRENCY + 1; break;
        case 9: *name = "concurrency 1000000"; c->concurrency = 1000000; break;
        case 10: *name = "profiles 1u << 10"; c->profiles = 1u << 10; break;
        case 11: *name = "profiles 1u << 31"; c->profiles = 1u << 31; break;
        case 12: *name = "host \"\""; c->host = ""; break;
        case 13: *name = "host \"256.1.1.1\""; c->host = "256.1.1.1"; break;
        case 14: *name = "host \"1.2.3\""; c->host = "1.2.3"; break;
        case 15: *name = "host \"::1::2\""; c->host = "::1::2"; break;
        case 16: *name = "host \"local host\""; c->host = "local host"; break;
        case 17: *name = "host \"exa mple\""; c->host = "exa mple"; break;
        case 18: *name = "host \"a\\nb\""; c->host = "a\nb"; break;
        case 19: *name = "host of 300 characters"; c->host = long_host; break;
        case 20: *name = "host \"127.0.0.1:80\""; c->host = "127.0.0.1:80"; break;
        case 21: *name = "watch_pid -1"; c->watch_pid = -1; break;
        case 22: *name = "watch_pid pid_max + 1"; c->watch_pid = nonexistent_pid(); *want = CHURN_E_NOPROC; break;
        case 23: *name = "limits.peak[handles] = -5"; bad_limits(&c->limits, 0); break;
        case 24: *name = "limits.post_drain[threads] = -5"; bad_limits(&c->limits, 1); break;
        case 25: *name = "limits.growth_per_1k[rss] = NaN"; bad_limits(&c->limits, 2); break;
        case 26: *name = "limits.growth_windows = -1"; bad_limits(&c->limits, 3); break;
        case 27: *name = "limits.growth_min_samples = -1"; bad_limits(&c->limits, 4); break;
        case 28: *name = "sample_metrics bit 1u << 20"; c->sample_metrics = 1u << 20; break;
        case 29: *name = "http_path \"\""; c->http_path = ""; break;
        case 30: *name = "http_path \"/a b\""; c->http_path = "/a b"; break;
        case 31: *name = "http_path with CRLF"; c->http_path = "/a\r\nX-Injected: 1"; break;
        case 32: *name = "http_host with CRLF"; c->http_host = "h\r\nX-Injected: 1"; break;
        case 33: *name = "timeout_ms -1"; c->timeout_ms = -1; break;
        case 34: *name = "idle_ms -1"; c->idle_ms = -1; break;
        case 35: *name = "drain_timeout_ms -1"; c->drain_timeout_ms = -1; break;
        case 36: *name = "series_max -1"; c->series_max = -1; break;
        case 37: *name = "ignore_count 3, ignore NULL"; c->ignore_count = 3; c->ignore = NULL; break;
        case 38: *name = "ignore_count -1"; c->ignore_count = -1; c->ignore = &dummy_ignore; break;
        case 39: *name = "sample_every -1"; c->sample_every = -1; break;
        case 40: *name = "drain_max_attempts -1"; c->drain_max_attempts = -1; break;
        case 41: *name = "http_path with a bare LF"; c->http_path = "/a\nb"; break;
        /* valid extremes: the controls that prove the server and the config are fine */
        case 42: *name = "concurrency 0 (default 1) [valid]"; c->concurrency = 0; *want = CHURN_OK; break;
        case 43: *name = "port 65535 boundary: parses [valid, nothing listens]"; c->port = 65535; *want = CHURN_E_CONNECT; break;
        case 44: *name = "control: this config as is [valid]"; *want = CHURN_OK; break;
        default: return -1;
    }
    return 0;
}
static int cfg_case_count(void) { int n = 0; churn_config c; const char *nm; int w; while (apply_cfg_case(n, &c, &nm, &w) == 0) n++; return n; }

static int c_cfg_case(void) {
    churn_config c;
    churn_result r;
    const char *name;
    int want, rc;
    apply_cfg_case(cfg_case_index, &c, &name, &want);
    memset(&r, 0xa5, sizeof r); /* garbage in: churn_run must still leave it freeable */
    rc = churn_run(&c, &r);
    if (rc == CHURN_OK && (r.outcomes.attempted != c.cycles)) return 91;
    if (rc == CHURN_OK && c.concurrency == 0 && r.cfg_concurrency != 1) return 90;
    churn_result_free(&r);
    return rc;
}

CT_TEST(bad_input_configs) {
    srvproc sp;
    int i, n;
    memset(long_host, 'a', 300);
    long_host[300] = '\0';
    CT_REQUIRE(sp_start(&sp, SV_HTTP, 0) == 0);
    cfg_port = sp.port;
    n = cfg_case_count();
    for (i = 0; i < n; i++) {
        churn_config c;
        const char *name = "?";
        char why[256];
        int want, code = 0;
        apply_cfg_case(i, &c, &name, &want);
        if (i == 43) { /* nothing must listen on 65535 for this control */
            int fd = socket(AF_INET, SOCK_STREAM, 0);
            struct sockaddr_in a;
            memset(&a, 0, sizeof a);
            a.sin_family = AF_INET;
            a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            a.sin_port = htons(65535);
            if (fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0) { close(fd); printf("    (65535 is in use: skipped)\n"); continue; }
            if (fd >= 0) close(fd);
        }
        cfg_case_index = i;
        if (in_child(c_cfg_case, &code, why, sizeof why) != 0) { FAILF("churn_run(%s): %s", name, why); continue; }
        if (code == 91) { FAILF("churn_run(%s): CHURN_OK but attempted != cycles", name); continue; }
        if (code == 90) { FAILF("churn_run(%s): CHURN_OK but the effective concurrency is not 1", name); continue; }
        if (code != want)
            FAILF("churn_run(%s): returned %d (%s), want %d (%s)", name, code, churn_strerror(code), want,
                  churn_strerror(want));
        if (!documented_code(code)) FAILF("churn_run(%s): %d is not a documented CHURN_* code", name, code);
    }
    printf("    %d configurations, each in its own process\n", n);
    sp_stop(&sp);
}

/* ---- non-loopback hosts inside a network namespace with nothing but lo ------------------- */

static void netns_expect_remote(const char *host) {
    churn_config c;
    churn_result r;
    int rc;
    churn_config_init(&c, CHURN_BUDGET_SMOKE);
    c.host = host;
    c.port = 80;
    c.cycles = 4;
    memset(&r, 0, sizeof r);
    rc = churn_run(&c, &r);
    printf("    %-18s -> %d (%s)\n", host, rc, churn_strerror(rc));
    if (rc != CHURN_E_REMOTE)
        FAILF("host %s: churn_run returned %d (%s), want CHURN_E_REMOTE", host, rc, churn_strerror(rc));
    CT_EQ_LL(r.outcomes.attempted, 0);
    churn_result_free(&r);
}

CT_TEST(netns_remote_hosts_refused) {
    static const char *const hosts[] = {"10.0.0.1", "8.8.8.8", "::ffff:10.0.0.1", "2001:db8::1", "192.0.2.1"};
    size_t i;
    for (i = 0; i < sizeof hosts / sizeof hosts[0]; i++) netns_expect_remote(hosts[i]);
    {   /* a name only when it resolves here at all, and only to something non-loopback */
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_socktype = SOCK_STREAM;
        if (getaddrinfo("example.com", "80", &hints, &res) == 0 && res) {
            int loop = 0;
            struct addrinfo *ai;
            for (ai = res; ai; ai = ai->ai_next)
                if (ai->ai_family == AF_INET && ((unsigned char *)&((struct sockaddr_in *)ai->ai_addr)->sin_addr)[0] == 127)
                    loop = 1;
            freeaddrinfo(res);
            if (!loop) netns_expect_remote("example.com");
            else printf("    example.com resolves to loopback here: not checked\n");
        } else {
            printf("    example.com does not resolve in this namespace: not checked\n");
        }
    }
}

/* Re-executes this binary under `unshare -n` (or -rn) with --netns-remote. */
CT_TEST(bad_input_remote_hosts_in_netns) {
    static const char *const variants[] = {"-n", "-rn"};
    size_t v;
    char out[16384], last_err[512] = "";
    for (v = 0; v < sizeof variants / sizeof variants[0]; v++) {
        int p[2], st = 0;
        size_t len = 0;
        pid_t pid;
        double end;
        char *line, *save = NULL, *summary = NULL;
        int np = -1, nf = -1;
        if (pipe2(p, O_CLOEXEC) != 0) CT_SKIP("pipe failed");
        fflush(stdout);
        pid = fork();
        if (pid < 0) { close(p[0]); close(p[1]); CT_SKIP("fork failed"); }
        if (pid == 0) {
            dup2(p[1], STDOUT_FILENO);
            dup2(p[1], STDERR_FILENO);
            execlp("unshare", "unshare", variants[v], self_exe, "--netns-remote", (char *)NULL);
            printf("unshare: not installed (%s)\n", strerror(errno));
            fflush(stdout);
            _exit(127);
        }
        close(p[1]);
        end = t_now() + 60.0;
        for (;;) {
            struct pollfd pf;
            int left = (int)((end - t_now()) * 1000.0);
            ssize_t k;
            if (left <= 0) { kill(pid, SIGKILL); break; }
            pf.fd = p[0]; pf.events = POLLIN; pf.revents = 0;
            if (poll(&pf, 1, left) <= 0) { if (errno == EINTR) continue; kill(pid, SIGKILL); break; }
            k = read(p[0], out + len, sizeof out - 1 - len);
            if (k <= 0) { if (k < 0 && errno == EINTR) continue; break; }
            len += (size_t)k;
            if (len >= sizeof out - 1) break;
        }
        out[len] = '\0';
        close(p[0]);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
        for (line = strtok_r(out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            if (sscanf(line, "%d passed, %d failed", &np, &nf) == 2) summary = line;
            else if (summary == NULL) snprintf(last_err, sizeof last_err, "%s", line);
            if (sscanf(line, "%d passed, %d failed", &np, &nf) != 2) printf("    [unshare %s] %s\n", variants[v], line);
        }
        if (summary) {
            if (nf != 0 || np < 1) FAILF("inside `unshare %s`: %d passed, %d failed", variants[v], np, nf);
            return;
        }
        if (WIFSIGNALED(st)) { FAILF("inside `unshare %s`: killed by signal %d", variants[v], WTERMSIG(st)); return; }
    }
    {
        char reason[700];
        snprintf(reason, sizeof reason, "unshare -n / -rn unavailable here (%s)", last_err[0] ? last_err : "no output");
        CT_SKIP(reason);
    }
}

/* ---- thread safety ---------------------------------------------------------------------- */

typedef struct run_job { churn_config cfg; churn_result res; int rc; } run_job;
typedef struct snap_job { int *stop; long snaps, invs, fails; int first_rc; long other_pid; } snap_job;

static void *run_job_main(void *arg) {
    run_job *j = (run_job *)arg;
    memset(&j->res, 0, sizeof j->res);
    j->rc = churn_run(&j->cfg, &j->res);
    return NULL;
}

static void *snap_job_main(void *arg) {
    snap_job *j = (snap_job *)arg;
    while (!__atomic_load_n(j->stop, __ATOMIC_ACQUIRE)) {
        churn_snapshot s;
        churn_inventory inv;
        int rc = churn_snapshot_take(0, &s);
        if (rc == CHURN_OK) j->snaps++; else { j->fails++; if (!j->first_rc) j->first_rc = rc; }
        rc = churn_inventory_take(0, &inv);
        if (rc == CHURN_OK) j->invs++; else { j->fails++; if (!j->first_rc) j->first_rc = rc; }
        churn_inventory_free(&inv);
        rc = churn_snapshot_take(j->other_pid, &s);
        if (rc == CHURN_OK) j->snaps++; else { j->fails++; if (!j->first_rc) j->first_rc = rc; }
    }
    return NULL;
}

CT_TEST(threads_two_runs_and_two_samplers) {
    srvproc a, b;
    run_job *jobs;
    snap_job sj[2];
    pthread_t rt[2], st[2];
    int stop = 0, i, started_r = 0, started_s = 0;
    long long cycles = 300;
    CT_REQUIRE(sp_start(&a, SV_HTTP, 0) == 0);
    if (sp_start(&b, SV_HTTP, 0) != 0) { sp_stop(&a); CT_REQUIRE(0); }
    jobs = (run_job *)calloc(2, sizeof *jobs);
    CT_REQUIRE(jobs != NULL);
    for (i = 0; i < 2; i++) {
        churn_config *c = &jobs[i].cfg;
        churn_config_init(c, CHURN_BUDGET_SMOKE);
        c->port = i == 0 ? a.port : b.port;
        c->cycles = cycles;
        c->concurrency = i == 0 ? 4 : 2;
        c->profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_RESET) | CHURN_PROFILE_BIT(CHURN_PROFILE_CLOSE) |
                      CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST) | CHURN_PROFILE_BIT(CHURN_PROFILE_PARTIAL_BODY);
        c->timeout_ms = 2000;
        c->label = i == 0 ? "thread-a" : "thread-b";
        churn_limits_none(&c->limits);
    }
    memset(sj, 0, sizeof sj);
    guard_arm(90);
    for (i = 0; i < 2; i++) {
        sj[i].stop = &stop;
        sj[i].other_pid = i == 0 ? (long)a.pid : (long)b.pid;
        if (pthread_create(&st[i], NULL, snap_job_main, &sj[i]) == 0) started_s++;
    }
    for (i = 0; i < 2; i++)
        if (pthread_create(&rt[i], NULL, run_job_main, &jobs[i]) == 0) started_r++;
    for (i = 0; i < started_r; i++) pthread_join(rt[i], NULL);
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (i = 0; i < started_s; i++) pthread_join(st[i], NULL);
    guard_disarm();
    CT_EQ_LL(started_r, 2);
    CT_EQ_LL(started_s, 2);
    for (i = 0; i < started_r; i++) {
        char what[32];
        snprintf(what, sizeof what, "run %c", 'a' + i);
        if (jobs[i].rc != CHURN_OK) FAILF("%s: churn_run returned %d (%s)", what, jobs[i].rc, churn_strerror(jobs[i].rc));
        CHECK_OUTCOMES(what, &jobs[i].res, cycles);
        CT_EQ_LL(jobs[i].res.cycles_done, cycles);
        CT_EQ_LL(jobs[i].res.outcomes.connected, cycles);
        CT_EQ_LL(jobs[i].res.outcomes.completed, cycles);
        print_outcomes(what, &jobs[i].res.outcomes);
        churn_result_free(&jobs[i].res);
    }
    for (i = 0; i < started_s; i++) {
        printf("    sampler %d: %ld snapshots, %ld inventories, %ld failures\n", i, sj[i].snaps, sj[i].invs, sj[i].fails);
        if (sj[i].fails) FAILF("sampler %d: %ld calls failed, first with %d (%s)", i, sj[i].fails, sj[i].first_rc,
                               churn_strerror(sj[i].first_rc));
        CT_GE_LL(sj[i].snaps, 1);
        CT_GE_LL(sj[i].invs, 1);
    }
    free(jobs);
    sp_stop(&a);
    sp_stop(&b);
}

/* ---- main ------------------------------------------------------------------------------- */

static const char *only_test; /* --only NAME: run one test */
#define RUN(fn) do { if (!only_test || strcmp(only_test, #fn) == 0) CT_RUN(fn); } while (0)

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_DFL); /* the default action throughout: churn.h must never raise it */
    {
        ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
        if (n > 0) self_exe[n] = '\0';
        else snprintf(self_exe, sizeof self_exe, "%s", argv[0]);
    }
    if (argc >= 5 && strcmp(argv[1], "--serve") == 0) return serve_child_main(argv[2], atoi(argv[3]), atoi(argv[4]));
    if (argc >= 2 && strcmp(argv[1], "--netns-remote") == 0) {
        CT_RUN(netns_remote_hosts_refused);
        return ct_finish();
    }
    if (argc >= 3 && strcmp(argv[1], "--only") == 0) only_test = argv[2];
    /* fork-based tests first, while this process has one thread */
    RUN(bad_input_public_functions);
    RUN(bad_input_configs);
    RUN(bad_input_remote_hosts_in_netns);
    RUN(fault_nofile_below_concurrency);
    RUN(fault_sigpipe_reset_on_accept);
    RUN(fault_sigpipe_reset_on_first_byte);
    RUN(fault_sigpipe_reset_during_256k_request);
    RUN(fault_report_missing_directory);
    RUN(fault_server_never_answers);
    RUN(fault_server_never_reads);
    RUN(fault_server_firehose_raw);
    RUN(fault_server_firehose_endless_content_length);
    RUN(fault_server_firehose_endless_chunks);
    RUN(fault_server_killed_restarted_at_once);
    RUN(fault_server_killed_restarted_after_pause);
    RUN(fault_signals_during_idle_waits);
    RUN(drain_waits_for_lingering_thread);
    RUN(fault_signals_during_drain);
    RUN(bounded_memory_1m_cycles);
    RUN(bounded_memory_2m_cycles_soak);
    RUN(self_clean_20_runs);
    RUN(threads_two_runs_and_two_samplers);
    return ct_finish();
}
