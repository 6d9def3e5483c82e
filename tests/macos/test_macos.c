/* test_macos.c - behavioural tests of churn.h on macOS (libproc and Mach).

   The same structure as the Linux tests (tests/test_snapshot.c, test_inventory.c,
   test_loop.c): every test creates real OS objects and compares churn.h's numbers with
   what it created, as deltas (after - before). Loopback only; every wait is bounded.
     snapshots    rise with fds, threads, sockets, CLOSE_WAIT, send queue, children, zombies;
                  error codes for a bad, a gone and a foreign pid
     inventories  name a LISTEN socket, an ESTABLISHED and a CLOSE_WAIT pair, tcp6, udp,
                  unix, a pipe, a file by path, a kqueue, and a named thread by its id
     churn run    against an in-process HTTP server thread (watch_pid 0)
     report       atomic write, no temporary left, RLIMIT_FSIZE refusal keeps the old file
   Built by `make check-macos` (mk/macos.mk) with zig cc for x86_64-macos and aarch64-macos
   against build/macos/churn.h. This machine cannot run it: it is verified by building only.
*/
#include "../churn_test.h"
#include "churn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/event.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

/* ---- helpers ---------------------------------------------------------------------------- */

static void t_sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static long long t_metric(int m) {
    churn_snapshot s;
    if (churn_snapshot_take(0, &s) != CHURN_OK) return -100;
    return s.value[m];
}

static socklen_t t_loopback(int family, int port, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_len = sizeof *a;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        a->sin6_port = htons((unsigned short)port);
        return (socklen_t)sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_len = sizeof *a;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a->sin_port = htons((unsigned short)port);
        return (socklen_t)sizeof *a;
    }
}

static int t_local_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void t_nosigpipe(int fd) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
}

static int t_listener(int family, int backlog, int *port) {
    struct sockaddr_storage ss;
    socklen_t len = t_loopback(family, 0, &ss);
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    t_nosigpipe(fd);
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, backlog) != 0) {
        close(fd);
        return -1;
    }
    *port = t_local_port(fd);
    return fd;
}

static int t_connect(int family, int port) {
    struct sockaddr_storage ss;
    socklen_t len = t_loopback(family, port, &ss);
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    t_nosigpipe(fd);
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int t_accept(int lfd) {
    struct pollfd p;
    int fd;
    p.fd = lfd; p.events = POLLIN; p.revents = 0;
    if (poll(&p, 1, 2000) <= 0) return -1;
    fd = accept(lfd, NULL, NULL);
    if (fd >= 0) t_nosigpipe(fd);
    return fd;
}

/* Waits (bounded) until metric m of this process reaches at least want. */
static long long t_wait_metric(int m, long long want) {
    long long v = -100;
    int i;
    for (i = 0; i < 200; i++) {
        v = t_metric(m);
        if (v >= want) break;
        t_sleep_ms(10);
    }
    return v;
}

static const churn_handle_info *t_find_handle(const churn_inventory *inv, long long fd) {
    int i;
    for (i = 0; i < inv->handle_count; i++)
        if (inv->handles[i].id == fd) return &inv->handles[i];
    return NULL;
}

static const churn_handle_info *t_handle_detail(const churn_inventory *inv, long long fd) {
    const churn_handle_info *h = t_find_handle(inv, fd);
    if (!h) printf("    (fd %lld is not in the inventory)\n", fd);
    return h;
}

/* A thread that parks on a pipe until told to go, named when asked. */
typedef struct t_parked {
    pthread_t th;
    int pipe_fd[2];
    const char *name;
    uint64_t tid;
    int ready;
    pthread_mutex_t mu;
    pthread_cond_t cv;
} t_parked;

static void *t_parked_main(void *arg) {
    t_parked *p = (t_parked *)arg;
    char c;
    if (p->name) pthread_setname_np(p->name);
    pthread_mutex_lock(&p->mu);
    pthread_threadid_np(NULL, &p->tid);
    p->ready = 1;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
    while (read(p->pipe_fd[0], &c, 1) < 0 && errno == EINTR) {}
    return NULL;
}

static int t_parked_start(t_parked *p, const char *name) {
    memset(p, 0, sizeof *p);
    p->name = name;
    if (pipe(p->pipe_fd) != 0) return -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    if (pthread_create(&p->th, NULL, t_parked_main, p) != 0) return -1;
    pthread_mutex_lock(&p->mu);
    while (!p->ready) pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return 0;
}

static void t_parked_stop(t_parked *p) {
    char c = 'x';
    while (write(p->pipe_fd[1], &c, 1) < 0 && errno == EINTR) {}
    pthread_join(p->th, NULL);
    close(p->pipe_fd[0]);
    close(p->pipe_fd[1]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}

/* ---- snapshots -------------------------------------------------------------------------- */

CT_TEST(snapshot_self_basics) {
    churn_snapshot s;
    CT_REQUIRE(churn_snapshot_take(0, &s) == CHURN_OK);
    CT_EQ_LL(s.pid, (long long)getpid());
    CT_GE_LL(s.value[CHURN_METRIC_HANDLES], 3);
    CT_GE_LL(s.value[CHURN_METRIC_THREADS], 1);
    CT_GE_LL(s.value[CHURN_METRIC_RSS_BYTES], 4096);
    CT_GE_LL(s.value[CHURN_METRIC_PRIVATE_BYTES], 4096);
    CT_GE_LL(s.value[CHURN_METRIC_VIRTUAL_BYTES], s.value[CHURN_METRIC_RSS_BYTES]);
    CT_GE_LL(s.value[CHURN_METRIC_SOCKETS], 0);
    CT_GE_LL(s.value[CHURN_METRIC_CLOSE_WAIT], 0);
    CT_GE_LL(s.value[CHURN_METRIC_SEND_QUEUE_BYTES], 0);
    CT_GE_LL(s.value[CHURN_METRIC_CHILDREN], 0);
    CT_GE_LL(s.value[CHURN_METRIC_ZOMBIES], 0);
    CT_EQ_LL(s.value[CHURN_METRIC_GDI_OBJECTS], CHURN_UNKNOWN);
    CT_EQ_LL(s.value[CHURN_METRIC_USER_OBJECTS], CHURN_UNKNOWN);
    CT_CHECK(s.at > 0.0);
    CT_EQ_STR(churn_platform_name(), "macos");
    CT_CHECK((churn_metrics_cheap() & CHURN_METRIC_BIT(CHURN_METRIC_THREADS)) != 0);
}

CT_TEST(snapshot_some_leaves_rest_unknown) {
    churn_snapshot s;
    int m;
    CT_REQUIRE(churn_snapshot_take_some(0, CHURN_METRIC_BIT(CHURN_METRIC_THREADS), &s) == CHURN_OK);
    CT_GE_LL(s.value[CHURN_METRIC_THREADS], 1);
    for (m = 0; m < CHURN_METRIC_COUNT; m++)
        if (m != CHURN_METRIC_THREADS) CT_EQ_LL(s.value[m], CHURN_UNKNOWN);
}

CT_TEST(snapshot_errors) {
    churn_snapshot s;
    pid_t child;
    int st;
    CT_EQ_LL(churn_snapshot_take(-1, &s), CHURN_E_INVAL);
    CT_EQ_LL(churn_snapshot_take(0, NULL), CHURN_E_INVAL);
    /* a pid that existed and is gone (reaped) */
    child = fork();
    CT_REQUIRE(child >= 0);
    if (child == 0) _exit(0);
    CT_REQUIRE(waitpid(child, &st, 0) == child);
    CT_EQ_LL(churn_snapshot_take((long)child, &s), CHURN_E_NOPROC);
    /* launchd (pid 1) belongs to root: not ours to inspect */
    if (getuid() != 0) CT_EQ_LL(churn_snapshot_take(1, &s), CHURN_E_PERM);
    /* a sampler is a plain snapshot here: the same errors, nothing held */
    {
        churn_sampler sm;
        CT_EQ_LL(churn_sampler_open((long)child, &sm), CHURN_E_NOPROC);
        CT_EQ_LL(churn_sampler_open(-1, &sm), CHURN_E_INVAL);
        CT_REQUIRE(churn_sampler_open(0, &sm) == CHURN_OK);
        CT_EQ_LL(sm.own_fds, 0);
        CT_REQUIRE(churn_sampler_take(&sm, CHURN_METRICS_CHEAP, &s) == CHURN_OK);
        CT_GE_LL(s.value[CHURN_METRIC_HANDLES], 3);
        churn_sampler_close(&sm);
        CT_EQ_LL(churn_sampler_take(&sm, CHURN_METRICS_CHEAP, &s), CHURN_E_INVAL);
    }
}

CT_TEST(snapshot_handles_rise_with_fds) {
    int fds[16][2], i;
    long long before = t_metric(CHURN_METRIC_HANDLES), after, socks_before = t_metric(CHURN_METRIC_SOCKETS);
    for (i = 0; i < 16; i++) CT_REQUIRE(pipe(fds[i]) == 0);
    after = t_metric(CHURN_METRIC_HANDLES);
    CT_EQ_LL(after - before, 32);
    CT_EQ_LL(t_metric(CHURN_METRIC_SOCKETS), socks_before);
    for (i = 0; i < 16; i++) { close(fds[i][0]); close(fds[i][1]); }
    CT_EQ_LL(t_metric(CHURN_METRIC_HANDLES), before);
}

CT_TEST(snapshot_many_fds_beyond_stack_buffer) {
    /* more fds than the 256-entry stack listing: the heap path must count them all */
    enum { N = 300 };
    int fds[N], i, opened = 0;
    long long before = t_metric(CHURN_METRIC_HANDLES);
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)(before + N + 16)) CT_SKIP("RLIMIT_NOFILE too low");
    for (i = 0; i < N; i++) {
        fds[i] = open("/dev/null", O_RDONLY);
        if (fds[i] >= 0) opened++;
    }
    CT_EQ_LL(t_metric(CHURN_METRIC_HANDLES) - before, opened);
    for (i = 0; i < N; i++) if (fds[i] >= 0) close(fds[i]);
}

CT_TEST(snapshot_threads_rise) {
    t_parked p[3];
    long long before = t_metric(CHURN_METRIC_THREADS);
    int i;
    for (i = 0; i < 3; i++) CT_REQUIRE(t_parked_start(&p[i], NULL) == 0);
    CT_EQ_LL(t_metric(CHURN_METRIC_THREADS) - before, 3);
    for (i = 0; i < 3; i++) t_parked_stop(&p[i]);
}

CT_TEST(snapshot_memory_rises) {
    enum { SZ = 64 * 1024 * 1024 };
    long long before = t_metric(CHURN_METRIC_PRIVATE_BYTES), rss_before = t_metric(CHURN_METRIC_RSS_BYTES);
    char *p = (char *)malloc(SZ);
    CT_REQUIRE(p != NULL);
    memset(p, 0x5a, SZ);
    CT_GE_LL(t_metric(CHURN_METRIC_PRIVATE_BYTES) - before, SZ / 2);
    CT_GE_LL(t_metric(CHURN_METRIC_RSS_BYTES) - rss_before, SZ / 2);
    free(p);
}

CT_TEST(snapshot_sockets_close_wait_send_queue) {
    int port, lfd, cfd, afd, small = 4096, i, flags;
    long long sock_before = t_metric(CHURN_METRIC_SOCKETS), cw_before = t_metric(CHURN_METRIC_CLOSE_WAIT), sq;
    char buf[65536];
    lfd = t_listener(AF_INET, 4, &port);
    CT_REQUIRE(lfd >= 0);
    cfd = t_connect(AF_INET, port);
    CT_REQUIRE(cfd >= 0);
    afd = t_accept(lfd);
    CT_REQUIRE(afd >= 0);
    CT_EQ_LL(t_metric(CHURN_METRIC_SOCKETS) - sock_before, 3);

    /* send queue: the peer never reads; fill our side until it would block */
    setsockopt(cfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    flags = fcntl(afd, F_GETFL);
    fcntl(afd, F_SETFL, flags | O_NONBLOCK);
    memset(buf, 'q', sizeof buf);
    for (i = 0; i < 1000; i++)
        if (send(afd, buf, sizeof buf, 0) < 0) break;
    sq = t_wait_metric(CHURN_METRIC_SEND_QUEUE_BYTES, 1);
    CT_GE_LL(sq, 1);

    close(afd);
    close(cfd); /* unread data: this one ends in RST, not CLOSE_WAIT */

    /* CLOSE_WAIT: a second pair; the client closes (FIN), the accepted socket never does */
    cfd = t_connect(AF_INET, port);
    CT_REQUIRE(cfd >= 0);
    afd = t_accept(lfd);
    CT_REQUIRE(afd >= 0);
    close(cfd);
    CT_EQ_LL(t_wait_metric(CHURN_METRIC_CLOSE_WAIT, cw_before + 1) - cw_before, 1);
    close(afd);
    close(lfd);
    CT_EQ_LL(t_metric(CHURN_METRIC_SOCKETS), sock_before);
}

CT_TEST(snapshot_children_and_zombies) {
    int gate[2], st;
    pid_t live, dead;
    long long ch_before = t_metric(CHURN_METRIC_CHILDREN), z_before = t_metric(CHURN_METRIC_ZOMBIES);
    char c;
    CT_REQUIRE(pipe(gate) == 0);
    live = fork();
    CT_REQUIRE(live >= 0);
    if (live == 0) { close(gate[1]); while (read(gate[0], &c, 1) < 0 && errno == EINTR) {} _exit(0); }
    dead = fork();
    CT_REQUIRE(dead >= 0);
    if (dead == 0) _exit(0);
    close(gate[0]);
    CT_EQ_LL(t_wait_metric(CHURN_METRIC_ZOMBIES, z_before + 1) - z_before, 1);
    CT_EQ_LL(t_metric(CHURN_METRIC_CHILDREN) - ch_before, 1);
    /* the zombie is "exited": snapshotting it is NOPROC */
    {
        churn_snapshot s;
        CT_EQ_LL(churn_snapshot_take((long)dead, &s), CHURN_E_NOPROC);
    }
    /* the live child can be measured by pid */
    {
        churn_snapshot s;
        CT_EQ_LL(churn_snapshot_take((long)live, &s), CHURN_OK);
        CT_GE_LL(s.value[CHURN_METRIC_THREADS], 1);
        CT_GE_LL(s.value[CHURN_METRIC_HANDLES], 1);
    }
    close(gate[1]);
    waitpid(live, &st, 0);
    waitpid(dead, &st, 0);
    CT_EQ_LL(t_metric(CHURN_METRIC_ZOMBIES), z_before);
    CT_EQ_LL(t_metric(CHURN_METRIC_CHILDREN), ch_before);
}

/* ---- inventories ------------------------------------------------------------------------ */

CT_TEST(inventory_errors) {
    churn_inventory inv;
    pid_t child;
    int st;
    CT_EQ_LL(churn_inventory_take(-1, &inv), CHURN_E_INVAL);
    child = fork();
    CT_REQUIRE(child >= 0);
    if (child == 0) _exit(0);
    CT_REQUIRE(waitpid(child, &st, 0) == child);
    CT_EQ_LL(churn_inventory_take((long)child, &inv), CHURN_E_NOPROC);
    CT_EQ_LL(inv.handle_count, 0);
    if (getuid() != 0) CT_EQ_LL(churn_inventory_take(1, &inv), CHURN_E_PERM);
}

CT_TEST(inventory_tcp_states) {
    int port, lfd, cfd, afd, cport;
    churn_inventory inv;
    const churn_handle_info *h;
    char want[256];
    lfd = t_listener(AF_INET, 4, &port);
    CT_REQUIRE(lfd >= 0);
    cfd = t_connect(AF_INET, port);
    CT_REQUIRE(cfd >= 0);
    afd = t_accept(lfd);
    CT_REQUIRE(afd >= 0);
    cport = t_local_port(cfd);
    CT_REQUIRE(churn_inventory_take(0, &inv) == CHURN_OK);
    h = t_handle_detail(&inv, lfd);
    CT_REQUIRE(h != NULL);
    CT_EQ_STR(h->kind, "socket");
    snprintf(want, sizeof want, "tcp 127.0.0.1:%d LISTEN", port);
    CT_EQ_STR(h->detail, want);
    h = t_handle_detail(&inv, cfd);
    CT_REQUIRE(h != NULL);
    snprintf(want, sizeof want, "tcp 127.0.0.1:%d -> 127.0.0.1:%d ESTABLISHED", cport, port);
    CT_EQ_STR(h->detail, want);
    churn_inventory_free(&inv);

    close(cfd);
    CT_REQUIRE(t_wait_metric(CHURN_METRIC_CLOSE_WAIT, 1) >= 1);
    CT_REQUIRE(churn_inventory_take(0, &inv) == CHURN_OK);
    h = t_handle_detail(&inv, afd);
    CT_REQUIRE(h != NULL);
    snprintf(want, sizeof want, "tcp 127.0.0.1:%d -> 127.0.0.1:%d CLOSE_WAIT", port, cport);
    CT_EQ_STR(h->detail, want);
    churn_inventory_free(&inv);
    close(afd);
    close(lfd);
}

CT_TEST(inventory_tcp6_udp_unix) {
    int port6, l6, ufd, uport, xfd;
    struct sockaddr_storage ss;
    struct sockaddr_un sun;
    char path[104], want[256];
    churn_inventory inv;
    const churn_handle_info *h;
    l6 = t_listener(AF_INET6, 4, &port6);
    ufd = socket(AF_INET, SOCK_DGRAM, 0);
    CT_REQUIRE(ufd >= 0);
    CT_REQUIRE(bind(ufd, (struct sockaddr *)&ss, t_loopback(AF_INET, 0, &ss)) == 0);
    uport = t_local_port(ufd);
    snprintf(path, sizeof path, "/tmp/churn-macos-%ld.sock", (long)getpid());
    unlink(path);
    xfd = socket(AF_UNIX, SOCK_STREAM, 0);
    CT_REQUIRE(xfd >= 0);
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    memcpy(sun.sun_path, path, strlen(path) + 1);
    CT_REQUIRE(bind(xfd, (struct sockaddr *)&sun, sizeof sun) == 0);
    CT_REQUIRE(churn_inventory_take(0, &inv) == CHURN_OK);
    if (l6 >= 0) {
        h = t_handle_detail(&inv, l6);
        CT_REQUIRE(h != NULL);
        snprintf(want, sizeof want, "tcp6 [::1]:%d LISTEN", port6);
        CT_EQ_STR(h->detail, want);
    }
    h = t_handle_detail(&inv, ufd);
    CT_REQUIRE(h != NULL);
    snprintf(want, sizeof want, "udp 127.0.0.1:%d", uport);
    CT_EQ_STR(h->detail, want);
    h = t_handle_detail(&inv, xfd);
    CT_REQUIRE(h != NULL);
    CT_EQ_STR(h->kind, "socket");
    /* the kernel keeps the path as bound; /tmp is a symlink, so compare the tail */
    CT_CHECK(strncmp(h->detail, "unix stream ", 12) == 0);
    CT_CHECK(strstr(h->detail, "churn-macos-") != NULL);
    churn_inventory_free(&inv);
    if (l6 >= 0) close(l6);
    close(ufd);
    close(xfd);
    unlink(path);
}

CT_TEST(inventory_pipe_file_kqueue) {
    int p[2], ffd, kq;
    char tmpl[] = "/tmp/churn-macos-XXXXXX", real[PATH_MAX];
    churn_inventory inv;
    const churn_handle_info *h;
    CT_REQUIRE(pipe(p) == 0);
    ffd = mkstemp(tmpl);
    CT_REQUIRE(ffd >= 0);
    CT_REQUIRE(realpath(tmpl, real) != NULL); /* /tmp -> /private/tmp */
    kq = kqueue();
    CT_REQUIRE(kq >= 0);
    CT_REQUIRE(churn_inventory_take(0, &inv) == CHURN_OK);
    h = t_handle_detail(&inv, p[0]);
    CT_REQUIRE(h != NULL);
    CT_EQ_STR(h->kind, "pipe");
    CT_CHECK(strncmp(h->detail, "pipe:[", 6) == 0 && h->detail[strlen(h->detail) - 1] == ']');
    h = t_handle_detail(&inv, ffd);
    CT_REQUIRE(h != NULL);
    CT_EQ_STR(h->kind, "file");
    CT_EQ_STR(h->detail, real);
    h = t_handle_detail(&inv, kq);
    CT_REQUIRE(h != NULL);
    CT_EQ_STR(h->kind, "kqueue");
    CT_EQ_STR(h->detail, "kqueue");
    churn_inventory_free(&inv);
    close(p[0]); close(p[1]); close(ffd); close(kq);
    unlink(tmpl);
}

CT_TEST(inventory_named_thread) {
    t_parked p;
    churn_inventory inv;
    int i, found = 0;
    CT_REQUIRE(t_parked_start(&p, "conn-worker") == 0);
    CT_REQUIRE(churn_inventory_take(0, &inv) == CHURN_OK);
    CT_GE_LL(inv.thread_count, 2);
    for (i = 0; i < inv.thread_count; i++)
        if (inv.threads[i].tid == (long long)p.tid) {
            found = 1;
            CT_EQ_STR(inv.threads[i].name, "conn-worker");
        }
    CT_CHECK(found);
    churn_inventory_free(&inv);
    t_parked_stop(&p);
}

CT_TEST(inventory_diff_names_new_fds) {
    churn_inventory before, after, added;
    int p[2], i, seen = 0;
    CT_REQUIRE(churn_inventory_take(0, &before) == CHURN_OK);
    CT_REQUIRE(pipe(p) == 0);
    CT_REQUIRE(churn_inventory_take(0, &after) == CHURN_OK);
    CT_REQUIRE(churn_inventory_diff(&before, &after, &added) == CHURN_OK);
    CT_EQ_LL(added.handle_count, 2);
    for (i = 0; i < added.handle_count; i++)
        if (added.handles[i].id == p[0] || added.handles[i].id == p[1]) seen++;
    CT_EQ_LL(seen, 2);
    churn_inventory_free(&before);
    churn_inventory_free(&after);
    churn_inventory_free(&added);
    close(p[0]);
    close(p[1]);
}

/* ---- the churn loop against an in-process server ---------------------------------------- */

typedef struct t_server {
    pthread_t th;
    int lfd, port, stop_pipe[2];
    long long served;
} t_server;

static const char t_response[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";

/* One connection at a time: read a request head (bounded), answer it, close. */
static void *t_server_main(void *arg) {
    t_server *s = (t_server *)arg;
    for (;;) {
        struct pollfd pf[2];
        int cfd;
        char head[4096];
        size_t len = 0;
        pf[0].fd = s->lfd; pf[0].events = POLLIN; pf[0].revents = 0;
        pf[1].fd = s->stop_pipe[0]; pf[1].events = POLLIN; pf[1].revents = 0;
        if (poll(pf, 2, 1000) < 0 && errno != EINTR) break;
        if (pf[1].revents) break;
        if (!(pf[0].revents & POLLIN)) continue;
        cfd = accept(s->lfd, NULL, NULL);
        if (cfd < 0) continue;
        t_nosigpipe(cfd);
        for (;;) {
            struct pollfd cp;
            ssize_t n;
            cp.fd = cfd; cp.events = POLLIN; cp.revents = 0;
            if (poll(&cp, 1, 2000) <= 0) break;
            n = recv(cfd, head + len, sizeof head - 1 - len, 0);
            if (n <= 0) break;
            len += (size_t)n;
            head[len] = '\0';
            if (strstr(head, "\r\n\r\n")) {
                size_t off = 0;
                while (off < sizeof t_response - 1) {
                    ssize_t w = send(cfd, t_response + off, sizeof t_response - 1 - off, 0);
                    if (w <= 0) break;
                    off += (size_t)w;
                }
                break;
            }
            if (len >= sizeof head - 1) break;
        }
        close(cfd);
        s->served++;
    }
    return NULL;
}

static int t_server_start(t_server *s) {
    memset(s, 0, sizeof *s);
    s->lfd = t_listener(AF_INET, 64, &s->port);
    if (s->lfd < 0 || pipe(s->stop_pipe) != 0) return -1;
    return pthread_create(&s->th, NULL, t_server_main, s) == 0 ? 0 : -1;
}

static void t_server_stop(t_server *s) {
    char c = 'x';
    while (write(s->stop_pipe[1], &c, 1) < 0 && errno == EINTR) {}
    pthread_join(s->th, NULL);
    close(s->lfd);
    close(s->stop_pipe[0]);
    close(s->stop_pipe[1]);
}

CT_TEST(churn_run_in_process_server) {
    t_server srv;
    churn_config cfg;
    churn_result res;
    int rc;
    CT_REQUIRE(t_server_start(&srv) == 0);
    churn_config_init(&cfg, CHURN_BUDGET_SMOKE);
    cfg.port = srv.port;
    cfg.cycles = 200;
    cfg.watch_pid = 0;
    cfg.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_RESET) | CHURN_PROFILE_BIT(CHURN_PROFILE_CLOSE) |
                   CHURN_PROFILE_BIT(CHURN_PROFILE_PARTIAL_HEADERS) | CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST) |
                   CHURN_PROFILE_BIT(CHURN_PROFILE_UNREAD_RESPONSE);
    cfg.label = "macos-in-process";
    churn_limits_release(&cfg.limits);
    memset(&res, 0, sizeof res);
    rc = churn_run(&cfg, &res);
    CT_EQ_LL(rc, CHURN_OK);
    CT_EQ_LL(res.outcomes.attempted, 200);
    CT_EQ_LL(res.outcomes.connected, 200);
    CT_EQ_LL(res.outcomes.attempted, res.outcomes.completed + res.outcomes.refused + res.outcomes.timed_out +
                                     res.outcomes.reset_by_peer + res.outcomes.closed_by_peer + res.outcomes.failed);
    CT_EQ_LL(res.by_profile[CHURN_PROFILE_REQUEST].completed, 40);
    CT_CHECK(res.verdict.status != CHURN_INCONCLUSIVE);
    CT_CHECK(res.baseline.value[CHURN_METRIC_HANDLES] != CHURN_UNKNOWN);
    CT_CHECK(res.post_drain.value[CHURN_METRIC_THREADS] != CHURN_UNKNOWN);
    CT_CHECK(res.series_count > 0);
    CT_CHECK(strncmp(res.os, "macOS", 5) == 0 || strncmp(res.os, "Darwin", 6) == 0);
    if (!res.verdict.ok) churn_summary_fprint(&res, stdout);
    churn_result_free(&res);
    t_server_stop(&srv);
}

CT_TEST(churn_run_refused_port) {
    churn_config cfg;
    churn_result res;
    int port, lfd = t_listener(AF_INET, 1, &port);
    CT_REQUIRE(lfd >= 0);
    close(lfd); /* nobody listens there now */
    churn_config_init(&cfg, CHURN_BUDGET_SMOKE);
    cfg.port = port;
    memset(&res, 0, sizeof res);
    CT_EQ_LL(churn_run(&cfg, &res), CHURN_E_CONNECT);
    churn_result_free(&res);
}

/* ---- reports ---------------------------------------------------------------------------- */

static long t_file_size(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static int t_dir_has_temp(const char *dir) {
    char cmd[512];
    FILE *p;
    int found = 0;
    char line[512];
    snprintf(cmd, sizeof cmd, "ls -a '%s'", dir);
    p = popen(cmd, "r");
    if (!p) return -1;
    while (fgets(line, sizeof line, p)) if (strstr(line, ".tmp-")) found = 1;
    pclose(p);
    return found;
}

CT_TEST(report_write_atomic_and_fsize_refusal) {
    char dir[] = "/tmp/churn-macos-report-XXXXXX", path[256], buf[64];
    churn_config cfg;
    churn_result res;
    struct rlimit old, small;
    long size1;
    FILE *f;
    void (*old_xfsz)(int);
    CT_REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/churn-report.json", dir);
    churn_config_init(&cfg, CHURN_BUDGET_SMOKE);
    memset(&res, 0, sizeof res);
    churn_snapshot_take(0, &res.baseline);
    res.peak = res.baseline;
    res.post_drain = res.baseline;
    CT_EQ_LL(churn_report_write(&cfg, &res, path), CHURN_OK);
    size1 = t_file_size(path);
    CT_GE_LL(size1, 100);
    f = fopen(path, "r");
    CT_REQUIRE(f != NULL);
    CT_CHECK(fgets(buf, sizeof buf, f) != NULL && buf[0] == '{');
    fclose(f);
    CT_EQ_LL(t_dir_has_temp(dir), 0);

    /* RLIMIT_FSIZE below the report: refused up front, the old file stays as it was */
    CT_REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    small = old;
    small.rlim_cur = 16;
    old_xfsz = signal(SIGXFSZ, SIG_IGN);
    CT_REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);
    CT_EQ_LL(churn_report_write(&cfg, &res, path), CHURN_E_IO);
    setrlimit(RLIMIT_FSIZE, &old);
    signal(SIGXFSZ, old_xfsz);
    CT_EQ_LL(t_file_size(path), size1);
    CT_EQ_LL(t_dir_has_temp(dir), 0);

    /* a directory that does not exist: an error, nothing created */
    snprintf(path, sizeof path, "%s/missing/churn-report.json", dir);
    CT_CHECK(churn_report_write(&cfg, &res, path) != CHURN_OK);
    snprintf(path, sizeof path, "%s/churn-report.json", dir);
    unlink(path);
    rmdir(dir);
}

/* The owner of a listener: this process, then a child sharing it, then nobody. */
CT_TEST(listener_pid_self_and_child) {
    int port = 0, fd = t_listener(AF_INET, 8, &port), owners = 0, st;
    int ready[2];
    long pid = 0;
    char c;
    pid_t child;
    CT_REQUIRE(fd >= 0);
    CT_EQ_LL(churn_listener_pid(port, &pid, &owners), CHURN_OK);
    CT_EQ_LL(pid, (long long)getpid());
    CT_EQ_LL(owners, 1);
    CT_REQUIRE(pipe(ready) == 0);
    child = fork();
    CT_REQUIRE(child >= 0);
    if (child == 0) {
        close(ready[0]);
        if (write(ready[1], "r", 1) != 1) _exit(1);
        pause();
        _exit(0);
    }
    close(ready[1]);
    CT_REQUIRE(read(ready[0], &c, 1) == 1);
    close(ready[0]);
    CT_EQ_LL(churn_listener_pid(port, &pid, &owners), CHURN_OK);
    CT_EQ_LL(owners, 2);
    close(fd);
    CT_EQ_LL(churn_listener_pid(port, &pid, &owners), CHURN_OK);
    CT_EQ_LL(pid, (long long)child);
    kill(child, SIGKILL);
    CT_REQUIRE(waitpid(child, &st, 0) == child);
    CT_EQ_LL(churn_listener_pid(port, &pid, &owners), CHURN_E_NOPROC);
    CT_EQ_LL(churn_listener_pid(0, &pid, &owners), CHURN_E_INVAL);
}

int main(void) {
    CT_RUN(snapshot_self_basics);
    CT_RUN(snapshot_some_leaves_rest_unknown);
    CT_RUN(snapshot_errors);
    CT_RUN(snapshot_handles_rise_with_fds);
    CT_RUN(snapshot_many_fds_beyond_stack_buffer);
    CT_RUN(snapshot_threads_rise);
    CT_RUN(snapshot_memory_rises);
    CT_RUN(snapshot_sockets_close_wait_send_queue);
    CT_RUN(snapshot_children_and_zombies);
    CT_RUN(inventory_errors);
    CT_RUN(inventory_tcp_states);
    CT_RUN(inventory_tcp6_udp_unix);
    CT_RUN(inventory_pipe_file_kqueue);
    CT_RUN(inventory_named_thread);
    CT_RUN(inventory_diff_names_new_fds);
    CT_RUN(listener_pid_self_and_child);
    CT_RUN(churn_run_in_process_server);
    CT_RUN(churn_run_refused_port);
    CT_RUN(report_write_atomic_and_fsize_refusal);
    return ct_finish();
}
