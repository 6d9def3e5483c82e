/* test_inventory.c - behavioural tests of churn.h inventories on Linux.

   Creates each fd kind and each socket state it can (TCP LISTEN / ESTABLISHED /
   FIN_WAIT2 / CLOSE_WAIT over IPv4 and IPv6, UDP, UNIX bound/unbound/abstract), named
   threads, another process's fds and threads, paths and names with awkward bytes, and
   5,000 fds; checks kind, detail and identity exactly, diffs (with fd reuse), ignore
   filters and freeing. Loopback only; every loop is bounded.
*/
#include "churn_test.h"
#include "churn_testutil.h"
#include "../churn.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <net/if.h>
#include <sched.h>
#include <linux/sockios.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>

/* ---- helpers ---------------------------------------------------------------------------- */

/* readlink of /proc/<pid>/fd/<fd> (pid 0: self), NUL-terminated; -1 on error. */
static int t_fdlink(long pid, int fd, char *out, size_t cap) {
    char p[64];
    ssize_t n;
    if (pid == 0) snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    else snprintf(p, sizeof p, "/proc/%ld/fd/%d", pid, fd);
    n = readlink(p, out, cap - 1);
    if (n < 0) return -1;
    out[n] = '\0';
    return 0;
}

static unsigned long long t_ino(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) return 0;
    return (unsigned long long)st.st_ino;
}

static int t_bound(int family, int type, int port) {
    struct sockaddr_storage ss;
    socklen_t len = t_loopback(family, port, &ss);
    int fd = socket(family, type | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (bind(fd, (struct sockaddr *)&ss, len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int t_connect_fd(int fd, int family, int port) {
    struct sockaddr_storage ss;
    socklen_t len = t_loopback(family, port, &ss);
    return connect(fd, (struct sockaddr *)&ss, len);
}

/* Waits (bounded) until fd's TCP state (TCP_INFO) is `state`: the kernel moves a half-closed
   socket from FIN_WAIT1 to FIN_WAIT2 only when the peer's (possibly delayed) ACK arrives. */
static int t_wait_tcp_state(int fd, int state) {
    int i;
    for (i = 0; i < 1000; i++) {
        struct tcp_info ti;
        socklen_t len = sizeof ti;
        memset(&ti, 0, sizeof ti);
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) return -1;
        if (ti.tcpi_state == state) return 0;
        t_sleep_ms(2);
    }
    return -1;
}

/* The kinds churn.h documents, plus "pidfd" which its implementation also gives. */
static const char *t_kinds[] = {"socket",  "pipe",     "file",    "dir", "eventfd", "epoll", "timerfd",
                                "signalfd", "inotify", "tty",     "anon", "other",  "pidfd"};

static int t_kind_known(const char *k) {
    size_t i;
    for (i = 0; i < sizeof t_kinds / sizeof t_kinds[0]; i++)
        if (strcmp(k, t_kinds[i]) == 0) return 1;
    return 0;
}

static const churn_handle_info *t_find(const churn_inventory *inv, long long fd) {
    int i;
    for (i = 0; i < inv->handle_count; i++)
        if (inv->handles[i].id == fd) return &inv->handles[i];
    return NULL;
}

static const churn_thread_info *t_find_thread(const churn_inventory *inv, long long tid) {
    int i;
    for (i = 0; i < inv->thread_count; i++)
        if (inv->threads[i].tid == tid) return &inv->threads[i];
    return NULL;
}

/* Structural sanity of any inventory: NUL-terminated strings, known kinds, unique ids. */
static void t_check_sane(const churn_inventory *inv) {
    int i, j, bad_kind = 0, dup = 0, unterminated = 0;
    CT_CHECK(inv->handle_count >= 0);
    CT_CHECK(inv->thread_count >= 0);
    CT_CHECK(inv->handle_count == 0 || inv->handles != NULL);
    CT_CHECK(inv->thread_count == 0 || inv->threads != NULL);
    for (i = 0; i < inv->handle_count; i++) {
        const churn_handle_info *h = &inv->handles[i];
        if (memchr(h->kind, 0, sizeof h->kind) == NULL || memchr(h->detail, 0, sizeof h->detail) == NULL) {
            unterminated++;
            continue;
        }
        if (!t_kind_known(h->kind)) {
            if (bad_kind < 5) printf("    unknown kind \"%s\" for fd %lld\n", h->kind, h->id);
            bad_kind++;
        }
        for (j = 0; j < i; j++)
            if (inv->handles[j].id == h->id) dup++;
    }
    for (i = 0; i < inv->thread_count; i++) {
        if (memchr(inv->threads[i].name, 0, sizeof inv->threads[i].name) == NULL) unterminated++;
        for (j = 0; j < i; j++)
            if (inv->threads[j].tid == inv->threads[i].tid) dup++;
    }
    CT_EQ_LL(unterminated, 0);
    CT_EQ_LL(bad_kind, 0);
    CT_EQ_LL(dup, 0);
}

/* Checks fd's entry: kind and detail exactly (detail NULL: the readlink text). */
static void t_expect_fd(const churn_inventory *inv, int fd, const char *kind, const char *detail,
                        int line) {
    const churn_handle_info *h = t_find(inv, fd);
    char link[512];
    if (!h) {
        printf("    line %d: fd %d not in the inventory\n", line, fd);
        CT_CHECK(h != NULL);
        return;
    }
    if (!detail) {
        if (t_fdlink(inv->pid == (long)getpid() ? 0 : inv->pid, fd, link, sizeof link) != 0) {
            printf("    line %d: readlink of fd %d failed\n", line, fd);
            CT_CHECK(0);
            return;
        }
        detail = link;
    }
    if (strcmp(h->kind, kind) != 0 || strcmp(h->detail, detail) != 0)
        printf("    line %d: fd %d: expected kind \"%s\" detail \"%s\", got kind \"%s\" detail \"%s\"\n",
               line, fd, kind, detail, h->kind, h->detail);
    CT_EQ_STR(h->kind, kind);
    CT_EQ_STR(h->detail, detail);
}
#define T_EXPECT_FD(inv, fd, kind, detail) t_expect_fd((inv), (fd), (kind), (detail), __LINE__)

static void t_expect_prefix(const churn_inventory *inv, int fd, const char *kind, const char *prefix,
                            int line) {
    const churn_handle_info *h = t_find(inv, fd);
    if (!h) {
        printf("    line %d: fd %d not in the inventory\n", line, fd);
        CT_CHECK(h != NULL);
        return;
    }
    if (strcmp(h->kind, kind) != 0 || strncmp(h->detail, prefix, strlen(prefix)) != 0)
        printf("    line %d: fd %d: expected kind \"%s\" detail \"%s...\", got kind \"%s\" detail \"%s\"\n",
               line, fd, kind, prefix, h->kind, h->detail);
    CT_EQ_STR(h->kind, kind);
    CT_CHECK(strncmp(h->detail, prefix, strlen(prefix)) == 0);
}
#define T_EXPECT_PREFIX(inv, fd, kind, p) t_expect_prefix((inv), (fd), (kind), (p), __LINE__)

/* object: non-zero for sockets, pipes and files; a socket's is its inode (the number that
   sock_diag and "socket:[N]" use); for other objects any identity works (churn.h mixes the
   device in), so only equality with another fd of the same object is required. */
static void t_expect_object(const churn_inventory *inv, int fd) {
    const churn_handle_info *h = t_find(inv, fd);
    struct stat st;
    CT_REQUIRE(h != NULL);
    CT_REQUIRE(fstat(fd, &st) == 0);
    CT_CHECK(h->object != 0);
    if (S_ISSOCK(st.st_mode)) CT_EQ_LL(h->object, st.st_ino);
}

/* Two fds of one inventory: same object exactly when fstat says so. */
static void t_expect_same_object(const churn_inventory *inv, int fa, int fb, int line) {
    const churn_handle_info *a = t_find(inv, fa), *b = t_find(inv, fb);
    struct stat sa, sb;
    int same;
    CT_REQUIRE(a != NULL && b != NULL);
    CT_REQUIRE(fstat(fa, &sa) == 0 && fstat(fb, &sb) == 0);
    same = sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    if ((a->object == b->object) != same)
        printf("    line %d: fds %d/%d objects %llu/%llu, same object per fstat: %d\n", line, fa, fb,
               a->object, b->object, same);
    CT_EQ_LL(a->object == b->object, same);
}
#define T_SAME_OBJECT(inv, a, b) t_expect_same_object((inv), (a), (b), __LINE__)

#define T_TAKE(pid, inv) CT_REQUIRE(churn_inventory_take((pid), (inv)) == CHURN_OK)

/* Named threads that report their tid and block until released. */
typedef struct t_named {
    char name[32];
    long long tid;
    int setname_rc;
    int ready_w, stop_r;
    pthread_t th;
} t_named;

static void *t_named_main(void *arg) {
    t_named *t = (t_named *)arg;
    char c;
    t->tid = (long long)syscall(SYS_gettid);
    t->setname_rc = pthread_setname_np(pthread_self(), t->name);
    (void)!write(t->ready_w, "r", 1);
    while (read(t->stop_r, &c, 1) < 0 && errno == EINTR) {}
    return NULL;
}

typedef struct t_crew {
    t_named t[8];
    int n, ready[2], stop[2];
} t_crew;

static int t_crew_start(t_crew *c, const char *const *names, int n) {
    int i;
    char ch[8];
    memset(c, 0, sizeof *c);
    if (pipe(c->ready) != 0) return -1;
    if (pipe(c->stop) != 0) return -1;
    for (i = 0; i < n && i < 8; i++) {
        memcpy(c->t[i].name, names[i], strlen(names[i]) + 1);
        c->t[i].ready_w = c->ready[1];
        c->t[i].stop_r = c->stop[0];
        if (pthread_create(&c->t[i].th, NULL, t_named_main, &c->t[i]) != 0) break;
        c->n++;
    }
    for (i = 0; i < c->n; i++)
        if (t_read_full(c->ready[0], ch, 1) != 0) return -1;
    return c->n == n ? 0 : -1;
}

static void t_crew_stop(t_crew *c) {
    int i, want = t_self_threads() - c->n;
    close(c->stop[1]);
    for (i = 0; i < c->n; i++) pthread_join(c->t[i].th, NULL);
    close(c->stop[0]);
    close(c->ready[0]);
    close(c->ready[1]);
    for (i = 0; i < 2000 && t_self_threads() != want; i++) t_sleep_ms(1);
}

/* ---- errors and structure --------------------------------------------------------------- */

CT_TEST(test_inventory_errors) {
    churn_inventory inv, added;
    pid_t pid;
    int st = 0;
    memset(&inv, 0, sizeof inv);
    memset(&added, 0, sizeof added);
    CT_EQ_LL(churn_inventory_take(0, NULL), CHURN_E_INVAL);
    CT_EQ_LL(churn_inventory_take(-1, &inv), CHURN_E_INVAL);
    CT_EQ_LL(churn_inventory_take(LONG_MIN, &inv), CHURN_E_INVAL);
    CT_EQ_LL(churn_inventory_take(0x7ffffff0L, &inv), CHURN_E_NOPROC);
    fflush(stdout);
    pid = fork();
    CT_REQUIRE(pid >= 0);
    if (pid == 0) _exit(0);
    CT_REQUIRE(waitpid(pid, &st, 0) == pid);
    CT_EQ_LL(churn_inventory_take((long)pid, &inv), CHURN_E_NOPROC);
    CT_EQ_LL(inv.handle_count, 0); /* nothing half-filled that a caller would free wrongly */
    churn_inventory_free(&inv);
    T_TAKE(0, &inv);
    CT_EQ_LL(churn_inventory_diff(NULL, &inv, &added), CHURN_E_INVAL);
    CT_EQ_LL(churn_inventory_diff(&inv, NULL, &added), CHURN_E_INVAL);
    CT_EQ_LL(churn_inventory_diff(&inv, &inv, NULL), CHURN_E_INVAL);
    churn_inventory_free(&inv);
}

/* Inventories of pid 1, the (root) parent and itself, as nobody. */
static void t_inventory_three(void *parent, int *r) {
    churn_inventory inv;
    memset(&inv, 0, sizeof inv);
    r[0] = churn_inventory_take(1, &inv);
    churn_inventory_free(&inv);
    r[1] = churn_inventory_take(*(long *)parent, &inv);
    churn_inventory_free(&inv);
    r[2] = churn_inventory_take(0, &inv);
    churn_inventory_free(&inv);
}

CT_TEST(test_inventory_perm) {
    churn_inventory inv;
    memset(&inv, 0, sizeof inv);
    if (geteuid() != 0) {
        struct stat st;
        CT_REQUIRE(stat("/proc/1", &st) == 0);
        if (st.st_uid == geteuid()) CT_SKIP("pid 1 belongs to this user (container?)");
        CT_EQ_LL(churn_inventory_take(1, &inv), CHURN_E_PERM);
        churn_inventory_free(&inv);
    } else {
        long parent = (long)getpid();
        int rc[3] = {99, 99, 99};
        CT_REQUIRE(t_as_nobody(t_inventory_three, &parent, rc, 3) == 0); /* dropped root */
        CT_EQ_LL(rc[0], CHURN_E_PERM);
        CT_EQ_LL(rc[1], CHURN_E_PERM);
        CT_EQ_LL(rc[2], CHURN_OK);
    }
}

CT_TEST(test_inventory_matches_proc) {
    churn_inventory inv;
    int i, listed, notopen = 0;
    char comm[64] = "";
    FILE *f;
    memset(&inv, 0, sizeof inv);
    T_TAKE(0, &inv);
    listed = t_self_fds();
    t_check_sane(&inv);
    CT_EQ_LL(inv.pid, (long)getpid());
    CT_EQ_LL(inv.handle_count, listed);
    CT_EQ_LL(inv.thread_count, t_self_threads());
    CT_EQ_LL(inv.skipped, 0);
    for (i = 0; i < inv.handle_count; i++)
        if (fcntl((int)inv.handles[i].id, F_GETFD) < 0) notopen++;
    CT_EQ_LL(notopen, 0); /* no fd of the inventory's own survives in the list */
    CT_CHECK(t_find(&inv, 0) != NULL);
    CT_CHECK(t_find(&inv, 1) != NULL);
    CT_CHECK(t_find(&inv, 2) != NULL);
    /* the main thread: tid == pid, name == /proc/self/comm */
    f = fopen("/proc/self/comm", "r");
    CT_REQUIRE(f != NULL);
    if (fgets(comm, sizeof comm, f) == NULL) comm[0] = '\0';
    fclose(f);
    comm[strcspn(comm, "\n")] = '\0';
    CT_REQUIRE(t_find_thread(&inv, (long long)getpid()) != NULL);
    CT_EQ_STR(t_find_thread(&inv, (long long)getpid())->name, comm);
    churn_inventory_free(&inv);
}

/* ---- fd kinds ---------------------------------------------------------------------------- */

CT_TEST(test_inventory_fd_kinds) {
    char dir[] = "/tmp/churn-inv-XXXXXX", path[256], dpath[256];
    int file, dirfd, p[2], efd, ep, tfd, sfd, ino, dup_file;
    sigset_t set;
    churn_inventory inv;
    memset(&inv, 0, sizeof inv);
    CT_REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/plain.txt", dir);
    snprintf(dpath, sizeof dpath, "%s", dir);
    file = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    CT_REQUIRE(file >= 0);
    dup_file = dup(file);
    dirfd = open(dpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    CT_REQUIRE(dirfd >= 0);
    CT_REQUIRE(pipe(p) == 0);
    efd = eventfd(0, EFD_CLOEXEC);
    ep = epoll_create1(EPOLL_CLOEXEC);
    tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    sigemptyset(&set);
    sigaddset(&set, SIGUSR2);
    sfd = signalfd(-1, &set, SFD_CLOEXEC);
    ino = inotify_init1(IN_CLOEXEC);
    CT_REQUIRE(efd >= 0 && ep >= 0 && tfd >= 0 && sfd >= 0 && ino >= 0);
    T_TAKE(0, &inv);
    t_check_sane(&inv);
    T_EXPECT_FD(&inv, file, "file", path);
    T_EXPECT_FD(&inv, dup_file, "file", path);
    T_EXPECT_FD(&inv, dirfd, "dir", dpath);
    {
        char pd[64];
        snprintf(pd, sizeof pd, "pipe:[%llu]", t_ino(p[0]));
        T_EXPECT_FD(&inv, p[0], "pipe", pd);
        T_EXPECT_FD(&inv, p[1], "pipe", pd);
    }
    T_EXPECT_FD(&inv, efd, "eventfd", "anon_inode:[eventfd]");
    T_EXPECT_FD(&inv, ep, "epoll", "anon_inode:[eventpoll]");
    T_EXPECT_FD(&inv, tfd, "timerfd", "anon_inode:[timerfd]");
    T_EXPECT_FD(&inv, sfd, "signalfd", "anon_inode:[signalfd]");
    T_EXPECT_FD(&inv, ino, "inotify", "anon_inode:inotify");
    t_expect_object(&inv, file);
    t_expect_object(&inv, dup_file);
    t_expect_object(&inv, p[0]);
    t_expect_object(&inv, p[1]);
    T_SAME_OBJECT(&inv, file, dup_file);
    T_SAME_OBJECT(&inv, p[0], p[1]);
    T_SAME_OBJECT(&inv, file, p[0]);
    T_SAME_OBJECT(&inv, file, dirfd);
    t_expect_object(&inv, dirfd);
    churn_inventory_free(&inv);
    close(file);
    close(dup_file);
    close(dirfd);
    close(p[0]);
    close(p[1]);
    close(efd);
    close(ep);
    close(tfd);
    close(sfd);
    close(ino);
    unlink(path);
    rmdir(dir);
}

CT_TEST(test_inventory_deleted_file) {
    char path[] = "/tmp/churn-inv-del-XXXXXX";
    int fd = mkstemp(path);
    churn_inventory inv;
    memset(&inv, 0, sizeof inv);
    CT_REQUIRE(fd >= 0);
    unlink(path);
    T_TAKE(0, &inv);
    /* readlink gives "<path> (deleted)": the detail is that text */
    T_EXPECT_FD(&inv, fd, "file", NULL);
    t_expect_object(&inv, fd);
    churn_inventory_free(&inv);
    close(fd);
}

CT_TEST(test_inventory_tty) {
    int m, s;
    const char *name;
    churn_inventory inv;
    memset(&inv, 0, sizeof inv);
    m = posix_openpt(O_RDWR | O_NOCTTY);
    if (m < 0) CT_SKIP("posix_openpt failed: no pseudo-terminals here");
    if (grantpt(m) != 0 || unlockpt(m) != 0 || (name = ptsname(m)) == NULL) {
        close(m);
        CT_SKIP("grantpt/unlockpt/ptsname failed");
    }
    s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (s < 0) {
        close(m);
        CT_SKIP("cannot open the pty slave");
    }
    T_TAKE(0, &inv);
    T_EXPECT_FD(&inv, s, "tty", name);
    if (t_find(&inv, m))
        printf("    info: pty master fd %d: kind \"%s\" detail \"%s\"\n", m, t_find(&inv, m)->kind,
               t_find(&inv, m)->detail);
    churn_inventory_free(&inv);
    close(s);
    close(m);
}

CT_TEST(test_inventory_anon) {
    int fds[2], n = 0, i, pidfd = -1;
    churn_inventory inv;
    memset(&inv, 0, sizeof inv);
#ifdef SYS_pidfd_open
    fds[n] = (int)syscall(SYS_pidfd_open, (int)getpid(), 0);
    if (fds[n] >= 0) {
        char link[256];
        /* since Linux 6.9 pidfds may live on pidfs ("pidfd:[...]"): only anon_inode ones here */
        if (t_fdlink(0, fds[n], link, sizeof link) == 0 && strncmp(link, "anon_inode:", 11) == 0)
            pidfd = fds[n++];
        else
            close(fds[n]);
    }
#endif
#ifdef SYS_userfaultfd
    fds[n] = (int)syscall(SYS_userfaultfd, O_CLOEXEC | 1 /* UFFD_USER_MODE_ONLY */);
    if (fds[n] < 0) fds[n] = (int)syscall(SYS_userfaultfd, O_CLOEXEC);
    if (fds[n] >= 0) n++;
#endif
    if (n == 0) CT_SKIP("neither pidfd_open nor userfaultfd available");
    T_TAKE(0, &inv);
    for (i = 0; i < n; i++) {
        const churn_handle_info *h = t_find(&inv, fds[i]);
        /* a pidfd may be named "pidfd" (not in the documented kind list) or "anon" */
        if (fds[i] == pidfd && h && strcmp(h->kind, "pidfd") == 0) T_EXPECT_FD(&inv, fds[i], "pidfd", NULL);
        else T_EXPECT_FD(&inv, fds[i], "anon", NULL);
    }
    churn_inventory_free(&inv);
    for (i = 0; i < n; i++) close(fds[i]);
}

/* ---- sockets ---------------------------------------------------------------------------- */

static void t_tcp_states(int family) {
    const char *proto = family == AF_INET6 ? "tcp6" : "tcp";
    const char *lo = family == AF_INET6 ? "[::1]" : "127.0.0.1";
    int lst, lp = 0, cli, srv, cli2, srv2, cp, cp2;
    char want[256];
    churn_inventory inv;
    memset(&inv, 0, sizeof inv);
    lst = t_listener(family, 64, &lp);
    CT_REQUIRE(lst >= 0);
    cli = t_connect(family, lp);
    CT_REQUIRE(cli >= 0);
    srv = accept(lst, NULL, NULL);
    CT_REQUIRE(srv >= 0);
    cli2 = t_connect(family, lp);
    CT_REQUIRE(cli2 >= 0);
    srv2 = accept(lst, NULL, NULL);
    CT_REQUIRE(srv2 >= 0);
    cp = t_local_port(cli);
    cp2 = t_local_port(cli2);
    T_TAKE(0, &inv);
    t_check_sane(&inv);
    snprintf(want, sizeof want, "%s %s:%d LISTEN", proto, lo, lp);
    T_EXPECT_FD(&inv, lst, "socket", want);
    snprintf(want, sizeof want, "%s %s:%d -> %s:%d ESTABLISHED", proto, lo, cp, lo, lp);
    T_EXPECT_FD(&inv, cli, "socket", want);
    snprintf(want, sizeof want, "%s %s:%d -> %s:%d ESTABLISHED", proto, lo, lp, lo, cp);
    T_EXPECT_FD(&inv, srv, "socket", want);
    t_expect_object(&inv, lst);
    t_expect_object(&inv, cli);
    t_expect_object(&inv, srv);
    churn_inventory_free(&inv);
    /* cli closes: srv goes to CLOSE_WAIT; cli2 half-closes: cli2 FIN_WAIT2, srv2 CLOSE_WAIT */
    close(cli);
    CT_REQUIRE(shutdown(cli2, SHUT_WR) == 0);
    CT_REQUIRE(t_wait_eof(srv) == 0);
    CT_REQUIRE(t_wait_eof(srv2) == 0);
    CT_REQUIRE(t_wait_tcp_state(cli2, TCP_FIN_WAIT2) == 0);
    T_TAKE(0, &inv);
    snprintf(want, sizeof want, "%s %s:%d -> %s:%d CLOSE_WAIT", proto, lo, lp, lo, cp);
    T_EXPECT_FD(&inv, srv, "socket", want);
    snprintf(want, sizeof want, "%s %s:%d -> %s:%d CLOSE_WAIT", proto, lo, lp, lo, cp2);
    T_EXPECT_FD(&inv, srv2, "socket", want);
    snprintf(want, sizeof want, "%s %s:%d -> %s:%d FIN_WAIT2", proto, lo, cp2, lo, lp);
    T_EXPECT_FD(&inv, cli2, "socket", want);
    churn_inventory_free(&inv);
    close(srv);
    close(srv2);
    close(cli2);
    close(lst);
}

CT_TEST(test_inventory_tcp_ipv4) { t_tcp_states(AF_INET); }

CT_TEST(test_inventory_tcp_ipv6) {
    if (!t_have_ipv6()) CT_SKIP("::1 unavailable (no IPv6 loopback)");
    t_tcp_states(AF_INET6);
}

static void t_udp(int family) {
    const char *proto = family == AF_INET6 ? "udp6" : "udp";
    const char *lo = family == AF_INET6 ? "[::1]" : "127.0.0.1";
    int a, b, pa, pb;
    char want[256];
    churn_inventory inv;
    memset(&inv, 0, sizeof inv);
    a = t_bound(family, SOCK_DGRAM, 0);
    b = t_bound(family, SOCK_DGRAM, 0);
    CT_REQUIRE(a >= 0 && b >= 0);
    pa = t_local_port(a);
    pb = t_local_port(b);
    CT_REQUIRE(t_connect_fd(b, family, pa) == 0);
    T_TAKE(0, &inv);
    snprintf(want, sizeof want, "%s %s:%d", proto, lo, pa);
    T_EXPECT_FD(&inv, a, "socket", want);
    snprintf(want, sizeof want, "%s %s:%d -> %s:%d", proto, lo, pb, lo, pa);
    T_EXPECT_FD(&inv, b, "socket", want);
    t_expect_object(&inv, a);
    t_expect_object(&inv, b);
    churn_inventory_free(&inv);
    close(a);
    close(b);
}

CT_TEST(test_inventory_udp_ipv4) { t_udp(AF_INET); }

CT_TEST(test_inventory_udp_ipv6) {
    if (!t_have_ipv6()) CT_SKIP("::1 unavailable (no IPv6 loopback)");
    t_udp(AF_INET6);
}

static int t_unix_bound(int type, const char *path, int abstract) {
    struct sockaddr_un sa;
    socklen_t len;
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
    size_t n = strlen(path);
    if (fd < 0 || n + 2 > sizeof sa.sun_path) return -1;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    if (abstract) {
        memcpy(sa.sun_path + 1, path, n);
        len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + n);
    } else {
        memcpy(sa.sun_path, path, n + 1);
        len = (socklen_t)sizeof sa;
    }
    if (bind(fd, (struct sockaddr *)&sa, len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

CT_TEST(test_inventory_unix) {
    char dir[] = "/tmp/churn-unix-XXXXXX", ps[128], pd[128], pq[128], abs_name[64], want[256];
    int s, d, q, a, sp[2], dp[2];
    churn_inventory inv;
    memset(&inv, 0, sizeof inv);
    CT_REQUIRE(mkdtemp(dir) != NULL);
    snprintf(ps, sizeof ps, "%s/stream.sock", dir);
    snprintf(pd, sizeof pd, "%s/dgram.sock", dir);
    snprintf(pq, sizeof pq, "%s/seqpacket.sock", dir);
    snprintf(abs_name, sizeof abs_name, "churn-test-abstract-%ld", (long)getpid());
    s = t_unix_bound(SOCK_STREAM, ps, 0);
    d = t_unix_bound(SOCK_DGRAM, pd, 0);
    q = t_unix_bound(SOCK_SEQPACKET, pq, 0);
    a = t_unix_bound(SOCK_STREAM, abs_name, 1);
    CT_REQUIRE(s >= 0 && d >= 0 && q >= 0 && a >= 0);
    CT_REQUIRE(listen(s, 8) == 0);
    CT_REQUIRE(listen(a, 8) == 0);
    CT_REQUIRE(socketpair(AF_UNIX, SOCK_STREAM, 0, sp) == 0);
    CT_REQUIRE(socketpair(AF_UNIX, SOCK_DGRAM, 0, dp) == 0);
    T_TAKE(0, &inv);
    snprintf(want, sizeof want, "unix stream %s", ps);
    T_EXPECT_FD(&inv, s, "socket", want);
    snprintf(want, sizeof want, "unix dgram %s", pd);
    T_EXPECT_FD(&inv, d, "socket", want);
    snprintf(want, sizeof want, "unix seqpacket %s", pq);
    T_EXPECT_FD(&inv, q, "socket", want);
    snprintf(want, sizeof want, "unix stream @%s", abs_name);
    T_EXPECT_FD(&inv, a, "socket", want);
    T_EXPECT_PREFIX(&inv, sp[0], "socket", "unix stream");
    T_EXPECT_PREFIX(&inv, sp[1], "socket", "unix stream");
    T_EXPECT_PREFIX(&inv, dp[0], "socket", "unix dgram");
    t_expect_object(&inv, s);
    t_expect_object(&inv, sp[0]);
    t_expect_object(&inv, sp[1]);
    churn_inventory_free(&inv);
    close(s);
    close(d);
    close(q);
    close(a);
    close(sp[0]);
    close(sp[1]);
    close(dp[0]);
    close(dp[1]);
    unlink(ps);
    unlink(pd);
    unlink(pq);
    rmdir(dir);
}

/* ---- threads ---------------------------------------------------------------------------- */

CT_TEST(test_inventory_named_threads) {
    static const char *const names[] = {"ct-worker-1", "ct-worker-2", "exactly15bytes!"};
    t_crew crew;
    churn_inventory inv;
    int i;
    memset(&inv, 0, sizeof inv);
    CT_REQUIRE(t_crew_start(&crew, names, 3) == 0);
    T_TAKE(0, &inv);
    t_check_sane(&inv);
    CT_EQ_LL(inv.thread_count, t_self_threads());
    for (i = 0; i < 3; i++) {
        const churn_thread_info *t = t_find_thread(&inv, crew.t[i].tid);
        CT_EQ_LL(crew.t[i].setname_rc, 0);
        if (!t) {
            printf("    tid %lld missing\n", crew.t[i].tid);
            CT_CHECK(t != NULL);
            continue;
        }
        CT_EQ_STR(t->name, names[i]);
    }
    churn_inventory_free(&inv);
    t_crew_stop(&crew);
}

/* ---- diff ------------------------------------------------------------------------------- */

static int t_has_id(const churn_inventory *inv, long long id) { return t_find(inv, id) != NULL; }

CT_TEST(test_inventory_diff_new) {
    churn_inventory before, after, added, none;
    char path[] = "/tmp/churn-diff-XXXXXX";
    int sock, p[2], file;
    static const char *const names[] = {"ct-diff-new"};
    t_crew crew;
    memset(&before, 0, sizeof before);
    memset(&after, 0, sizeof after);
    memset(&added, 0, sizeof added);
    memset(&none, 0, sizeof none);
    T_TAKE(0, &before);
    sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CT_REQUIRE(sock >= 0);
    CT_REQUIRE(pipe(p) == 0);
    file = mkstemp(path);
    CT_REQUIRE(file >= 0);
    CT_REQUIRE(t_crew_start(&crew, names, 1) == 0);
    T_TAKE(0, &after);
    CT_REQUIRE(churn_inventory_diff(&before, &after, &added) == CHURN_OK);
    t_check_sane(&added);
    /* the socket, the pipe, the file, and the crew's two pipes (ready, stop) */
    if (added.handle_count != 8) churn_inventory_fprint(&added, stdout, 20);
    CT_EQ_LL(added.handle_count, 8);
    CT_CHECK(t_has_id(&added, crew.ready[0]) && t_has_id(&added, crew.ready[1]));
    CT_CHECK(t_has_id(&added, crew.stop[0]) && t_has_id(&added, crew.stop[1]));
    CT_CHECK(t_has_id(&added, sock));
    CT_CHECK(t_has_id(&added, p[0]));
    CT_CHECK(t_has_id(&added, p[1]));
    CT_CHECK(t_has_id(&added, file));
    CT_EQ_LL(added.thread_count, 1);
    if (added.thread_count == 1) {
        CT_EQ_LL(added.threads[0].tid, crew.t[0].tid);
        CT_EQ_STR(added.threads[0].name, "ct-diff-new");
    }
    {
        const churn_handle_info *hf = t_find(&added, file), *hs = t_find(&added, sock),
                                *hp = t_find(&added, p[0]);
        if (hf) {
            CT_EQ_STR(hf->kind, "file");
            CT_EQ_STR(hf->detail, path);
        }
        if (hs) CT_EQ_STR(hs->kind, "socket");
        if (hp) CT_EQ_STR(hp->kind, "pipe");
    }
    /* nothing is added between an inventory and itself; reverse diff is empty too */
    CT_REQUIRE(churn_inventory_diff(&after, &after, &none) == CHURN_OK);
    CT_EQ_LL(none.handle_count, 0);
    CT_EQ_LL(none.thread_count, 0);
    churn_inventory_free(&none);
    CT_REQUIRE(churn_inventory_diff(&after, &before, &none) == CHURN_OK);
    CT_EQ_LL(none.handle_count, 0);
    CT_EQ_LL(none.thread_count, 0);
    churn_inventory_free(&none);
    churn_inventory_free(&added);
    churn_inventory_free(&before);
    churn_inventory_free(&after);
    t_crew_stop(&crew);
    close(sock);
    close(p[0]);
    close(p[1]);
    close(file);
    unlink(path);
}

static int t_udp_reuse(int port) {
    struct sockaddr_storage ss;
    socklen_t len = t_loopback(AF_INET, port, &ss);
    int one = 1, fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&ss, len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

CT_TEST(test_inventory_diff_fd_reuse) {
    churn_inventory before, after, added;
    char dir[] = "/tmp/churn-reuse-XXXXXX", pa[256], pb[256], same[256];
    int sx, sy, fx, fy, px[2], py[2], keep, tmp, fz;
    memset(&before, 0, sizeof before);
    memset(&after, 0, sizeof after);
    memset(&added, 0, sizeof added);
    CT_REQUIRE(mkdtemp(dir) != NULL);
    snprintf(pa, sizeof pa, "%s/a", dir);
    snprintf(pb, sizeof pb, "%s/b", dir);
    snprintf(same, sizeof same, "%s/same", dir);
    /* before: sx a TCP socket, sy an unbound UDP socket, fx file a, fz file "same",
       px a pipe, keep unchanged */
    sx = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sy = t_udp_reuse(0); /* a UDP socket on 127.0.0.1:P with SO_REUSEADDR */
    fx = open(pa, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    fz = open(same, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    CT_REQUIRE(pipe(px) == 0);
    keep = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CT_REQUIRE(sx >= 0 && sy >= 0 && fx >= 0 && fz >= 0 && keep >= 0);
    T_TAKE(0, &before);
    /* same numbers, different objects */
    tmp = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0); /* another socket at sx */
    if (tmp < 0) tmp = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    CT_REQUIRE(tmp >= 0 && dup2(tmp, sx) == sx);
    close(tmp);
    /* another UDP socket on the same address and port: same kind and detail at sy */
    tmp = t_udp_reuse(t_local_port(sy));
    CT_REQUIRE(tmp >= 0 && dup2(tmp, sy) == sy);
    close(tmp);
    close(fx); /* close + open: the lowest free number is fx again */
    fy = open(pb, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    CT_REQUIRE(fy == fx);
    unlink(same); /* a new file under the same path: same detail, another inode */
    tmp = open(same, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    CT_REQUIRE(tmp >= 0 && dup2(tmp, fz) == fz);
    close(tmp);
    CT_REQUIRE(pipe(py) == 0);
    CT_REQUIRE(dup2(py[0], px[0]) == px[0]);
    CT_REQUIRE(dup2(py[1], px[1]) == px[1]);
    close(py[0]);
    close(py[1]);
    T_TAKE(0, &after);
    CT_EQ_LL(after.handle_count, before.handle_count);
    CT_REQUIRE(churn_inventory_diff(&before, &after, &added) == CHURN_OK);
    if (added.handle_count != 6) churn_inventory_fprint(&added, stdout, 20);
    CT_EQ_LL(added.handle_count, 6);
    CT_CHECK(t_has_id(&added, sx));
    CT_CHECK(t_has_id(&added, sy));
    CT_CHECK(t_has_id(&added, fx));
    CT_CHECK(t_has_id(&added, fz));
    CT_CHECK(t_has_id(&added, px[0]));
    CT_CHECK(t_has_id(&added, px[1]));
    CT_CHECK(!t_has_id(&added, keep));
    if (t_find(&added, fx)) CT_EQ_STR(t_find(&added, fx)->detail, pb);
    if (t_find(&added, fz)) CT_EQ_STR(t_find(&added, fz)->detail, same);
    if (t_find(&added, sy) && t_find(&before, sy))
        CT_EQ_STR(t_find(&added, sy)->detail, t_find(&before, sy)->detail);
    CT_EQ_LL(added.thread_count, 0);
    churn_inventory_free(&added);
    churn_inventory_free(&before);
    churn_inventory_free(&after);
    close(sx);
    close(sy);
    close(fx);
    close(fz);
    close(px[0]);
    close(px[1]);
    close(keep);
    unlink(pa);
    unlink(pb);
    unlink(same);
    rmdir(dir);
}

/* ---- filter ----------------------------------------------------------------------------- */

static int t_rule_match_handle(const churn_handle_info *h, const churn_ignore *r) {
    if (r->thread_prefix) return 0;
    if (r->kind && strcmp(r->kind, h->kind) != 0) return 0;
    if (r->detail && strstr(h->detail, r->detail) == NULL) return 0;
    return 1;
}

static int t_rule_match_thread(const churn_thread_info *t, const churn_ignore *r) {
    return r->thread_prefix && strncmp(t->name, r->thread_prefix, strlen(r->thread_prefix)) == 0;
}

/* Applies rules with churn_inventory_filter to a fresh inventory and checks that exactly the
   matching entries are gone (computed independently). */
static void t_filter_case(const churn_ignore *rules, int n, int expect_min_dropped_h,
                          int expect_min_dropped_t, int line) {
    churn_inventory inv;
    int i, j, keep_h = 0, keep_t = 0, left_matching = 0;
    memset(&inv, 0, sizeof inv);
    if (churn_inventory_take(0, &inv) != CHURN_OK) {
        CT_CHECK(0);
        return;
    }
    for (i = 0; i < inv.handle_count; i++) {
        int m = 0;
        for (j = 0; j < n; j++) m |= t_rule_match_handle(&inv.handles[i], &rules[j]);
        keep_h += !m;
    }
    for (i = 0; i < inv.thread_count; i++) {
        int m = 0;
        for (j = 0; j < n; j++) m |= t_rule_match_thread(&inv.threads[i], &rules[j]);
        keep_t += !m;
    }
    if (inv.handle_count - keep_h < expect_min_dropped_h || inv.thread_count - keep_t < expect_min_dropped_t)
        printf("    line %d: setup: only %d handles / %d threads match\n", line,
               inv.handle_count - keep_h, inv.thread_count - keep_t);
    CT_GE_LL(inv.handle_count - keep_h, expect_min_dropped_h);
    CT_GE_LL(inv.thread_count - keep_t, expect_min_dropped_t);
    churn_inventory_filter(&inv, rules, n);
    if (inv.handle_count != keep_h || inv.thread_count != keep_t)
        printf("    line %d: after filter %d handles %d threads, expected %d / %d\n", line,
               inv.handle_count, inv.thread_count, keep_h, keep_t);
    CT_EQ_LL(inv.handle_count, keep_h);
    CT_EQ_LL(inv.thread_count, keep_t);
    for (i = 0; i < inv.handle_count; i++)
        for (j = 0; j < n; j++) left_matching += t_rule_match_handle(&inv.handles[i], &rules[j]);
    for (i = 0; i < inv.thread_count; i++)
        for (j = 0; j < n; j++) left_matching += t_rule_match_thread(&inv.threads[i], &rules[j]);
    CT_EQ_LL(left_matching, 0);
    t_check_sane(&inv);
    churn_inventory_free(&inv);
}
#define T_FILTER(rules, n, mh, mt) t_filter_case((rules), (n), (mh), (mt), __LINE__)

CT_TEST(test_inventory_filter) {
    static const char *const names[] = {"ct-ign-1", "ct-ign-2", "ct-keep"};
    t_crew crew;
    int p1[2], p2[2], marked, lst, port = 0, keep;
    char path[] = "/tmp/churn-filter-mark-XXXXXX", pipe_detail[64];
    churn_ignore r_pipe[1], r_mark[1], r_thr[1], r_none[2], r_all[4], r_one_pipe[1], r_tcp[1];
    churn_inventory zero;
    CT_REQUIRE(pipe(p1) == 0);
    CT_REQUIRE(pipe(p2) == 0);
    marked = mkstemp(path);
    CT_REQUIRE(marked >= 0);
    keep = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CT_REQUIRE(keep >= 0);
    lst = t_listener(AF_INET, 64, &port);
    CT_REQUIRE(lst >= 0);
    CT_REQUIRE(t_crew_start(&crew, names, 3) == 0);
    snprintf(pipe_detail, sizeof pipe_detail, "pipe:[%llu]", t_ino(p1[0]));
    memset(r_pipe, 0, sizeof r_pipe);
    memset(r_mark, 0, sizeof r_mark);
    memset(r_thr, 0, sizeof r_thr);
    memset(r_none, 0, sizeof r_none);
    memset(r_all, 0, sizeof r_all);
    memset(r_one_pipe, 0, sizeof r_one_pipe);
    memset(r_tcp, 0, sizeof r_tcp);
    r_pipe[0].kind = "pipe";
    r_mark[0].detail = "churn-filter-mark";
    r_thr[0].thread_prefix = "ct-ign";
    r_none[0].kind = "file";
    r_none[0].detail = "no-such-substring-anywhere";
    r_none[1].thread_prefix = "no-such-thread-prefix";
    r_one_pipe[0].kind = "pipe";
    r_one_pipe[0].detail = pipe_detail;
    r_tcp[0].kind = "socket";
    r_tcp[0].detail = " LISTEN";
    r_all[0] = r_pipe[0];
    r_all[1] = r_mark[0];
    r_all[2] = r_thr[0];
    r_all[3] = r_tcp[0];
    T_FILTER(r_pipe, 1, 4, 0);
    T_FILTER(r_mark, 1, 1, 0);
    T_FILTER(r_thr, 1, 0, 2);
    T_FILTER(r_none, 2, 0, 0);
    T_FILTER(r_one_pipe, 1, 2, 0);
    T_FILTER(r_tcp, 1, 1, 0);
    T_FILTER(r_all, 4, 6, 2);
    T_FILTER(r_all, 0, 0, 0);
    /* exact: the marked file, the pipes, ct-ign threads gone; ct-keep stays */
    {
        churn_inventory inv;
        memset(&inv, 0, sizeof inv);
        T_TAKE(0, &inv);
        churn_inventory_filter(&inv, r_all, 4);
        CT_CHECK(!t_has_id(&inv, marked));
        CT_CHECK(!t_has_id(&inv, p1[0]) && !t_has_id(&inv, p1[1]));
        CT_CHECK(!t_has_id(&inv, p2[0]) && !t_has_id(&inv, p2[1]));
        CT_CHECK(!t_has_id(&inv, lst));
        CT_CHECK(t_find_thread(&inv, crew.t[0].tid) == NULL);
        CT_CHECK(t_find_thread(&inv, crew.t[1].tid) == NULL);
        CT_CHECK(t_find_thread(&inv, crew.t[2].tid) != NULL);
        CT_CHECK(t_find_thread(&inv, (long long)getpid()) != NULL);
        CT_CHECK(t_has_id(&inv, keep)); /* a /dev/null fd no rule matches */
        churn_inventory_free(&inv);
    }
    /* a zeroed inventory filters to nothing, harmlessly */
    memset(&zero, 0, sizeof zero);
    churn_inventory_filter(&zero, r_all, 4);
    CT_EQ_LL(zero.handle_count, 0);
    CT_EQ_LL(zero.thread_count, 0);
    churn_inventory_free(&zero);
    t_crew_stop(&crew);
    close(p1[0]);
    close(p1[1]);
    close(p2[0]);
    close(p2[1]);
    close(marked);
    close(keep);
    close(lst);
    unlink(path);
}

/* ---- free ------------------------------------------------------------------------------- */

CT_TEST(test_inventory_free_safe) {
    churn_inventory inv;
    int fds0 = t_self_fds(), i;
    memset(&inv, 0, sizeof inv);
    churn_inventory_free(&inv);
    churn_inventory_free(&inv);
    T_TAKE(0, &inv);
    CT_CHECK(inv.handle_count > 0);
    churn_inventory_free(&inv);
    CT_CHECK(inv.handles == NULL);
    CT_CHECK(inv.threads == NULL);
    CT_EQ_LL(inv.handle_count, 0);
    CT_EQ_LL(inv.thread_count, 0);
    churn_inventory_free(&inv); /* twice */
    /* take over a filled inventory after free; many takes leave no fds behind */
    for (i = 0; i < 200; i++) {
        if (churn_inventory_take(0, &inv) != CHURN_OK) break;
        churn_inventory_free(&inv);
    }
    CT_EQ_LL(i, 200);
    CT_EQ_LL(t_self_fds(), fds0);
}

/* ---- another process -------------------------------------------------------------------- */

static void *t_child_named(void *arg) {
    int *fds = (int *)arg;
    long long tid = (long long)syscall(SYS_gettid);
    char c;
    pthread_setname_np(pthread_self(), "ct-child-thr");
    (void)!write(fds[1], &tid, sizeof tid);
    while (read(fds[0], &c, 1) < 0 && errno == EINTR) {}
    return NULL;
}

typedef struct t_child_report {
    int file_fd, pipe_r, pipe_w, lst_fd, lst_port, srv_fd, srv_port_peer, cli_fd, cli_port;
    int udp_fd, udp_port, udpc_fd, udpc_port, unix_fd, est_fd, est_port;
    unsigned long long pipe_ino;
    long long tid;
} t_child_report;

CT_TEST(test_inventory_child) {
    char dir[] = "/tmp/churn-child-XXXXXX", path[256], upath[256], want[300];
    int rep[2], st = 0, n = 0;
    pid_t pid;
    t_child_report r;
    churn_inventory inv;
    memset(&inv, 0, sizeof inv);
    memset(&r, 0, sizeof r);
    CT_REQUIRE(mkdtemp(dir) != NULL);
    snprintf(path, sizeof path, "%s/child-file.log", dir);
    snprintf(upath, sizeof upath, "%s/child.sock", dir);
    CT_REQUIRE(pipe(rep) == 0);
    fflush(stdout);
    pid = fork();
    CT_REQUIRE(pid >= 0);
    if (pid == 0) {
        int blk[2], tfd[2], port = 0, cli, srv;
        pthread_t th;
        t_child_report c;
        memset(&c, 0, sizeof c);
        close(rep[0]);
        c.file_fd = open(path, O_RDWR | O_CREAT, 0600);
        if (pipe(blk) != 0 || pipe(tfd) != 0) _exit(1);
        c.pipe_r = blk[0];
        c.pipe_w = blk[1];
        c.pipe_ino = t_ino(blk[0]);
        c.lst_fd = t_listener(AF_INET, 64, &port);
        c.lst_port = port;
        cli = t_connect(AF_INET, port);
        srv = accept(c.lst_fd, NULL, NULL);
        if (c.file_fd < 0 || c.lst_fd < 0 || cli < 0 || srv < 0) _exit(1);
        c.cli_port = t_local_port(cli);
        close(cli); /* srv: CLOSE_WAIT */
        c.udp_fd = t_bound(AF_INET, SOCK_DGRAM, 0);
        c.udpc_fd = t_bound(AF_INET, SOCK_DGRAM, 0);
        if (c.udp_fd < 0 || c.udpc_fd < 0) _exit(1);
        c.udp_port = t_local_port(c.udp_fd);
        c.udpc_port = t_local_port(c.udpc_fd);
        if (t_connect_fd(c.udpc_fd, AF_INET, c.udp_port) != 0) _exit(1);
        c.unix_fd = t_unix_bound(SOCK_STREAM, upath, 0);
        if (c.unix_fd < 0 || listen(c.unix_fd, 4) != 0) _exit(1);
        c.est_fd = t_connect(AF_INET, port); /* ESTABLISHED, peer in the backlog */
        if (c.est_fd < 0) _exit(1);
        c.est_port = t_local_port(c.est_fd);
        if (t_wait_eof(srv) != 0) _exit(1);
        c.srv_fd = srv;
        {
            int targ[2];
            targ[0] = blk[0];
            targ[1] = tfd[1];
            if (pthread_create(&th, NULL, t_child_named, targ) != 0) _exit(1);
            if (t_read_full(tfd[0], &c.tid, sizeof c.tid) != 0) _exit(1);
            (void)!write(rep[1], &c, sizeof c);
            for (;;) pause(); /* targ stays alive: this frame never returns */
        }
    }
    close(rep[1]);
    CT_REQUIRE(t_read_full(rep[0], &r, sizeof r) == 0);
    close(rep[0]);
    CT_REQUIRE(churn_inventory_take((long)pid, &inv) == CHURN_OK);
    {
        char p[64];
        snprintf(p, sizeof p, "/proc/%ld/fd", (long)pid);
        n = t_count_dir(p);
        CT_EQ_LL(inv.handle_count, n);
        snprintf(p, sizeof p, "/proc/%ld/task", (long)pid);
        CT_EQ_LL(inv.thread_count, t_count_dir(p));
    }
    t_check_sane(&inv);
    CT_EQ_LL(inv.pid, (long)pid);
    T_EXPECT_FD(&inv, r.file_fd, "file", path);
    snprintf(want, sizeof want, "pipe:[%llu]", r.pipe_ino);
    T_EXPECT_FD(&inv, r.pipe_r, "pipe", want);
    T_EXPECT_FD(&inv, r.pipe_w, "pipe", want);
    if (t_find(&inv, r.pipe_r) && t_find(&inv, r.pipe_w)) {
        CT_CHECK(t_find(&inv, r.pipe_r)->object != 0);
        CT_EQ_LL(t_find(&inv, r.pipe_r)->object, t_find(&inv, r.pipe_w)->object);
    }
    snprintf(want, sizeof want, "tcp 127.0.0.1:%d LISTEN", r.lst_port);
    T_EXPECT_FD(&inv, r.lst_fd, "socket", want);
    snprintf(want, sizeof want, "tcp 127.0.0.1:%d -> 127.0.0.1:%d CLOSE_WAIT", r.lst_port, r.cli_port);
    T_EXPECT_FD(&inv, r.srv_fd, "socket", want);
    snprintf(want, sizeof want, "tcp 127.0.0.1:%d -> 127.0.0.1:%d ESTABLISHED", r.est_port, r.lst_port);
    T_EXPECT_FD(&inv, r.est_fd, "socket", want);
    snprintf(want, sizeof want, "udp 127.0.0.1:%d", r.udp_port);
    T_EXPECT_FD(&inv, r.udp_fd, "socket", want);
    snprintf(want, sizeof want, "udp 127.0.0.1:%d -> 127.0.0.1:%d", r.udpc_port, r.udp_port);
    T_EXPECT_FD(&inv, r.udpc_fd, "socket", want);
    snprintf(want, sizeof want, "unix stream %s", upath);
    T_EXPECT_FD(&inv, r.unix_fd, "socket", want);
    {
        const churn_thread_info *t = t_find_thread(&inv, r.tid);
        CT_CHECK(t != NULL);
        if (t) CT_EQ_STR(t->name, "ct-child-thr");
        CT_CHECK(t_find_thread(&inv, (long long)pid) != NULL);
    }
    churn_inventory_free(&inv);
    kill(pid, SIGKILL);
    CT_CHECK(waitpid(pid, &st, 0) == pid);
    CT_EQ_LL(churn_inventory_take((long)pid, &inv), CHURN_E_NOPROC);
    churn_inventory_free(&inv);
    unlink(path);
    unlink(upath);
    rmdir(dir);
}

/* A process in its own network namespace (a server in a container watched from the host):
   its loopback sockets are not in this namespace's tables, yet snapshot and inventory of it
   by pid see them. Needs CAP_SYS_ADMIN for unshare(CLONE_NEWNET); skipped otherwise. */
typedef struct t_ns_report {
    int ok, lst_fd, lst_port, cw_fd, cw_peer, est_fd, est_port, udp_fd, udp_port, outq;
    long long sent;
} t_ns_report;

static int t_lo_up(void) {
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM, 0), rc = -1;
    if (fd < 0) return -1;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, "lo", 3);
    if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
        ifr.ifr_flags = (short)(ifr.ifr_flags | IFF_UP);
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    close(fd);
    return rc;
}

CT_TEST(test_other_netns_snapshot_and_inventory) {
    int rep[2], st = 0;
    pid_t pid;
    t_ns_report r;
    churn_snapshot s;
    churn_inventory inv;
    char want[256];
    memset(&r, 0, sizeof r);
    memset(&inv, 0, sizeof inv);
    CT_REQUIRE(pipe(rep) == 0);
    fflush(stdout);
    pid = fork();
    CT_REQUIRE(pid >= 0);
    if (pid == 0) {
        t_ns_report c;
        int cli, a, port = 0, i, outq = 0;
        static char buf[65536];
        memset(&c, 0, sizeof c);
        close(rep[0]);
        if (unshare(CLONE_NEWNET) != 0 || t_lo_up() != 0) {
            c.ok = 0;
            (void)!write(rep[1], &c, sizeof c);
            _exit(0);
        }
        c.lst_fd = t_listener(AF_INET, 64, &port);
        c.lst_port = port;
        cli = t_connect(AF_INET, port);
        c.cw_fd = accept(c.lst_fd, NULL, NULL);
        if (c.lst_fd < 0 || cli < 0 || c.cw_fd < 0) _exit(1);
        c.cw_peer = t_local_port(cli);
        close(cli);
        if (t_wait_eof(c.cw_fd) != 0) _exit(1);
        c.est_fd = t_connect(AF_INET, port);
        a = accept(c.lst_fd, NULL, NULL); /* a never reads */
        if (c.est_fd < 0 || a < 0) _exit(1);
        c.est_port = t_local_port(c.est_fd);
        fcntl(c.est_fd, F_SETFL, fcntl(c.est_fd, F_GETFL) | O_NONBLOCK);
        memset(buf, 'n', sizeof buf);
        for (i = 0; i < 20000; i++) {
            ssize_t w = send(c.est_fd, buf, sizeof buf, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w < 0) {
                if (errno == EINTR) continue;
                break;
            }
            c.sent += w;
        }
        if (ioctl(c.est_fd, SIOCOUTQ, &outq) != 0) _exit(1);
        c.outq = outq;
        c.udp_fd = t_bound(AF_INET, SOCK_DGRAM, 0);
        if (c.udp_fd < 0) _exit(1);
        c.udp_port = t_local_port(c.udp_fd);
        c.ok = 1;
        (void)!write(rep[1], &c, sizeof c);
        for (;;) pause();
    }
    close(rep[1]);
    if (t_read_full(rep[0], &r, sizeof r) != 0) r.ok = -1;
    close(rep[0]);
    if (r.ok != 1) {
        kill(pid, SIGKILL);
        waitpid(pid, &st, 0);
        if (r.ok == 0) CT_SKIP("unshare(CLONE_NEWNET) or bringing lo up not permitted");
        CT_REQUIRE(!"child failed to set up its namespace");
    }
    CT_CHECK(churn_snapshot_take((long)pid, &s) == CHURN_OK);
    printf("    info: netns child: close_wait %lld, sockets %lld, send_queue_bytes %lld (SIOCOUTQ %d)\n",
           s.value[CHURN_METRIC_CLOSE_WAIT], s.value[CHURN_METRIC_SOCKETS],
           s.value[CHURN_METRIC_SEND_QUEUE_BYTES], r.outq);
    CT_EQ_LL(s.value[CHURN_METRIC_CLOSE_WAIT], 1);
    CT_EQ_LL(s.value[CHURN_METRIC_SOCKETS], 5);
    CT_GE_LL(s.value[CHURN_METRIC_SEND_QUEUE_BYTES], r.outq / 2);
    CT_LE_LL(s.value[CHURN_METRIC_SEND_QUEUE_BYTES], r.sent);
    CT_REQUIRE(churn_inventory_take((long)pid, &inv) == CHURN_OK);
    snprintf(want, sizeof want, "tcp 127.0.0.1:%d LISTEN", r.lst_port);
    T_EXPECT_FD(&inv, r.lst_fd, "socket", want);
    snprintf(want, sizeof want, "tcp 127.0.0.1:%d -> 127.0.0.1:%d CLOSE_WAIT", r.lst_port, r.cw_peer);
    T_EXPECT_FD(&inv, r.cw_fd, "socket", want);
    snprintf(want, sizeof want, "tcp 127.0.0.1:%d -> 127.0.0.1:%d ESTABLISHED", r.est_port, r.lst_port);
    T_EXPECT_FD(&inv, r.est_fd, "socket", want);
    snprintf(want, sizeof want, "udp 127.0.0.1:%d", r.udp_port);
    T_EXPECT_FD(&inv, r.udp_fd, "socket", want);
    churn_inventory_free(&inv);
    kill(pid, SIGKILL);
    CT_CHECK(waitpid(pid, &st, 0) == pid);
}

/* Inventories of a process that keeps opening and closing fds and starting threads: every
   call succeeds, every result is well-formed, vanished entries are only counted (skipped). */
static void *t_blink_thread(void *arg) { return arg; }

CT_TEST(test_inventory_of_churning_process) {
    int i, bad = 0, skipped = 0, gate[2], st = 0;
    pid_t pid;
    CT_REQUIRE(pipe(gate) == 0);
    fflush(stdout);
    pid = fork();
    CT_REQUIRE(pid >= 0);
    if (pid == 0) {
        long k;
        close(gate[0]);
        (void)!write(gate[1], "r", 1);
        for (k = 0; k < 50000000L; k++) { /* bounded: killed long before the end */
            int fds[8], j;
            for (j = 0; j < 8; j++) fds[j] = (j & 1) ? eventfd(0, 0) : socket(AF_INET, SOCK_DGRAM, 0);
            for (j = 0; j < 8; j++)
                if (fds[j] >= 0) close(fds[j]);
            if (k % 64 == 0) {
                pthread_t t;
                if (pthread_create(&t, NULL, t_blink_thread, NULL) == 0) pthread_join(t, NULL);
            }
        }
        _exit(0);
    }
    close(gate[1]);
    {
        char c;
        CT_REQUIRE(t_read_full(gate[0], &c, 1) == 0);
    }
    for (i = 0; i < 100; i++) {
        churn_inventory inv;
        int rc;
        memset(&inv, 0, sizeof inv);
        rc = churn_inventory_take((long)pid, &inv);
        if (rc != CHURN_OK) {
            if (bad++ == 0) printf("    inventory %d: %d (%s)\n", i, rc, churn_strerror(rc));
        } else {
            t_check_sane(&inv);
            CT_CHECK(inv.skipped >= 0);
            CT_CHECK(inv.thread_count >= 1);
            skipped += inv.skipped;
        }
        churn_inventory_free(&inv);
    }
    printf("    info: 100 inventories of a churning process, %d entries skipped in all\n", skipped);
    kill(pid, SIGKILL);
    CT_CHECK(waitpid(pid, &st, 0) == pid);
    close(gate[0]);
    CT_EQ_LL(bad, 0);
}

/* ---- awkward bytes ---------------------------------------------------------------------- */

/* fd's detail must be exactly `want` (bytes shown on mismatch). */
static void t_expect_bytes(const churn_inventory *inv, int fd, const char *want, int line) {
    const churn_handle_info *h = t_find(inv, fd);
    size_t k;
    if (h && strcmp(h->detail, want) == 0) return;
    printf("    line %d: fd %d detail bytes:", line, fd);
    for (k = 0; h && h->detail[k] && k < 96; k++) printf(" %02x", (unsigned char)h->detail[k]);
    printf("%s\n    expected bytes:", h ? "" : " (missing)");
    for (k = 0; want[k] && k < 96; k++) printf(" %02x", (unsigned char)want[k]);
    printf("\n");
    CT_CHECK(h != NULL && strcmp(h->detail, want) == 0);
}

typedef struct t_awk_thread {
    const char *name;
    long long tid;
    int rc, ready_w, stop_r;
} t_awk_thread;

static void *t_awk_main(void *arg) {
    t_awk_thread *t = (t_awk_thread *)arg;
    char c;
    t->tid = (long long)syscall(SYS_gettid);
    t->rc = pthread_setname_np(pthread_self(), t->name);
    (void)!write(t->ready_w, "r", 1);
    while (read(t->stop_r, &c, 1) < 0 && errno == EINTR) {}
    return NULL;
}

CT_TEST(test_inventory_awkward_bytes) {
    static const char *const names[] = {
        "dq\"uote", "back\\slash", "ctl\x01\tx", "nl\nline", "bad\xff\xfeutf8", "sp ace",
        "mix\"\\\x1f\x7f\xc3\x28", "(deleted)"};
    enum { NF = (int)(sizeof names / sizeof names[0]) };
    static const char tname[] = "t\"b\\\x01\t\xff\xfe!"; /* 11 bytes */
    char dir[] = "/tmp/churn-awk-XXXXXX", paths[NF][256], upath[128], unl[128], anl[64], want[300];
    int fds[NF], i, u, u_nl, u_abs, ready[2], stop[2];
    pthread_t th;
    t_awk_thread at;
    churn_inventory inv;
    memset(&inv, 0, sizeof inv);
    CT_REQUIRE(mkdtemp(dir) != NULL);
    for (i = 0; i < NF; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", dir, names[i]);
        fds[i] = open(paths[i], O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        CT_REQUIRE(fds[i] >= 0);
    }
    snprintf(upath, sizeof upath, "%s/u\"s\\\x02\xff", dir);
    u = t_unix_bound(SOCK_STREAM, upath, 0);
    CT_REQUIRE(u >= 0);
    /* a newline in a socket path and in an abstract name (the kernel's text table,
       /proc/net/unix, prints these raw: a line-based reader cuts them) */
    snprintf(unl, sizeof unl, "%s/s\nnl\tx", dir);
    u_nl = t_unix_bound(SOCK_STREAM, unl, 0);
    CT_REQUIRE(u_nl >= 0);
    snprintf(anl, sizeof anl, "churn-abs-%ld\nnl\x01\xff", (long)getpid());
    u_abs = t_unix_bound(SOCK_DGRAM, anl, 1);
    CT_REQUIRE(u_abs >= 0);
    CT_REQUIRE(pipe(ready) == 0 && pipe(stop) == 0);
    at.name = tname;
    at.tid = 0;
    at.rc = -1;
    at.ready_w = ready[1];
    at.stop_r = stop[0];
    CT_REQUIRE(pthread_create(&th, NULL, t_awk_main, &at) == 0);
    {
        char c;
        CT_REQUIRE(t_read_full(ready[0], &c, 1) == 0);
    }
    CT_EQ_LL(at.rc, 0);
    T_TAKE(0, &inv);
    t_check_sane(&inv);
    for (i = 0; i < NF; i++) {
        char link[512];
        const churn_handle_info *h = t_find(&inv, fds[i]);
        CT_REQUIRE(t_fdlink(0, fds[i], link, sizeof link) == 0);
        CT_CHECK(strcmp(link, paths[i]) == 0); /* the kernel gives the raw bytes */
        CT_CHECK(h != NULL);
        if (!h) continue;
        CT_EQ_STR(h->kind, "file");
        if (strcmp(h->detail, paths[i]) != 0) {
            size_t k;
            printf("    file %d: detail bytes:", i);
            for (k = 0; h->detail[k] && k < 80; k++) printf(" %02x", (unsigned char)h->detail[k]);
            printf("\n    expected bytes:");
            for (k = 0; paths[i][k] && k < 80; k++) printf(" %02x", (unsigned char)paths[i][k]);
            printf("\n");
        }
        CT_CHECK(strcmp(h->detail, paths[i]) == 0);
    }
    snprintf(want, sizeof want, "unix stream %s", upath);
    t_expect_bytes(&inv, u, want, __LINE__);
    snprintf(want, sizeof want, "unix stream %s", unl);
    t_expect_bytes(&inv, u_nl, want, __LINE__);
    snprintf(want, sizeof want, "unix dgram @%s", anl);
    t_expect_bytes(&inv, u_abs, want, __LINE__);
    {
        const churn_thread_info *t = t_find_thread(&inv, at.tid);
        CT_CHECK(t != NULL);
        if (t) {
            if (strcmp(t->name, tname) != 0) {
                size_t k;
                printf("    thread name bytes:");
                for (k = 0; t->name[k] && k < sizeof t->name; k++) printf(" %02x", (unsigned char)t->name[k]);
                printf("\n");
            }
            CT_CHECK(strcmp(t->name, tname) == 0);
        }
    }
    churn_inventory_free(&inv);
    close(stop[1]);
    pthread_join(th, NULL);
    close(stop[0]);
    close(ready[0]);
    close(ready[1]);
    for (i = 0; i < NF; i++) {
        close(fds[i]);
        unlink(paths[i]);
    }
    close(u);
    close(u_nl);
    close(u_abs);
    unlink(upath);
    unlink(unl);
    rmdir(dir);
}

/* ---- more edges -------------------------------------------------------------------------- */

CT_TEST(test_inventory_self_by_explicit_pid) {
    churn_inventory a, b;
    int listed, i, mismatched = 0;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    T_TAKE((long)getpid(), &a);
    listed = t_self_fds();
    T_TAKE(0, &b);
    CT_EQ_LL(a.pid, (long)getpid());
    CT_EQ_LL(a.handle_count, listed);
    CT_EQ_LL(a.handle_count, b.handle_count);
    CT_EQ_LL(a.thread_count, b.thread_count);
    for (i = 0; i < a.handle_count && i < b.handle_count; i++) {
        const churn_handle_info *h = t_find(&b, a.handles[i].id);
        if (!h || strcmp(h->kind, a.handles[i].kind) != 0 || strcmp(h->detail, a.handles[i].detail) != 0)
            mismatched++;
    }
    CT_EQ_LL(mismatched, 0);
    churn_inventory_free(&a);
    churn_inventory_free(&b);
}

CT_TEST(test_inventory_long_path) {
    char dir[] = "/tmp/churn-long-XXXXXX", path[1024];
    int fd, i, depth = 0;
    size_t len;
    const churn_handle_info *h;
    churn_inventory inv;
    memset(&inv, 0, sizeof inv);
    CT_REQUIRE(mkdtemp(dir) != NULL);
    /* a path of ~400 bytes: the detail is cut, NUL-terminated, and starts like the path */
    snprintf(path, sizeof path, "%s", dir);
    for (i = 0; i < 7; i++) {
        len = strlen(path);
        snprintf(path + len, sizeof path - len, "/%s", "d123456789012345678901234567890123456789012345678");
        CT_REQUIRE(mkdir(path, 0700) == 0);
        depth++;
    }
    len = strlen(path);
    snprintf(path + len, sizeof path - len, "/%s", "leaf-file-name");
    CT_REQUIRE(strlen(path) > 300);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    CT_REQUIRE(fd >= 0);
    T_TAKE(0, &inv);
    t_check_sane(&inv);
    h = t_find(&inv, fd);
    CT_REQUIRE(h != NULL);
    CT_EQ_STR(h->kind, "file");
    CT_CHECK(strlen(h->detail) < sizeof h->detail);
    CT_CHECK(strlen(h->detail) >= 200);
    CT_CHECK(strncmp(h->detail, path, 200) == 0);
    CT_CHECK(h->object != 0);
    churn_inventory_free(&inv);
    close(fd);
    unlink(path);
    for (i = depth; i > 0; i--) {
        char *slash = strrchr(path, '/');
        if (slash) *slash = '\0';
        CT_CHECK(rmdir(path) == 0);
    }
    CT_CHECK(rmdir(dir) == 0);
}

CT_TEST(test_inventory_diff_thread_renamed) {
    static const char *const names[] = {"ct-before-name"};
    t_crew crew;
    churn_inventory before, after, added;
    const churn_thread_info *t;
    memset(&before, 0, sizeof before);
    memset(&after, 0, sizeof after);
    memset(&added, 0, sizeof added);
    CT_REQUIRE(t_crew_start(&crew, names, 1) == 0);
    T_TAKE(0, &before);
    CT_REQUIRE(pthread_setname_np(crew.t[0].th, "ct-after-name") == 0);
    T_TAKE(0, &after);
    t = t_find_thread(&after, crew.t[0].tid);
    CT_CHECK(t != NULL);
    if (t) CT_EQ_STR(t->name, "ct-after-name");
    CT_REQUIRE(churn_inventory_diff(&before, &after, &added) == CHURN_OK);
    CT_EQ_LL(added.thread_count, 0); /* threads are matched by tid */
    CT_EQ_LL(added.handle_count, 0);
    churn_inventory_free(&added);
    churn_inventory_free(&before);
    churn_inventory_free(&after);
    t_crew_stop(&crew);
}

/* Hundreds of TCP sockets (the kernel's answer spans many netlink messages): every detail
   exact; the inventory agrees with a snapshot on sockets and CLOSE_WAIT. */
CT_TEST(test_inventory_many_sockets_and_snapshot_agree) {
    enum { N = 400 };
    static int cli[N], srv[N], cport[N];
    struct rlimit lim;
    int lst, lp = 0, i, n = 0, wrong = 0, inv_sockets = 0, inv_cw = 0;
    char want[256];
    churn_inventory inv;
    churn_snapshot s;
    memset(&inv, 0, sizeof inv);
    CT_REQUIRE(getrlimit(RLIMIT_NOFILE, &lim) == 0);
    if (lim.rlim_cur < 2048) {
        if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < 2048) CT_SKIP("RLIMIT_NOFILE below 2048");
        lim.rlim_cur = 2048;
        CT_REQUIRE(setrlimit(RLIMIT_NOFILE, &lim) == 0);
    }
    lst = t_listener(AF_INET, 64, &lp);
    CT_REQUIRE(lst >= 0);
    for (i = 0; i < N; i++) {
        cli[n] = t_connect(AF_INET, lp);
        if (cli[n] < 0) break;
        srv[n] = accept(lst, NULL, NULL);
        if (srv[n] < 0) {
            close(cli[n]);
            break;
        }
        cport[n] = t_local_port(cli[n]);
        n++;
    }
    CT_REQUIRE(n == N);
    /* the first half's clients close: those servers are in CLOSE_WAIT */
    for (i = 0; i < N / 2; i++) close(cli[i]);
    for (i = 0; i < N / 2; i++) CT_REQUIRE(t_wait_eof(srv[i]) == 0);
    T_TAKE(0, &inv);
    CT_REQUIRE(churn_snapshot_take(0, &s) == CHURN_OK);
    for (i = 0; i < N; i++) {
        const churn_handle_info *h;
        if (i >= N / 2) {
            snprintf(want, sizeof want, "tcp 127.0.0.1:%d -> 127.0.0.1:%d ESTABLISHED", cport[i], lp);
            h = t_find(&inv, cli[i]);
            if (!h || strcmp(h->detail, want) != 0) {
                if (wrong++ < 3) printf("    fd %d: want \"%s\" got \"%s\"\n", cli[i], want, h ? h->detail : "(missing)");
            }
        }
        snprintf(want, sizeof want, "tcp 127.0.0.1:%d -> 127.0.0.1:%d %s", lp, cport[i],
                 i < N / 2 ? "CLOSE_WAIT" : "ESTABLISHED");
        h = t_find(&inv, srv[i]);
        if (!h || strcmp(h->detail, want) != 0) {
            if (wrong++ < 3) printf("    fd %d: want \"%s\" got \"%s\"\n", srv[i], want, h ? h->detail : "(missing)");
        }
    }
    CT_EQ_LL(wrong, 0);
    for (i = 0; i < inv.handle_count; i++) {
        size_t len = strlen(inv.handles[i].detail);
        if (strcmp(inv.handles[i].kind, "socket") != 0) continue;
        inv_sockets++;
        if (len > 11 && strcmp(inv.handles[i].detail + len - 11, " CLOSE_WAIT") == 0) inv_cw++;
    }
    CT_EQ_LL(s.value[CHURN_METRIC_SOCKETS], inv_sockets);
    CT_EQ_LL(s.value[CHURN_METRIC_CLOSE_WAIT], inv_cw);
    CT_GE_LL(inv_cw, N / 2);
    CT_EQ_LL(inv.skipped, 0);
    churn_inventory_free(&inv);
    for (i = 0; i < N; i++) {
        if (i >= N / 2) close(cli[i]);
        close(srv[i]);
    }
    close(lst);
}

/* ---- many fds --------------------------------------------------------------------------- */

CT_TEST(test_inventory_5000_fds) {
    enum { N = 5000 };
    struct rlimit old, lim;
    static int fds[N];
    int i, opened = 0, base_fd;
    churn_inventory before, after, added;
    churn_snapshot s0, s1;
    double t0, t1;
    memset(&before, 0, sizeof before);
    memset(&after, 0, sizeof after);
    memset(&added, 0, sizeof added);
    CT_REQUIRE(getrlimit(RLIMIT_NOFILE, &old) == 0);
    lim = old;
    if (lim.rlim_cur < (rlim_t)(N + 200)) {
        if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < (rlim_t)(N + 200))
            CT_SKIP("RLIMIT_NOFILE hard limit below 5,200");
        lim.rlim_cur = (rlim_t)(N + 200);
        CT_REQUIRE(setrlimit(RLIMIT_NOFILE, &lim) == 0);
    }
    base_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CT_REQUIRE(base_fd >= 0);
    T_TAKE(0, &before);
    CT_REQUIRE(churn_snapshot_take(0, &s0) == CHURN_OK);
    for (i = 0; i < N; i++) {
        if (i % 10 == 0) fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        else if (i % 10 == 1) fds[i] = eventfd(0, EFD_CLOEXEC);
        else fds[i] = dup(base_fd);
        if (fds[i] < 0) break;
        opened++;
    }
    CT_REQUIRE(opened == N);
    t0 = t_now();
    T_TAKE(0, &after);
    t1 = t_now();
    printf("    info: inventory of %d handles took %.2f ms\n", after.handle_count, (t1 - t0) * 1e3);
    CT_REQUIRE(churn_snapshot_take(0, &s1) == CHURN_OK);
    CT_EQ_LL(after.handle_count - before.handle_count, N);
    CT_EQ_LL(after.skipped, 0);
    CT_EQ_LL(s1.value[CHURN_METRIC_HANDLES] - s0.value[CHURN_METRIC_HANDLES], N);
    CT_EQ_LL(s1.value[CHURN_METRIC_SOCKETS] - s0.value[CHURN_METRIC_SOCKETS], N / 10);
    CT_REQUIRE(churn_inventory_diff(&before, &after, &added) == CHURN_OK);
    CT_EQ_LL(added.handle_count, N);
    {
        int sockets = 0, events = 0;
        for (i = 0; i < added.handle_count; i++) {
            sockets += strcmp(added.handles[i].kind, "socket") == 0;
            events += strcmp(added.handles[i].kind, "eventfd") == 0;
        }
        CT_EQ_LL(sockets, N / 10);
        CT_EQ_LL(events, N / 10);
    }
    t_check_sane(&after);
    churn_inventory_free(&added);
    churn_inventory_free(&before);
    churn_inventory_free(&after);
    for (i = 0; i < opened; i++) close(fds[i]);
    close(base_fd);
    setrlimit(RLIMIT_NOFILE, &old);
}

/* ---- listener owners ---------------------------------------------------------------------- */

CT_TEST(test_listener_pid_self_v4_v6) {
    int port = 0, fd = t_listener(AF_INET, 8, &port), owners = -1;
    long pid = -1;
    CT_REQUIRE(fd >= 0);
    CT_EQ_LL(churn_listener_pid(port, &pid, &owners), CHURN_OK);
    CT_EQ_LL(pid, (long long)getpid());
    CT_EQ_LL(owners, 1);
    close(fd);
    /* closed: nobody listens there any more */
    CT_EQ_LL(churn_listener_pid(port, &pid, &owners), CHURN_E_NOPROC);
    CT_EQ_LL(pid, 0);
    CT_EQ_LL(owners, 0);
    if (!t_have_ipv6()) CT_SKIP("no IPv6 loopback");
    fd = t_listener(AF_INET6, 8, &port);
    CT_REQUIRE(fd >= 0);
    CT_EQ_LL(churn_listener_pid(port, &pid, NULL), CHURN_OK);
    CT_EQ_LL(pid, (long long)getpid());
    close(fd);
}

/* A connected socket's local port is not a listener. */
CT_TEST(test_listener_pid_ignores_connections) {
    int port = 0, lfd = t_listener(AF_INET, 8, &port), c, a, cport;
    long pid = -1;
    CT_REQUIRE(lfd >= 0);
    c = t_connect(AF_INET, port);
    CT_REQUIRE(c >= 0);
    a = accept(lfd, NULL, NULL);
    CT_REQUIRE(a >= 0);
    cport = t_local_port(c);
    CT_EQ_LL(churn_listener_pid(cport, &pid, NULL), CHURN_E_NOPROC);
    CT_EQ_LL(churn_listener_pid(port, &pid, NULL), CHURN_OK);
    close(a);
    close(c);
    close(lfd);
}

/* A listener held by a child only, then shared by parent and child (a pre-forked server). */
CT_TEST(test_listener_pid_child_and_shared) {
    int port = 0, fd = t_listener(AF_INET, 8, &port), owners = 0, st = 0;
    long pid = 0;
    pid_t child;
    CT_REQUIRE(fd >= 0);
    child = t_fork_paused(); /* holds the listener too */
    CT_REQUIRE(child > 0);
    CT_EQ_LL(churn_listener_pid(port, &pid, &owners), CHURN_OK);
    CT_EQ_LL(owners, 2);
    CT_EQ_LL(pid, (long long)(getpid() < child ? getpid() : child));
    close(fd); /* now only the child holds it */
    CT_EQ_LL(churn_listener_pid(port, &pid, &owners), CHURN_OK);
    CT_EQ_LL(pid, (long long)child);
    CT_EQ_LL(owners, 1);
    kill(child, SIGKILL);
    CT_REQUIRE(waitpid(child, &st, 0) == child);
    CT_EQ_LL(churn_listener_pid(port, &pid, &owners), CHURN_E_NOPROC);
}

/* As root: a process dropped to nobody sees the listener but not its owner's fds. */
typedef struct t_listener_arg {
    int fd, port;
} t_listener_arg;

static void t_listener_as_nobody(void *arg, int *r) {
    t_listener_arg *a = (t_listener_arg *)arg;
    long pid = 0;
    close(a->fd); /* the listener is the parent's alone */
    r[0] = churn_listener_pid(a->port, &pid, NULL);
}

CT_TEST(test_listener_pid_perm) {
    t_listener_arg a;
    int rc = 99;
    if (geteuid() != 0) CT_SKIP("needs root to make a process of another user");
    a.fd = t_listener(AF_INET, 8, &a.port);
    CT_REQUIRE(a.fd >= 0);
    CT_REQUIRE(t_as_nobody(t_listener_as_nobody, &a, &rc, 1) == 0); /* dropped root */
    close(a.fd);
    CT_EQ_LL(rc, CHURN_E_PERM);
}

CT_TEST(test_listener_pid_bad_input) {
    long pid = 7;
    int owners = 7;
    CT_EQ_LL(churn_listener_pid(0, &pid, &owners), CHURN_E_INVAL);
    CT_EQ_LL(pid, 0);
    CT_EQ_LL(owners, 0);
    CT_EQ_LL(churn_listener_pid(65536, &pid, NULL), CHURN_E_INVAL);
    CT_EQ_LL(churn_listener_pid(-1, &pid, NULL), CHURN_E_INVAL);
    CT_EQ_LL(churn_listener_pid(8080, NULL, &owners), CHURN_E_INVAL);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    CT_RUN(test_inventory_errors);
    CT_RUN(test_inventory_perm);
    CT_RUN(test_inventory_matches_proc);
    CT_RUN(test_inventory_fd_kinds);
    CT_RUN(test_inventory_deleted_file);
    CT_RUN(test_inventory_tty);
    CT_RUN(test_inventory_anon);
    CT_RUN(test_inventory_tcp_ipv4);
    CT_RUN(test_inventory_tcp_ipv6);
    CT_RUN(test_inventory_udp_ipv4);
    CT_RUN(test_inventory_udp_ipv6);
    CT_RUN(test_inventory_unix);
    CT_RUN(test_inventory_named_threads);
    CT_RUN(test_inventory_diff_new);
    CT_RUN(test_inventory_diff_fd_reuse);
    CT_RUN(test_inventory_filter);
    CT_RUN(test_inventory_free_safe);
    CT_RUN(test_listener_pid_self_v4_v6);
    CT_RUN(test_listener_pid_ignores_connections);
    CT_RUN(test_listener_pid_child_and_shared);
    CT_RUN(test_listener_pid_perm);
    CT_RUN(test_listener_pid_bad_input);
    CT_RUN(test_inventory_child);
    CT_RUN(test_inventory_of_churning_process);
    CT_RUN(test_other_netns_snapshot_and_inventory);
    CT_RUN(test_inventory_awkward_bytes);
    CT_RUN(test_inventory_self_by_explicit_pid);
    CT_RUN(test_inventory_long_path);
    CT_RUN(test_inventory_diff_thread_renamed);
    CT_RUN(test_inventory_many_sockets_and_snapshot_agree);
    CT_RUN(test_inventory_5000_fds);
    return ct_finish();
}
