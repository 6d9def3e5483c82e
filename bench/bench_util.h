/* bench/bench_util.h - helpers shared by the benches in bench/ (Linux; -D_GNU_SOURCE).

   Define BENCH_NAME ("bench/<name>", the prefix of error messages) before including.

     die           print "<BENCH_NAME>: what: strerror(errno)" and exit 1
     now_s/ms/us   CLOCK_MONOTONIC in seconds, milliseconds, microseconds
     median        sorts v[0..n) in place and returns its median
     read_all_at   reads a whole file into the growable buffer g_buf (NUL-terminated)
     raise_nofile  RLIMIT_NOFILE soft limit up to `want`, or exit 1

   Functions are `static inline` and the buffer is marked unused, so a bench that uses only
   some stays -Wunused clean. */
#ifndef CHURN_BENCH_UTIL_H
#define CHURN_BENCH_UTIL_H

#ifndef BENCH_NAME
#error "define BENCH_NAME before including bench_util.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#if defined(__GNUC__) || defined(__clang__)
#define BENCH_UNUSED __attribute__((unused))
#else
#define BENCH_UNUSED
#endif

static inline void die(const char *what)
{
    fprintf(stderr, BENCH_NAME ": %s: %s\n", what, strerror(errno));
    exit(1);
}

/* ---- clocks and statistics ---------------------------------------------------------------- */

static inline double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static inline double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static inline double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* ---- a growable read buffer --------------------------------------------------------------- */

static char *g_buf BENCH_UNUSED;
static size_t g_cap BENCH_UNUSED;

/* Reads the whole file at dirfd/path (dirfd may be AT_FDCWD) into g_buf; returns its length
   or -1. */
static inline long read_all_at(int dirfd, const char *path)
{
    size_t len = 0;
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    if (!g_buf) {
        g_cap = 1 << 16;
        g_buf = (char *)malloc(g_cap);
        if (!g_buf) die("malloc");
    }
    for (;;) {
        ssize_t n;
        if (len + 4096 + 1 > g_cap) {
            g_cap *= 2;
            g_buf = (char *)realloc(g_buf, g_cap);
            if (!g_buf) die("realloc");
        }
        n = read(fd, g_buf + len, g_cap - len - 1);
        if (n < 0) {
            if (errno == EINTR) continue;
            close(fd);
            return -1;
        }
        if (n == 0) break;
        len += (size_t)n;
    }
    close(fd);
    g_buf[len] = '\0';
    return (long)len;
}

/* ---- limits ------------------------------------------------------------------------------- */

static inline void raise_nofile(rlim_t want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) die("getrlimit");
    if (rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) die("setrlimit");
    }
    if (rl.rlim_cur < want) {
        fprintf(stderr, BENCH_NAME ": RLIMIT_NOFILE hard limit %lu < %lu\n",
                (unsigned long)rl.rlim_cur, (unsigned long)want);
        exit(1);
    }
}

#endif
