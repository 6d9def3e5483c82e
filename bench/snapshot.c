/* bench/snapshot.c - what a churn.h snapshot costs, next to hand-written C and psutil.

   Build: gcc -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -D_GNU_SOURCE -pthread -I. \
              bench/snapshot.c -o build/bench/snapshot -lm
   Run:   build/bench/snapshot            (no arguments; exits 0 unless something errors)

   One process, two fd levels (16 and 4,096 open fds), median microseconds:
   (a) churn_snapshot_take(0)  vs  a careful plain reading of the same facts:
       /proc/self/fd + readlinkat per entry (handles, sockets, socket inodes),
       /proc/self/status (Threads, VmRSS, VmSize, RssAnon, VmSwap),
       /proc/self/net/tcp + tcp6 (CLOSE_WAIT rows and tx_queue of our inodes),
       a /proc scan of every pid's stat for children / zombies.
   (b) churn_snapshot_take_some(0, handles|threads|rss|private)  vs  the O(1) reading:
       stat("/proc/self/fd").st_size, stat("/proc/self/task").st_nlink - 2, /proc/self/statm.
   (b2) churn_sampler_take(handles|threads|rss|private) vs the same O(1) reading through
       kept fds: fstatat(/proc/self dir fd, "fd" / "task") and pread of a kept statm fd.
   (c) psutil num_fds + num_threads + memory_info on this pid, measured by
       /usr/bin/python3 while this process holds the fds (all of them O_CLOEXEC).
   (d) each source by itself, for the record (including a sock_diag netlink dump,
       full and filtered to CLOSE_WAIT).

   The sockets are real: 8 TCP loopback connections to a forked peer process (so
   the snapshot also sees one child), 2 of them in CLOSE_WAIT (the peer closed),
   one with a full send queue (the peer never reads); at 4,096 fds the filler also
   holds unix socketpairs and pipes besides /dev/null. */
#define CHURN_IMPLEMENTATION
#include "../churn.h"

#define BENCH_NAME "bench/snapshot"
#include "bench_util.h" /* die, now_*, median, read_all_at, raise_nofile */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>
#include <linux/sockios.h>

#define N_CONN 8
#define N_CLOSED_BY_PEER 2

/* ---- socket inode set --------------------------------------------------------------------- */
typedef struct { unsigned long *v; int n, cap; } ino_set;

static void ino_add(ino_set *s, unsigned long ino)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->v = (unsigned long *)realloc(s->v, (size_t)s->cap * sizeof *s->v);
        if (!s->v) die("realloc");
    }
    s->v[s->n++] = ino;
}

static int cmp_ul(const void *a, const void *b)
{
    unsigned long x = *(const unsigned long *)a, y = *(const unsigned long *)b;
    return (x > y) - (x < y);
}

static int ino_has(const ino_set *s, unsigned long ino)
{
    return s->n && bsearch(&ino, s->v, (size_t)s->n, sizeof *s->v, cmp_ul) != NULL;
}

/* ---- the plain full reading ---------------------------------------------------------------- */
typedef struct {
    long long handles, sockets, threads, rss_kb, vm_kb, anon_kb, swap_kb;
    long long close_wait, sendq, children, zombies;
} plain_facts;

/* /proc/self/fd with a readlinkat per entry; collects socket inodes. */
static void plain_fds(plain_facts *f, ino_set *socks)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int dfd;
    char link[256];
    if (!d) die("opendir /proc/self/fd");
    dfd = dirfd(d);
    socks->n = 0;
    f->handles = f->sockets = 0;
    while ((e = readdir(d)) != NULL) {
        ssize_t n;
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        if (atoi(e->d_name) == dfd) continue;
        f->handles++;
        n = readlinkat(dfd, e->d_name, link, sizeof link - 1);
        if (n <= 0) continue;
        link[n] = '\0';
        if (strncmp(link, "socket:[", 8) == 0) {
            f->sockets++;
            ino_add(socks, strtoul(link + 8, NULL, 10));
        }
    }
    closedir(d);
    if (socks->n) qsort(socks->v, (size_t)socks->n, sizeof *socks->v, cmp_ul);
}

static long long status_field(const char *text, const char *key)
{
    const char *p = strstr(text, key);
    if (!p) return -1;
    return strtoll(p + strlen(key), NULL, 10);
}

static void plain_status(plain_facts *f)
{
    if (read_all_at(AT_FDCWD, "/proc/self/status") < 0) die("read /proc/self/status");
    f->threads = status_field(g_buf, "\nThreads:");
    f->rss_kb = status_field(g_buf, "\nVmRSS:");
    f->vm_kb = status_field(g_buf, "\nVmSize:");
    f->anon_kb = status_field(g_buf, "\nRssAnon:");
    f->swap_kb = status_field(g_buf, "\nVmSwap:");
}

/* One text table: counts CLOSE_WAIT (08) rows and sums tx_queue of non-listening rows
   whose inode is one of ours. Returns rows parsed. */
static int plain_tcp_table(const char *path, const ino_set *socks, plain_facts *f)
{
    char *p, *nl;
    int rows = 0;
    if (read_all_at(AT_FDCWD, path) < 0) return 0; /* no IPv6: fine */
    p = strchr(g_buf, '\n'); /* header line */
    if (!p) return 0;
    p++;
    for (; *p; p = nl + 1) {
        unsigned long st, tx, ino;
        char *q;
        int i;
        nl = strchr(p, '\n');
        if (!nl) break;
        rows++;
        /* "  sl: local rem st tx:rx tr:when retrnsmt uid timeout inode ..." */
        q = strchr(p, ':');                       /* after "sl" */
        if (!q || q > nl) continue;
        q++;
        while (*q == ' ') q++;
        q = strchr(q, ' ');                       /* past local */
        if (!q) continue;
        while (*q == ' ') q++;
        q = strchr(q, ' ');                       /* past remote */
        if (!q) continue;
        st = strtoul(q, &q, 16);
        tx = strtoul(q, &q, 16);
        if (*q == ':') q++;
        strtoul(q, &q, 16);                       /* rx */
        for (i = 0; i < 2; i++) {                 /* tr:when, retrnsmt */
            while (*q == ' ') q++;
            q = strchr(q, ' ');
            if (!q) break;
        }
        if (!q) continue;
        strtoul(q, &q, 10);                       /* uid */
        strtoul(q, &q, 10);                       /* timeout */
        ino = strtoul(q, &q, 10);
        if (!ino_has(socks, ino)) continue;
        if (st == 0x08) f->close_wait++;
        if (st != 0x0A) f->sendq += (long long)tx;
    }
    return rows;
}

static void plain_tcp(plain_facts *f, const ino_set *socks)
{
    f->close_wait = f->sendq = 0;
    plain_tcp_table("/proc/self/net/tcp", socks, f);
    plain_tcp_table("/proc/self/net/tcp6", socks, f);
}

/* Every /proc/N/stat, compare ppid. */
static void plain_children(plain_facts *f, long self)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int pfd;
    char path[300], buf[1024];
    if (!d) die("opendir /proc");
    pfd = dirfd(d);
    f->children = f->zombies = 0;
    while ((e = readdir(d)) != NULL) {
        int fd;
        ssize_t n;
        char *rp, state;
        long ppid;
        if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
        snprintf(path, sizeof path, "%s/stat", e->d_name);
        fd = openat(pfd, path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0) continue;
        buf[n] = '\0';
        rp = strrchr(buf, ')');
        if (!rp || rp[1] == '\0') continue;
        state = rp[2];
        ppid = strtol(rp + 3, NULL, 10);
        if (ppid != self) continue;
        if (state == 'Z') f->zombies++;
        else f->children++;
    }
    closedir(d);
}

static ino_set g_socks;

static void plain_full(plain_facts *f)
{
    plain_fds(f, &g_socks);
    plain_status(f);
    plain_tcp(f, &g_socks);
    plain_children(f, (long)getpid());
}

/* ---- the plain O(1) reading ---------------------------------------------------------------- */
typedef struct { long long handles, threads, rss_pages, anon_pages, vm_pages; } cheap_facts;

static void plain_cheap(cheap_facts *c)
{
    struct stat st;
    long size, res, shared;
    c->handles = stat("/proc/self/fd", &st) == 0 ? (long long)st.st_size : -1;
    c->threads = stat("/proc/self/task", &st) == 0 ? (long long)st.st_nlink - 2 : -1;
    if (read_all_at(AT_FDCWD, "/proc/self/statm") < 0) die("read statm");
    size = strtol(g_buf, NULL, 10);
    {
        char *q = strchr(g_buf, ' ');
        res = q ? strtol(q, &q, 10) : -1;
        shared = q ? strtol(q, &q, 10) : -1;
    }
    c->vm_pages = size;
    c->rss_pages = res;
    c->anon_pages = res - shared;
}

/* The same facts through fds kept open: what a careful long-running sampler does. */
static void plain_kept(cheap_facts *c, int dirfd, int statmfd)
{
    struct stat st;
    char buf[256], *q;
    ssize_t n;
    c->handles = fstatat(dirfd, "fd", &st, 0) == 0 ? (long long)st.st_size : -1;
    c->threads = fstatat(dirfd, "task", &st, 0) == 0 ? (long long)st.st_nlink - 2 : -1;
    n = pread(statmfd, buf, sizeof buf - 1, 0);
    if (n <= 0) die("pread statm");
    buf[n] = '\0';
    c->vm_pages = strtoll(buf, &q, 10);
    c->rss_pages = strtoll(q, &q, 10);
    c->anon_pages = c->rss_pages - strtoll(q, &q, 10);
}

/* ---- (d) sources by themselves ---------------------------------------------------------- */
static int src_fd_count_getdents(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;
    if (!d) die("opendir");
    while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
    closedir(d);
    return n - 1;
}

static int src_fd_fstat_each(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int socks = 0, dfd;
    struct stat st;
    if (!d) die("opendir");
    dfd = dirfd(d);
    while ((e = readdir(d)) != NULL) {
        int fd;
        if (e->d_name[0] == '.') continue;
        fd = atoi(e->d_name);
        if (fd == dfd) continue;
        if (fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode)) socks++;
    }
    closedir(d);
    return socks;
}

/* fstat each own fd; for TCP sockets TCP_INFO (state) + SIOCOUTQ (send queue). */
static long long src_own_tcp_info(long long *close_wait)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int dfd;
    long long sq = 0;
    struct stat st;
    if (!d) die("opendir");
    dfd = dirfd(d);
    *close_wait = 0;
    while ((e = readdir(d)) != NULL) {
        int fd, proto = 0, outq = 0;
        socklen_t len = sizeof proto;
        struct tcp_info ti;
        if (e->d_name[0] == '.') continue;
        fd = atoi(e->d_name);
        if (fd == dfd) continue;
        if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
        if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &proto, &len) != 0 || proto != IPPROTO_TCP) continue;
        len = sizeof ti;
        if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) continue;
        if (ti.tcpi_state == TCP_CLOSE_WAIT) (*close_wait)++;
        if (ti.tcpi_state != TCP_LISTEN && ioctl(fd, SIOCOUTQ, &outq) == 0) sq += outq;
    }
    closedir(d);
    return sq;
}

/* sock_diag dump of TCP sockets (one family) in `states`; counts CLOSE_WAIT rows and sums
   wqueue of our inodes. Returns rows received, or -1. */
static int diag_dump(int family, unsigned states, const ino_set *socks, long long *cw, long long *sq)
{
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 r;
    } req;
    struct sockaddr_nl sa;
    static long long buf[8192 / sizeof(long long)];
    int fd, rows = 0, done = 0;
    fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return -1;
    memset(&req, 0, sizeof req);
    req.nlh.nlmsg_len = sizeof req;
    req.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.r.sdiag_family = (unsigned char)family;
    req.r.sdiag_protocol = IPPROTO_TCP;
    req.r.idiag_states = states;
    memset(&sa, 0, sizeof sa);
    sa.nl_family = AF_NETLINK;
    if (sendto(fd, &req, sizeof req, 0, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    while (!done) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        struct nlmsghdr *h;
        if (n < 0) {
            if (errno == EINTR) continue;
            close(fd);
            return -1;
        }
        if (n == 0) break;
        for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
            struct inet_diag_msg *m;
            if (h->nlmsg_type == NLMSG_DONE) { done = 1; break; }
            if (h->nlmsg_type == NLMSG_ERROR) { close(fd); return -1; }
            m = (struct inet_diag_msg *)NLMSG_DATA(h);
            rows++;
            if (!ino_has(socks, m->idiag_inode)) continue;
            if (m->idiag_state == TCP_CLOSE_WAIT) (*cw)++;
            if (m->idiag_state != TCP_LISTEN) *sq += m->idiag_wqueue;
        }
    }
    close(fd);
    return rows;
}

#define ST(x) (1u << (x))
static const unsigned DIAG_CONNECTED =
    ST(TCP_ESTABLISHED) | ST(TCP_SYN_SENT) | ST(TCP_FIN_WAIT1) | ST(TCP_FIN_WAIT2) |
    ST(TCP_CLOSE_WAIT) | ST(TCP_LAST_ACK) | ST(TCP_CLOSING);

static int children_task_files(void)
{
    char path[300];
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    if (!d) die("opendir task");
    while ((e = readdir(d)) != NULL) {
        long len;
        char *p;
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
        len = read_all_at(AT_FDCWD, path);
        if (len <= 0) continue;
        for (p = g_buf; *p;) {
            while (*p == ' ' || *p == '\n') p++;
            if (!*p) break;
            n++;
            while (*p && *p != ' ') p++;
        }
    }
    closedir(d);
    return n;
}

/* ---- the world: peer process, sockets, filler fds ---------------------------------------- */
static pid_t g_peer = -1;
static int g_peer_ctl = -1;    /* our end; closing it tells the peer to exit */
static int g_conns[N_CONN];

static int count_fds(void)
{
    struct stat st;
    if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0) return (int)st.st_size;
    return src_fd_count_getdents();
}

/* A forked peer accepts N_CONN connections, closes N_CLOSED_BY_PEER of them (our ends go
   to CLOSE_WAIT), never reads the others, and waits for EOF on its control pipe. */
static void make_world(void)
{
    int lfd, ctl[2], ready[2], i, one = 1;
    struct sockaddr_in a;
    socklen_t alen = sizeof a;
    char c;

    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0) die("socket");
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(lfd, (struct sockaddr *)&a, sizeof a) != 0) die("bind");
    if (listen(lfd, 64) != 0) die("listen");
    if (getsockname(lfd, (struct sockaddr *)&a, &alen) != 0) die("getsockname");
    if (pipe2(ctl, O_CLOEXEC) != 0 || pipe2(ready, O_CLOEXEC) != 0) die("pipe2");

    g_peer = fork();
    if (g_peer < 0) die("fork");
    if (g_peer == 0) {
        int acc[N_CONN];
        close(ctl[1]);
        close(ready[0]);
        for (i = 0; i < N_CONN; i++) {
            acc[i] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (acc[i] < 0) _exit(3);
        }
        for (i = 0; i < N_CLOSED_BY_PEER; i++) close(acc[i]);
        if (write(ready[1], "r", 1) != 1) _exit(4);
        while (read(ctl[0], &c, 1) > 0) {}
        _exit(0);
    }
    close(lfd);
    close(ctl[0]);
    close(ready[1]);
    g_peer_ctl = ctl[1];
    for (i = 0; i < N_CONN; i++) {
        g_conns[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (g_conns[i] < 0) die("socket");
        if (connect(g_conns[i], (struct sockaddr *)&a, sizeof a) != 0) die("connect");
    }
    if (read(ready[0], &c, 1) != 1) die("peer not ready");
    close(ready[0]);
    /* Fill the last connection's send queue: the peer never reads it. */
    {
        int fd = g_conns[N_CONN - 1], fl = fcntl(fd, F_GETFL);
        static char junk[65536];
        fcntl(fd, F_SETFL, fl | O_NONBLOCK);
        while (send(fd, junk, sizeof junk, MSG_NOSIGNAL) > 0) {}
        fcntl(fd, F_SETFL, fl);
    }
    /* Let the FINs land so CLOSE_WAIT is settled. */
    {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* Tops the process up to exactly `target` open fds: /dev/null mostly, every 16th a pipe
   pair, every 64th a unix socketpair. */
static void fill_to(int target)
{
    int have = count_fds(), k = 0;
    while (have < target) {
        int need = target - have, p[2];
        if (need >= 2 && k % 64 == 63) {
            if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) != 0) die("socketpair");
            have += 2;
        } else if (need >= 2 && k % 16 == 15) {
            if (pipe2(p, O_CLOEXEC) != 0) die("pipe2");
            have += 2;
        } else {
            if (open("/dev/null", O_RDONLY | O_CLOEXEC) < 0) die("open /dev/null");
            have += 1;
        }
        k++;
    }
    if (count_fds() != target) {
        fprintf(stderr, "bench/snapshot: have %d fds, wanted %d\n", count_fds(), target);
        exit(1);
    }
}

/* ---- (c) psutil in /usr/bin/python3 --------------------------------------------------------- */
static const char *PSUTIL_SCRIPT =
    "import sys, timeit\n"
    "try:\n"
    "    import psutil\n"
    "except ImportError:\n"
    "    print('NOPSUTIL'); sys.exit(0)\n"
    "p = psutil.Process(int(sys.argv[1]))\n"
    "n = int(sys.argv[2])\n"
    "def f():\n"
    "    p.num_fds(); p.num_threads(); p.memory_info()\n"
    "f(); f()\n"
    "t = sorted(timeit.repeat(f, number=1, repeat=n))\n"
    "fds = p.num_fds()\n"
    "print('%.3f %d' % (t[len(t)//2] * 1e6, fds))\n";

/* Returns the median microseconds, 0 when psutil is missing, < 0 on error. Python's output
   goes to a temporary file opened only in the child, so this process holds exactly the
   fds being measured while python runs. */
static double psutil_us(int iterations, int *seen_fds)
{
    int status, tfd;
    pid_t pid;
    char pidarg[32], narg[32], tmp[] = "/tmp/churn-bench-psutil-XXXXXX";
    long len;
    double us = -1;
    if (access("/usr/bin/python3", X_OK) != 0) return 0;
    tfd = mkstemp(tmp);
    if (tfd < 0) die("mkstemp");
    close(tfd);
    snprintf(pidarg, sizeof pidarg, "%ld", (long)getpid());
    snprintf(narg, sizeof narg, "%d", iterations);
    pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) {
        char *argv[6];
        int ofd = open(tmp, O_WRONLY | O_TRUNC);
        if (ofd < 0 || dup2(ofd, 1) < 0) _exit(126);
        argv[0] = (char *)"/usr/bin/python3";
        argv[1] = (char *)"-c";
        argv[2] = (char *)PSUTIL_SCRIPT;
        argv[3] = pidarg;
        argv[4] = narg;
        argv[5] = NULL;
        execv(argv[0], argv);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) < 0) die("waitpid");
    len = read_all_at(AT_FDCWD, tmp);
    unlink(tmp);
    if (len < 0) return -1;
    if (strncmp(g_buf, "NOPSUTIL", 8) == 0) return 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return -1;
    if (sscanf(g_buf, "%lf %d", &us, seen_fds) != 2) return -1;
    return us;
}

/* ---- runs ---------------------------------------------------------------------------------- */
static double ratio(double a, double b) { return b > 0 ? a / b : 0; }

static void check(int rc, const char *what)
{
    if (rc != CHURN_OK) {
        fprintf(stderr, "bench/snapshot: %s: %s\n", what, churn_strerror(rc));
        exit(1);
    }
}

typedef struct {
    double full_churn, full_plain, cheap_churn, cheap_plain, sampler_churn, sampler_plain, psutil;
} level_result;

#define MAX_ITERS 400

static void run_level(int fds, int iters, level_result *r)
{
    static double tc[MAX_ITERS], tp[MAX_ITERS];
    churn_snapshot s;
    plain_facts pf;
    cheap_facts cf;
    int i, ps_fds = -1;
    double t0;

    fill_to(fds);

    /* warm up both (page cache of /proc dentries, allocator) */
    for (i = 0; i < 3; i++) {
        check(churn_snapshot_take(0, &s), "churn_snapshot_take");
        memset(&pf, 0, sizeof pf);
        plain_full(&pf);
    }
    /* (a) full snapshot, interleaved */
    for (i = 0; i < iters; i++) {
        t0 = now_us();
        check(churn_snapshot_take(0, &s), "churn_snapshot_take");
        tc[i] = now_us() - t0;
        t0 = now_us();
        plain_full(&pf);
        tp[i] = now_us() - t0;
    }
    r->full_churn = median(tc, iters);
    r->full_plain = median(tp, iters);
    printf("  snapshot full   @%-5d fds  churn %9.1f us   plain %9.1f us   ratio %5.2fx (target <= %.2fx)\n",
           fds, r->full_churn, r->full_plain, ratio(r->full_churn, r->full_plain), fds <= 16 ? 0.25 : 0.6);
    printf("      values churn/plain: handles %lld/%lld sockets %lld/%lld threads %lld/%lld close_wait %lld/%lld"
           " send_queue %lld/%lld children %lld/%lld zombies %lld/%lld\n"
           "                          rss %lld/%lld KiB private %lld/%lld KiB virtual %lld/%lld KiB\n",
           s.value[CHURN_METRIC_HANDLES], pf.handles, s.value[CHURN_METRIC_SOCKETS], pf.sockets,
           s.value[CHURN_METRIC_THREADS], pf.threads, s.value[CHURN_METRIC_CLOSE_WAIT], pf.close_wait,
           s.value[CHURN_METRIC_SEND_QUEUE_BYTES], pf.sendq, s.value[CHURN_METRIC_CHILDREN], pf.children,
           s.value[CHURN_METRIC_ZOMBIES], pf.zombies,
           s.value[CHURN_METRIC_RSS_BYTES] < 0 ? -1 : s.value[CHURN_METRIC_RSS_BYTES] / 1024, pf.rss_kb,
           s.value[CHURN_METRIC_PRIVATE_BYTES] < 0 ? -1 : s.value[CHURN_METRIC_PRIVATE_BYTES] / 1024,
           pf.anon_kb + pf.swap_kb,
           s.value[CHURN_METRIC_VIRTUAL_BYTES] < 0 ? -1 : s.value[CHURN_METRIC_VIRTUAL_BYTES] / 1024, pf.vm_kb);

    /* (b) cheap counts, interleaved */
    {
        unsigned mask = CHURN_METRIC_BIT(CHURN_METRIC_HANDLES) | CHURN_METRIC_BIT(CHURN_METRIC_THREADS) |
                        CHURN_METRIC_BIT(CHURN_METRIC_RSS_BYTES) | CHURN_METRIC_BIT(CHURN_METRIC_PRIVATE_BYTES);
        int ci = iters * 4 > MAX_ITERS ? MAX_ITERS : iters * 4;
        for (i = 0; i < 20; i++) {
            check(churn_snapshot_take_some(0, mask, &s), "churn_snapshot_take_some");
            plain_cheap(&cf);
        }
        for (i = 0; i < ci; i++) {
            t0 = now_us();
            check(churn_snapshot_take_some(0, mask, &s), "churn_snapshot_take_some");
            tc[i] = now_us() - t0;
            t0 = now_us();
            plain_cheap(&cf);
            tp[i] = now_us() - t0;
        }
        r->cheap_churn = median(tc, ci);
        r->cheap_plain = median(tp, ci);
        printf("  snapshot cheap  @%-5d fds  churn %9.2f us   O(1)  %9.2f us   ratio %5.2fx (target <= 1.50x, flat in fds)\n",
               fds, r->cheap_churn, r->cheap_plain, ratio(r->cheap_churn, r->cheap_plain));
        printf("      values churn/plain: handles %lld/%lld threads %lld/%lld rss %lld/%lld KiB private %lld/%lld KiB"
               " (statm resident-shared)\n",
               s.value[CHURN_METRIC_HANDLES], cf.handles, s.value[CHURN_METRIC_THREADS], cf.threads,
               s.value[CHURN_METRIC_RSS_BYTES] < 0 ? -1 : s.value[CHURN_METRIC_RSS_BYTES] / 1024,
               cf.rss_pages * (sysconf(_SC_PAGESIZE) / 1024),
               s.value[CHURN_METRIC_PRIVATE_BYTES] < 0 ? -1 : s.value[CHURN_METRIC_PRIVATE_BYTES] / 1024,
               cf.anon_pages * (sysconf(_SC_PAGESIZE) / 1024));
    }

    /* (b2) a sampler against the kept-fd reading, interleaved */
    {
        unsigned mask = CHURN_METRIC_BIT(CHURN_METRIC_HANDLES) | CHURN_METRIC_BIT(CHURN_METRIC_THREADS) |
                        CHURN_METRIC_BIT(CHURN_METRIC_RSS_BYTES) | CHURN_METRIC_BIT(CHURN_METRIC_PRIVATE_BYTES);
        int ci = iters * 4 > MAX_ITERS ? MAX_ITERS : iters * 4;
        int dirfd = open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int statmfd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
        churn_sampler sm;
        if (dirfd < 0 || statmfd < 0) die("open /proc/self");
        check(churn_sampler_open(0, &sm), "churn_sampler_open");
        for (i = 0; i < 20; i++) {
            check(churn_sampler_take(&sm, mask, &s), "churn_sampler_take");
            plain_kept(&cf, dirfd, statmfd);
        }
        for (i = 0; i < ci; i++) {
            t0 = now_us();
            check(churn_sampler_take(&sm, mask, &s), "churn_sampler_take");
            tc[i] = now_us() - t0;
            t0 = now_us();
            plain_kept(&cf, dirfd, statmfd);
            tp[i] = now_us() - t0;
        }
        r->sampler_churn = median(tc, ci);
        r->sampler_plain = median(tp, ci);
        printf("  sampler         @%-5d fds  churn %9.2f us   kept  %9.2f us   ratio %5.2fx (target <= 1.50x, flat in fds)\n",
               fds, r->sampler_churn, r->sampler_plain, ratio(r->sampler_churn, r->sampler_plain));
        printf("      values churn/plain: handles %lld/%lld (the plain reading counts its 2 kept fds and ours)"
               " threads %lld/%lld\n",
               s.value[CHURN_METRIC_HANDLES], cf.handles, s.value[CHURN_METRIC_THREADS], cf.threads);
        churn_sampler_close(&sm);
        close(dirfd);
        close(statmfd);
    }

    /* (c) psutil on this pid while we hold the fds */
    r->psutil = psutil_us(fds <= 16 ? 2000 : 100, &ps_fds);
    if (r->psutil == 0) {
        printf("  psutil: not installed\n");
    } else if (r->psutil < 0) {
        printf("  psutil: /usr/bin/python3 run failed\n");
    } else {
        double target = fds <= 16 ? 5.0 : 500.0;
        double speedup = ratio(r->psutil, r->cheap_churn);
        double sampler_speedup = ratio(r->psutil, r->sampler_churn);
        printf("  psutil cheap    @%-5d fds  psutil %8.1f us   (num_fds saw %d)   churn cheap is %.2fx faster"
               " (target >= %.0fx)%s; the O(1) plain reading is %.2fx\n",
               fds, r->psutil, ps_fds, speedup, target, speedup >= target ? "" : "  MISS",
               ratio(r->psutil, r->cheap_plain));
        printf("  psutil sampler  @%-5d fds  churn sampler (what churn_run samples with) is %.2fx faster"
               " (target >= %.0fx)%s\n",
               fds, sampler_speedup, target, sampler_speedup >= target ? "" : "  MISS");
    }

    /* (d) each source by itself */
    {
        struct { const char *name; int iters; } srcs[] = {
            {"fd dir listing (getdents only)", 0},
            {"fd dir + readlinkat each", 0},
            {"fd dir + fstat each (own fds)", 0},
            {"fd dir + fstat + TCP_INFO + SIOCOUTQ (own)", 0},
            {"stat /proc/self/fd st_size", 0},
            {"stat /proc/self/task st_nlink", 0},
            {"read /proc/self/status", 0},
            {"read /proc/self/statm", 0},
            {"read /proc/self/smaps_rollup", 0},
            {"text /proc/self/net/tcp + tcp6", 0},
            {"sock_diag dump v4+v6, connected states", 0},
            {"sock_diag dump v4+v6, CLOSE_WAIT only", 0},
            {"/proc scan: every pid's stat", 0},
            {"/proc/self/task/*/children", 0},
        };
        int nsrc = (int)(sizeof srcs / sizeof srcs[0]), k;
        struct stat st;
        long long cw = 0, sq = 0, cw2 = 0, sq2 = 0, cw3 = 0;
        int rows_conn = 0, rows_cw = 0, kids = 0;
        plain_fds(&pf, &g_socks); /* inode set for the table / diag readers */
        printf("  sources @%d fds (median us):\n", fds);
        for (k = 0; k < nsrc; k++) {
            int n = iters;
            for (i = 0; i < n; i++) {
                t0 = now_us();
                switch (k) {
                case 0: src_fd_count_getdents(); break;
                case 1: plain_fds(&pf, &g_socks); break;
                case 2: src_fd_fstat_each(); break;
                case 3: sq2 = src_own_tcp_info(&cw2); break;
                case 4: stat("/proc/self/fd", &st); break;
                case 5: stat("/proc/self/task", &st); break;
                case 6: read_all_at(AT_FDCWD, "/proc/self/status"); break;
                case 7: read_all_at(AT_FDCWD, "/proc/self/statm"); break;
                case 8: read_all_at(AT_FDCWD, "/proc/self/smaps_rollup"); break;
                case 9: plain_tcp(&pf, &g_socks); break;
                case 10:
                    cw = sq = 0;
                    rows_conn = diag_dump(AF_INET, DIAG_CONNECTED, &g_socks, &cw, &sq);
                    rows_conn += diag_dump(AF_INET6, DIAG_CONNECTED, &g_socks, &cw, &sq);
                    break;
                case 11: {
                    long long dummy = 0;
                    cw3 = 0;
                    rows_cw = diag_dump(AF_INET, ST(TCP_CLOSE_WAIT), &g_socks, &cw3, &dummy);
                    rows_cw += diag_dump(AF_INET6, ST(TCP_CLOSE_WAIT), &g_socks, &cw3, &dummy);
                    break;
                }
                case 12: plain_children(&pf, (long)getpid()); break;
                case 13: kids = children_task_files(); break;
                }
                tc[i] = now_us() - t0;
            }
            printf("      %-44s %10.2f", srcs[k].name, median(tc, n));
            if (k == 3) printf("   close_wait %lld send_queue %lld", cw2, sq2);
            if (k == 9) printf("   close_wait %lld send_queue %lld", pf.close_wait, pf.sendq);
            if (k == 10) printf("   rows %d close_wait %lld send_queue %lld", rows_conn, cw, sq);
            if (k == 11) printf("   rows %d close_wait %lld", rows_cw, cw3);
            if (k == 12) printf("   children %lld zombies %lld", pf.children, pf.zombies);
            if (k == 13) printf("   children %d", kids);
            printf("\n");
        }
    }
}

int main(void)
{
    level_result r16, r4k;
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);
    raise_nofile(4096 + 64);
    make_world();
    printf("churn.h snapshot bench (pid %ld, %ld CPUs; %d TCP loopback connections to a child peer,"
           " %d in CLOSE_WAIT, 1 with a full send queue)\n",
           (long)getpid(), sysconf(_SC_NPROCESSORS_ONLN), N_CONN, N_CLOSED_BY_PEER);
    run_level(16, 200, &r16);
    run_level(4096, 50, &r4k);
    printf("  summary: full ratio %.2fx @16 (<= 0.25x), %.2fx @4096 (<= 0.6x); cheap ratio %.2fx @16,"
           " %.2fx @4096 (<= 1.5x); cheap growth 16->4096 fds %.2fx",
           ratio(r16.full_churn, r16.full_plain), ratio(r4k.full_churn, r4k.full_plain),
           ratio(r16.cheap_churn, r16.cheap_plain), ratio(r4k.cheap_churn, r4k.cheap_plain),
           ratio(r4k.cheap_churn, r16.cheap_churn));
    printf("; sampler ratio %.2fx @16, %.2fx @4096 (<= 1.5x)", ratio(r16.sampler_churn, r16.sampler_plain),
           ratio(r4k.sampler_churn, r4k.sampler_plain));
    if (r16.psutil > 0 && r4k.psutil > 0)
        printf("; vs psutil: cheap %.2fx @16, %.1fx @4096, sampler %.2fx @16, %.1fx @4096 (>= 5x, >= 500x)",
               ratio(r16.psutil, r16.cheap_churn), ratio(r4k.psutil, r4k.cheap_churn),
               ratio(r16.psutil, r16.sampler_churn), ratio(r4k.psutil, r4k.sampler_churn));
    printf("\n");
    close(g_peer_ctl);
    if (g_peer > 0) waitpid(g_peer, NULL, 0);
    return 0;
}
