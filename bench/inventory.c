/* bench/inventory.c - what churn_inventory_take(0) costs, next to a plain hand-written listing.

   Build: gcc -std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -D_GNU_SOURCE -pthread -I. \
              bench/inventory.c -o build/bench/inventory -lm
   Run:   build/bench/inventory           (no arguments; exits 0 unless something errors)

   At 16, 1,000 and 10,000 open fds (files, directories, pipes, an eventfd, and about 100
   sockets at the two larger levels: TCP loopback pairs, some in CLOSE_WAIT, a listener,
   UDP sockets, unix socketpairs), median milliseconds of:
     churn   churn_inventory_take(0, &inv) + churn_inventory_free
     plain   /proc/self/fd with a readlinkat per entry (kind + detail), reading
             /proc/self/net/{tcp,tcp6,udp,udp6,unix} once and joining socket inodes to
             "tcp a:p -> b:p STATE" details, plus /proc/self/task/<tid>/comm for threads.
   Target: churn well under 100 ms at 10,000 fds. */
#define CHURN_IMPLEMENTATION
#include "../churn.h"

#define BENCH_NAME "bench/inventory"
#include "bench_util.h" /* die, now_*, median, read_all_at, raise_nofile */

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

/* ---- the plain inventory ------------------------------------------------------------------ */
typedef struct { long long fd; char kind[16]; char detail[256]; unsigned long ino; } p_handle;
typedef struct { unsigned long ino; char detail[200]; } p_sock;
typedef struct { long long tid; char name[32]; } p_thread;

static p_handle *g_h;   static int g_hn, g_hcap;
static p_sock *g_s;     static int g_sn, g_scap;
static p_thread *g_t;   static int g_tn, g_tcap;

static const char *const TCP_STATES[] = {"?", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1",
                                         "FIN_WAIT2", "TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK",
                                         "LISTEN", "CLOSING", "NEW_SYN_RECV"};

/* "0100007F:1F90" (v4) or 32 hex digits + ":port" (v6) into "addr:port". */
static char *fmt_addr(char *p, char *out, size_t cap)
{
    char hex[40], ip[INET6_ADDRSTRLEN];
    unsigned port;
    size_t n = 0;
    while (*p == ' ') p++;
    while (p[n] && p[n] != ':' && n < sizeof hex - 1) { hex[n] = p[n]; n++; }
    hex[n] = '\0';
    p += n;
    if (*p == ':') p++;
    port = (unsigned)strtoul(p, &p, 16);
    if (n == 8) {
        struct in_addr a;
        a.s_addr = (in_addr_t)strtoul(hex, NULL, 16);
        inet_ntop(AF_INET, &a, ip, sizeof ip);
        snprintf(out, cap, "%s:%u", ip, port);
    } else if (n == 32) {
        struct in6_addr a6;
        int w;
        for (w = 0; w < 4; w++) {
            char word[9];
            unsigned int v;
            memcpy(word, hex + 8 * w, 8);
            word[8] = '\0';
            v = (unsigned int)strtoul(word, NULL, 16);
            memcpy(&a6.s6_addr[4 * w], &v, 4);
        }
        inet_ntop(AF_INET6, &a6, ip, sizeof ip);
        snprintf(out, cap, "[%s]:%u", ip, port);
    } else {
        snprintf(out, cap, "?");
    }
    return p;
}

static p_sock *sock_push(void)
{
    if (g_sn == g_scap) {
        g_scap = g_scap ? g_scap * 2 : 256;
        g_s = (p_sock *)realloc(g_s, (size_t)g_scap * sizeof *g_s);
        if (!g_s) die("realloc");
    }
    return &g_s[g_sn++];
}

static void parse_inet_table(const char *path, const char *proto)
{
    char *p, *nl;
    if (read_all_at(AT_FDCWD, path) < 0) return;
    p = strchr(g_buf, '\n');
    if (!p) return;
    for (p++; *p; p = nl + 1) {
        char local[64], remote[64], *q;
        unsigned long st, ino;
        int i;
        p_sock *s;
        nl = strchr(p, '\n');
        if (!nl) break;
        *nl = '\0';
        q = strchr(p, ':');
        if (!q) continue;
        q = fmt_addr(q + 1, local, sizeof local);
        q = fmt_addr(q, remote, sizeof remote);
        st = strtoul(q, &q, 16);
        /* tx:rx tr:when retrnsmt uid timeout inode */
        for (i = 0; i < 3; i++) {
            while (*q == ' ') q++;
            q = strchr(q, ' ');
            if (!q) break;
        }
        if (!q) continue;
        strtoul(q, &q, 10);   /* uid */
        strtoul(q, &q, 10);   /* timeout */
        ino = strtoul(q, &q, 10);
        if (ino == 0) continue;
        s = sock_push();
        s->ino = ino;
        if (proto[0] == 't' && st == 0x0A)
            snprintf(s->detail, sizeof s->detail, "%s %s LISTEN", proto, local);
        else
            snprintf(s->detail, sizeof s->detail, "%s %s -> %s %s", proto, local, remote,
                     st < sizeof TCP_STATES / sizeof TCP_STATES[0] ? TCP_STATES[st] : "?");
    }
}

static void parse_unix_table(void)
{
    char *p, *nl;
    if (read_all_at(AT_FDCWD, "/proc/self/net/unix") < 0) return;
    p = strchr(g_buf, '\n');
    if (!p) return;
    for (p++; *p; p = nl + 1) {
        char *q, *path;
        unsigned long ino;
        int i;
        p_sock *s;
        nl = strchr(p, '\n');
        if (!nl) break;
        *nl = '\0';
        /* Num RefCount Protocol Flags Type St Inode [Path] */
        q = p;
        for (i = 0; i < 6 && q; i++) {
            while (*q == ' ') q++;
            q = strchr(q, ' ');
        }
        if (!q) continue;
        ino = strtoul(q, &q, 10);
        while (*q == ' ') q++;
        path = q;
        s = sock_push();
        s->ino = ino;
        snprintf(s->detail, sizeof s->detail, "unix %s", *path ? path : "(unnamed)");
    }
}

static int cmp_sock(const void *a, const void *b)
{
    unsigned long x = ((const p_sock *)a)->ino, y = ((const p_sock *)b)->ino;
    return (x > y) - (x < y);
}

static void plain_tables(void)
{
    g_sn = 0;
    parse_inet_table("/proc/self/net/tcp", "tcp");
    parse_inet_table("/proc/self/net/tcp6", "tcp6");
    parse_inet_table("/proc/self/net/udp", "udp");
    parse_inet_table("/proc/self/net/udp6", "udp6");
    parse_unix_table();
    qsort(g_s, (size_t)g_sn, sizeof *g_s, cmp_sock);
}

static void plain_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int dfd;
    char link[256];
    if (!d) die("opendir /proc/self/fd");
    dfd = dirfd(d);
    g_hn = 0;
    while ((e = readdir(d)) != NULL) {
        ssize_t n;
        long long fd;
        p_handle *h;
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        fd = atoll(e->d_name);
        if (fd == dfd) continue;
        n = readlinkat(dfd, e->d_name, link, sizeof link - 1);
        if (n <= 0) continue;
        link[n] = '\0';
        if (g_hn == g_hcap) {
            g_hcap = g_hcap ? g_hcap * 2 : 256;
            g_h = (p_handle *)realloc(g_h, (size_t)g_hcap * sizeof *g_h);
            if (!g_h) die("realloc");
        }
        h = &g_h[g_hn++];
        h->fd = fd;
        h->ino = 0;
        if (strncmp(link, "socket:[", 8) == 0) {
            strcpy(h->kind, "socket");
            h->ino = strtoul(link + 8, NULL, 10);
        } else if (strncmp(link, "pipe:[", 6) == 0) {
            strcpy(h->kind, "pipe");
            h->ino = strtoul(link + 6, NULL, 10);
        } else if (strncmp(link, "anon_inode:", 11) == 0) {
            const char *k = link + 11;
            if (*k == '[') k++;
            snprintf(h->kind, sizeof h->kind, "%.*s", (int)strcspn(k, "]"), k);
        } else if (link[0] == '/') {
            strcpy(h->kind, "file");
        } else {
            strcpy(h->kind, "other");
        }
        memcpy(h->detail, link, (size_t)n + 1);
    }
    closedir(d);
}

static void plain_join(void)
{
    int i;
    for (i = 0; i < g_hn; i++) {
        p_sock key, *s;
        if (strcmp(g_h[i].kind, "socket") != 0) continue;
        key.ino = g_h[i].ino;
        s = (p_sock *)bsearch(&key, g_s, (size_t)g_sn, sizeof *g_s, cmp_sock);
        if (s) snprintf(g_h[i].detail, sizeof g_h[i].detail, "%s", s->detail);
    }
}

static void plain_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    char path[300];
    if (!d) die("opendir task");
    g_tn = 0;
    while ((e = readdir(d)) != NULL) {
        long n;
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        n = read_all_at(AT_FDCWD, path);
        if (n < 0) continue;
        if (g_tn == g_tcap) {
            g_tcap = g_tcap ? g_tcap * 2 : 16;
            g_t = (p_thread *)realloc(g_t, (size_t)g_tcap * sizeof *g_t);
            if (!g_t) die("realloc");
        }
        if (n > 0 && g_buf[n - 1] == '\n') g_buf[n - 1] = '\0';
        g_t[g_tn].tid = atoll(e->d_name);
        snprintf(g_t[g_tn].name, sizeof g_t[g_tn].name, "%s", g_buf);
        g_tn++;
    }
    closedir(d);
}

static void plain_inventory(void)
{
    plain_fds();
    plain_tables();
    plain_join();
    plain_threads();
}

/* ---- the fds -------------------------------------------------------------------------------- */
static int g_lfd = -1;
static struct sockaddr_in g_addr;
static int g_sockets; /* sockets we opened */

static int count_fds(void)
{
    struct stat st;
    DIR *d;
    struct dirent *e;
    int n = 0;
    if (stat("/proc/self/fd", &st) == 0 && st.st_size > 0) return (int)st.st_size;
    d = opendir("/proc/self/fd");
    if (!d) die("opendir");
    while ((e = readdir(d)) != NULL) n += e->d_name[0] != '.';
    closedir(d);
    return n - 1;
}

static void listener(void)
{
    int one = 1;
    socklen_t alen = sizeof g_addr;
    g_lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (g_lfd < 0) die("socket");
    setsockopt(g_lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    memset(&g_addr, 0, sizeof g_addr);
    g_addr.sin_family = AF_INET;
    g_addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(g_lfd, (struct sockaddr *)&g_addr, sizeof g_addr) != 0) die("bind");
    if (listen(g_lfd, 256) != 0) die("listen");
    if (getsockname(g_lfd, (struct sockaddr *)&g_addr, &alen) != 0) die("getsockname");
    g_sockets = 1;
}

/* One TCP loopback pair, both ends ours (2 fds); with close_server the accepted end is
   closed again, so the client end sits in CLOSE_WAIT (1 fd). */
static int tcp_pair(int close_server)
{
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), s;
    if (c < 0) die("socket");
    if (connect(c, (struct sockaddr *)&g_addr, sizeof g_addr) != 0) die("connect");
    s = accept4(g_lfd, NULL, NULL, SOCK_CLOEXEC);
    if (s < 0) die("accept");
    if (close_server) {
        close(s);
        g_sockets += 1;
        return 1;
    }
    g_sockets += 2;
    return 2;
}

static int udp_sock(void)
{
    struct sockaddr_in a;
    int u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (u < 0) die("socket udp");
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(u, (struct sockaddr *)&a, sizeof a) != 0) die("bind udp");
    g_sockets++;
    return 1;
}

static int unix_pair(void)
{
    int p[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) != 0) die("socketpair");
    g_sockets += 2;
    return 2;
}

/* Tops up to `target` fds. Sockets first, up to `want_sockets`, then a rotation of
   /dev/null, a regular file, a directory, a pipe pair. */
static void fill_to(int target, int want_sockets)
{
    int have = count_fds(), k = 0;
    while (have < target && g_sockets < want_sockets && target - have >= 2) {
        switch (k++ % 8) {
        case 0: have += tcp_pair(1); break;           /* CLOSE_WAIT */
        case 2: have += udp_sock(); break;
        case 3: case 7: have += unix_pair(); break;
        default: have += tcp_pair(0); break;
        }
    }
    k = 0;
    while (have < target) {
        int p[2], need = target - have;
        switch (k++ % 8) {
        case 0: case 1: case 2:
            if (open("/dev/null", O_RDONLY | O_CLOEXEC) < 0) die("open /dev/null");
            have++;
            break;
        case 3: case 4:
            if (open("/proc/self/exe", O_RDONLY | O_CLOEXEC) < 0) die("open exe");
            have++;
            break;
        case 5:
            if (open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC) < 0) die("open /tmp");
            have++;
            break;
        default:
            if (need >= 2) {
                if (pipe2(p, O_CLOEXEC) != 0) die("pipe2");
                have += 2;
            } else {
                if (eventfd(0, EFD_CLOEXEC) < 0) die("eventfd");
                have++;
            }
            break;
        }
    }
    if (count_fds() != target) {
        fprintf(stderr, "bench/inventory: have %d fds, wanted %d\n", count_fds(), target);
        exit(1);
    }
}

/* ---- run ------------------------------------------------------------------------------------ */
#define MAX_ITERS 200

static void check(int rc, const char *what)
{
    if (rc != CHURN_OK) {
        fprintf(stderr, "bench/inventory: %s: %s\n", what, churn_strerror(rc));
        exit(1);
    }
}

static int count_kind_churn(const churn_inventory *inv, const char *kind, const char *detail_prefix)
{
    int i, n = 0;
    for (i = 0; i < inv->handle_count; i++)
        if (strcmp(inv->handles[i].kind, kind) == 0 &&
            (!detail_prefix || strncmp(inv->handles[i].detail, detail_prefix, strlen(detail_prefix)) == 0))
            n++;
    return n;
}

static int count_kind_plain(const char *kind, const char *detail_prefix)
{
    int i, n = 0;
    for (i = 0; i < g_hn; i++)
        if (strcmp(g_h[i].kind, kind) == 0 &&
            (!detail_prefix || strncmp(g_h[i].detail, detail_prefix, strlen(detail_prefix)) == 0))
            n++;
    return n;
}

static int count_detail_has(const churn_inventory *inv, const char *needle, int plain)
{
    int i, n = 0;
    if (plain) {
        for (i = 0; i < g_hn; i++) n += strstr(g_h[i].detail, needle) != NULL;
    } else {
        for (i = 0; i < inv->handle_count; i++) n += strstr(inv->handles[i].detail, needle) != NULL;
    }
    return n;
}

static double run_level(int fds, int want_sockets, int iters)
{
    static double tc[MAX_ITERS], tp[MAX_ITERS], tparts[4][MAX_ITERS];
    churn_inventory inv;
    int i;
    double t0, mc, mp;

    fill_to(fds, want_sockets);
    for (i = 0; i < 2; i++) {
        memset(&inv, 0, sizeof inv);
        check(churn_inventory_take(0, &inv), "churn_inventory_take");
        churn_inventory_free(&inv);
        plain_inventory();
    }
    for (i = 0; i < iters; i++) {
        t0 = now_ms();
        check(churn_inventory_take(0, &inv), "churn_inventory_take");
        churn_inventory_free(&inv);
        tc[i] = now_ms() - t0;
        t0 = now_ms();
        plain_inventory();
        tp[i] = now_ms() - t0;
    }
    mc = median(tc, iters);
    mp = median(tp, iters);
    printf("  inventory       @%-5d fds  churn %9.3f ms   plain %9.3f ms   ratio %5.2fx (target: churn well under 100 ms @10000)\n",
           fds, mc, mp, mp > 0 ? mc / mp : 0.0);

    /* What each side found, from one more take. */
    check(churn_inventory_take(0, &inv), "churn_inventory_take");
    plain_inventory();
    printf("      found churn/plain: handles %d/%d sockets %d/%d (tcp %d/%d, CLOSE_WAIT %d/%d, udp %d/%d, unix %d/%d)"
           " pipes %d/%d threads %d/%d skipped %d\n",
           inv.handle_count, g_hn, count_kind_churn(&inv, "socket", NULL), count_kind_plain("socket", NULL),
           count_kind_churn(&inv, "socket", "tcp"), count_kind_plain("socket", "tcp"),
           count_detail_has(&inv, "CLOSE_WAIT", 0), count_detail_has(&inv, "CLOSE_WAIT", 1),
           count_kind_churn(&inv, "socket", "udp"), count_kind_plain("socket", "udp"),
           count_kind_churn(&inv, "socket", "unix"), count_kind_plain("socket", "unix"),
           count_kind_churn(&inv, "pipe", NULL), count_kind_plain("pipe", NULL), inv.thread_count, g_tn,
           inv.skipped);
    for (i = 0; i < inv.handle_count; i++) {
        if (strstr(inv.handles[i].detail, "CLOSE_WAIT")) {
            printf("      e.g. churn: fd %lld %s %s\n", inv.handles[i].id, inv.handles[i].kind, inv.handles[i].detail);
            break;
        }
    }
    for (i = 0; i < g_hn; i++) {
        if (strstr(g_h[i].detail, "CLOSE_WAIT")) {
            printf("      e.g. plain: fd %lld %s %s\n", g_h[i].fd, g_h[i].kind, g_h[i].detail);
            break;
        }
    }
    churn_inventory_free(&inv);

    /* Where the plain reading's time goes. */
    for (i = 0; i < iters; i++) {
        t0 = now_ms();
        plain_fds();
        tparts[0][i] = now_ms() - t0;
        t0 = now_ms();
        plain_tables();
        tparts[1][i] = now_ms() - t0;
        t0 = now_ms();
        plain_join();
        tparts[2][i] = now_ms() - t0;
        t0 = now_ms();
        plain_threads();
        tparts[3][i] = now_ms() - t0;
    }
    printf("      plain parts: readlink listing %.3f ms, 5 net tables %.3f ms (%d rows), join %.3f ms, threads %.3f ms\n",
           median(tparts[0], iters), median(tparts[1], iters), g_sn, median(tparts[2], iters),
           median(tparts[3], iters));
    return mc;
}

int main(void)
{
    double m16, m1k, m10k;
    setvbuf(stdout, NULL, _IOLBF, 0);
    raise_nofile(10000 + 64);
    listener();
    printf("churn.h inventory bench (pid %ld, %ld CPUs; files, dirs, pipes, ~100 sockets:"
           " TCP loopback pairs, CLOSE_WAIT, UDP, unix)\n",
           (long)getpid(), sysconf(_SC_NPROCESSORS_ONLN));
    m16 = run_level(16, 8, 100);
    m1k = run_level(1000, 100, 30);
    m10k = run_level(10000, 100, 10);
    printf("  summary: churn_inventory_take %.3f ms @16, %.3f ms @1000, %.3f ms @10000 (target well under 100 ms)%s\n",
           m16, m1k, m10k, m10k < 100.0 ? "" : "  MISS");
    return 0;
}
