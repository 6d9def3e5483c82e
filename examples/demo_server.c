/* demo_server.c - a small loopback HTTP/1.1 server for churn.h's demos and tests.

   It answers GET (and any other request with a well-formed head) with a short body and a
   Content-Length, accepts a WebSocket upgrade with 101 (with a proper Sec-WebSocket-Accept),
   keeps connections alive unless asked to close, and copes with partial requests, resets
   and idle peers. It can also leak on purpose, so a gate has something to catch:

       --leak-fd N       never close every Nth connection (the fd stays open, unpolled)
       --leak-thread N   (with --threads) leave every Nth connection thread blocked forever,
                         named "leaky-conn" (healthy connection threads are named "conn")
       --leak-mem KB     allocate and touch KB KiB per connection, never freed

   Usage: demo_server [--port P] [--host 127.0.0.1|::1] [--threads] [--idle-ms MS]
                      [--leak-fd N] [--leak-thread N] [--leak-mem KB]

   The first stdout line is "port <P> pid <PID>" (flushed), so a script can start it on
   --port 0 and read where it listens. SIGTERM/SIGINT stop it cleanly: every connection,
   leaked ones included, is closed and blocked threads are released before exit.
   Idle connections are closed after --idle-ms (default 5000 ms).

   It does not use churn.h: it stands for "your server".

   Portable POSIX (Linux, macOS): descriptors are made non-blocking and close-on-exec with
   fcntl() after socket()/accept() (no accept4/SOCK_NONBLOCK/SOCK_CLOEXEC), SIGPIPE is
   ignored and send() also uses MSG_NOSIGNAL where it exists (SO_NOSIGPIPE on macOS), and
   connection threads are named with the platform's pthread_setname_np. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE   /* pthread_setname_np, and POSIX under -std=c99 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DS_MAX_CONNS 4096
#define DS_IN_CAP 8192
#define DS_OUT_CAP 2048

/* send() flags: MSG_NOSIGNAL where the headers have it (Linux, BSDs, macOS SDK 11+); where
   SO_NOSIGPIPE exists (macOS) it is also set per socket in ds_prepare_fd, and SIGPIPE is
   ignored in any case. */
#ifdef MSG_NOSIGNAL
#define DS_MSG_NOSIGNAL MSG_NOSIGNAL
#else
#define DS_MSG_NOSIGNAL 0
#endif
#ifndef MSG_DONTWAIT
#define MSG_DONTWAIT 0   /* every socket is O_NONBLOCK anyway */
#endif

static volatile sig_atomic_t g_stop;

static struct {
    int threads;
    long leak_fd;       /* 0: off */
    long leak_thread;   /* 0: off */
    long leak_mem_kb;   /* 0: off */
    int idle_ms;
} g_opt = {0, 0, 0, 0, 5000};

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

/* Make fd non-blocking and close-on-exec (what SOCK_NONBLOCK | SOCK_CLOEXEC did), and on
   platforms with SO_NOSIGPIPE keep writes to a reset peer from raising SIGPIPE. 0, or -1
   when fcntl fails. */
static int ds_prepare_fd(int fd) {
    int fl = fcntl(fd, F_GETFL, 0), fdfl = fcntl(fd, F_GETFD, 0);
    if (fl < 0 || fdfl < 0) return -1;
    if (fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) return -1;
    if (fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) != 0) return -1;
#ifdef SO_NOSIGPIPE   /* macOS/BSD: Linux has no such option and relies on MSG_NOSIGNAL */
    {   /* best effort: SIGPIPE is ignored anyway */
        int one = 1;
        (void)setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one);
    }
#endif
    return 0;
}

/* accept() one pending connection as a non-blocking, close-on-exec descriptor (what
   accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC) did). -1 when none is pending;
   a connection that cannot be set up is closed and the next one is tried. */
static int ds_accept(int lfd) {
    for (;;) {
        int cfd = accept(lfd, NULL, NULL);
        if (cfd < 0) return -1;
        if (ds_prepare_fd(cfd) == 0) return cfd;
        close(cfd);
    }
}

/* Name the calling thread (shown by ps/top/churn.h's thread inventory). */
static void ds_set_thread_name(const char *name) {
#if defined(__APPLE__)
    pthread_setname_np(name);                   /* macOS: names the calling thread only */
#elif defined(__linux__)
    pthread_setname_np(pthread_self(), name);   /* glibc/musl; at most 15 chars */
#else
    (void)name;
#endif
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- SHA-1 and base64, for Sec-WebSocket-Accept ---------------------------------------- */
typedef struct { unsigned int h[5]; unsigned char buf[64]; unsigned long long len; } ds_sha1;

static unsigned int ds_rol(unsigned int x, int n) { return (x << n) | (x >> (32 - n)); }

static void ds_sha1_block(ds_sha1 *s, const unsigned char *p) {
    unsigned int w[80], a, b, c, d, e, t;
    int i;
    for (i = 0; i < 16; i++)
        w[i] = (unsigned int)p[4 * i] << 24 | (unsigned int)p[4 * i + 1] << 16 |
               (unsigned int)p[4 * i + 2] << 8 | (unsigned int)p[4 * i + 3];
    for (i = 16; i < 80; i++) w[i] = ds_rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    a = s->h[0]; b = s->h[1]; c = s->h[2]; d = s->h[3]; e = s->h[4];
    for (i = 0; i < 80; i++) {
        unsigned int f, k;
        if (i < 20) { f = (b & c) | (~b & d); k = 0x5A827999u; }
        else if (i < 40) { f = b ^ c ^ d; k = 0x6ED9EBA1u; }
        else if (i < 60) { f = (b & c) | (b & d) | (c & d); k = 0x8F1BBCDCu; }
        else { f = b ^ c ^ d; k = 0xCA62C1D6u; }
        t = ds_rol(a, 5) + f + e + k + w[i];
        e = d; d = c; c = ds_rol(b, 30); b = a; a = t;
    }
    s->h[0] += a; s->h[1] += b; s->h[2] += c; s->h[3] += d; s->h[4] += e;
}

static void ds_sha1_init(ds_sha1 *s) {
    s->h[0] = 0x67452301u; s->h[1] = 0xEFCDAB89u; s->h[2] = 0x98BADCFEu;
    s->h[3] = 0x10325476u; s->h[4] = 0xC3D2E1F0u; s->len = 0;
}

static void ds_sha1_update(ds_sha1 *s, const void *data, size_t n) {
    const unsigned char *p = (const unsigned char *)data;
    while (n--) {
        s->buf[s->len++ % 64] = *p++;
        if (s->len % 64 == 0) ds_sha1_block(s, s->buf);
    }
}

static void ds_sha1_final(ds_sha1 *s, unsigned char out[20]) {
    unsigned long long bits = s->len * 8;
    unsigned char pad = 0x80, zero = 0, lenb[8];
    int i;
    ds_sha1_update(s, &pad, 1);
    while (s->len % 64 != 56) ds_sha1_update(s, &zero, 1);
    for (i = 0; i < 8; i++) lenb[i] = (unsigned char)(bits >> (56 - 8 * i));
    ds_sha1_update(s, lenb, 8);
    for (i = 0; i < 20; i++) out[i] = (unsigned char)(s->h[i / 4] >> (24 - 8 * (i % 4)));
}

static void ds_base64(const unsigned char *in, size_t n, char *out) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;
    for (i = 0; i + 2 < n; i += 3) {
        unsigned int v = (unsigned int)in[i] << 16 | (unsigned int)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[v >> 18]; out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63]; out[o++] = tab[v & 63];
    }
    if (n - i == 1) {
        unsigned int v = (unsigned int)in[i] << 16;
        out[o++] = tab[v >> 18]; out[o++] = tab[(v >> 12) & 63]; out[o++] = '='; out[o++] = '=';
    } else if (n - i == 2) {
        unsigned int v = (unsigned int)in[i] << 16 | (unsigned int)in[i + 1] << 8;
        out[o++] = tab[v >> 18]; out[o++] = tab[(v >> 12) & 63];
        out[o++] = tab[(v >> 6) & 63]; out[o++] = '=';
    }
    out[o] = '\0';
}

/* ---- the HTTP/1.1 connection state machine (shared by both modes) ---------------------- */
typedef struct conn {
    int fd;
    unsigned long serial;      /* 1-based accept order */
    char in[DS_IN_CAP];
    size_t in_len;
    char out[DS_OUT_CAP];
    size_t out_len, out_off;
    int close_after_write;     /* Connection: close, HTTP/1.0, or a bad request */
    int websocket;             /* upgraded: input is read and discarded */
    double last_active;
} conn;

static const char *ds_find(const char *hay, size_t n, const char *needle) {
    size_t m = strlen(needle), i;
    if (m > n) return NULL;
    for (i = 0; i + m <= n; i++)
        if (memcmp(hay + i, needle, m) == 0) return hay + i;
    return NULL;
}

/* Value of header `name` in the head [p, end), copied into out; 0 when absent. */
static int ds_header(const char *p, const char *end, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name);
    while (p < end) {
        const char *eol = ds_find(p, (size_t)(end - p), "\r\n");
        if (!eol) eol = end;
        if ((size_t)(eol - p) > nl && p[nl] == ':' && strncasecmp(p, name, nl) == 0) {
            const char *v = p + nl + 1;
            size_t len;
            while (v < eol && (*v == ' ' || *v == '\t')) v++;
            len = (size_t)(eol - v);
            while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t')) len--;
            if (len >= cap) len = cap - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return 1;
        }
        p = eol + 2;
    }
    return 0;
}

static int ds_contains_token(const char *list, const char *token) {
    size_t tl = strlen(token);
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        if (strncasecmp(p, token, tl) == 0 && (p[tl] == '\0' || p[tl] == ',' || p[tl] == ' '))
            return 1;
        while (*p && *p != ',') p++;
    }
    return 0;
}

static void ds_queue(conn *c, const char *s, size_t n) {
    if (c->out_len + n > sizeof c->out) n = sizeof c->out - c->out_len;
    memcpy(c->out + c->out_len, s, n);
    c->out_len += n;
}

/* Consume complete requests from c->in and queue responses. */
static void conn_process(conn *c) {
    static const char body[] = "hello from demo_server\n";
    for (;;) {
        const char *head_end, *sp1, *sp2, *line_end;
        char val[256], method[16], version[16], resp[512];
        size_t head_len, body_len = 0, total;
        int n, keep_alive;

        if (c->close_after_write) { c->in_len = 0; return; }
        if (c->websocket) { c->in_len = 0; return; }  /* frames are read and ignored */
        if (c->out_len + 512 > sizeof c->out) return; /* flush first */
        head_end = ds_find(c->in, c->in_len, "\r\n\r\n");
        if (!head_end) {
            if (c->in_len == sizeof c->in) {   /* head too large */
                static const char r431[] =
                    "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\n"
                    "Connection: close\r\n\r\n";
                ds_queue(c, r431, sizeof r431 - 1);
                c->close_after_write = 1;
            }
            return;  /* partial head: wait for more (bounded by the idle timeout) */
        }
        head_len = (size_t)(head_end - c->in) + 4;
        line_end = ds_find(c->in, head_len, "\r\n");
        sp1 = memchr(c->in, ' ', (size_t)(line_end - c->in));
        sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(line_end - sp1 - 1)) : NULL;
        if (!sp1 || !sp2 || (size_t)(sp1 - c->in) >= sizeof method ||
            (size_t)(line_end - sp2 - 1) >= sizeof version) {
            static const char r400[] =
                "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            ds_queue(c, r400, sizeof r400 - 1);
            c->close_after_write = 1;
            return;
        }
        memcpy(method, c->in, (size_t)(sp1 - c->in));
        method[sp1 - c->in] = '\0';
        memcpy(version, sp2 + 1, (size_t)(line_end - sp2 - 1));
        version[line_end - sp2 - 1] = '\0';
        if (ds_header(line_end + 2, head_end + 2, "Content-Length", val, sizeof val)) {
            char *e;
            unsigned long cl = strtoul(val, &e, 10);
            if (*e || cl > 1024 * 1024) {
                static const char r413[] =
                    "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
                ds_queue(c, r413, sizeof r413 - 1);
                c->close_after_write = 1;
                return;
            }
            body_len = cl;
        }
        total = head_len + body_len;
        if (total > sizeof c->in) {   /* bodies larger than the buffer are not buffered */
            static const char r413[] =
                "HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
            ds_queue(c, r413, sizeof r413 - 1);
            c->close_after_write = 1;
            return;
        }
        if (c->in_len < total) return;  /* partial body: wait */

        keep_alive = strcmp(version, "HTTP/1.0") != 0;
        if (ds_header(line_end + 2, head_end + 2, "Connection", val, sizeof val)) {
            if (ds_contains_token(val, "close")) keep_alive = 0;
            if (ds_contains_token(val, "keep-alive")) keep_alive = 1;
        }
        if (ds_header(line_end + 2, head_end + 2, "Upgrade", val, sizeof val) &&
            strcasecmp(val, "websocket") == 0) {
            char key[128], accept[64];
            unsigned char digest[20];
            ds_sha1 sha;
            if (!ds_header(line_end + 2, head_end + 2, "Sec-WebSocket-Key", key, sizeof key)) key[0] = 0;
            ds_sha1_init(&sha);
            ds_sha1_update(&sha, key, strlen(key));
            ds_sha1_update(&sha, "258EAFA5-E914-47DA-95CA-C5AB0DC85B11", 36);
            ds_sha1_final(&sha, digest);
            ds_base64(digest, 20, accept);
            n = snprintf(resp, sizeof resp,
                         "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                         "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", accept);
            ds_queue(c, resp, (size_t)n);
            c->websocket = 1;
        } else {
            int is_head = strcmp(method, "HEAD") == 0;
            n = snprintf(resp, sizeof resp,
                         "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %u\r\n"
                         "%s\r\n%s", (unsigned)(sizeof body - 1),
                         keep_alive ? "" : "Connection: close\r\n", is_head ? "" : body);
            ds_queue(c, resp, (size_t)n);
            if (!keep_alive) c->close_after_write = 1;
        }
        memmove(c->in, c->in + total, c->in_len - total);
        c->in_len -= total;
    }
}

/* Read what is available. 1: keep going, 0: peer closed or reset (or error). */
static int conn_read(conn *c) {
    for (;;) {
        char scratch[4096];
        char *dst = c->in + c->in_len;
        size_t room = sizeof c->in - c->in_len;
        ssize_t r;
        if (c->websocket || c->close_after_write) { dst = scratch; room = sizeof scratch; }
        else if (room == 0) return 1;   /* a full buffer waits for its responses to be written */
        r = recv(c->fd, dst, room, MSG_DONTWAIT);
        if (r > 0) {
            if (dst != scratch) c->in_len += (size_t)r;
            c->last_active = now_s();
            conn_process(c);
            if (c->out_len > c->out_off) return 1; /* write before reading more */
            continue;
        }
        if (r == 0) return 0;
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 1;
        return 0;  /* ECONNRESET and friends */
    }
}

/* Write what is queued. 1: keep going, 0: done with the connection (error, or closed by us). */
static int conn_write(conn *c) {
    while (c->out_off < c->out_len) {
        ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
                         DS_MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) { c->out_off += (size_t)w; c->last_active = now_s(); continue; }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return 1;
        return 0;
    }
    c->out_len = c->out_off = 0;
    if (c->close_after_write) return 0;
    conn_process(c);  /* requests that waited for room */
    return 1;
}

static void leak_memory(void) {
    if (g_opt.leak_mem_kb > 0) {
        size_t n = (size_t)g_opt.leak_mem_kb * 1024;
        char *p = malloc(n);
        if (p) memset(p, 0xA5, n);  /* touched, so it is resident; never freed on purpose */
    }
}

/* ---- the leaked-fd list: connections we "forgot" to close -------------------------------- */
static pthread_mutex_t g_leak_mu = PTHREAD_MUTEX_INITIALIZER;
static int *g_leaked_fds;
static size_t g_leaked_count, g_leaked_cap;

/* Close c->fd, or keep it open forever when --leak-fd says this connection leaks. */
static void conn_finish(conn *c) {
    if (g_opt.leak_fd > 0 && c->serial % (unsigned long)g_opt.leak_fd == 0) {
        pthread_mutex_lock(&g_leak_mu);
        if (g_leaked_count == g_leaked_cap) {
            size_t cap = g_leaked_cap ? g_leaked_cap * 2 : 64;
            int *n = realloc(g_leaked_fds, cap * sizeof *n);
            if (n) { g_leaked_fds = n; g_leaked_cap = cap; }
        }
        if (g_leaked_count < g_leaked_cap) {
            g_leaked_fds[g_leaked_count++] = c->fd;
            pthread_mutex_unlock(&g_leak_mu);
            c->fd = -1;
            return;
        }
        pthread_mutex_unlock(&g_leak_mu);
    }
    close(c->fd);
    c->fd = -1;
}

static void close_leaked(void) {
    size_t i;
    pthread_mutex_lock(&g_leak_mu);
    for (i = 0; i < g_leaked_count; i++) close(g_leaked_fds[i]);
    free(g_leaked_fds);
    g_leaked_fds = NULL;
    g_leaked_count = g_leaked_cap = 0;
    pthread_mutex_unlock(&g_leak_mu);
}

/* ---- poll mode --------------------------------------------------------------------------- */
static int run_poll(int lfd) {
    conn **conns = calloc(DS_MAX_CONNS, sizeof *conns);
    struct pollfd *pfd = calloc(DS_MAX_CONNS + 1, sizeof *pfd);
    unsigned long serial = 0;
    int n = 0, i;
    if (!conns || !pfd) { fprintf(stderr, "demo_server: out of memory\n"); free(conns); free(pfd); return 1; }
    while (!g_stop) {
        double now;
        int r;
        pfd[0].fd = lfd;
        pfd[0].events = POLLIN;
        pfd[0].revents = 0;
        for (i = 0; i < n; i++) {
            pfd[i + 1].fd = conns[i]->fd;
            pfd[i + 1].events = (short)(conns[i]->out_off < conns[i]->out_len ? POLLOUT : POLLIN);
            pfd[i + 1].revents = 0;
        }
        r = poll(pfd, (nfds_t)n + 1, 100);
        if (r < 0 && errno != EINTR) { perror("demo_server: poll"); break; }
        now = now_s();
        if (r > 0) {
            for (i = n - 1; i >= 0; i--) {
                conn *c = conns[i];
                short re = pfd[i + 1].revents;
                int keep = 1;
                if (!re) continue;
                if (re & POLLOUT) keep = conn_write(c);
                if (keep && (re & (POLLIN | POLLHUP | POLLERR))) {
                    keep = conn_read(c);
                    if (keep && c->out_off < c->out_len) keep = conn_write(c);
                }
                if (!keep) {
                    conn_finish(c);
                    free(c);
                    conns[i] = conns[--n];
                    pfd[i + 1] = pfd[n + 1];  /* keep revents of not-yet-visited slots aligned */
                }
            }
            if (pfd[0].revents & POLLIN) {
                for (;;) {   /* accept everything pending */
                    int cfd = ds_accept(lfd);
                    conn *c;
                    if (cfd < 0) break;
                    serial++;
                    leak_memory();
                    if (n >= DS_MAX_CONNS || !(c = calloc(1, sizeof *c))) { close(cfd); continue; }
                    c->fd = cfd;
                    c->serial = serial;
                    c->last_active = now;
                    conns[n++] = c;
                }
            }
        }
        for (i = n - 1; i >= 0; i--) {   /* idle timeout */
            if ((now - conns[i]->last_active) * 1000.0 > g_opt.idle_ms) {
                conn_finish(conns[i]);
                free(conns[i]);
                conns[i] = conns[--n];
            }
        }
    }
    for (i = 0; i < n; i++) { close(conns[i]->fd); free(conns[i]); }
    free(conns);
    free(pfd);
    return 0;
}

/* ---- thread mode ------------------------------------------------------------------------- */
static pthread_mutex_t g_thr_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_thr_cv = PTHREAD_COND_INITIALIZER;   /* live-count changes, shutdown */
static int g_thr_live;
static int g_thr_shutdown;

static void *conn_thread(void *arg) {
    conn *c = (conn *)arg;
    int leaky = g_opt.leak_thread > 0 && c->serial % (unsigned long)g_opt.leak_thread == 0;
    ds_set_thread_name(leaky ? "leaky-conn" : "conn");
    for (;;) {
        struct pollfd p;
        int r;
        double now;
        p.fd = c->fd;
        p.events = (short)(c->out_off < c->out_len ? POLLOUT : POLLIN);
        p.revents = 0;
        r = poll(&p, 1, 100);
        if (r < 0 && errno != EINTR) break;
        pthread_mutex_lock(&g_thr_mu);
        if (g_thr_shutdown) r = -1;
        pthread_mutex_unlock(&g_thr_mu);
        if (r < 0) break;
        if (r > 0) {
            if ((p.revents & POLLOUT) && !conn_write(c)) break;
            if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
                if (!conn_read(c)) break;
                if (c->out_off < c->out_len && !conn_write(c)) break;
            }
        }
        now = now_s();
        if ((now - c->last_active) * 1000.0 > g_opt.idle_ms) break;
    }
    conn_finish(c);
    free(c);
    pthread_mutex_lock(&g_thr_mu);
    if (leaky)   /* the bug: this thread waits for an event that never comes (until shutdown) */
        while (!g_thr_shutdown) pthread_cond_wait(&g_thr_cv, &g_thr_mu);
    g_thr_live--;
    pthread_cond_broadcast(&g_thr_cv);
    pthread_mutex_unlock(&g_thr_mu);
    return NULL;
}

static int run_threads(int lfd) {
    unsigned long serial = 0;
    pthread_attr_t attr;
    sigset_t block, old;
    struct timespec deadline;
    int rc = 0;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    while (!g_stop) {
        struct pollfd p;
        int r;
        p.fd = lfd;
        p.events = POLLIN;
        p.revents = 0;
        r = poll(&p, 1, 100);
        if (r < 0 && errno != EINTR) { perror("demo_server: poll"); rc = 1; break; }
        if (r <= 0) continue;
        for (;;) {
            int cfd = ds_accept(lfd);
            pthread_t t;
            conn *c;
            if (cfd < 0) break;
            serial++;
            leak_memory();
            if (!(c = calloc(1, sizeof *c))) { close(cfd); continue; }
            c->fd = cfd;
            c->serial = serial;
            c->last_active = now_s();
            pthread_mutex_lock(&g_thr_mu);
            g_thr_live++;
            pthread_mutex_unlock(&g_thr_mu);
            /* connection threads never take SIGTERM/SIGINT: the main thread does */
            pthread_sigmask(SIG_BLOCK, &block, &old);
            r = pthread_create(&t, &attr, conn_thread, c);
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            if (r != 0) {
                close(cfd);
                free(c);
                pthread_mutex_lock(&g_thr_mu);
                g_thr_live--;
                pthread_mutex_unlock(&g_thr_mu);
            }
        }
    }
    /* shutdown: release blocked threads, wait (bounded) until every thread is gone */
    pthread_mutex_lock(&g_thr_mu);
    g_thr_shutdown = 1;
    pthread_cond_broadcast(&g_thr_cv);
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += 3;
    while (g_thr_live > 0)
        if (pthread_cond_timedwait(&g_thr_cv, &g_thr_mu, &deadline) != 0) break;
    if (g_thr_live > 0) fprintf(stderr, "demo_server: %d connection threads still running at exit\n", g_thr_live);
    pthread_mutex_unlock(&g_thr_mu);
    pthread_attr_destroy(&attr);
    return rc;
}

/* ---- main -------------------------------------------------------------------------------- */
static void usage(FILE *f) {
    fprintf(f,
            "usage: demo_server [--port P] [--host 127.0.0.1|::1] [--threads] [--idle-ms MS]\n"
            "                   [--leak-fd N] [--leak-thread N] [--leak-mem KB]\n"
            "  --port P          listen port (0, the default: ephemeral)\n"
            "  --host H          127.0.0.1 (default) or ::1 (or any local IPv4/IPv6 literal)\n"
            "  --threads         a thread per connection (default: one poll() loop)\n"
            "  --idle-ms MS      close idle connections after MS ms (default 5000)\n"
            "  --leak-fd N       never close every Nth connection\n"
            "  --leak-thread N   with --threads: every Nth connection thread blocks forever\n"
            "  --leak-mem KB     leak KB KiB per connection\n"
            "Prints \"port <P> pid <PID>\" first; stops on SIGTERM/SIGINT.\n");
}

static long parse_num(const char *opt, const char *s, long lo, long hi) {
    char *e;
    long v;
    errno = 0;
    v = s ? strtol(s, &e, 10) : 0;
    if (!s || !*s || *e || errno || v < lo || v > hi) {
        fprintf(stderr, "demo_server: %s: expected an integer in %ld..%ld, got '%s'\n", opt, lo, hi,
                s ? s : "");
        exit(2);
    }
    return v;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    long port = 0;
    int i, lfd, one = 1, rc;
    struct sockaddr_storage ss;
    socklen_t sl;
    struct sigaction sa;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--threads")) g_opt.threads = 1;
        else if (!strcmp(a, "--port")) { port = parse_num(a, v, 0, 65535); i++; }
        else if (!strcmp(a, "--host")) {
            if (!v) { fprintf(stderr, "demo_server: --host: missing value\n"); return 2; }
            host = v; i++;
        }
        else if (!strcmp(a, "--idle-ms")) { g_opt.idle_ms = (int)parse_num(a, v, 1, 3600000); i++; }
        else if (!strcmp(a, "--leak-fd")) { g_opt.leak_fd = parse_num(a, v, 1, 1000000000); i++; }
        else if (!strcmp(a, "--leak-thread")) { g_opt.leak_thread = parse_num(a, v, 1, 1000000000); i++; }
        else if (!strcmp(a, "--leak-mem")) { g_opt.leak_mem_kb = parse_num(a, v, 1, 1048576); i++; }
        else { fprintf(stderr, "demo_server: unknown option '%s'\n", a); usage(stderr); return 2; }
    }
    if (g_opt.leak_thread && !g_opt.threads)
        fprintf(stderr, "demo_server: note: --leak-thread has no effect without --threads\n");

    memset(&ss, 0, sizeof ss);
    if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) == 1) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons((unsigned short)port);
        sl = sizeof *s4;
    } else if (inet_pton(AF_INET6, host, &((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((unsigned short)port);
        sl = sizeof *s6;
    } else {
        fprintf(stderr, "demo_server: --host: expected an IPv4 or IPv6 literal, got '%s'\n", host);
        return 2;
    }
    lfd = socket(ss.ss_family, SOCK_STREAM, 0);
    if (lfd < 0) { perror("demo_server: socket"); return 1; }
    if (ds_prepare_fd(lfd) != 0) { perror("demo_server: fcntl"); close(lfd); return 1; }
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&ss, sl) != 0) {
        fprintf(stderr, "demo_server: bind %s port %ld: %s\n", host, port, strerror(errno));
        return 1;
    }
    if (listen(lfd, 1024) != 0) { perror("demo_server: listen"); return 1; }
    sl = sizeof ss;
    getsockname(lfd, (struct sockaddr *)&ss, &sl);
    port = ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                         : ((struct sockaddr_in6 *)&ss)->sin6_port);

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;   /* no SA_RESTART: poll() returns EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    printf("port %ld pid %ld\n", port, (long)getpid());
    fflush(stdout);

    rc = g_opt.threads ? run_threads(lfd) : run_poll(lfd);
    close(lfd);
    close_leaked();
    return rc;
}
