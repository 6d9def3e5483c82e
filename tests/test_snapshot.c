/* test_snapshot.c - behavioural tests of churn.h snapshots and error codes on Linux.

   Every test creates real OS objects (fds of several kinds, threads, memory, children,
   zombies, TCP connections in CLOSE_WAIT, full send queues) and compares churn.h's
   numbers with what it created: deltas (after - before), exact where the kernel makes
   them exact. Loopback only (127.0.0.1 and ::1); every loop is bounded.
*/
#include "churn_test.h"
#include "churn_testutil.h"
#include "../churn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <linux/sockios.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 33))
#include <malloc.h>
#define T_HAVE_MALLINFO2 1
#endif

#define MiB (1024LL * 1024LL)

/* Sanitizers map shadow memory and keep freed blocks: memory upper bounds are off there. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define T_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define T_SANITIZED 1
#endif
#endif

/* ---- helpers ---------------------------------------------------------------------------- */

static int t_pid_fds(long pid) {
    char p[64];
    snprintf(p, sizeof p, "/proc/%ld/fd", pid);
    return t_count_dir(p);
}

static int t_pid_threads(long pid) {
    char p[64];
    snprintf(p, sizeof p, "/proc/%ld/task", pid);
    return t_count_dir(p);
}

/* Waits (bounded) until the thread count of this process equals `want`. */
static int t_wait_threads(int want) {
    int i;
    for (i = 0; i < 2000; i++) {
        if (t_self_threads() == want) return 0;
        t_sleep_ms(1);
    }
    return -1;
}

/* Memory the compiler must keep: malloc + memset of a block nobody reads may be elided. */
static char *volatile t_sink;

#define T_SNAP(pid, s) CT_REQUIRE(churn_snapshot_take((pid), (s)) == CHURN_OK)
#define T_D(a, b, m) ((a).value[m] - (b).value[m])

/* ---- version, names, errors ------------------------------------------------------------- */

CT_TEST(test_version_string) {
    CT_REQUIRE(churn_version_string() != NULL);
    CT_EQ_STR(churn_version_string(), CHURN_VERSION_STRING);
}

CT_TEST(test_metric_names) {
    static const char *want[CHURN_METRIC_COUNT] = {
        "handles", "threads", "rss_bytes", "private_bytes", "virtual_bytes", "sockets",
        "close_wait", "send_queue_bytes", "children", "zombies", "gdi_objects", "user_objects"};
    int m;
    CT_EQ_LL(CHURN_METRIC_COUNT, 12);
    for (m = 0; m < CHURN_METRIC_COUNT; m++) CT_EQ_STR(churn_metric_name((churn_metric)m), want[m]);
    CT_EQ_STR(churn_metric_name(CHURN_METRIC_HANDLES), "handles");
    CT_EQ_STR(churn_metric_name(CHURN_METRIC_CLOSE_WAIT), "close_wait");
    CT_EQ_STR(churn_metric_name(CHURN_METRIC_SEND_QUEUE_BYTES), "send_queue_bytes");
    CT_EQ_STR(churn_metric_name(CHURN_METRIC_USER_OBJECTS), "user_objects");
}

CT_TEST(test_strerror_every_code) {
    static const int codes[] = {CHURN_OK,        CHURN_E_INVAL,   CHURN_E_NOPROC,  CHURN_E_PERM,
                                CHURN_E_NOMEM,   CHURN_E_IO,      CHURN_E_UNSUPPORTED,
                                CHURN_E_CONNECT, CHURN_E_REMOTE,  CHURN_E_TIMEOUT,
                                CHURN_E_CANCELED};
    const int n = (int)(sizeof codes / sizeof codes[0]);
    int i, j;
    CT_EQ_LL(CHURN_OK, 0);
    for (i = 1; i < n; i++) CT_CHECK(codes[i] < 0);
    for (i = 0; i < n; i++) {
        const char *s = churn_strerror(codes[i]);
        CT_REQUIRE(s != NULL);
        CT_CHECK(s[0] != '\0');
        for (j = 0; j < i; j++) {
            const char *t = churn_strerror(codes[j]);
            CT_CHECK(codes[i] != codes[j]);
            CT_CHECK(t != NULL && strcmp(s, t) != 0);
        }
    }
    CT_CHECK(churn_strerror(-11) != NULL);
    CT_CHECK(churn_strerror(-12) != NULL);
    CT_CHECK(churn_strerror(-1000) != NULL);
    CT_CHECK(churn_strerror(1) != NULL);
    CT_CHECK(churn_strerror(12345) != NULL);
    CT_CHECK(churn_strerror(INT_MIN) != NULL);
    CT_CHECK(churn_strerror(INT_MAX) != NULL);
}

CT_TEST(test_errors_inval) {
    churn_snapshot s;
    CT_EQ_LL(churn_snapshot_take(0, NULL), CHURN_E_INVAL);
    CT_EQ_LL(churn_snapshot_take(getpid(), NULL), CHURN_E_INVAL);
    CT_EQ_LL(churn_snapshot_take_some(0, CHURN_METRICS_ALL, NULL), CHURN_E_INVAL);
    CT_EQ_LL(churn_snapshot_take(-1, &s), CHURN_E_INVAL);
    CT_EQ_LL(churn_snapshot_take(-12345, &s), CHURN_E_INVAL);
    CT_EQ_LL(churn_snapshot_take(LONG_MIN, &s), CHURN_E_INVAL);
    CT_EQ_LL(churn_snapshot_take_some(-1, CHURN_METRIC_BIT(CHURN_METRIC_HANDLES), &s), CHURN_E_INVAL);
    CT_EQ_LL(churn_snapshot_take_some(-7, CHURN_METRICS_ALL, &s), CHURN_E_INVAL);
}

CT_TEST(test_errors_noproc) {
    churn_snapshot s;
    pid_t pid = fork();
    int st = 0;
    CT_REQUIRE(pid >= 0);
    if (pid == 0) _exit(0);
    CT_REQUIRE(waitpid(pid, &st, 0) == pid);
    /* reaped: the pid no longer exists */
    CT_EQ_LL(churn_snapshot_take((long)pid, &s), CHURN_E_NOPROC);
    CT_EQ_LL(churn_snapshot_take_some((long)pid, CHURN_METRICS_CHEAP, &s), CHURN_E_NOPROC);
    CT_EQ_LL(churn_snapshot_take_some((long)pid, CHURN_METRIC_BIT(CHURN_METRIC_CLOSE_WAIT), &s),
             CHURN_E_NOPROC);
    /* above pid_max (at most 2^22 on Linux) */
    CT_EQ_LL(churn_snapshot_take(0x7ffffff0L, &s), CHURN_E_NOPROC);
    CT_EQ_LL(churn_snapshot_take_some(0x7ffffff0L, CHURN_METRIC_BIT(CHURN_METRIC_THREADS), &s),
             CHURN_E_NOPROC);
}

/* Snapshots of pid 1, the (root) parent and itself, as nobody. */
static void t_snapshot_three(void *parent, int *r) {
    churn_snapshot s;
    r[0] = churn_snapshot_take(1, &s);
    r[1] = churn_snapshot_take(*(long *)parent, &s);
    r[2] = churn_snapshot_take(0, &s); /* itself: always allowed */
}

/* As root: a child drops to uid/gid 65534 and snapshots pid 1 and the (root) parent. */
CT_TEST(test_errors_perm) {
    churn_snapshot s;
    if (geteuid() != 0) {
        struct stat st;
        CT_REQUIRE(stat("/proc/1", &st) == 0);
        if (st.st_uid == geteuid()) CT_SKIP("pid 1 belongs to this user (container?)");
        CT_EQ_LL(churn_snapshot_take(1, &s), CHURN_E_PERM);
        return;
    } else {
        long parent = (long)getpid();
        int rc[3] = {99, 99, 99};
        CT_REQUIRE(t_as_nobody(t_snapshot_three, &parent, rc, 3) == 0); /* dropped root */
        CT_EQ_LL(rc[0], CHURN_E_PERM);
        CT_EQ_LL(rc[1], CHURN_E_PERM);
        CT_EQ_LL(rc[2], CHURN_OK);
    }
}

/* ---- handles and sockets ---------------------------------------------------------------- */

CT_TEST(test_handles_equal_proc_listing) {
    churn_snapshot s, h;
    int listed;
    T_SNAP(0, &s);
    listed = t_self_fds();
    CT_REQUIRE(listed > 0);
    CT_EQ_LL(s.value[CHURN_METRIC_HANDLES], listed);
    CT_REQUIRE(churn_snapshot_take_some(0, CHURN_METRIC_BIT(CHURN_METRIC_HANDLES), &h) == CHURN_OK);
    CT_EQ_LL(h.value[CHURN_METRIC_HANDLES], listed);
    CT_REQUIRE(churn_snapshot_take_some(0, CHURN_METRICS_CHEAP, &h) == CHURN_OK);
    CT_EQ_LL(h.value[CHURN_METRIC_HANDLES], listed);
    CT_EQ_LL(s.value[CHURN_METRIC_THREADS], t_self_threads());
    CT_EQ_LL(s.pid, (long)getpid());
}

CT_TEST(test_handles_and_sockets_delta) {
    churn_snapshot b, a, c;
    int fds[32];
    int n = 0, nsock = 0, i, port = 0, p[2], sp[2], lst, cli, srv;
    char tmpl[] = "/tmp/churn-snap-XXXXXX";
    T_SNAP(0, &b);
    /* regular files */
    fds[n] = mkstemp(tmpl);
    CT_REQUIRE(fds[n] >= 0);
    unlink(tmpl);
    n++;
    fds[n] = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    CT_REQUIRE(fds[n] >= 0);
    n++;
    fds[n] = open("/dev/null", O_RDWR | O_CLOEXEC);
    CT_REQUIRE(fds[n] >= 0);
    n++;
    /* directories */
    fds[n] = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CT_REQUIRE(fds[n] >= 0);
    n++;
    fds[n] = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CT_REQUIRE(fds[n] >= 0);
    n++;
    /* a pipe */
    CT_REQUIRE(pipe(p) == 0);
    fds[n++] = p[0];
    fds[n++] = p[1];
    /* eventfd */
    fds[n] = eventfd(0, EFD_CLOEXEC);
    CT_REQUIRE(fds[n] >= 0);
    n++;
    /* sockets: unix pair, udp, tcp listener + both ends of a connection */
    CT_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
    fds[n++] = sp[0];
    fds[n++] = sp[1];
    nsock += 2;
    fds[n] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CT_REQUIRE(fds[n] >= 0);
    n++;
    nsock++;
    lst = t_listener(AF_INET, 16, &port);
    CT_REQUIRE(lst >= 0);
    fds[n++] = lst;
    nsock++;
    cli = t_connect(AF_INET, port);
    CT_REQUIRE(cli >= 0);
    fds[n++] = cli;
    nsock++;
    srv = accept(lst, NULL, NULL);
    CT_REQUIRE(srv >= 0);
    fds[n++] = srv;
    nsock++;
    /* a high fd number: counts are counts, not the highest number */
    fds[n] = dup2(fds[0], 900);
    CT_REQUIRE(fds[n] == 900);
    n++;
    T_SNAP(0, &a);
    CT_EQ_LL(T_D(a, b, CHURN_METRIC_HANDLES), n);
    CT_EQ_LL(T_D(a, b, CHURN_METRIC_SOCKETS), nsock);
    CT_EQ_LL(a.value[CHURN_METRIC_HANDLES], t_self_fds());
    for (i = 0; i < n; i++) close(fds[i]);
    T_SNAP(0, &c);
    CT_EQ_LL(T_D(c, b, CHURN_METRIC_HANDLES), 0);
    CT_EQ_LL(T_D(c, b, CHURN_METRIC_SOCKETS), 0);
}

CT_TEST(test_snapshot_loop_leaves_nothing) {
    churn_snapshot s;
    int fds0, thr0, i, bad = 0;
#ifdef T_HAVE_MALLINFO2
    struct mallinfo2 m0, m1;
#endif
    for (i = 0; i < 10; i++) T_SNAP(0, &s); /* warm up libc's lazy one-time allocations */
    fds0 = t_self_fds();
    thr0 = t_self_threads();
#ifdef T_HAVE_MALLINFO2
    m0 = mallinfo2();
#endif
    for (i = 0; i < 1000; i++)
        if (churn_snapshot_take(0, &s) != CHURN_OK) bad++;
#ifdef T_HAVE_MALLINFO2
    m1 = mallinfo2();
    /* nothing a snapshot allocates survives the call */
    CT_EQ_LL((long long)m1.uordblks - (long long)m0.uordblks, 0);
#endif
    CT_EQ_LL(bad, 0);
    CT_EQ_LL(t_self_fds(), fds0);
    CT_EQ_LL(t_self_threads(), thr0);
    CT_EQ_LL(s.value[CHURN_METRIC_HANDLES], fds0);
    CT_EQ_LL(s.value[CHURN_METRIC_THREADS], thr0);
}

/* ---- threads ---------------------------------------------------------------------------- */

static void *t_block_on_fd(void *arg) {
    char c;
    int fd = *(int *)arg;
    while (read(fd, &c, 1) < 0 && errno == EINTR) {}
    return NULL;
}

CT_TEST(test_threads_delta) {
    enum { N = 5 };
    pthread_t th[N];
    churn_snapshot b, a, c, some;
    int p[2], i, started = 0, thr0;
    CT_REQUIRE(pipe(p) == 0);
    t_warm_threads();
    thr0 = t_self_threads();
    T_SNAP(0, &b);
    CT_EQ_LL(b.value[CHURN_METRIC_THREADS], thr0);
    for (i = 0; i < N; i++) {
        if (pthread_create(&th[i], NULL, t_block_on_fd, &p[0]) != 0) break;
        started++;
    }
    CT_REQUIRE(started == N);
    T_SNAP(0, &a);
    CT_EQ_LL(T_D(a, b, CHURN_METRIC_THREADS), N);
    CT_REQUIRE(churn_snapshot_take_some(0, CHURN_METRIC_BIT(CHURN_METRIC_THREADS), &some) == CHURN_OK);
    CT_EQ_LL(some.value[CHURN_METRIC_THREADS] - b.value[CHURN_METRIC_THREADS], N);
    close(p[1]); /* every reader sees EOF */
    for (i = 0; i < N; i++) pthread_join(th[i], NULL);
    close(p[0]);
    /* a joined thread leaves /proc/self/task a moment after join returns */
    CT_CHECK(t_wait_threads(thr0) == 0);
    T_SNAP(0, &c);
    CT_EQ_LL(T_D(c, b, CHURN_METRIC_THREADS), 0);
}

/* ---- memory ----------------------------------------------------------------------------- */

CT_TEST(test_memory_malloc) {
    const long long M = 64 * MiB, slack = 8 * MiB;
    churn_snapshot b, a, c;
    char *mem;
    T_SNAP(0, &b);
    mem = (char *)malloc((size_t)M);
    CT_REQUIRE(mem != NULL);
    memset(mem, 0x5a, (size_t)M);
    t_sink = mem;
    T_SNAP(0, &a);
    CT_CHECK(b.value[CHURN_METRIC_RSS_BYTES] > 0);
    CT_CHECK(b.value[CHURN_METRIC_PRIVATE_BYTES] > 0);
    CT_CHECK(b.value[CHURN_METRIC_VIRTUAL_BYTES] >= b.value[CHURN_METRIC_RSS_BYTES]);
    CT_GE_LL(T_D(a, b, CHURN_METRIC_RSS_BYTES), M - slack);
    CT_GE_LL(T_D(a, b, CHURN_METRIC_PRIVATE_BYTES), M - slack);
    CT_GE_LL(T_D(a, b, CHURN_METRIC_VIRTUAL_BYTES), M - slack);
#ifndef T_SANITIZED
    /* not counted twice (valgrind's redzones add a little; sanitizers' shadow memory a lot) */
    CT_LE_LL(T_D(a, b, CHURN_METRIC_RSS_BYTES), M + M / 2);
#endif
    t_sink = NULL;
    free(mem);
    /* after free() the memory may stay mapped (sanitizer quarantines, valgrind), so only
       plausibility here */
    T_SNAP(0, &c);
    CT_CHECK(c.value[CHURN_METRIC_RSS_BYTES] > 0);
}

CT_TEST(test_memory_mmap) {
    const long long M = 48 * MiB, slack = 8 * MiB;
    churn_snapshot b, a, c, some;
    char *mem;
    long long i;
    long pg = sysconf(_SC_PAGESIZE);
    T_SNAP(0, &b);
    mem = (char *)mmap(NULL, (size_t)M, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CT_REQUIRE(mem != MAP_FAILED);
    T_SNAP(0, &a);
    /* mapped, not touched: virtual rises, rss does not */
    CT_GE_LL(T_D(a, b, CHURN_METRIC_VIRTUAL_BYTES), M);
    CT_LE_LL(T_D(a, b, CHURN_METRIC_RSS_BYTES), slack);
    for (i = 0; i < M; i += pg) mem[i] = (char)(i | 1);
    T_SNAP(0, &c);
    CT_GE_LL(T_D(c, b, CHURN_METRIC_RSS_BYTES), M - slack);
    CT_GE_LL(T_D(c, b, CHURN_METRIC_PRIVATE_BYTES), M - slack);
    CT_GE_LL(T_D(c, b, CHURN_METRIC_VIRTUAL_BYTES), M);
    CT_REQUIRE(churn_snapshot_take_some(0, CHURN_METRICS_CHEAP, &some) == CHURN_OK);
    CT_GE_LL(some.value[CHURN_METRIC_RSS_BYTES] - b.value[CHURN_METRIC_RSS_BYTES], M - slack);
    CT_GE_LL(some.value[CHURN_METRIC_PRIVATE_BYTES] - b.value[CHURN_METRIC_PRIVATE_BYTES], M - slack);
    munmap(mem, (size_t)M);
}

/* ---- children and zombies --------------------------------------------------------------- */

CT_TEST(test_zombies_and_children) {
    enum { K = 3 };
    pid_t pids[K];
    churn_snapshot b, z, r;
    int i, forked = 0;
    T_SNAP(0, &b);
    CT_EQ_LL(b.value[CHURN_METRIC_CHILDREN], 0);
    CT_EQ_LL(b.value[CHURN_METRIC_ZOMBIES], 0);
    fflush(stdout);
    for (i = 0; i < K; i++) {
        pids[i] = fork();
        if (pids[i] < 0) break;
        if (pids[i] == 0) _exit(7);
        forked++;
    }
    CT_REQUIRE(forked == K);
    /* wait until each child has exited, without reaping it */
    for (i = 0; i < K; i++) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        CT_CHECK(waitid(P_PID, (id_t)pids[i], &si, WEXITED | WNOWAIT) == 0);
    }
    T_SNAP(0, &z);
    CT_EQ_LL(T_D(z, b, CHURN_METRIC_ZOMBIES), K);
    CT_EQ_LL(T_D(z, b, CHURN_METRIC_CHILDREN), 0); /* children counts live ones only */
    for (i = 0; i < K; i++) {
        int st = 0;
        CT_CHECK(waitpid(pids[i], &st, 0) == pids[i]);
    }
    T_SNAP(0, &r);
    CT_EQ_LL(T_D(r, b, CHURN_METRIC_ZOMBIES), 0);
    CT_EQ_LL(T_D(r, b, CHURN_METRIC_CHILDREN), 0);
}

CT_TEST(test_live_children) {
    enum { K = 4 };
    pid_t pids[K];
    churn_snapshot b, l, half, r;
    int i, forked = 0, gate[2];
    char c = 0;
    CT_REQUIRE(pipe(gate) == 0);
    T_SNAP(0, &b);
    fflush(stdout);
    for (i = 0; i < K; i++) {
        pids[i] = fork();
        if (pids[i] < 0) break;
        if (pids[i] == 0) {
            close(gate[1]);
            (void)!read(gate[0], &c, 1); /* sleeps until the parent closes the gate */
            _exit(0);
        }
        forked++;
    }
    close(gate[0]);
    CT_REQUIRE(forked == K);
    T_SNAP(0, &l);
    CT_EQ_LL(T_D(l, b, CHURN_METRIC_CHILDREN), K);
    CT_EQ_LL(T_D(l, b, CHURN_METRIC_ZOMBIES), 0);
    /* kill one: it becomes a zombie, no longer a live child */
    kill(pids[0], SIGKILL);
    {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        CT_CHECK(waitid(P_PID, (id_t)pids[0], &si, WEXITED | WNOWAIT) == 0);
    }
    T_SNAP(0, &half);
    CT_EQ_LL(T_D(half, b, CHURN_METRIC_CHILDREN), K - 1);
    CT_EQ_LL(T_D(half, b, CHURN_METRIC_ZOMBIES), 1);
    for (i = 1; i < K; i++) kill(pids[i], SIGKILL);
    for (i = 0; i < K; i++) {
        int st = 0;
        CT_CHECK(waitpid(pids[i], &st, 0) == pids[i]);
    }
    close(gate[1]);
    T_SNAP(0, &r);
    CT_EQ_LL(T_D(r, b, CHURN_METRIC_CHILDREN), 0);
    CT_EQ_LL(T_D(r, b, CHURN_METRIC_ZOMBIES), 0);
}

/* A prefork-style process with 1,000 children: more than one page of the kernel's
   /proc/P/task/T/children list. Half are then killed (zombies until reaped). */
CT_TEST(test_many_children) {
    enum { K = 1000 };
    static pid_t pids[K];
    churn_snapshot b, l, h, r;
    int i, forked = 0, gate[2], fork_errno = 0;
    char c = 0;
    CT_REQUIRE(pipe(gate) == 0);
    T_SNAP(0, &b);
    fflush(stdout);
    for (i = 0; i < K; i++) {
        pids[i] = fork();
        if (pids[i] < 0) {
            fork_errno = errno;
            break;
        }
        if (pids[i] == 0) {
            close(gate[1]);
            (void)!read(gate[0], &c, 1);
            _exit(0);
        }
        forked++;
    }
    close(gate[0]);
    if (forked == K) {
        T_SNAP(0, &l);
        CT_EQ_LL(T_D(l, b, CHURN_METRIC_CHILDREN), K);
        CT_EQ_LL(T_D(l, b, CHURN_METRIC_ZOMBIES), 0);
        for (i = 0; i < K; i += 2) kill(pids[i], SIGKILL);
        for (i = 0; i < K; i += 2) {
            siginfo_t si;
            memset(&si, 0, sizeof si);
            CT_CHECK(waitid(P_PID, (id_t)pids[i], &si, WEXITED | WNOWAIT) == 0);
        }
        T_SNAP(0, &h);
        CT_EQ_LL(T_D(h, b, CHURN_METRIC_CHILDREN), K / 2);
        CT_EQ_LL(T_D(h, b, CHURN_METRIC_ZOMBIES), K / 2);
    }
    close(gate[1]); /* the rest read EOF and exit */
    for (i = 0; i < forked; i++) {
        int st = 0;
        CT_CHECK(waitpid(pids[i], &st, 0) == pids[i]);
    }
    if (forked != K) {
        printf("    info: fork failed after %d children: %s\n", forked, strerror(fork_errno));
        CT_SKIP("cannot fork 1,000 children here (RLIMIT_NPROC or memory)");
    }
    T_SNAP(0, &r);
    CT_EQ_LL(T_D(r, b, CHURN_METRIC_CHILDREN), 0);
    CT_EQ_LL(T_D(r, b, CHURN_METRIC_ZOMBIES), 0);
}

/* ---- TCP: CLOSE_WAIT and send queues ---------------------------------------------------- */

static void t_close_wait(int family) {
    enum { N = 5 };
    int lst, port = 0, cli[N], srv[N], i;
    churn_snapshot b, e, w, r;
    T_SNAP(0, &b);
    lst = t_listener(family, 64, &port);
    CT_REQUIRE(lst >= 0);
    for (i = 0; i < N; i++) {
        cli[i] = t_connect(family, port);
        CT_REQUIRE(cli[i] >= 0);
        srv[i] = accept(lst, NULL, NULL);
        CT_REQUIRE(srv[i] >= 0);
    }
    T_SNAP(0, &e); /* all ESTABLISHED */
    CT_EQ_LL(T_D(e, b, CHURN_METRIC_CLOSE_WAIT), 0);
    CT_EQ_LL(T_D(e, b, CHURN_METRIC_SOCKETS), 1 + 2 * N);
    CT_EQ_LL(T_D(e, b, CHURN_METRIC_SEND_QUEUE_BYTES), 0); /* not the listener's backlog */
    for (i = 0; i < N; i++) close(cli[i]);
    for (i = 0; i < N; i++) CT_CHECK(t_wait_eof(srv[i]) == 0);
    T_SNAP(0, &w);
    CT_EQ_LL(T_D(w, b, CHURN_METRIC_CLOSE_WAIT), N);
    CT_EQ_LL(T_D(w, b, CHURN_METRIC_SOCKETS), 1 + N);
    {
        churn_snapshot some;
        CT_REQUIRE(churn_snapshot_take_some(0, CHURN_METRIC_BIT(CHURN_METRIC_CLOSE_WAIT), &some) ==
                   CHURN_OK);
        CT_EQ_LL(some.value[CHURN_METRIC_CLOSE_WAIT] - b.value[CHURN_METRIC_CLOSE_WAIT], N);
    }
    for (i = 0; i < N; i++) close(srv[i]);
    close(lst);
    T_SNAP(0, &r);
    CT_EQ_LL(T_D(r, b, CHURN_METRIC_CLOSE_WAIT), 0);
    CT_EQ_LL(T_D(r, b, CHURN_METRIC_SOCKETS), 0);
}

CT_TEST(test_close_wait_ipv4) { t_close_wait(AF_INET); }

CT_TEST(test_close_wait_ipv6) {
    if (!t_have_ipv6()) CT_SKIP("::1 unavailable (no IPv6 loopback)");
    t_close_wait(AF_INET6);
}

static void t_send_queue(int family) {
    int lst, port = 0, cli, srv, outq = 0, outq2 = 0, i;
    long long sent = 0;
    static char buf[65536];
    churn_snapshot b, f, r;
    memset(buf, 'q', sizeof buf);
    T_SNAP(0, &b);
    lst = t_listener(family, 128, &port);
    CT_REQUIRE(lst >= 0);
    cli = t_connect(family, port);
    CT_REQUIRE(cli >= 0);
    srv = accept(lst, NULL, NULL);
    CT_REQUIRE(srv >= 0);
    /* a listener with a 128 backlog and an idle connection queue nothing */
    T_SNAP(0, &f);
    CT_EQ_LL(T_D(f, b, CHURN_METRIC_SEND_QUEUE_BYTES), 0);
    /* the peer (srv) never reads: fill cli's send queue until EAGAIN */
    CT_REQUIRE(fcntl(cli, F_SETFL, fcntl(cli, F_GETFL) | O_NONBLOCK) == 0);
    for (i = 0; i < 20000; i++) {
        ssize_t w = send(cli, buf, sizeof buf, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR) continue;
            break;
        }
        sent += w;
    }
    CT_REQUIRE(errno == EAGAIN || errno == EWOULDBLOCK);
    CT_REQUIRE(ioctl(cli, SIOCOUTQ, &outq) == 0);
    T_SNAP(0, &f);
    CT_REQUIRE(ioctl(cli, SIOCOUTQ, &outq2) == 0);
    printf("    info: sent %lld bytes, SIOCOUTQ %d/%d, send_queue_bytes delta %lld\n", sent, outq,
           outq2, T_D(f, b, CHURN_METRIC_SEND_QUEUE_BYTES));
    CT_CHECK(outq > 0);
    CT_CHECK(T_D(f, b, CHURN_METRIC_SEND_QUEUE_BYTES) > 0);
    CT_GE_LL(T_D(f, b, CHURN_METRIC_SEND_QUEUE_BYTES), (outq < outq2 ? outq : outq2) / 2);
    CT_LE_LL(T_D(f, b, CHURN_METRIC_SEND_QUEUE_BYTES), sent);
    {
        churn_snapshot some;
        CT_REQUIRE(churn_snapshot_take_some(0, CHURN_METRIC_BIT(CHURN_METRIC_SEND_QUEUE_BYTES),
                                            &some) == CHURN_OK);
        CT_GE_LL(some.value[CHURN_METRIC_SEND_QUEUE_BYTES] - b.value[CHURN_METRIC_SEND_QUEUE_BYTES],
                 (outq < outq2 ? outq : outq2) / 2);
        CT_EQ_LL(some.value[CHURN_METRIC_HANDLES], CHURN_UNKNOWN);
    }
    close(cli);
    close(srv);
    close(lst);
    T_SNAP(0, &r);
    CT_EQ_LL(T_D(r, b, CHURN_METRIC_SEND_QUEUE_BYTES), 0);
}

CT_TEST(test_send_queue_ipv4) { t_send_queue(AF_INET); }

CT_TEST(test_send_queue_ipv6) {
    if (!t_have_ipv6()) CT_SKIP("::1 unavailable (no IPv6 loopback)");
    t_send_queue(AF_INET6);
}

/* Enough sockets that the kernel's answers span many netlink messages / table pages. */
static int t_raise_nofile(rlim_t want) {
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return -1;
    if (lim.rlim_cur >= want) return 0;
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < want) return -1;
    lim.rlim_cur = want;
    return setrlimit(RLIMIT_NOFILE, &lim);
}

CT_TEST(test_close_wait_many) {
    enum { N4 = 600, N6 = 400 };
    static int cli[N4 + N6], srv[N4 + N6];
    int lst4, lst6 = -1, p4 = 0, p6 = 0, i, n = 0, v6 = t_have_ipv6();
    churn_snapshot b, w, some, r;
    if (t_raise_nofile(4096) != 0) CT_SKIP("cannot raise RLIMIT_NOFILE to 4096");
    T_SNAP(0, &b);
    lst4 = t_listener(AF_INET, 1024, &p4);
    CT_REQUIRE(lst4 >= 0);
    if (v6) {
        lst6 = t_listener(AF_INET6, 1024, &p6);
        CT_REQUIRE(lst6 >= 0);
    }
    for (i = 0; i < N4 + (v6 ? N6 : 0); i++) {
        int fam = i < N4 ? AF_INET : AF_INET6;
        cli[n] = t_connect(fam, fam == AF_INET ? p4 : p6);
        if (cli[n] < 0) break;
        srv[n] = accept(fam == AF_INET ? lst4 : lst6, NULL, NULL);
        if (srv[n] < 0) {
            close(cli[n]);
            break;
        }
        n++;
    }
    CT_REQUIRE(n == N4 + (v6 ? N6 : 0));
    for (i = 0; i < n; i++) close(cli[i]);
    for (i = 0; i < n; i++) CT_CHECK(t_wait_eof(srv[i]) == 0);
    T_SNAP(0, &w);
    CT_EQ_LL(T_D(w, b, CHURN_METRIC_CLOSE_WAIT), n);
    CT_EQ_LL(T_D(w, b, CHURN_METRIC_SOCKETS), n + 1 + (v6 ? 1 : 0));
    CT_EQ_LL(T_D(w, b, CHURN_METRIC_HANDLES), n + 1 + (v6 ? 1 : 0));
    CT_EQ_LL(T_D(w, b, CHURN_METRIC_SEND_QUEUE_BYTES), 0);
    CT_REQUIRE(churn_snapshot_take_some(0, CHURN_METRIC_BIT(CHURN_METRIC_CLOSE_WAIT), &some) == CHURN_OK);
    CT_EQ_LL(some.value[CHURN_METRIC_CLOSE_WAIT], w.value[CHURN_METRIC_CLOSE_WAIT]);
    /* half of them closed: CLOSE_WAIT drops by exactly that many */
    for (i = 0; i < n; i += 2) close(srv[i]);
    T_SNAP(0, &r);
    CT_EQ_LL(T_D(r, b, CHURN_METRIC_CLOSE_WAIT), n / 2);
    for (i = 1; i < n; i += 2) close(srv[i]);
    close(lst4);
    if (lst6 >= 0) close(lst6);
    T_SNAP(0, &r);
    CT_EQ_LL(T_D(r, b, CHURN_METRIC_CLOSE_WAIT), 0);
    CT_EQ_LL(T_D(r, b, CHURN_METRIC_SOCKETS), 0);
}

/* Many connections with small, full send queues: the metric is their sum. */
CT_TEST(test_send_queue_many) {
    enum { N = 100 };
    static int cli[N], srv[N];
    static char buf[16384];
    int lst, port = 0, i, n = 0, small = 4096;
    long long outq_sum = 0, sent_sum = 0;
    churn_snapshot b, f, r;
    if (t_raise_nofile(1024) != 0) CT_SKIP("cannot raise RLIMIT_NOFILE to 1024");
    memset(buf, 's', sizeof buf);
    T_SNAP(0, &b);
    lst = t_listener(AF_INET, 256, &port);
    CT_REQUIRE(lst >= 0);
    CT_REQUIRE(setsockopt(lst, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0);
    for (i = 0; i < N; i++) {
        struct sockaddr_storage ss;
        socklen_t len = t_loopback(AF_INET, port, &ss);
        cli[n] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (cli[n] < 0) break;
        setsockopt(cli[n], SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
        if (connect(cli[n], (struct sockaddr *)&ss, len) != 0) {
            close(cli[n]);
            break;
        }
        srv[n] = accept(lst, NULL, NULL);
        if (srv[n] < 0) {
            close(cli[n]);
            break;
        }
        n++;
    }
    CT_REQUIRE(n == N);
    for (i = 0; i < n; i++) {
        int k, q = 0;
        fcntl(cli[i], F_SETFL, fcntl(cli[i], F_GETFL) | O_NONBLOCK);
        for (k = 0; k < 10000; k++) {
            ssize_t w = send(cli[i], buf, sizeof buf, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w < 0) {
                if (errno == EINTR) continue;
                break;
            }
            sent_sum += w;
        }
        if (ioctl(cli[i], SIOCOUTQ, &q) == 0) outq_sum += q;
    }
    T_SNAP(0, &f);
    printf("    info: %d connections: sent %lld, SIOCOUTQ sum %lld, send_queue_bytes delta %lld\n", n,
           sent_sum, outq_sum, T_D(f, b, CHURN_METRIC_SEND_QUEUE_BYTES));
    CT_CHECK(outq_sum > 0);
    CT_GE_LL(T_D(f, b, CHURN_METRIC_SEND_QUEUE_BYTES), outq_sum / 2);
    CT_LE_LL(T_D(f, b, CHURN_METRIC_SEND_QUEUE_BYTES), sent_sum);
    for (i = 0; i < n; i++) {
        close(cli[i]);
        close(srv[i]);
    }
    close(lst);
    T_SNAP(0, &r);
    CT_EQ_LL(T_D(r, b, CHURN_METRIC_SEND_QUEUE_BYTES), 0);
    CT_EQ_LL(T_D(r, b, CHURN_METRIC_SOCKETS), 0);
}

/* Nothing is printed unasked: stdout and stderr stay empty across every call, errors included. */
CT_TEST(test_silent) {
    char tmpl[] = "/tmp/churn-silent-XXXXXX";
    int fd = mkstemp(tmpl), o1, o2, i;
    churn_snapshot s;
    struct stat st;
    CT_REQUIRE(fd >= 0);
    unlink(tmpl);
    fflush(stdout);
    fflush(stderr);
    o1 = dup(1);
    o2 = dup(2);
    CT_REQUIRE(o1 >= 0 && o2 >= 0);
    dup2(fd, 1);
    dup2(fd, 2);
    for (i = 0; i < 3; i++) {
        (void)churn_snapshot_take(0, &s);
        (void)churn_snapshot_take_some(0, CHURN_METRICS_CHEAP, &s);
        (void)churn_snapshot_take(0x7ffffff0L, &s);
        (void)churn_snapshot_take(-5, &s);
        (void)churn_snapshot_take(0, NULL);
        (void)churn_snapshot_take(1, &s);
        (void)churn_strerror(-999);
        (void)churn_metric_name(CHURN_METRIC_COUNT);
    }
    fflush(stdout);
    fflush(stderr);
    dup2(o1, 1);
    dup2(o2, 2);
    close(o1);
    close(o2);
    CT_REQUIRE(fstat(fd, &st) == 0);
    CT_EQ_LL(st.st_size, 0);
    close(fd);
}

/* `at` is CLOCK_MONOTONIC seconds: between two readings of that clock around the call. */
CT_TEST(test_snapshot_at_is_monotonic_clock) {
    struct timespec t0, t1;
    churn_snapshot s;
    double a, b;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    T_SNAP(0, &s);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    a = (double)t0.tv_sec + (double)t0.tv_nsec / 1e9;
    b = (double)t1.tv_sec + (double)t1.tv_nsec / 1e9;
    if (!(s.at >= a - 1e-6 && s.at <= b + 1e-6))
        printf("    at %.6f outside [%.6f, %.6f]\n", s.at, a, b);
    CT_CHECK(s.at >= a - 1e-6 && s.at <= b + 1e-6);
}

/* ---- another process by pid ------------------------------------------------------------- */

static void *t_child_thread(void *arg) {
    char c;
    int fd = *(int *)arg;
    while (read(fd, &c, 1) < 0 && errno == EINTR) {}
    return NULL;
}

CT_TEST(test_child_by_pid) {
    enum { T = 3 };
    int ready[2], go[2], st = 0, k = 0, cw_expect = 0;
    int info[3] = {0, 0, 0};
    pid_t pid;
    char c = 0;
    churn_snapshot s1, s2, s3;
    CT_REQUIRE(pipe(ready) == 0);
    CT_REQUIRE(pipe(go) == 0);
    fflush(stdout);
    pid = fork();
    CT_REQUIRE(pid >= 0);
    if (pid == 0) {
        /* the child: stage 1 ready, wait for go, open fds and start threads, stage 2 ready */
        int blk[2], i, opened = 0, socks = 0;
        pthread_t th[T];
        int r[3];
        close(ready[0]);
        close(go[1]);
        (void)!write(ready[1], "a", 1);
        if (read(go[0], &c, 1) != 1) _exit(1);
        if (pipe(blk) == 0) opened += 2;
        if (open("/dev/null", O_RDONLY) >= 0) opened++;
        if (open("/", O_RDONLY | O_DIRECTORY) >= 0) opened++;
        if (eventfd(0, 0) >= 0) opened++;
        if (socket(AF_INET, SOCK_STREAM, 0) >= 0) { opened++; socks++; }
        if (socket(AF_INET6, SOCK_DGRAM, 0) >= 0) { opened++; socks++; }
        for (i = 0; i < T; i++)
            if (pthread_create(&th[i], NULL, t_child_thread, &blk[0]) != 0) _exit(2);
        r[0] = opened;
        r[1] = socks;
        r[2] = T;
        (void)!write(ready[1], r, sizeof r);
        for (;;) pause();
    }
    close(ready[1]);
    close(go[0]);
    CT_REQUIRE(read(ready[0], &c, 1) == 1);
    CT_REQUIRE(churn_snapshot_take((long)pid, &s1) == CHURN_OK);
    CT_EQ_LL(s1.pid, (long)pid);
    CT_EQ_LL(s1.value[CHURN_METRIC_HANDLES], t_pid_fds(pid));
    CT_EQ_LL(s1.value[CHURN_METRIC_THREADS], t_pid_threads(pid)); /* 1, or 2 under TSan */
    CT_REQUIRE(write(go[1], "g", 1) == 1);
    CT_REQUIRE(t_read_full(ready[0], info, sizeof info) == 0);
    k = info[0];
    CT_REQUIRE(churn_snapshot_take((long)pid, &s2) == CHURN_OK);
    CT_EQ_LL(s2.pid, (long)pid);
    CT_EQ_LL(T_D(s2, s1, CHURN_METRIC_HANDLES), k);
    CT_EQ_LL(T_D(s2, s1, CHURN_METRIC_SOCKETS), info[1]);
    CT_EQ_LL(T_D(s2, s1, CHURN_METRIC_THREADS), info[2]);
    CT_EQ_LL(s2.value[CHURN_METRIC_HANDLES], t_pid_fds(pid));
    CT_EQ_LL(s2.value[CHURN_METRIC_THREADS], t_pid_threads(pid));
    CT_EQ_LL(s2.value[CHURN_METRIC_CLOSE_WAIT], cw_expect);
    CT_EQ_LL(s2.value[CHURN_METRIC_SEND_QUEUE_BYTES], 0);
    CT_EQ_LL(s2.value[CHURN_METRIC_CHILDREN], 0);
    CT_EQ_LL(s2.value[CHURN_METRIC_ZOMBIES], 0);
    CT_CHECK(s2.value[CHURN_METRIC_RSS_BYTES] > 0);
    CT_CHECK(s2.value[CHURN_METRIC_PRIVATE_BYTES] > 0);
    CT_CHECK(s2.value[CHURN_METRIC_VIRTUAL_BYTES] > 0);
    CT_EQ_LL(s2.value[CHURN_METRIC_GDI_OBJECTS], CHURN_UNKNOWN);
    CT_EQ_LL(s2.value[CHURN_METRIC_USER_OBJECTS], CHURN_UNKNOWN);
    {
        churn_snapshot some;
        CT_REQUIRE(churn_snapshot_take_some((long)pid, CHURN_METRICS_CHEAP, &some) == CHURN_OK);
        CT_EQ_LL(some.value[CHURN_METRIC_HANDLES], s2.value[CHURN_METRIC_HANDLES]);
        CT_EQ_LL(some.value[CHURN_METRIC_THREADS], s2.value[CHURN_METRIC_THREADS]);
        CT_EQ_LL(some.value[CHURN_METRIC_SOCKETS], CHURN_UNKNOWN);
    }
    /* the parent sees the child among its live children */
    CT_REQUIRE(churn_snapshot_take(0, &s3) == CHURN_OK);
    CT_GE_LL(s3.value[CHURN_METRIC_CHILDREN], 1);
    kill(pid, SIGKILL);
    CT_CHECK(waitpid(pid, &st, 0) == pid);
    close(ready[0]);
    close(go[1]);
    CT_EQ_LL(churn_snapshot_take((long)pid, &s3), CHURN_E_NOPROC);
}

/* Another process's sockets, children, zombies and memory, seen from outside by pid. */
typedef struct t_net_report {
    int close_wait, sockets, outq, live_pid;
    long long sent;
} t_net_report;

CT_TEST(test_child_by_pid_net_children_memory) {
    enum { N = 3 };
    const long long M = 32 * MiB, slack = 8 * MiB;
    int ready[2], go[2], st = 0;
    pid_t pid;
    char c = 0;
    t_net_report r;
    churn_snapshot s1, s2, some;
    memset(&r, 0, sizeof r);
    CT_REQUIRE(pipe(ready) == 0);
    CT_REQUIRE(pipe(go) == 0);
    fflush(stdout);
    pid = fork();
    CT_REQUIRE(pid >= 0);
    if (pid == 0) {
        int lst, port = 0, cli[N], srv[N], i, a, b, gate[2], outq = 0;
        pid_t dead, live;
        char *mem;
        static char buf[65536];
        t_net_report w;
        memset(&w, 0, sizeof w);
        close(ready[0]);
        close(go[1]);
        (void)!write(ready[1], "a", 1);
        if (read(go[0], &c, 1) != 1) _exit(1);
        /* N connections whose peer closed: the accepted ends sit in CLOSE_WAIT */
        lst = t_listener(AF_INET, 64, &port);
        if (lst < 0) _exit(2);
        for (i = 0; i < N; i++) {
            cli[i] = t_connect(AF_INET, port);
            srv[i] = accept(lst, NULL, NULL);
            if (cli[i] < 0 || srv[i] < 0) _exit(3);
        }
        for (i = 0; i < N; i++) close(cli[i]);
        for (i = 0; i < N; i++)
            if (t_wait_eof(srv[i]) != 0) _exit(4);
        /* one connection with a full send queue: b never reads */
        a = t_connect(AF_INET, port);
        b = accept(lst, NULL, NULL);
        if (a < 0 || b < 0) _exit(5);
        fcntl(a, F_SETFL, fcntl(a, F_GETFL) | O_NONBLOCK);
        memset(buf, 'z', sizeof buf);
        for (i = 0; i < 20000; i++) {
            ssize_t n = send(a, buf, sizeof buf, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (n < 0) {
                if (errno == EINTR) continue;
                break;
            }
            w.sent += n;
        }
        if (ioctl(a, SIOCOUTQ, &outq) != 0) _exit(6);
        w.outq = outq;
        w.close_wait = N;
        w.sockets = 1 + N + 2;
        /* one zombie and one live grandchild */
        dead = fork();
        if (dead == 0) _exit(0);
        if (dead < 0 || pipe(gate) != 0) _exit(7);
        live = fork();
        if (live == 0) {
            close(gate[1]);
            (void)!read(gate[0], &c, 1); /* EOF when this child dies */
            _exit(0);
        }
        if (live < 0) _exit(8);
        close(gate[0]);
        {
            siginfo_t si;
            memset(&si, 0, sizeof si);
            if (waitid(P_PID, (id_t)dead, &si, WEXITED | WNOWAIT) != 0) _exit(9);
        }
        w.live_pid = (int)live;
        /* M bytes of touched private memory */
        mem = (char *)malloc((size_t)M);
        if (!mem) _exit(10);
        memset(mem, 0x33, (size_t)M);
        t_sink = mem;
        (void)!write(ready[1], &w, sizeof w);
        for (;;) pause();
    }
    close(ready[1]);
    close(go[0]);
    CT_REQUIRE(read(ready[0], &c, 1) == 1);
    CT_REQUIRE(churn_snapshot_take((long)pid, &s1) == CHURN_OK);
    CT_REQUIRE(write(go[1], "g", 1) == 1);
    if (t_read_full(ready[0], &r, sizeof r) != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        CT_REQUIRE(!"child failed to set up");
    }
    CT_REQUIRE(churn_snapshot_take((long)pid, &s2) == CHURN_OK);
    printf("    info: child queued %d bytes (sent %lld); snapshot send_queue_bytes %lld -> %lld\n", r.outq,
           r.sent, s1.value[CHURN_METRIC_SEND_QUEUE_BYTES], s2.value[CHURN_METRIC_SEND_QUEUE_BYTES]);
    CT_EQ_LL(T_D(s2, s1, CHURN_METRIC_CLOSE_WAIT), r.close_wait);
    CT_EQ_LL(T_D(s2, s1, CHURN_METRIC_SOCKETS), r.sockets);
    CT_CHECK(r.outq > 0);
    CT_GE_LL(T_D(s2, s1, CHURN_METRIC_SEND_QUEUE_BYTES), r.outq / 2);
    CT_LE_LL(T_D(s2, s1, CHURN_METRIC_SEND_QUEUE_BYTES), r.sent);
    CT_EQ_LL(s2.value[CHURN_METRIC_CHILDREN], 1);
    CT_EQ_LL(s2.value[CHURN_METRIC_ZOMBIES], 1);
    CT_GE_LL(T_D(s2, s1, CHURN_METRIC_RSS_BYTES), M - slack);
    CT_GE_LL(T_D(s2, s1, CHURN_METRIC_PRIVATE_BYTES), M - slack);
    CT_GE_LL(T_D(s2, s1, CHURN_METRIC_VIRTUAL_BYTES), M - slack);
    /* the masked path agrees for each metric alone */
    CT_REQUIRE(churn_snapshot_take_some((long)pid, CHURN_METRIC_BIT(CHURN_METRIC_CLOSE_WAIT), &some) == CHURN_OK);
    CT_EQ_LL(some.value[CHURN_METRIC_CLOSE_WAIT], s2.value[CHURN_METRIC_CLOSE_WAIT]);
    CT_REQUIRE(churn_snapshot_take_some((long)pid, CHURN_METRIC_BIT(CHURN_METRIC_SEND_QUEUE_BYTES), &some) ==
               CHURN_OK);
    CT_GE_LL(some.value[CHURN_METRIC_SEND_QUEUE_BYTES] - s1.value[CHURN_METRIC_SEND_QUEUE_BYTES], r.outq / 2);
    CT_REQUIRE(churn_snapshot_take_some((long)pid, CHURN_METRIC_BIT(CHURN_METRIC_ZOMBIES) |
                                                       CHURN_METRIC_BIT(CHURN_METRIC_CHILDREN), &some) == CHURN_OK);
    CT_EQ_LL(some.value[CHURN_METRIC_CHILDREN], 1);
    CT_EQ_LL(some.value[CHURN_METRIC_ZOMBIES], 1);
    CT_REQUIRE(churn_snapshot_take_some((long)pid, CHURN_METRIC_BIT(CHURN_METRIC_SOCKETS), &some) == CHURN_OK);
    CT_EQ_LL(some.value[CHURN_METRIC_SOCKETS], s2.value[CHURN_METRIC_SOCKETS]);
    kill(pid, SIGKILL);
    CT_CHECK(waitpid(pid, &st, 0) == pid);
    close(ready[0]);
    close(go[1]);
}

CT_TEST(test_self_by_explicit_pid) {
    churn_snapshot a, b;
    int listed;
    CT_REQUIRE(churn_snapshot_take((long)getpid(), &a) == CHURN_OK);
    listed = t_self_fds();
    CT_REQUIRE(churn_snapshot_take(0, &b) == CHURN_OK);
    CT_EQ_LL(a.pid, (long)getpid());
    CT_EQ_LL(a.value[CHURN_METRIC_HANDLES], listed);
    CT_EQ_LL(a.value[CHURN_METRIC_HANDLES], b.value[CHURN_METRIC_HANDLES]);
    CT_EQ_LL(a.value[CHURN_METRIC_THREADS], b.value[CHURN_METRIC_THREADS]);
    CT_EQ_LL(a.value[CHURN_METRIC_SOCKETS], b.value[CHURN_METRIC_SOCKETS]);
    CT_EQ_LL(a.value[CHURN_METRIC_CHILDREN], b.value[CHURN_METRIC_CHILDREN]);
}

CT_TEST(test_many_threads) {
    enum { N = 64 };
    pthread_t th[N];
    churn_snapshot b, a;
    int p[2], i, started = 0;
    CT_REQUIRE(pipe(p) == 0);
    t_warm_threads();
    T_SNAP(0, &b);
    for (i = 0; i < N; i++) {
        if (pthread_create(&th[i], NULL, t_block_on_fd, &p[0]) != 0) break;
        started++;
    }
    T_SNAP(0, &a);
    CT_EQ_LL(T_D(a, b, CHURN_METRIC_THREADS), started);
    CT_EQ_LL(a.value[CHURN_METRIC_THREADS], t_self_threads());
    close(p[1]);
    for (i = 0; i < started; i++) pthread_join(th[i], NULL);
    close(p[0]);
    CT_CHECK(t_wait_threads((int)b.value[CHURN_METRIC_THREADS]) == 0);
    CT_EQ_LL(started, N);
}

/* A process that exits while it is being measured: CHURN_OK or CHURN_E_NOPROC, never
   another code, never a crash. */
CT_TEST(test_snapshot_of_exiting_process) {
    int i, ok = 0, noproc = 0, other = 0, first_other = 0;
    fflush(stdout);
    for (i = 0; i < 200; i++) {
        churn_snapshot s;
        int rc, st = 0;
        pid_t p = fork();
        CT_REQUIRE(p >= 0);
        if (p == 0) {
            int k;
            for (k = 0; k < (i % 7) * 2000; k++) (void)getppid();
            _exit(0);
        }
        rc = (i & 1) ? churn_snapshot_take((long)p, &s)
                     : churn_snapshot_take_some((long)p, CHURN_METRICS_CHEAP, &s);
        if (rc == CHURN_OK) ok++;
        else if (rc == CHURN_E_NOPROC) noproc++;
        else if (other++ == 0) first_other = rc;
        CT_CHECK(waitpid(p, &st, 0) == p);
    }
    if (other) printf("    %d other results, first %d (%s)\n", other, first_other, churn_strerror(first_other));
    CT_EQ_LL(other, 0);
    CT_EQ_LL(ok + noproc, 200);
}

/* ---- samplers ------------------------------------------------------------------------------ */

/* A sampler of this process reads what a plain snapshot reads, with its own fds left out,
   and follows what the test opens and closes. */
CT_TEST(test_sampler_self_follows_fds_and_threads) {
    churn_sampler sm;
    churn_snapshot a, b, plain;
    int fds0 = t_self_fds(), p[8][2], i;
    CT_REQUIRE(churn_sampler_open(0, &sm) == CHURN_OK);
    CT_EQ_LL(sm.pid, (long long)getpid());
    CT_EQ_LL(t_self_fds(), fds0 + sm.own_fds);
    CT_REQUIRE(churn_sampler_take(&sm, CHURN_METRICS_CHEAP, &a) == CHURN_OK);
    CT_EQ_LL(a.value[CHURN_METRIC_HANDLES], fds0);
    CT_EQ_LL(a.value[CHURN_METRIC_THREADS], t_self_threads());
    CT_CHECK(a.value[CHURN_METRIC_RSS_BYTES] > 0);
    CT_CHECK(a.value[CHURN_METRIC_VIRTUAL_BYTES] >= a.value[CHURN_METRIC_RSS_BYTES]);
    CT_EQ_LL(a.value[CHURN_METRIC_SOCKETS], CHURN_UNKNOWN); /* not asked for */
    for (i = 0; i < 8; i++) CT_REQUIRE(pipe(p[i]) == 0);
    CT_REQUIRE(churn_sampler_take(&sm, CHURN_METRICS_CHEAP, &b) == CHURN_OK);
    CT_EQ_LL(b.value[CHURN_METRIC_HANDLES] - a.value[CHURN_METRIC_HANDLES], 16);
    /* every metric: the fd walk path also leaves the sampler's fds out */
    CT_REQUIRE(churn_sampler_take(&sm, CHURN_METRICS_ALL, &b) == CHURN_OK);
    CT_REQUIRE(churn_snapshot_take(0, &plain) == CHURN_OK);
    CT_EQ_LL(b.value[CHURN_METRIC_HANDLES], fds0 + 16);
    CT_EQ_LL(plain.value[CHURN_METRIC_HANDLES], fds0 + 16 + sm.own_fds);
    CT_EQ_LL(b.value[CHURN_METRIC_SOCKETS], plain.value[CHURN_METRIC_SOCKETS]);
    CT_EQ_LL(b.value[CHURN_METRIC_CHILDREN], plain.value[CHURN_METRIC_CHILDREN]);
    for (i = 0; i < 8; i++) { close(p[i][0]); close(p[i][1]); }
    CT_REQUIRE(churn_sampler_take(&sm, CHURN_METRIC_BIT(CHURN_METRIC_HANDLES), &b) == CHURN_OK);
    CT_EQ_LL(b.value[CHURN_METRIC_HANDLES], fds0);
    CT_EQ_LL(b.value[CHURN_METRIC_THREADS], CHURN_UNKNOWN);
    churn_sampler_close(&sm);
    CT_EQ_LL(t_self_fds(), fds0);
    churn_sampler_close(&sm); /* twice is fine */
    CT_EQ_LL(churn_sampler_take(&sm, CHURN_METRICS_CHEAP, &b), CHURN_E_INVAL);
}

/* A sampler of another process: its counts, then NOPROC once it has exited (zombie) and
   once it is reaped; the sampler never reads whatever may take the pid next. */
CT_TEST(test_sampler_child_until_gone) {
    churn_sampler sm;
    churn_snapshot s, plain;
    int st = 0, fds0 = t_self_fds(), extra[6], k;
    pid_t pid;
    for (k = 0; k < 6; k++) extra[k] = dup(2); /* the child inherits them: a count above stdio */
    pid = t_fork_paused();
    for (k = 0; k < 6; k++) close(extra[k]);
    CT_REQUIRE(pid > 0);
    CT_REQUIRE(churn_sampler_open((long)pid, &sm) == CHURN_OK);
    CT_EQ_LL(sm.own_fds, 2); /* held here, not in the child: the child's count is untouched */
    CT_REQUIRE(churn_sampler_take(&sm, CHURN_METRICS_CHEAP, &s) == CHURN_OK);
    CT_REQUIRE(churn_snapshot_take_some((long)pid, CHURN_METRICS_CHEAP, &plain) == CHURN_OK);
    CT_EQ_LL(s.pid, (long long)pid);
    CT_EQ_LL(s.value[CHURN_METRIC_HANDLES], plain.value[CHURN_METRIC_HANDLES]);
    CT_EQ_LL(s.value[CHURN_METRIC_THREADS], 1);
    CT_EQ_LL(s.value[CHURN_METRIC_VIRTUAL_BYTES], plain.value[CHURN_METRIC_VIRTUAL_BYTES]);
    CT_REQUIRE(kill(pid, SIGKILL) == 0);
    {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        CT_REQUIRE(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) == 0); /* a zombie now */
    }
    CT_EQ_LL(churn_sampler_take(&sm, CHURN_METRICS_CHEAP, &s), CHURN_E_NOPROC);
    CT_EQ_LL(churn_sampler_take(&sm, CHURN_METRIC_BIT(CHURN_METRIC_HANDLES), &s), CHURN_E_NOPROC);
    CT_REQUIRE(waitpid(pid, &st, 0) == pid);
    CT_EQ_LL(churn_sampler_take(&sm, CHURN_METRICS_CHEAP, &s), CHURN_E_NOPROC);
    CT_EQ_LL(churn_sampler_take(&sm, CHURN_METRICS_ALL, &s), CHURN_E_NOPROC);
    churn_sampler_close(&sm);
    CT_EQ_LL(t_self_fds(), fds0);
}

CT_TEST(test_sampler_bad_input) {
    churn_sampler sm, zero;
    churn_snapshot s;
    int fds0 = t_self_fds();
    pid_t gone;
    memset(&zero, 0, sizeof zero);
    CT_EQ_LL(churn_sampler_open(0, NULL), CHURN_E_INVAL);
    CT_EQ_LL(churn_sampler_open(-1, &sm), CHURN_E_INVAL);
    CT_EQ_LL(sm.is_open, 0);
    fflush(stdout);
    gone = fork();
    CT_REQUIRE(gone >= 0);
    if (gone == 0) _exit(0);
    CT_REQUIRE(waitpid(gone, NULL, 0) == gone);
    CT_EQ_LL(churn_sampler_open((long)gone, &sm), CHURN_E_NOPROC);
    CT_EQ_LL(t_self_fds(), fds0); /* a failed open keeps nothing */
    CT_EQ_LL(churn_sampler_take(&zero, CHURN_METRICS_CHEAP, &s), CHURN_E_INVAL);
    CT_EQ_LL(s.value[CHURN_METRIC_HANDLES], CHURN_UNKNOWN);
    CT_EQ_LL(churn_sampler_take(NULL, CHURN_METRICS_CHEAP, &s), CHURN_E_INVAL);
    CT_REQUIRE(churn_sampler_open(0, &sm) == CHURN_OK);
    CT_EQ_LL(churn_sampler_take(&sm, CHURN_METRICS_CHEAP, NULL), CHURN_E_INVAL);
    CT_REQUIRE(churn_sampler_take(&sm, ~0u, &s) == CHURN_OK); /* unknown bits ignored */
    churn_sampler_close(&sm);
    churn_sampler_close(&zero);
    churn_sampler_close(NULL);
    CT_EQ_LL(t_self_fds(), fds0);
}

/* ---- masks, unknowns, peak -------------------------------------------------------------- */

static int t_is_stable_count(int m) {
    return m == CHURN_METRIC_HANDLES || m == CHURN_METRIC_THREADS || m == CHURN_METRIC_SOCKETS ||
           m == CHURN_METRIC_CLOSE_WAIT || m == CHURN_METRIC_SEND_QUEUE_BYTES ||
           m == CHURN_METRIC_CHILDREN || m == CHURN_METRIC_ZOMBIES;
}

CT_TEST(test_take_some_masks) {
    churn_snapshot full, some;
    unsigned masks[CHURN_METRIC_COUNT + 3];
    int nm = 0, i, m;
    int lst, port = 0, cli, srv;
    /* something in every countable metric's reach */
    lst = t_listener(AF_INET, 8, &port);
    CT_REQUIRE(lst >= 0);
    cli = t_connect(AF_INET, port);
    CT_REQUIRE(cli >= 0);
    srv = accept(lst, NULL, NULL);
    CT_REQUIRE(srv >= 0);
    for (m = 0; m < CHURN_METRIC_COUNT; m++) masks[nm++] = CHURN_METRIC_BIT(m);
    masks[nm++] = CHURN_METRICS_CHEAP;
    masks[nm++] = CHURN_METRIC_BIT(CHURN_METRIC_SOCKETS) | CHURN_METRIC_BIT(CHURN_METRIC_ZOMBIES);
    masks[nm++] = CHURN_METRICS_ALL;
    CT_EQ_LL(churn_metrics_cheap() & ~CHURN_METRICS_ALL, 0);
    CT_CHECK(churn_metrics_cheap() != 0);
    for (i = 0; i < nm; i++) {
        CT_REQUIRE(churn_snapshot_take_some(0, masks[i], &some) == CHURN_OK);
        CT_REQUIRE(churn_snapshot_take(0, &full) == CHURN_OK);
        CT_EQ_LL(some.pid, (long)getpid());
        for (m = 0; m < CHURN_METRIC_COUNT; m++) {
            long long v = some.value[m], w = full.value[m];
            if (!(masks[i] & CHURN_METRIC_BIT(m))) {
                if (v != CHURN_UNKNOWN)
                    printf("    mask 0x%x: metric %s should be unknown, is %lld\n", masks[i],
                           churn_metric_name((churn_metric)m), v);
                CT_EQ_LL(v, CHURN_UNKNOWN);
            } else if (t_is_stable_count(m)) {
                if (v != w)
                    printf("    mask 0x%x: metric %s %lld, full snapshot %lld\n", masks[i],
                           churn_metric_name((churn_metric)m), v, w);
                CT_EQ_LL(v, w);
            } else if (m == CHURN_METRIC_GDI_OBJECTS || m == CHURN_METRIC_USER_OBJECTS) {
                CT_EQ_LL(v, CHURN_UNKNOWN);
            } else {
                /* memory: known and close to the full snapshot's value */
                CT_CHECK(v > 0);
                CT_LE_LL(v > w ? v - w : w - v, 4 * MiB + w / 10);
            }
        }
    }
    close(cli);
    close(srv);
    close(lst);
}

CT_TEST(test_linux_known_and_unknown) {
    churn_snapshot s;
    int m;
    T_SNAP(0, &s);
    for (m = 0; m < CHURN_METRIC_COUNT; m++) {
        if (m == CHURN_METRIC_GDI_OBJECTS || m == CHURN_METRIC_USER_OBJECTS)
            CT_EQ_LL(s.value[m], CHURN_UNKNOWN);
        else
            CT_GE_LL(s.value[m], 0);
    }
    CT_CHECK(s.value[CHURN_METRIC_HANDLES] >= 3);
    CT_CHECK(s.value[CHURN_METRIC_THREADS] >= 1);
}

CT_TEST(test_snapshot_clock) {
    churn_snapshot a, b;
    T_SNAP(0, &a);
    T_SNAP(0, &b);
    CT_CHECK(a.at > 0.0);
    CT_CHECK(b.at >= a.at);
}

CT_TEST(test_snapshot_init) {
    churn_snapshot s;
    int m;
    memset(&s, 0, sizeof s);
    churn_snapshot_init(&s);
    for (m = 0; m < CHURN_METRIC_COUNT; m++) CT_EQ_LL(s.value[m], CHURN_UNKNOWN);
}

CT_TEST(test_snapshot_peak) {
    churn_snapshot peak, s;
    int m;
    churn_snapshot_init(&peak);
    churn_snapshot_init(&s);
    /* handles: both known, s larger; threads: both known, peak larger; rss: only s known;
       private: only peak known; virtual: neither known; sockets: equal; close_wait: 0 vs 5 */
    peak.value[CHURN_METRIC_HANDLES] = 10;
    s.value[CHURN_METRIC_HANDLES] = 12;
    peak.value[CHURN_METRIC_THREADS] = 9;
    s.value[CHURN_METRIC_THREADS] = 3;
    s.value[CHURN_METRIC_RSS_BYTES] = 4096;
    peak.value[CHURN_METRIC_PRIVATE_BYTES] = 8192;
    peak.value[CHURN_METRIC_SOCKETS] = 4;
    s.value[CHURN_METRIC_SOCKETS] = 4;
    peak.value[CHURN_METRIC_CLOSE_WAIT] = 0;
    s.value[CHURN_METRIC_CLOSE_WAIT] = 5;
    peak.value[CHURN_METRIC_SEND_QUEUE_BYTES] = 0;
    s.value[CHURN_METRIC_CHILDREN] = 0; /* known 0 beats unknown */
    peak.value[CHURN_METRIC_ZOMBIES] = 3000000000LL;
    s.value[CHURN_METRIC_ZOMBIES] = 2999999999LL;
    churn_snapshot_peak(&peak, &s);
    CT_EQ_LL(peak.value[CHURN_METRIC_HANDLES], 12);
    CT_EQ_LL(peak.value[CHURN_METRIC_THREADS], 9);
    CT_EQ_LL(peak.value[CHURN_METRIC_RSS_BYTES], 4096);
    CT_EQ_LL(peak.value[CHURN_METRIC_PRIVATE_BYTES], 8192);
    CT_EQ_LL(peak.value[CHURN_METRIC_VIRTUAL_BYTES], CHURN_UNKNOWN);
    CT_EQ_LL(peak.value[CHURN_METRIC_SOCKETS], 4);
    CT_EQ_LL(peak.value[CHURN_METRIC_CLOSE_WAIT], 5);
    CT_EQ_LL(peak.value[CHURN_METRIC_SEND_QUEUE_BYTES], 0);
    CT_EQ_LL(peak.value[CHURN_METRIC_CHILDREN], 0);
    CT_EQ_LL(peak.value[CHURN_METRIC_ZOMBIES], 3000000000LL);
    CT_EQ_LL(peak.value[CHURN_METRIC_GDI_OBJECTS], CHURN_UNKNOWN);
    CT_EQ_LL(peak.value[CHURN_METRIC_USER_OBJECTS], CHURN_UNKNOWN);
    /* s is not modified */
    CT_EQ_LL(s.value[CHURN_METRIC_THREADS], 3);
    CT_EQ_LL(s.value[CHURN_METRIC_PRIVATE_BYTES], CHURN_UNKNOWN);
    /* folding a real snapshot into an all-unknown peak gives that snapshot's values */
    {
        churn_snapshot p2, real;
        T_SNAP(0, &real);
        churn_snapshot_init(&p2);
        churn_snapshot_peak(&p2, &real);
        for (m = 0; m < CHURN_METRIC_COUNT; m++) CT_EQ_LL(p2.value[m], real.value[m]);
        churn_snapshot_peak(&p2, &p2); /* idempotent, aliasing allowed */
        for (m = 0; m < CHURN_METRIC_COUNT; m++) CT_EQ_LL(p2.value[m], real.value[m]);
    }
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    CT_RUN(test_version_string);
    CT_RUN(test_metric_names);
    CT_RUN(test_strerror_every_code);
    CT_RUN(test_errors_inval);
    CT_RUN(test_errors_noproc);
    CT_RUN(test_errors_perm);
    CT_RUN(test_handles_equal_proc_listing);
    CT_RUN(test_handles_and_sockets_delta);
    CT_RUN(test_snapshot_loop_leaves_nothing);
    CT_RUN(test_threads_delta);
    CT_RUN(test_memory_malloc);
    CT_RUN(test_memory_mmap);
    CT_RUN(test_zombies_and_children);
    CT_RUN(test_live_children);
    CT_RUN(test_many_children);
    CT_RUN(test_close_wait_ipv4);
    CT_RUN(test_close_wait_ipv6);
    CT_RUN(test_send_queue_ipv4);
    CT_RUN(test_send_queue_ipv6);
    CT_RUN(test_close_wait_many);
    CT_RUN(test_send_queue_many);
    CT_RUN(test_child_by_pid);
    CT_RUN(test_child_by_pid_net_children_memory);
    CT_RUN(test_self_by_explicit_pid);
    CT_RUN(test_snapshot_of_exiting_process);
    CT_RUN(test_many_threads);
    CT_RUN(test_take_some_masks);
    CT_RUN(test_sampler_self_follows_fds_and_threads);
    CT_RUN(test_sampler_child_until_gone);
    CT_RUN(test_sampler_bad_input);
    CT_RUN(test_linux_known_and_unknown);
    CT_RUN(test_snapshot_clock);
    CT_RUN(test_snapshot_at_is_monotonic_clock);
    CT_RUN(test_silent);
    CT_RUN(test_snapshot_init);
    CT_RUN(test_snapshot_peak);
    return ct_finish();
}
