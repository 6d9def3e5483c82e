/* churn_testutil.h - helpers shared by churn.h's Linux behavioural tests (test_snapshot.c,
   test_inventory.c, test_threads.c, test_loop.c, test_hardening.c). Linux only (/proc,
   SOCK_CLOEXEC, POLLRDHUP): the portable unit tests and the macOS/Windows ports do not
   include it. Built with -D_GNU_SOURCE like every test.

     time      t_now (monotonic seconds), t_sleep_ms (EINTR-safe)
     /proc     t_count_dir, t_self_fds, t_self_threads
     I/O       t_read_full
     sockets   t_loopback, t_local_port, t_listener, t_connect, t_have_ipv6, t_wait_eof,
               t_set_rst
     threads   t_noop, t_warm_threads
     processes t_fork_paused, t_as_nobody

   Every function is `static inline`, so a file that uses only some stays -Wunused clean. */
#ifndef CHURN_TESTUTIL_H
#define CHURN_TESTUTIL_H

#include <dirent.h>
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

/* ---- time ------------------------------------------------------------------------------- */

/* CLOCK_MONOTONIC in seconds. */
static inline double t_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleeps ms milliseconds in full (resumed after a signal). */
static inline void t_sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* ---- /proc counts ----------------------------------------------------------------------- */

/* Entries of a directory, "." and ".." excluded; -1 when it cannot be opened. */
static inline int t_count_dir(const char *path) {
    DIR *d = opendir(path);
    struct dirent *e;
    int n = 0;
    if (!d) return -1;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        n++;
    }
    closedir(d);
    return n;
}

/* Open fds of this process: entries of /proc/self/fd minus the one the listing uses. */
static inline int t_self_fds(void) {
    int n = t_count_dir("/proc/self/fd");
    return n < 0 ? -1 : n - 1;
}

/* Threads of this process. */
static inline int t_self_threads(void) { return t_count_dir("/proc/self/task"); }

/* ---- I/O -------------------------------------------------------------------------------- */

/* Reads exactly n bytes; -1 on error or EOF first. */
static inline int t_read_full(int fd, void *buf, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

/* ---- loopback sockets ------------------------------------------------------------------- */

/* The loopback address of `family` (AF_INET or AF_INET6) with `port`; returns its length. */
static inline socklen_t t_loopback(int family, int port, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        a->sin6_port = htons((unsigned short)port);
        return (socklen_t)sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a->sin_port = htons((unsigned short)port);
        return (socklen_t)sizeof *a;
    }
}

/* The local port fd is bound to; -1 on error. */
static inline int t_local_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
    if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* A TCP listener on the loopback address of `family`, port chosen by the kernel. */
static inline int t_listener(int family, int backlog, int *port) {
    struct sockaddr_storage ss;
    socklen_t len = t_loopback(family, 0, &ss);
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, backlog) != 0) {
        close(fd);
        return -1;
    }
    *port = t_local_port(fd);
    return fd;
}

/* A TCP connection to the loopback address of `family` at port; -1 on error. */
static inline int t_connect(int family, int port) {
    struct sockaddr_storage ss;
    socklen_t len = t_loopback(family, port, &ss);
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&ss, len) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* 1 when a TCP listener on ::1 can be made. */
static inline int t_have_ipv6(void) {
    int port = 0;
    int fd = t_listener(AF_INET6, 1, &port);
    if (fd < 0) return 0;
    close(fd);
    return 1;
}

/* Waits (bounded) until the peer's FIN reached fd: a peek reads 0 bytes. */
static inline int t_wait_eof(int fd) {
    int i;
    for (i = 0; i < 200; i++) {
        struct pollfd p;
        char c;
        ssize_t r;
        p.fd = fd;
        p.events = POLLIN | POLLRDHUP;
        p.revents = 0;
        if (poll(&p, 1, 50) < 0 && errno != EINTR) return -1;
        r = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (r == 0) return 0;
        if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
    }
    return -1;
}

/* SO_LINGER 0: close(fd) then sends RST instead of FIN. */
static inline void t_set_rst(int fd) {
    struct linger lg;
    lg.l_onoff = 1;
    lg.l_linger = 0;
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

/* ---- threads ---------------------------------------------------------------------------- */

static inline void *t_noop(void *arg) { return arg; }

/* Creates and joins one thread, so runtimes that start a helper thread with the first
   pthread_create (ThreadSanitizer's background thread) have done so before a baseline. */
static inline void t_warm_threads(void) {
    pthread_t t;
    if (pthread_create(&t, NULL, t_noop, NULL) == 0) pthread_join(t, NULL);
}

/* ---- processes -------------------------------------------------------------------------- */

/* A child that inherits everything this process holds and waits in pause() until killed;
   returns once it runs (its pid), or -1. The caller kills and reaps it. */
static inline pid_t t_fork_paused(void) {
    int ready[2];
    char c;
    pid_t pid;
    if (pipe(ready) != 0) return -1;
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        close(ready[0]);
        if (write(ready[1], "r", 1) != 1) _exit(1);
        for (;;) pause();
    }
    close(ready[1]);
    if (pid > 0 && t_read_full(ready[0], &c, 1) != 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        pid = -1;
    }
    close(ready[0]);
    return pid;
}

/* Runs fn(arg, codes) in a child that has dropped to uid and gid 65534 (nobody) and copies
   the n (at most 16) codes it set into codes. 0, or -1 when the child could not start,
   could not drop root, or did not finish cleanly. */
static inline int t_as_nobody(void (*fn)(void *arg, int *codes), void *arg, int *codes, int n) {
    int p[2], st = 0, ok;
    pid_t pid;
    if (n < 1 || n > 16 || pipe(p) != 0) return -1;
    fflush(stdout);
    pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        int r[16];
        close(p[0]);
        if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) _exit(3);
        memset(r, 0, sizeof r);
        fn(arg, r);
        _exit(write(p[1], r, (size_t)n * sizeof *r) == (ssize_t)((size_t)n * sizeof *r) ? 0 : 4);
    }
    close(p[1]);
    ok = t_read_full(p[0], codes, (size_t)n * sizeof *codes) == 0;
    close(p[0]);
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) ok = 0;
    return ok ? 0 : -1;
}

#endif
