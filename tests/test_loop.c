/* test_loop.c - the churn loop against loopback servers this test starts.

   In-process servers: one poll() thread per server (srv_*) that accepts, records every
   byte each connection sends until EOF / RST / timeout, and answers per mode (HTTP
   response with Content-Length, chunked or close-delimited body, 101 for a WebSocket
   upgrade, reset or FIN after the request head, or silence).
   Child-process servers: this binary re-executed with --serve-child MODE FD (a fresh
   process, so fork() never runs beside threads): clean, leaking every 10th accepted fd,
   or leaving every 25th connection thread blocked; it reports what it leaked on FD.
   --remote-guard runs the checks that need a network namespace with only loopback
   (tests/test_remote.sh runs it under `unshare -n`).

   Build: gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -D_GNU_SOURCE -pthread -Itests -I. \
          tests/test_loop.c build/churn_impl.o -o build/tests/test_loop -lm
*/
#include "churn_test.h"
#include "churn_testutil.h"
#include "../churn.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

/* ---- small helpers --------------------------------------------------------------------- */

/* Printable rendering of bytes for failure messages. */
static void esc(const unsigned char *p, size_t n, char *out, size_t cap) {
    size_t i, o = 0;
    if (cap == 0) return;
    for (i = 0; i < n && o + 5 < cap; i++) {
        unsigned char c = p[i];
        if (c == '\r') { out[o++] = '\\'; out[o++] = 'r'; }
        else if (c == '\n') { out[o++] = '\\'; out[o++] = 'n'; }
        else if (c >= 32 && c < 127 && c != '\\') out[o++] = (char)c;
        else o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    if (i < n && o + 4 < cap) { out[o++] = '.'; out[o++] = '.'; out[o++] = '.'; }
    out[o < cap ? o : cap - 1] = '\0';
}

static void fail_msg(const char *file, int line, const char *fmt, const char *a, const char *b) {
    char m[3072];
    snprintf(m, sizeof m, fmt, a, b);
    ct_fail_at(file, line, m);
}

static int send_all(int fd, const void *p, size_t n) {
    const char *c = (const char *)p;
    while (n > 0) {
        ssize_t k = send(fd, c, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd pf;
                pf.fd = fd; pf.events = POLLOUT; pf.revents = 0;
                if (poll(&pf, 1, 2000) <= 0) return -1;
                continue;
            }
            return -1;
        }
        c += k;
        n -= (size_t)k;
    }
    return 0;
}

/* A port on 127.0.0.1 with nothing listening (bound then released). */
static int free_port(void) {
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = -1;
    if (fd < 0) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &al) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* ---- in-process recording server ------------------------------------------------------- */

enum { SM_RECORD, SM_RESET_AFTER_HEAD, SM_CLOSE_AFTER_HEAD, SM_SILENT, SM_RST_ON_ACCEPT };
enum { RS_CL, RS_CHUNKED, RS_CLOSE, RS_CL_LARGE, RS_CHUNKED_EXT_TRAILER, RS_DRIP, RS_CL0, RS_LOWER_CL,
       RS_LOWER_CHUNKED, RS_BIG_HEAD, RS_204, RS_CL_THEN_FIN, RS_BIG_HEAD_CL_FIRST };
enum { END_OPEN, END_EOF, END_RST, END_ERR, END_TIMEOUT, END_SERVER };
static const char *end_name(int e) {
    static const char *n[] = { "open", "EOF", "RST", "error", "timeout", "server-closed" };
    return (e >= 0 && e <= END_SERVER) ? n[e] : "?";
}

#define SRV_CONN_MAX 256
#define SRV_REC_MAX 4096
#define REC_BYTES 2048
#define LARGE_BODY 131072

static char large_body[LARGE_BODY];

static const char RESP_CL[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nhello, churn\n";
static const char RESP_CHUNK_HEAD[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel";
static const char RESP_CHUNK_MID[] = "lo\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r";
static const char RESP_CHUNK_END[] = "\n0\r\n\r\n";
static const char RESP_CLOSE[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nclose-delimited body\n";
static const char RESP_CHUNK_EXT[] =
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=value\r\nhello\r\n0\r\nX-Trailer: yes\r\n\r\n";
static const char RESP_CL0[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
static const char RESP_LOWER_CL[] = "HTTP/1.1 200 OK\r\ncontent-length: 13\r\n\r\nhello, churn\n";
static const char RESP_LOWER_CHUNKED[] =
    "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nd\r\nhello, churn\n\r\n0\r\n\r\n";
static const char RESP_204[] = "HTTP/1.1 204 No Content\r\nServer: t\r\n\r\n";
static const char BANNER[] = "220 churn-test ready, say something\r\n";
static const char RESP_WS_1[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n";
static const char RESP_WS_2[] =
    "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";

typedef struct rec {
    unsigned char data[REC_BYTES];
    size_t len;
    int overflow;
    int end, err;
    int responded;      /* the server sent (started) its answer */
    int send_failed;    /* a send of the answer failed (the peer went away early) */
} rec;

typedef struct sconn { int fd; int rec; double t0; } sconn;

typedef struct srv {
    int family, port, lfd;
    int mode, resp, resp_delay_ms;
    int max_accepts;            /* > 0: stop listening after this many accepts */
    int ws_plain;               /* answer a WebSocket upgrade with the plain response */
    int banner;                 /* send BANNER right after accept */
    unsigned bind4;             /* IPv4 address to listen on (host order); 0: 127.0.0.1 */
    int wake[2];
    pthread_t th;
    int running;
    pthread_mutex_t mu;         /* guards nrec, active, accepted and recs[] */
    rec *recs;
    int nrec, active, accepted;
    sconn conns[SRV_CONN_MAX];  /* server thread only */
    int nconn;
} srv;

static void srv_finish(srv *s, sconn *c, int end, int err) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
    pthread_mutex_lock(&s->mu);
    s->recs[c->rec].end = end;
    s->recs[c->rec].err = err;
    s->active--;
    pthread_mutex_unlock(&s->mu);
}

static void srv_answer(srv *s, sconn *c, rec *r) {
    int bad = 0;
    if (s->mode == SM_SILENT) return;
    if (s->mode == SM_RESET_AFTER_HEAD) {
        r->responded = 1;
        t_set_rst(c->fd);
        srv_finish(s, c, END_SERVER, 0);
        return;
    }
    if (s->mode == SM_CLOSE_AFTER_HEAD) {
        r->responded = 1;
        shutdown(c->fd, SHUT_WR);
        return;
    }
    if (r->len < 4 || memcmp(r->data, "GET ", 4) != 0) return; /* POST with a short body: wait */
    if (s->resp_delay_ms > 0) t_sleep_ms(s->resp_delay_ms);
    r->responded = 1;
    if (!s->ws_plain && memmem(r->data, r->len, "Upgrade: websocket", 18)) {
        bad |= send_all(c->fd, RESP_WS_1, sizeof RESP_WS_1 - 1);
        t_sleep_ms(30); /* a client that resets on half a head makes the next send fail */
        bad |= send_all(c->fd, RESP_WS_2, sizeof RESP_WS_2 - 1);
    } else if (s->resp == RS_CL) {
        bad |= send_all(c->fd, RESP_CL, sizeof RESP_CL - 1);
    } else if (s->resp == RS_CHUNKED) {
        bad |= send_all(c->fd, RESP_CHUNK_HEAD, sizeof RESP_CHUNK_HEAD - 1);
        t_sleep_ms(3);
        bad |= send_all(c->fd, RESP_CHUNK_MID, sizeof RESP_CHUNK_MID - 1);
        t_sleep_ms(3);
        bad |= send_all(c->fd, RESP_CHUNK_END, sizeof RESP_CHUNK_END - 1);
    } else if (s->resp == RS_CLOSE) {
        bad |= send_all(c->fd, RESP_CLOSE, sizeof RESP_CLOSE - 1);
        shutdown(c->fd, SHUT_WR);
    } else if (s->resp == RS_CL_LARGE) {
        char head[128];
        int hn = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n", LARGE_BODY);
        bad |= send_all(c->fd, head, (size_t)hn);
        bad |= send_all(c->fd, large_body, LARGE_BODY);
    } else if (s->resp == RS_CHUNKED_EXT_TRAILER) {
        bad |= send_all(c->fd, RESP_CHUNK_EXT, sizeof RESP_CHUNK_EXT - 1);
    } else if (s->resp == RS_DRIP) { /* one byte per segment */
        size_t i;
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        for (i = 0; i + 1 < sizeof RESP_CL && !bad; i++) {
            bad |= send_all(c->fd, RESP_CL + i, 1);
            t_sleep_ms(1);
        }
    } else if (s->resp == RS_CL0) {
        bad |= send_all(c->fd, RESP_CL0, sizeof RESP_CL0 - 1);
    } else if (s->resp == RS_LOWER_CL) {
        bad |= send_all(c->fd, RESP_LOWER_CL, sizeof RESP_LOWER_CL - 1);
    } else if (s->resp == RS_LOWER_CHUNKED) {
        bad |= send_all(c->fd, RESP_LOWER_CHUNKED, sizeof RESP_LOWER_CHUNKED - 1);
    } else if (s->resp == RS_BIG_HEAD) { /* a 24 KiB response head */
        char line[1100];
        int i;
        bad |= send_all(c->fd, "HTTP/1.1 200 OK\r\n", 17);
        for (i = 0; i < 24 && !bad; i++) {
            int n = snprintf(line, sizeof line, "X-Pad-%02d: %.1000s\r\n", i, large_body);
            bad |= send_all(c->fd, line, (size_t)n);
        }
        bad |= send_all(c->fd, "Content-Length: 13\r\n\r\nhello, churn\n", 35);
    } else if (s->resp == RS_BIG_HEAD_CL_FIRST) { /* Content-Length first, then 6 KiB of headers */
        char line[1100];
        int i;
        bad |= send_all(c->fd, "HTTP/1.1 200 OK\r\nContent-Length: 13\r\n", 37);
        for (i = 0; i < 6 && !bad; i++) {
            int n = snprintf(line, sizeof line, "X-Pad-%02d: %.1000s\r\n", i, large_body);
            bad |= send_all(c->fd, line, (size_t)n);
        }
        bad |= send_all(c->fd, "\r\nhello, churn\n", 15);
    } else if (s->resp == RS_204) {
        bad |= send_all(c->fd, RESP_204, sizeof RESP_204 - 1);
    } else if (s->resp == RS_CL_THEN_FIN) {
        bad |= send_all(c->fd, RESP_CL, sizeof RESP_CL - 1);
        shutdown(c->fd, SHUT_WR);
    }
    if (bad) r->send_failed = 1;
    /* Content-Length and chunked answers keep the connection open: the client must
       frame the body itself, not wait for a close. */
}

static void srv_read(srv *s, sconn *c) {
    char buf[8192];
    ssize_t k = recv(c->fd, buf, sizeof buf, MSG_DONTWAIT);
    if (k > 0) {
        rec *r = &s->recs[c->rec];
        size_t room;
        pthread_mutex_lock(&s->mu);
        room = REC_BYTES - r->len;
        if ((size_t)k > room) { r->overflow = 1; k = (ssize_t)room; }
        memcpy(r->data + r->len, buf, (size_t)k);
        r->len += (size_t)k;
        pthread_mutex_unlock(&s->mu);
        if (!r->responded && memmem(r->data, r->len, "\r\n\r\n", 4)) srv_answer(s, c, r);
    } else if (k == 0) {
        srv_finish(s, c, END_EOF, 0);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        int e = errno;
        srv_finish(s, c, e == ECONNRESET ? END_RST : END_ERR, e);
    }
}

static void *srv_main(void *arg) {
    srv *s = (srv *)arg;
    struct pollfd pf[SRV_CONN_MAX + 2];
    int i;
    for (;;) {
        int n = 0, lidx = -1, base, r;
        double t = t_now();
        pf[n].fd = s->wake[0]; pf[n].events = POLLIN; pf[n].revents = 0; n++;
        if (s->lfd >= 0 && s->nconn < SRV_CONN_MAX) {
            lidx = n; pf[n].fd = s->lfd; pf[n].events = POLLIN; pf[n].revents = 0; n++;
        }
        base = n;
        for (i = 0; i < s->nconn; i++) {
            pf[n].fd = s->conns[i].fd; pf[n].events = POLLIN; pf[n].revents = 0; n++;
        }
        r = poll(pf, (nfds_t)n, 50);
        if (r < 0 && errno != EINTR) break;
        if (pf[0].revents) break;
        for (i = 0; i < s->nconn; i++) {
            sconn *c = &s->conns[i];
            if (r > 0 && pf[base + i].revents) srv_read(s, c);
            if (c->fd >= 0 && t - c->t0 > 5.0) srv_finish(s, c, END_TIMEOUT, 0);
        }
        {   /* drop finished connections */
            int j = 0;
            for (i = 0; i < s->nconn; i++)
                if (s->conns[i].fd >= 0) s->conns[j++] = s->conns[i];
            s->nconn = j;
        }
        if (lidx >= 0 && (pf[lidx].revents & POLLIN)) {
            while (s->nconn < SRV_CONN_MAX) {
                int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
                sconn *c;
                if (fd < 0) break;
                pthread_mutex_lock(&s->mu);
                if (s->nrec >= SRV_REC_MAX) { pthread_mutex_unlock(&s->mu); close(fd); continue; }
                c = &s->conns[s->nconn++];
                c->fd = fd;
                c->rec = s->nrec++;
                c->t0 = t_now();
                memset(&s->recs[c->rec], 0, sizeof(rec));
                s->active++;
                s->accepted++;
                pthread_mutex_unlock(&s->mu);
                if (s->banner && send_all(fd, BANNER, sizeof BANNER - 1) != 0) s->recs[c->rec].send_failed = 1;
                if (s->mode == SM_RST_ON_ACCEPT) {
                    t_set_rst(fd);
                    srv_finish(s, c, END_SERVER, 0);
                    s->nconn--;
                }
                if (s->max_accepts > 0 && s->accepted >= s->max_accepts) {
                    close(s->lfd); /* later connects are refused */
                    s->lfd = -1;
                    break;
                }
            }
        }
    }
    for (i = 0; i < s->nconn; i++) srv_finish(s, &s->conns[i], END_SERVER, 0);
    s->nconn = 0;
    return NULL;
}

/* Listen on the loopback address of `family` (port 0: any) and start the thread. */
static int srv_open(srv *s, int family, int port) {
    int one = 1, fd;
    struct sockaddr_storage ss;
    socklen_t sl;
    memset(&ss, 0, sizeof ss);
    if (family == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_addr = in6addr_loopback;
        a->sin6_port = htons((unsigned short)port);
        sl = sizeof *a;
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_addr.s_addr = htonl(s->bind4 ? s->bind4 : INADDR_LOOPBACK);
        a->sin_port = htons((unsigned short)port);
        sl = sizeof *a;
    }
    fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 512) != 0) { close(fd); return -1; }
    sl = sizeof ss;
    getsockname(fd, (struct sockaddr *)&ss, &sl);
    s->port = family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                 : ntohs(((struct sockaddr_in *)&ss)->sin_port);
    s->family = family;
    s->lfd = fd;
    if (pipe2(s->wake, O_CLOEXEC) != 0) { close(fd); s->lfd = -1; return -1; }
    if (pthread_create(&s->th, NULL, srv_main, s) != 0) {
        close(fd); s->lfd = -1; close(s->wake[0]); close(s->wake[1]);
        return -1;
    }
    s->running = 1;
    return 0;
}

static srv *srv_new_ex(int family, int mode, int resp, unsigned bind4) {
    srv *s = (srv *)calloc(1, sizeof *s);
    if (!s) return NULL;
    s->recs = (rec *)calloc(SRV_REC_MAX, sizeof(rec));
    if (!s->recs) { free(s); return NULL; }
    s->mode = mode;
    s->resp = resp;
    s->lfd = -1;
    s->bind4 = bind4;
    pthread_mutex_init(&s->mu, NULL);
    if (srv_open(s, family, 0) != 0) { free(s->recs); free(s); return NULL; }
    return s;
}

static srv *srv_new(int family, int mode, int resp) { return srv_new_ex(family, mode, resp, 0); }

static void srv_close(srv *s) {
    if (!s || !s->running) return;
    if (write(s->wake[1], "x", 1) != 1) {}
    pthread_join(s->th, NULL);
    close(s->wake[0]);
    close(s->wake[1]);
    if (s->lfd >= 0) close(s->lfd);
    s->lfd = -1;
    s->running = 0;
}

static void srv_free(srv *s) {
    if (!s) return;
    srv_close(s);
    pthread_mutex_destroy(&s->mu);
    free(s->recs);
    free(s);
}

/* Wait (bounded) until at least `min_recs` connections were accepted and none is open. */
static void srv_settle(srv *s, int min_recs) {
    double end = t_now() + 5.0, quiet_since = 0;
    while (t_now() < end) {
        int done;
        pthread_mutex_lock(&s->mu);
        done = s->nrec >= min_recs && s->active == 0;
        pthread_mutex_unlock(&s->mu);
        if (done) {
            if (quiet_since == 0) quiet_since = t_now();
            else if (t_now() - quiet_since > 0.1) return;
        } else {
            quiet_since = 0;
        }
        t_sleep_ms(5);
    }
}

/* ---- what each profile must put on the wire -------------------------------------------- */

static size_t expected_bytes(int p, const char *path, const char *host, char *out, size_t cap) {
    int n = 0;
    switch (p) {
    case CHURN_PROFILE_PARTIAL_HEADERS:
        n = snprintf(out, cap, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: churn.h\r\nX-Churn: parti", path, host);
        break;
    case CHURN_PROFILE_PARTIAL_BODY: {
        size_t k;
        n = snprintf(out, cap, "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: churn.h\r\n"
                     "Content-Type: application/octet-stream\r\nContent-Length: 1024\r\n\r\n", path, host);
        for (k = 0; k < 512 && (size_t)n + 1 < cap; k++) out[n++] = 'x';
        out[n] = '\0';
        break;
    }
    case CHURN_PROFILE_UNREAD_RESPONSE:
        n = snprintf(out, cap, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: churn.h\r\n\r\n", path, host);
        break;
    case CHURN_PROFILE_REQUEST:
        n = snprintf(out, cap, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: churn.h\r\nConnection: close\r\n\r\n",
                     path, host);
        break;
    case CHURN_PROFILE_WS_UPGRADE_RESET:
        n = snprintf(out, cap, "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                     path, host);
        break;
    default:
        out[0] = '\0';
        n = 0;
    }
    return (size_t)n;
}

static int profile_ends_with_rst(int p) {
    return p != CHURN_PROFILE_CLOSE && p != CHURN_PROFILE_REQUEST && p != CHURN_PROFILE_TLS_STALL;
}

/* 1 when the record is what profile p documents; else 0 and why. */
static int check_record(const rec *r, int p, const char *path, const char *host, char *why, size_t cap) {
    char exp[2048], got[1200], want[1200];
    size_t n;
    int want_end = profile_ends_with_rst(p) ? END_RST : END_EOF;
    if (r->end != want_end) {
        snprintf(why, cap, "profile %s: connection ended with %s (errno %d), documented %s",
                 churn_profile_name((churn_profile)p), end_name(r->end), r->err, end_name(want_end));
        return 0;
    }
    if (p == CHURN_PROFILE_TLS_PARTIAL_HELLO) {
        static const unsigned char head[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03 };
        size_t declared;
        esc(r->data, r->len, got, sizeof got);
        if (r->len < sizeof head + 33 || memcmp(r->data, head, sizeof head) != 0 || r->data[43] != 0x00) {
            snprintf(why, cap, "tls_partial_hello: got %zu bytes \"%s\", want 16 03 01 02 00 01 00 01 fc 03 03 "
                     "+32 random + session id length 00", r->len, got);
            return 0;
        }
        declared = 5 + (((size_t)r->data[3] << 8) | r->data[4]);
        if (declared <= r->len) {
            snprintf(why, cap, "tls_partial_hello: record declares %zu bytes, %zu arrived", declared, r->len);
            return 0;
        }
        if (r->len != 48) {
            snprintf(why, cap, "tls_partial_hello: %zu bytes arrived, the header documents 5 + 43 = 48 (\"%s\")",
                     r->len, got);
            return 0;
        }
        return 1;
    }
    n = expected_bytes(p, path, host, exp, sizeof exp);
    if (r->len != n || memcmp(r->data, exp, n) != 0) {
        esc(r->data, r->len, got, sizeof got);
        esc((const unsigned char *)exp, n, want, sizeof want);
        snprintf(why, cap, "profile %s sent %zu bytes \"%s\"; documented %zu bytes \"%s\"",
                 churn_profile_name((churn_profile)p), r->len, got, n, want);
        return 0;
    }
    if ((p == CHURN_PROFILE_UNREAD_RESPONSE || p == CHURN_PROFILE_WS_UPGRADE_RESET ||
         p == CHURN_PROFILE_REQUEST) && !r->responded) {
        snprintf(why, cap, "profile %s: server never got to answer", churn_profile_name((churn_profile)p));
        return 0;
    }
    if (p == CHURN_PROFILE_WS_UPGRADE_RESET && r->send_failed) {
        snprintf(why, cap, "ws_upgrade_reset: the client reset after half of the response head "
                           "(second send failed); documented: wait for a whole head");
        return 0;
    }
    return 1;
}

/* ---- churn helpers --------------------------------------------------------------------- */

static void cfg_for(churn_config *c, int port) {
    churn_config_init(c, CHURN_BUDGET_SMOKE);
    c->host = "127.0.0.1";
    c->port = port;
    c->cycles = 20;
    c->concurrency = 1;
    c->watch_pid = 0;
    c->no_inventory = 1;
    c->drain_timeout_ms = 300;
    churn_limits_none(&c->limits);
}

/* Under ASan/TSan/valgrind (CHURN_TEST_TOOL set, or a sanitizer build) the allocator's
   quarantine makes memory grow with work: memory growth is not judged there. */
static void strict_limits(churn_limits *l) {
    const char *tool = getenv("CHURN_TEST_TOOL");
    int relax = tool && *tool;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    relax = 1;
#endif
    churn_limits_strict(l);
    if (relax) {
        l->growth_per_1k[CHURN_METRIC_RSS_BYTES] = -1;
        l->growth_per_1k[CHURN_METRIC_PRIVATE_BYTES] = -1;
        l->growth_per_1k[CHURN_METRIC_VIRTUAL_BYTES] = -1;
        l->post_drain[CHURN_METRIC_RSS_BYTES] = CHURN_NO_LIMIT;
        l->post_drain[CHURN_METRIC_PRIVATE_BYTES] = CHURN_NO_LIMIT;
        l->post_drain[CHURN_METRIC_VIRTUAL_BYTES] = CHURN_NO_LIMIT;
    }
}

static int outcomes_sum_ok(const churn_outcomes *o) {
    return o->attempted == o->completed + o->refused + o->timed_out + o->reset_by_peer +
                               o->closed_by_peer + o->failed;
}

#define CHECK_OUTCOMES(res) check_outcomes_at(__FILE__, __LINE__, (res), 0)
#define CHECK_OUTCOMES_CUSTOM(res) check_outcomes_at(__FILE__, __LINE__, (res), 1)
static void check_outcomes_at(const char *file, int line, const churn_result *r, int custom) {
    char m[512];
    long long att = 0;
    int p;
    if (!outcomes_sum_ok(&r->outcomes)) {
        const churn_outcomes *o = &r->outcomes;
        snprintf(m, sizeof m, "attempted %lld != completed %lld + refused %lld + timed_out %lld + "
                 "reset_by_peer %lld + closed_by_peer %lld + failed %lld", o->attempted, o->completed,
                 o->refused, o->timed_out, o->reset_by_peer, o->closed_by_peer, o->failed);
        ct_fail_at(file, line, m);
    }
    for (p = 0; p < CHURN_PROFILE_COUNT; p++) {
        att += r->by_profile[p].attempted;
        if (!outcomes_sum_ok(&r->by_profile[p])) {
            snprintf(m, sizeof m, "by_profile[%s]: attempted != sum of outcome classes",
                     churn_profile_name((churn_profile)p));
            ct_fail_at(file, line, m);
        }
    }
    if (!custom && att != r->outcomes.attempted) {
        snprintf(m, sizeof m, "sum of by_profile attempted %lld != outcomes.attempted %lld", att,
                 r->outcomes.attempted);
        ct_fail_at(file, line, m);
    }
    if (r->outcomes.connected > r->outcomes.attempted) {
        ct_fail_at(file, line, "connected > attempted");
    }
}

static void print_outcomes(const char *what, const churn_outcomes *o) {
    printf("    # %s: attempted %lld connected %lld completed %lld refused %lld timed_out %lld "
           "reset_by_peer %lld closed_by_peer %lld failed %lld sent %lld received %lld\n",
           what, o->attempted, o->connected, o->completed, o->refused, o->timed_out, o->reset_by_peer,
           o->closed_by_peer, o->failed, o->bytes_sent, o->bytes_received);
}

static int has_violation(const churn_verdict *v, churn_metric m, churn_phase ph) {
    int i;
    for (i = 0; i < v->violation_count; i++)
        if (v->violations[i].metric == m && v->violations[i].phase == ph) return 1;
    return 0;
}

static void print_verdict(const churn_result *r) {
    int i;
    printf("    # verdict %s ok %d reason \"%s\" violations %d:", churn_status_name(r->verdict.status),
           r->verdict.ok, r->verdict.reason, r->verdict.violation_count);
    for (i = 0; i < r->verdict.violation_count; i++)
        printf(" %s/%s=%g(limit %g)", churn_metric_name(r->verdict.violations[i].metric),
               churn_phase_name(r->verdict.violations[i].phase), r->verdict.violations[i].observed,
               r->verdict.violations[i].limit);
    printf("\n");
}

/* ---- profile bytes --------------------------------------------------------------------- */

static void profile_bytes_one(int p, int family, const char *host) {
    srv *s = srv_new(family, SM_RECORD, RS_CL);
    churn_config c;
    churn_result res;
    int rc, i, extra, cycles = 3;
    char why[3072];
    CT_REQUIRE(s != NULL);
    s->resp_delay_ms = 20;
    cfg_for(&c, s->port);
    c.host = host;
    c.cycles = cycles;
    c.profiles = CHURN_PROFILE_BIT(p);
    c.idle_ms = 20;
    c.http_path = "/health";
    c.http_host = "example.test";
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    if (rc != CHURN_OK) {
        char m[256];
        snprintf(m, sizeof m, "profile %s: churn_run returned %d (%s)", churn_profile_name((churn_profile)p), rc,
                 churn_strerror(rc));
        ct_fail_at(__FILE__, __LINE__, m);
        srv_free(s);
        churn_result_free(&res);
        return;
    }
    CT_EQ_LL(res.by_profile[p].attempted, cycles);
    if (res.by_profile[p].completed != cycles) {
        char m[256];
        snprintf(m, sizeof m, "profile %s: completed %lld of %d", churn_profile_name((churn_profile)p),
                 res.by_profile[p].completed, cycles);
        ct_fail_at(__FILE__, __LINE__, m);
        print_outcomes(churn_profile_name((churn_profile)p), &res.by_profile[p]);
    }
    CT_EQ_LL(res.outcomes.connected, cycles);
    CHECK_OUTCOMES(&res);
    srv_settle(s, cycles);
    srv_close(s);
    extra = s->nrec - cycles;
    if (extra < 0 || extra > 2) {
        char m[256];
        snprintf(m, sizeof m, "profile %s: server accepted %d connections for %d cycles (probe allowance 0..2)",
                 churn_profile_name((churn_profile)p), s->nrec, cycles);
        ct_fail_at(__FILE__, __LINE__, m);
    }
    for (i = 0; i < extra && i < s->nrec; i++) {
        if (s->recs[i].len != 0) {
            char got[600], m[800];
            esc(s->recs[i].data, s->recs[i].len, got, sizeof got);
            snprintf(m, sizeof m, "probe connection %d sent bytes \"%s\"", i, got);
            ct_fail_at(__FILE__, __LINE__, m);
        }
    }
    for (i = extra > 0 ? extra : 0; i < s->nrec; i++) {
        if (!check_record(&s->recs[i], p, "/health", "example.test", why, sizeof why)) {
            fail_msg(__FILE__, __LINE__, "%s%s", why, "");
            break;
        }
    }
    churn_result_free(&res);
    srv_free(s);
}

CT_TEST(profile_bytes_each_profile) {
    int p;
    for (p = 0; p < CHURN_PROFILE_COUNT; p++) profile_bytes_one(p, AF_INET, "127.0.0.1");
}

CT_TEST(profile_bytes_default_path_and_host) {
    srv *s = srv_new(AF_INET, SM_RECORD, RS_CL);
    churn_config c;
    churn_result res;
    int rc, i;
    char why[3072];
    CT_REQUIRE(s != NULL);
    cfg_for(&c, s->port);
    c.cycles = 2;
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST);
    c.http_path = NULL;
    c.http_host = NULL;
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    CT_EQ_LL(rc, CHURN_OK);
    CT_EQ_LL(res.outcomes.completed, 2);
    srv_settle(s, 2);
    srv_close(s);
    for (i = s->nrec - 2; i >= 0 && i < s->nrec; i++)
        if (!check_record(&s->recs[i], CHURN_PROFILE_REQUEST, "/", "127.0.0.1", why, sizeof why)) {
            fail_msg(__FILE__, __LINE__, "default http_path \"/\", Host = host: %s%s", why, "");
            break;
        }
    churn_result_free(&res);
    srv_free(s);
}

/* All ten profiles at concurrency 1: connection j (accept order) carries profile j mod 10. */
static void rotation_bytes(long long warmup) {
    srv *s = srv_new(AF_INET, SM_RECORD, RS_CL);
    churn_config c;
    churn_result res;
    int rc, i, first, k = CHURN_PROFILE_COUNT, cycles = 23;
    char why[3072];
    CT_REQUIRE(s != NULL);
    cfg_for(&c, s->port);
    c.cycles = cycles;
    c.warmup_cycles = warmup;
    c.profiles = CHURN_PROFILES_ALL;
    c.idle_ms = 10;
    c.http_path = "/health";
    c.http_host = "example.test";
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    CT_EQ_LL(rc, CHURN_OK);
    CT_EQ_LL(res.cycles_done, cycles);
    CT_EQ_LL(res.outcomes.attempted, cycles);
    CT_EQ_LL(res.outcomes.completed, cycles);
    CT_EQ_LL(res.warmup_done, warmup);
    CHECK_OUTCOMES(&res);
    for (i = 0; i < k; i++) CT_EQ_LL(res.by_profile[i].attempted, cycles / k + (i < cycles % k));
    srv_settle(s, cycles + (int)warmup);
    srv_close(s);
    first = s->nrec - cycles;
    CT_CHECK(first >= (int)warmup);
    for (i = 0; first >= 0 && i < cycles; i++) {
        if (!check_record(&s->recs[first + i], i % k, "/health", "example.test", why, sizeof why)) {
            char m[3300];
            snprintf(m, sizeof m, "measured cycle %d (warmup %lld): %s", i, warmup, why);
            ct_fail_at(__FILE__, __LINE__, m);
            break;
        }
    }
    churn_result_free(&res);
    srv_free(s);
}

CT_TEST(rotation_bytes_all_profiles) { rotation_bytes(0); }
CT_TEST(rotation_restarts_after_warmup) { rotation_bytes(2); }

static void rotation_share_n(int concurrency, int cycles);
static void rotation_share(int concurrency) { rotation_share_n(concurrency, 30); }
static void rotation_share_n(int concurrency, int cycles) {
    srv *s = srv_new(AF_INET, SM_RECORD, RS_CL);
    churn_config c;
    churn_result res;
    int rc, i, j = 0, k = 4;
    int sel[4] = { CHURN_PROFILE_RESET, CHURN_PROFILE_PARTIAL_HEADERS, CHURN_PROFILE_REQUEST,
                   CHURN_PROFILE_TLS_PARTIAL_HELLO };
    int fds0;
    CT_REQUIRE(s != NULL);
    fds0 = t_self_fds();
    cfg_for(&c, s->port);
    c.cycles = cycles;
    c.concurrency = concurrency;
    c.profiles = 0;
    for (i = 0; i < k; i++) c.profiles |= CHURN_PROFILE_BIT(sel[i]);
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    CT_EQ_LL(rc, CHURN_OK);
    CHECK_OUTCOMES(&res);
    CT_EQ_LL(res.outcomes.attempted, cycles);
    CT_EQ_LL(res.outcomes.completed, cycles);
    for (i = 0; i < CHURN_PROFILE_COUNT; i++) {
        long long want = 0;
        if (j < k && sel[j] == i) { want = cycles / k + (j < cycles % k); j++; }
        if (res.by_profile[i].attempted != want) {
            char m[256];
            snprintf(m, sizeof m, "concurrency %d: by_profile[%s].attempted %lld, exact share %lld", concurrency,
                     churn_profile_name((churn_profile)i), res.by_profile[i].attempted, want);
            ct_fail_at(__FILE__, __LINE__, m);
        }
    }
    churn_result_free(&res);
    srv_settle(s, cycles);
    CT_EQ_LL(t_self_fds(), fds0); /* churn_run closed everything it opened */
    srv_free(s);
}

CT_TEST(rotation_share_concurrency_1) { rotation_share(1); }
CT_TEST(rotation_share_concurrency_3) { rotation_share(3); }
CT_TEST(rotation_share_concurrency_16) { rotation_share(16); }
CT_TEST(concurrency_above_cycles) { rotation_share_n(16, 5); }

CT_TEST(profile_zero_means_reset) {
    srv *s = srv_new(AF_INET, SM_RECORD, RS_CL);
    churn_config c;
    churn_result res;
    CT_REQUIRE(s != NULL);
    cfg_for(&c, s->port);
    c.profiles = 0;
    memset(&res, 0, sizeof res);
    CT_EQ_LL(churn_run(&c, &res), CHURN_OK);
    CT_EQ_LL(res.by_profile[CHURN_PROFILE_RESET].attempted, 20);
    CT_EQ_LL(res.outcomes.completed, 20);
    churn_result_free(&res);
    srv_free(s);
}

/* IDLE "waits idle_ms reading nothing": a server banner stays unread. */
CT_TEST(idle_reads_nothing) {
    srv *s = srv_new(AF_INET, SM_RECORD, RS_CL);
    churn_config c;
    churn_result res;
    CT_REQUIRE(s != NULL);
    s->banner = 1;
    cfg_for(&c, s->port);
    c.cycles = 6;
    c.idle_ms = 30;
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_IDLE);
    memset(&res, 0, sizeof res);
    CT_EQ_LL(churn_run(&c, &res), CHURN_OK);
    CT_EQ_LL(res.by_profile[CHURN_PROFILE_IDLE].completed, 6);
    CT_EQ_LL(res.by_profile[CHURN_PROFILE_IDLE].bytes_received, 0);
    churn_result_free(&res);
    srv_settle(s, 6);
    srv_free(s);
}

/* ---- REQUEST framing ------------------------------------------------------------------- */

static void request_framing(int resp, int concurrency, int cycles, long long body_len) {
    srv *s = srv_new(AF_INET, SM_RECORD, resp);
    churn_config c;
    churn_result res;
    int rc;
    CT_REQUIRE(s != NULL);
    cfg_for(&c, s->port);
    c.cycles = cycles;
    c.concurrency = concurrency;
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST);
    c.timeout_ms = 1000;
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    CT_EQ_LL(rc, CHURN_OK);
    CHECK_OUTCOMES(&res);
    CT_EQ_LL(res.outcomes.attempted, cycles);
    CT_EQ_LL(res.outcomes.connected, cycles);
    CT_EQ_LL(res.outcomes.completed, cycles);
    CT_EQ_LL(res.outcomes.timed_out, 0);
    if (res.outcomes.completed != cycles) print_outcomes("request", &res.outcomes);
    if (body_len > 0) {
        char req[512];
        long long reqlen = (long long)expected_bytes(CHURN_PROFILE_REQUEST, "/", "127.0.0.1", req, sizeof req);
        CT_EQ_LL(res.by_profile[CHURN_PROFILE_REQUEST].bytes_sent, (long long)cycles * reqlen);
        CT_EQ_LL(res.by_profile[CHURN_PROFILE_REQUEST].bytes_received, (long long)cycles * body_len);
    }
    churn_result_free(&res);
    srv_settle(s, cycles);
    srv_free(s);
}

CT_TEST(request_content_length) { request_framing(RS_CL, 1, 20, (long long)sizeof RESP_CL - 1); }
CT_TEST(request_content_length_c8) { request_framing(RS_CL, 8, 40, 0); }
CT_TEST(request_chunked) {
    request_framing(RS_CHUNKED, 1, 20,
                    (long long)(sizeof RESP_CHUNK_HEAD + sizeof RESP_CHUNK_MID + sizeof RESP_CHUNK_END - 3));
}
CT_TEST(request_close_delimited) { request_framing(RS_CLOSE, 1, 20, (long long)sizeof RESP_CLOSE - 1); }
CT_TEST(request_large_body) { request_framing(RS_CL_LARGE, 2, 10, 0); }
CT_TEST(request_chunked_ext_trailer) {
    request_framing(RS_CHUNKED_EXT_TRAILER, 1, 10, (long long)sizeof RESP_CHUNK_EXT - 1);
}
CT_TEST(request_one_byte_segments) { request_framing(RS_DRIP, 1, 4, (long long)sizeof RESP_CL - 1); }
CT_TEST(request_content_length_zero) { request_framing(RS_CL0, 1, 10, (long long)sizeof RESP_CL0 - 1); }
CT_TEST(request_lowercase_content_length) {
    request_framing(RS_LOWER_CL, 1, 5, (long long)sizeof RESP_LOWER_CL - 1);
}
CT_TEST(request_lowercase_chunked) {
    request_framing(RS_LOWER_CHUNKED, 1, 5, (long long)sizeof RESP_LOWER_CHUNKED - 1);
}
CT_TEST(request_24k_response_head) { request_framing(RS_BIG_HEAD, 1, 5, 0); }
CT_TEST(request_6k_head_content_length_first) { request_framing(RS_BIG_HEAD_CL_FIRST, 1, 3, 0); }
CT_TEST(request_204_has_no_body) { request_framing(RS_204, 1, 5, (long long)sizeof RESP_204 - 1); }
CT_TEST(request_content_length_then_fin) {
    request_framing(RS_CL_THEN_FIN, 1, 10, (long long)sizeof RESP_CL - 1);
}

/* WS_UPGRADE_RESET accepts any status: a plain 200 head ends the wait too. */
CT_TEST(ws_upgrade_any_status_completes) {
    srv *s = srv_new(AF_INET, SM_RECORD, RS_CL);
    churn_config c;
    churn_result res;
    CT_REQUIRE(s != NULL);
    s->ws_plain = 1;
    cfg_for(&c, s->port);
    c.cycles = 6;
    c.timeout_ms = 1000;
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_WS_UPGRADE_RESET);
    memset(&res, 0, sizeof res);
    CT_EQ_LL(churn_run(&c, &res), CHURN_OK);
    CT_EQ_LL(res.outcomes.completed, 6);
    if (res.outcomes.completed != 6) print_outcomes("ws, 200 answer", &res.outcomes);
    churn_result_free(&res);
    srv_settle(s, 6);
    srv_free(s);
}

/* ---- outcome classes ------------------------------------------------------------------- */

CT_TEST(outcome_nothing_listening_is_connect_error) {
    churn_config c;
    churn_result res;
    int port = free_port(), rc, fds0 = t_self_fds();
    double t0;
    CT_REQUIRE(port > 0);
    cfg_for(&c, port);
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST) | CHURN_PROFILE_BIT(CHURN_PROFILE_RESET);
    memset(&res, 0, sizeof res);
    t0 = t_now();
    rc = churn_run(&c, &res);
    printf("    # nothing listening: %s after %.3f s\n", churn_strerror(rc), t_now() - t0);
    CT_EQ_LL(rc, CHURN_E_CONNECT);
    churn_result_free(&res);
    CT_EQ_LL(t_self_fds(), fds0);
}

static void outcome_server(int mode, int profile, int want_field_offset, const char *what) {
    srv *s = srv_new(AF_INET, mode, RS_CL);
    churn_config c;
    churn_result res;
    int rc, cycles = 6;
    long long got;
    CT_REQUIRE(s != NULL);
    cfg_for(&c, s->port);
    c.cycles = cycles;
    c.profiles = CHURN_PROFILE_BIT(profile);
    c.timeout_ms = 200;
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    CT_EQ_LL(rc, CHURN_OK);
    CHECK_OUTCOMES(&res);
    CT_EQ_LL(res.outcomes.attempted, cycles);
    CT_EQ_LL(res.outcomes.connected, cycles);
    got = *(const long long *)((const char *)&res.by_profile[profile] + want_field_offset);
    if (got != cycles) {
        char m[256];
        snprintf(m, sizeof m, "%s: %s cycles classified %s: %lld of %d", what,
                 churn_profile_name((churn_profile)profile), what, got, cycles);
        ct_fail_at(__FILE__, __LINE__, m);
        print_outcomes(churn_profile_name((churn_profile)profile), &res.by_profile[profile]);
    }
    churn_result_free(&res);
    srv_settle(s, cycles);
    srv_free(s);
}

#define OFF(f) ((int)offsetof(churn_outcomes, f))
CT_TEST(outcome_reset_by_peer_request) {
    outcome_server(SM_RESET_AFTER_HEAD, CHURN_PROFILE_REQUEST, OFF(reset_by_peer), "reset_by_peer");
}
CT_TEST(outcome_reset_by_peer_unread) {
    outcome_server(SM_RESET_AFTER_HEAD, CHURN_PROFILE_UNREAD_RESPONSE, OFF(reset_by_peer), "reset_by_peer");
}
CT_TEST(outcome_reset_by_peer_ws) {
    outcome_server(SM_RESET_AFTER_HEAD, CHURN_PROFILE_WS_UPGRADE_RESET, OFF(reset_by_peer), "reset_by_peer");
}
CT_TEST(outcome_closed_by_peer_request) {
    outcome_server(SM_CLOSE_AFTER_HEAD, CHURN_PROFILE_REQUEST, OFF(closed_by_peer), "closed_by_peer");
}
CT_TEST(outcome_closed_by_peer_unread) {
    outcome_server(SM_CLOSE_AFTER_HEAD, CHURN_PROFILE_UNREAD_RESPONSE, OFF(closed_by_peer), "closed_by_peer");
}
CT_TEST(outcome_closed_by_peer_ws) {
    outcome_server(SM_CLOSE_AFTER_HEAD, CHURN_PROFILE_WS_UPGRADE_RESET, OFF(closed_by_peer), "closed_by_peer");
}
CT_TEST(outcome_rst_on_accept_request) {
    outcome_server(SM_RST_ON_ACCEPT, CHURN_PROFILE_REQUEST, OFF(reset_by_peer), "reset_by_peer");
}
CT_TEST(outcome_rst_on_accept_unread) {
    outcome_server(SM_RST_ON_ACCEPT, CHURN_PROFILE_UNREAD_RESPONSE, OFF(reset_by_peer), "reset_by_peer");
}
CT_TEST(outcome_timed_out_request) {
    outcome_server(SM_SILENT, CHURN_PROFILE_REQUEST, OFF(timed_out), "timed_out");
}
CT_TEST(outcome_timed_out_unread) {
    outcome_server(SM_SILENT, CHURN_PROFILE_UNREAD_RESPONSE, OFF(timed_out), "timed_out");
}
CT_TEST(outcome_timed_out_ws) {
    outcome_server(SM_SILENT, CHURN_PROFILE_WS_UPGRADE_RESET, OFF(timed_out), "timed_out");
}

/* The listener goes away after a few accepts: the later cycles are refused. */
CT_TEST(outcome_refused_mid_run) {
    srv *s;
    churn_config c;
    churn_result res;
    int rc, cycles = 20;
    s = (srv *)calloc(1, sizeof *s);
    CT_REQUIRE(s != NULL);
    s->recs = (rec *)calloc(SRV_REC_MAX, sizeof(rec));
    s->mode = SM_RECORD;
    s->resp = RS_CL;
    s->max_accepts = 6;
    pthread_mutex_init(&s->mu, NULL);
    CT_REQUIRE(s->recs && srv_open(s, AF_INET, 0) == 0);
    cfg_for(&c, s->port);
    c.cycles = cycles;
    /* REQUEST at concurrency 1: the next connect waits for the previous answer, so no
       connection sits in the backlog when the listener goes */
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST);
    c.timeout_ms = 500;
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    CT_EQ_LL(rc, CHURN_OK);
    CHECK_OUTCOMES(&res);
    CT_EQ_LL(res.outcomes.attempted, cycles);
    CT_CHECK(res.outcomes.refused >= cycles - 6);
    CT_EQ_LL(res.outcomes.refused + res.outcomes.connected, cycles);
    CT_EQ_LL(res.outcomes.completed, res.outcomes.connected);
    print_outcomes("refused mid-run", &res.outcomes);
    churn_result_free(&res);
    srv_free(s);
}

/* ---- custom cycles --------------------------------------------------------------------- */

typedef struct cyc_state {
    int leak_every;
    int leaked[256];
    int nleaked;
    long long calls, min_index, max_index;
    int fail_every, nfailed;
    int sleep_ms;
    int stops, starts;
} cyc_state;

static int cyc_stop(void *user) { ((cyc_state *)user)->stops++; return 0; }
static int cyc_start(void *user) { ((cyc_state *)user)->starts++; return 0; }

static int cyc_fn(void *user, long long index) {
    cyc_state *st = (cyc_state *)user;
    int p[2];
    if (st->calls == 0 || index < st->min_index) st->min_index = index;
    if (st->calls == 0 || index > st->max_index) st->max_index = index;
    st->calls++;
    if (st->sleep_ms) t_sleep_ms(st->sleep_ms);
    if (pipe(p) != 0) return -1;
    close(p[1]);
    if (st->leak_every > 0 && st->calls % st->leak_every == 0 && st->nleaked < 256)
        st->leaked[st->nleaked++] = p[0];
    else
        close(p[0]);
    if (st->fail_every > 0 && st->calls % st->fail_every == 0) { st->nfailed++; return -1; }
    return 0;
}

CT_TEST(custom_cycle_pipe_leak_caught) {
    churn_config c;
    churn_result res;
    cyc_state st;
    int rc, i, j, pipes = 0, matched = 0;
    memset(&st, 0, sizeof st);
    st.leak_every = 5;
    cfg_for(&c, 0);
    c.host = NULL;
    c.cycles = 50;
    c.cycle = cyc_fn;
    c.user = &st;
    c.stop = cyc_stop;   /* not called: the drain does not pass */
    c.start = cyc_start;
    c.no_inventory = 0;
    c.drain_timeout_ms = 1000;
    strict_limits(&c.limits);
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    CT_EQ_LL(rc, CHURN_OK);
    CT_EQ_LL(st.stops, 0);
    CT_EQ_LL(st.starts, 0);
    CT_EQ_LL(res.restart_ok, -1);
    CT_EQ_LL(st.calls, 50);
    CT_EQ_LL(st.min_index, 0);
    CT_EQ_LL(st.max_index, 49);
    CT_EQ_LL(st.nleaked, 10);
    CT_EQ_LL(res.cycles_done, 50);
    CT_EQ_LL(res.outcomes.attempted, 50);
    CT_EQ_LL(res.outcomes.completed, 50);
    CHECK_OUTCOMES_CUSTOM(&res);
    CT_EQ_LL(res.verdict.ok, 0);
    CT_EQ_LL(res.verdict.status, CHURN_FAIL);
    CT_CHECK(has_violation(&res.verdict, CHURN_METRIC_HANDLES, CHURN_PHASE_POST_DRAIN));
    for (i = 0; i < res.leaked.handle_count; i++) {
        if (strcmp(res.leaked.handles[i].kind, "pipe") != 0) continue;
        pipes++;
        for (j = 0; j < st.nleaked; j++)
            if (res.leaked.handles[i].id == st.leaked[j]) { matched++; break; }
    }
    CT_EQ_LL(pipes, st.nleaked);
    CT_EQ_LL(matched, st.nleaked);
    CT_EQ_LL(res.leaked.handle_count, st.nleaked);
    if (res.leaked.handle_count != st.nleaked) churn_inventory_fprint(&res.leaked, stdout, 20);
    if (!has_violation(&res.verdict, CHURN_METRIC_HANDLES, CHURN_PHASE_POST_DRAIN)) print_verdict(&res);
    churn_result_free(&res);
    for (i = 0; i < st.nleaked; i++) close(st.leaked[i]);
}

CT_TEST(custom_cycle_clean_passes) {
    churn_config c;
    churn_result res;
    cyc_state st;
    int rc;
    memset(&st, 0, sizeof st);
    cfg_for(&c, 0);
    c.cycles = 100;
    c.cycle = cyc_fn;
    c.user = &st;
    c.no_inventory = 0;
    c.drain_timeout_ms = 1000;
    strict_limits(&c.limits);
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    CT_EQ_LL(rc, CHURN_OK);
    CT_EQ_LL(st.calls, 100);
    CT_EQ_LL(res.verdict.ok, 1);
    CT_EQ_LL(res.verdict.status, CHURN_PASS);
    CT_EQ_LL(res.verdict.violation_count, 0);
    CT_EQ_LL(res.leaked.handle_count, 0);
    CT_EQ_LL(res.leaked.thread_count, 0);
    CT_EQ_LL(res.restart_ok, -1);
    if (!res.verdict.ok) { print_verdict(&res); churn_inventory_fprint(&res.leaked, stdout, 20); }
    churn_result_free(&res);
}

CT_TEST(custom_cycle_ignores_host_port_profiles) {
    churn_config c;
    churn_result res;
    cyc_state st;
    int rc;
    memset(&st, 0, sizeof st);
    cfg_for(&c, 0);
    c.host = "no such host !!";
    c.port = -7;
    c.profiles = 0xffffffffu;
    c.cycles = 10;
    c.cycle = cyc_fn;
    c.user = &st;
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    CT_EQ_LL(rc, CHURN_OK);
    CT_EQ_LL(st.calls, 10);
    CT_EQ_LL(res.cycles_done, 10);
    churn_result_free(&res);
    c.port = 70000;
    c.host = "10.0.0.1"; /* not a target either: the remote guard has nothing to guard */
    memset(&res, 0, sizeof res);
    st.calls = 0;
    CT_EQ_LL(churn_run(&c, &res), CHURN_OK);
    CT_EQ_LL(st.calls, 10);
    churn_result_free(&res);
}

CT_TEST(custom_cycle_failures_counted) {
    churn_config c;
    churn_result res;
    cyc_state st;
    memset(&st, 0, sizeof st);
    st.fail_every = 4;
    cfg_for(&c, 0);
    c.cycles = 20;
    c.cycle = cyc_fn;
    c.user = &st;
    memset(&res, 0, sizeof res);
    CT_EQ_LL(churn_run(&c, &res), CHURN_OK);
    CHECK_OUTCOMES_CUSTOM(&res);
    CT_EQ_LL(res.outcomes.attempted, 20);
    CT_EQ_LL(res.outcomes.failed, st.nfailed);
    CT_EQ_LL(res.outcomes.completed, 20 - st.nfailed);
    if (res.outcomes.failed != st.nfailed) print_outcomes("custom failures", &res.outcomes);
    churn_result_free(&res);
}

/* ---- stop/start ------------------------------------------------------------------------ */

typedef struct ss_state { srv *s; int stops, starts, start_fails; } ss_state;

static int ss_stop(void *user) {
    ss_state *st = (ss_state *)user;
    st->stops++;
    srv_close(st->s);
    return 0;
}

static int ss_start(void *user) {
    ss_state *st = (ss_state *)user;
    st->starts++;
    if (st->start_fails) return -1;
    return srv_open(st->s, AF_INET, st->s->port);
}

static void stop_start(int start_fails) {
    srv *s = srv_new(AF_INET, SM_RECORD, RS_CL);
    churn_config c;
    churn_result res;
    ss_state st;
    int rc, port;
    CT_REQUIRE(s != NULL);
    port = s->port;
    memset(&st, 0, sizeof st);
    st.s = s;
    st.start_fails = start_fails;
    cfg_for(&c, s->port);
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_RESET) | CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST);
    churn_limits_release(&c.limits);
    c.stop = ss_stop;
    c.start = ss_start;
    c.user = &st;
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    CT_EQ_LL(rc, CHURN_OK);
    CT_EQ_LL(res.outcomes.completed, 20);
    CT_EQ_LL(st.stops, 1);
    CT_EQ_LL(st.starts, 1);
    CT_EQ_LL(res.restart_ok, start_fails ? 0 : 1);
    if (!start_fails) {
        CT_CHECK(s->running);
        CT_EQ_LL(s->port, port);
    }
    if (res.restart_ok == -1) print_verdict(&res);
    churn_result_free(&res);
    srv_free(s);
}

CT_TEST(stop_start_restart_ok) { stop_start(0); }

/* A server that speaks no HTTP (churned with RESET only) comes back after stop/start:
   the restart must count as ok although it never answers a request. */
CT_TEST(stop_start_non_http_server) {
    srv *s = srv_new(AF_INET, SM_SILENT, RS_CL);
    churn_config c;
    churn_result res;
    ss_state st;
    int rc;
    CT_REQUIRE(s != NULL);
    memset(&st, 0, sizeof st);
    st.s = s;
    cfg_for(&c, s->port);
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_RESET);
    c.timeout_ms = 200;
    churn_limits_release(&c.limits);
    c.stop = ss_stop;
    c.start = ss_start;
    c.user = &st;
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    CT_EQ_LL(rc, CHURN_OK);
    CT_EQ_LL(res.outcomes.completed, 20);
    CT_EQ_LL(st.stops, 1);
    CT_EQ_LL(st.starts, 1);
    CT_CHECK(s->running);
    CT_EQ_LL(res.restart_ok, 1);
    CT_EQ_LL(res.verdict.ok, 1);
    if (res.restart_ok != 1) print_verdict(&res);
    churn_result_free(&res);
    srv_settle(s, 1);
    srv_free(s);
}
CT_TEST(stop_start_restart_fails) { stop_start(1); }

/* ---- progress -------------------------------------------------------------------------- */

typedef struct prog_state {
    long long dones[4096];
    int calls;
    long long total;
    int cancel_after_done;  /* > 0: return 1 once done >= this */
    int monotonic_broken;
} prog_state;

static int prog_fn(void *user, long long done, long long total) {
    prog_state *p = (prog_state *)user;
    if (p->calls > 0 && done < p->dones[(p->calls - 1) % 4096]) p->monotonic_broken = 1;
    p->dones[p->calls % 4096] = done;
    p->calls++;
    p->total = total;
    return p->cancel_after_done > 0 && done >= p->cancel_after_done;
}

/* cycle and progress share cfg.user: one struct holds both states */
typedef struct both_state { cyc_state cyc; prog_state prog; } both_state;
static int both_cycle(void *user, long long index) { return cyc_fn(&((both_state *)user)->cyc, index); }
static int both_progress(void *user, long long done, long long total) {
    return prog_fn(&((both_state *)user)->prog, done, total);
}

CT_TEST(progress_reports_increasing_done) {
    churn_config c;
    churn_result res;
    both_state *b = (both_state *)calloc(1, sizeof *b);
    int rc, i;
    CT_REQUIRE(b != NULL);
    b->cyc.sleep_ms = 4;
    cfg_for(&c, 0);
    c.cycles = 250;
    c.cycle = both_cycle;
    c.progress = both_progress;
    c.user = b;
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    CT_EQ_LL(rc, CHURN_OK);
    CT_EQ_LL(res.cycles_done, 250);
    CT_GE_LL(b->prog.calls, 2);
    CT_EQ_LL(b->prog.total, 250);
    CT_EQ_LL(b->prog.monotonic_broken, 0);
    if (b->prog.calls >= 2) CT_CHECK(b->prog.dones[(b->prog.calls - 1) % 4096] > b->prog.dones[0]);
    for (i = 0; i < b->prog.calls && i < 4096; i++) CT_CHECK(b->prog.dones[i] <= 250);
    printf("    # progress: %d calls, first done %lld, last done %lld\n", b->prog.calls, b->prog.dones[0],
           b->prog.calls ? b->prog.dones[(b->prog.calls - 1) % 4096] : -1);
    churn_result_free(&res);
    free(b);
}

CT_TEST(progress_cancel_tcp) {
    srv *s;
    churn_config c;
    churn_result res;
    prog_state *pg = (prog_state *)calloc(1, sizeof *pg);
    int rc, fds0 = t_self_fds();
    CT_REQUIRE(pg != NULL);
    s = srv_new(AF_INET, SM_RECORD, RS_CL);
    CT_REQUIRE(s != NULL);
    pg->cancel_after_done = 1;
    cfg_for(&c, s->port);
    c.cycles = 4000;
    c.concurrency = 4;
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_IDLE) | CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST);
    c.idle_ms = 2;
    c.progress = prog_fn;
    c.user = pg;
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    CT_EQ_LL(rc, CHURN_E_CANCELED);
    CT_GE_LL(pg->calls, 1);
    CT_CHECK(res.cycles_done < c.cycles);
    CT_EQ_LL(res.verdict.status, CHURN_INCONCLUSIVE);
    CT_EQ_LL(res.verdict.ok, 0);
    CT_EQ_LL(res.canceled, 1);
    CHECK_OUTCOMES(&res);
    printf("    # canceled after %lld of %lld cycles (%d progress calls)\n", res.cycles_done, c.cycles, pg->calls);
    churn_result_free(&res);
    srv_settle(s, 1);
    srv_free(s);
    CT_EQ_LL(t_self_fds(), fds0);
    free(pg);
}

CT_TEST(progress_cancel_custom) {
    churn_config c;
    churn_result res;
    both_state *b = (both_state *)calloc(1, sizeof *b);
    int rc;
    CT_REQUIRE(b != NULL);
    b->cyc.sleep_ms = 2;
    b->prog.cancel_after_done = 1;
    cfg_for(&c, 0);
    c.cycles = 2000;
    c.cycle = both_cycle;
    c.progress = both_progress;
    c.user = b;
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    CT_EQ_LL(rc, CHURN_E_CANCELED);
    CT_CHECK(res.cycles_done < 2000);
    CT_EQ_LL(res.verdict.status, CHURN_INCONCLUSIVE);
    churn_result_free(&res);
    free(b);
}

/* ---- budgets and bad input ------------------------------------------------------------- */

CT_TEST(budgets) {
    churn_config c;
    churn_config_init(&c, CHURN_BUDGET_SMOKE);
    CT_EQ_LL(c.cycles, 100);
    churn_config_init(&c, CHURN_BUDGET_SOAK);
    CT_EQ_LL(c.cycles, 1000);
}

CT_TEST(bad_input_inval) {
    srv *s = srv_new(AF_INET, SM_RECORD, RS_CL);
    churn_config c;
    churn_result res;
    int i;
    CT_REQUIRE(s != NULL);
    for (i = 0; i < 15; i++) {
        int rc;
        cfg_for(&c, s->port);
        switch (i) {
        case 0: c.port = 0; break;
        case 1: c.port = 65536; break;
        case 2: c.cycles = 0; break;
        case 3: c.cycles = -1; break;
        case 4: c.profiles = 1u << 20; break;
        case 5: c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_RESET) | (1u << CHURN_PROFILE_COUNT); break;
        case 6: c.concurrency = -1; break;
        case 7: c.concurrency = 1000000; break;
        case 8: c.port = -1; break;
        case 9: c.concurrency = 4096 + 1; break; /* CHURN_MAX_CONCURRENCY default + 1 */
        case 10: c.http_path = "/a\r\nX-Injected: 1"; break;
        case 11: c.http_host = "h\r\nX-Injected: 1"; break;
        case 12: c.timeout_ms = -1; break;
        case 13: c.sample_every = -1; break;
        case 14: c.profiles = 0xffffffffu; break;
        }
        memset(&res, 0, sizeof res);
        rc = churn_run(&c, &res);
        if (rc != CHURN_E_INVAL) {
            char m[256];
            snprintf(m, sizeof m, "bad input case %d: churn_run returned %d (%s), want CHURN_E_INVAL", i, rc,
                     churn_strerror(rc));
            ct_fail_at(__FILE__, __LINE__, m);
        }
        churn_result_free(&res);
    }
    cfg_for(&c, s->port);
    memset(&res, 0, sizeof res);
    CT_EQ_LL(churn_run(NULL, &res), CHURN_E_INVAL);
    churn_result_free(&res);
    CT_EQ_LL(churn_run(&c, NULL), CHURN_E_INVAL);
    /* the extremes that are valid */
    cfg_for(&c, s->port);
    c.cycles = 4;
    c.concurrency = 0;
    memset(&res, 0, sizeof res);
    CT_EQ_LL(churn_run(&c, &res), CHURN_OK);
    CT_EQ_LL(res.cfg_concurrency, 1);
    churn_result_free(&res);
    srv_settle(s, 1);
    srv_free(s);
}

/* ---- IPv6 ------------------------------------------------------------------------------ */

CT_TEST(ipv6_loopback) {
    srv *s = srv_new(AF_INET6, SM_RECORD, RS_CL);
    churn_config c;
    churn_result res;
    int rc, i, req = 0;
    char why[3072];
    if (!s) CT_SKIP("no ::1 on this machine");
    cfg_for(&c, s->port);
    c.host = "::1";
    c.cycles = 20;
    c.concurrency = 2;
    c.http_host = "example.test";
    c.http_path = "/v6";
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_RESET) | CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST);
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    CT_EQ_LL(rc, CHURN_OK);
    CT_EQ_LL(res.outcomes.completed, 20);
    CT_EQ_LL(res.outcomes.connected, 20);
    CHECK_OUTCOMES(&res);
    churn_result_free(&res);
    srv_settle(s, 20);
    srv_close(s);
    for (i = 0; i < s->nrec; i++) {
        if (s->recs[i].len == 0) continue;
        req++;
        if (!check_record(&s->recs[i], CHURN_PROFILE_REQUEST, "/v6", "example.test", why, sizeof why)) {
            fail_msg(__FILE__, __LINE__, "[::1]: %s%s", why, "");
            break;
        }
    }
    CT_EQ_LL(req, 10);
    srv_free(s);
}


/* ---- more edges ------------------------------------------------------------------------ */

CT_TEST(effective_config_defaults) {
    srv *s = srv_new(AF_INET, SM_RECORD, RS_CL);
    churn_config c;
    churn_result res;
    CT_REQUIRE(s != NULL);
    cfg_for(&c, s->port);
    c.cycles = 300;
    c.profiles = 0;
    c.timeout_ms = 0;
    c.idle_ms = 0;
    c.drain_timeout_ms = 0;
    c.sample_every = 0;
    c.concurrency = 0;
    c.sample_metrics = 0;
    memset(&res, 0, sizeof res);
    CT_EQ_LL(churn_run(&c, &res), CHURN_OK);
    CT_EQ_LL(res.cfg_cycles, 300);
    CT_EQ_LL(res.cfg_warmup, 0);
    CT_EQ_LL(res.cfg_profiles, CHURN_PROFILE_BIT(CHURN_PROFILE_RESET));
    CT_EQ_LL(res.cfg_timeout_ms, 2000);
    CT_EQ_LL(res.cfg_idle_ms, 50);
    CT_EQ_LL(res.cfg_drain_timeout_ms, 3000);
    CT_EQ_LL(res.cfg_sample_every, 3);
    CT_EQ_LL(res.cfg_concurrency, 1);
    CT_EQ_LL(res.cfg_sample_metrics, churn_metrics_cheap());
    CT_EQ_LL(res.cycles_done, 300);
    CT_CHECK(res.elapsed_s > 0);
    CT_CHECK(res.cycles_per_s > 0);
    churn_result_free(&res);
    srv_settle(s, 1);
    srv_free(s);
}

CT_TEST(series_stays_bounded) {
    churn_config c;
    churn_result res;
    cyc_state st;
    int i;
    memset(&st, 0, sizeof st);
    cfg_for(&c, 0);
    c.cycle = cyc_fn;
    c.user = &st;
    c.cycles = 3000;
    c.sample_every = 1;
    c.series_max = 8;
    memset(&res, 0, sizeof res);
    CT_EQ_LL(churn_run(&c, &res), CHURN_OK);
    CT_CHECK(res.series_count >= 2);
    CT_LE_LL(res.series_count, 8);
    for (i = 1; i < res.series_count; i++) CT_CHECK(res.series[i].cycle > res.series[i - 1].cycle);
    if (res.series_count > 0) CT_LE_LL(res.series[res.series_count - 1].cycle, 3000);
    churn_result_free(&res);
}

CT_TEST(loopback_127_0_0_2_allowed) {
    srv *s = srv_new_ex(AF_INET, SM_RECORD, RS_CL, 0x7f000002u);
    churn_config c;
    churn_result res;
    int rc;
    if (!s) CT_SKIP("cannot listen on 127.0.0.2");
    cfg_for(&c, s->port);
    c.host = "127.0.0.2";
    c.cycles = 10;
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    if (rc != CHURN_OK) {
        char m[128];
        snprintf(m, sizeof m, "127.0.0.2 (loopback 127/8): churn_run returned %d (%s)", rc, churn_strerror(rc));
        ct_fail_at(__FILE__, __LINE__, m);
    }
    CT_EQ_LL(res.outcomes.completed, 10);
    churn_result_free(&res);
    srv_settle(s, 1);
    srv_free(s);
}

CT_TEST(loopback_v4_mapped_allowed) {
    srv *s = srv_new(AF_INET, SM_RECORD, RS_CL);
    churn_config c;
    churn_result res;
    int rc;
    CT_REQUIRE(s != NULL);
    cfg_for(&c, s->port);
    c.host = "::ffff:127.0.0.1";
    c.cycles = 10;
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    if (rc != CHURN_OK) {
        char m[128];
        snprintf(m, sizeof m, "::ffff:127.0.0.1 (v4-mapped loopback): churn_run returned %d (%s)", rc,
                 churn_strerror(rc));
        ct_fail_at(__FILE__, __LINE__, m);
    }
    CT_EQ_LL(res.outcomes.completed, 10);
    churn_result_free(&res);
    srv_settle(s, 1);
    srv_free(s);
}

/* EMFILE while connections are in flight: those cycles are `failed`, the run goes on. */
CT_TEST(outcome_failed_on_emfile) {
    srv *s = srv_new(AF_INET, SM_RECORD, RS_CL);
    churn_config c;
    churn_result res;
    struct rlimit old, lim;
    int rc, fd = 0, room = 0, fds0;
    CT_REQUIRE(s != NULL);
    fds0 = t_self_fds();
    CT_REQUIRE(getrlimit(RLIMIT_NOFILE, &old) == 0);
    while (room < 12) { if (fcntl(fd, F_GETFD) < 0) room++; fd++; }
    lim = old;
    lim.rlim_cur = (rlim_t)fd;  /* 12 free descriptors below the limit */
    cfg_for(&c, s->port);
    c.cycles = 64;
    c.concurrency = 32;
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_IDLE);
    c.idle_ms = 20;
    c.timeout_ms = 1000;
    memset(&res, 0, sizeof res);
    CT_REQUIRE(setrlimit(RLIMIT_NOFILE, &lim) == 0);
    rc = churn_run(&c, &res);
    setrlimit(RLIMIT_NOFILE, &old);
    CT_EQ_LL(rc, CHURN_OK);
    CHECK_OUTCOMES(&res);
    CT_EQ_LL(res.outcomes.attempted, 64);
    /* out of fds: cycles wait for churn's own sockets to close (deferred) or, with none
       of its own open, count as failed; either way the shortage is on record */
    CT_GE_LL(res.fd_deferrals + res.outcomes.failed, 1);
    CT_EQ_LL(res.outcomes.completed + res.outcomes.failed, 64);
    print_outcomes("EMFILE", &res.outcomes);
    churn_result_free(&res);
    srv_settle(s, 1);
    CT_EQ_LL(t_self_fds(), fds0);
    srv_free(s);
}

CT_TEST(watch_pid_gone_is_noproc) {
    pid_t p = fork();
    srv *s;
    churn_config c;
    churn_result res;
    int rc;
    if (p == 0) _exit(0);
    CT_REQUIRE(p > 0);
    waitpid(p, NULL, 0);
    s = srv_new(AF_INET, SM_RECORD, RS_CL);
    CT_REQUIRE(s != NULL);
    cfg_for(&c, s->port);
    c.watch_pid = p;
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    CT_EQ_LL(rc, CHURN_E_NOPROC);
    churn_result_free(&res);
    srv_settle(s, 0);
    srv_free(s);
}

/* ---- servers in a child process -------------------------------------------------------- */

static volatile sig_atomic_t child_stop;
static char self_exe[4096] = "/proc/self/exe"; /* resolved in main: valgrind and friends virtualize it */
static void child_on_term(int sig) { (void)sig; child_stop = 1; }

typedef struct child_conn { int fd, n, stuck_every, report_fd; } child_conn;

static void *child_conn_main(void *arg) {
    child_conn cc = *(child_conn *)arg;
    char name[16], buf[4096];
    double end = t_now() + 10.0;
    free(arg);
    snprintf(name, sizeof name, "conn-%d", cc.n);
    pthread_setname_np(pthread_self(), name);
    while (t_now() < end) {
        struct pollfd pf;
        ssize_t k;
        pf.fd = cc.fd; pf.events = POLLIN; pf.revents = 0;
        if (poll(&pf, 1, 200) <= 0) continue;
        k = recv(cc.fd, buf, sizeof buf, 0);
        if (k <= 0) break;
    }
    close(cc.fd);
    if (cc.stuck_every > 0 && cc.n % cc.stuck_every == 0) {
        char line[96];
        int ln = snprintf(line, sizeof line, "STUCK %ld %s\n", (long)syscall(SYS_gettid), name);
        if (write(cc.report_fd, line, (size_t)ln) != ln) {}
        for (;;) pause();
    }
    return NULL;
}

/* --serve-child MODE FD: MODE clean | leakfd | stuck | rstaccept. Prints "PORT n" then
   "LEAK fd" / "STUCK tid name" lines on FD; exits on SIGTERM (or after 60 s).
   rstaccept resets every connection as soon as it is accepted, from a SCHED_FIFO thread
   pinned to CPU 0 (so, beside a client pinned there too, the RST always wins the race
   against the client's next step; "NOFIFO" is reported when the policy is refused). */
static int child_server_main(const char *mode, int report_fd) {
    int leak_every = strcmp(mode, "leakfd") == 0 ? 10 : 0;
    int stuck_every = strcmp(mode, "stuck") == 0 ? 25 : 0;
    int lfd, n = 0;
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    struct sigaction sa;
    char line[64];
    int ln;
    double end = t_now() + 60.0;
    pthread_attr_t attr;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = child_on_term;
    sigaction(SIGTERM, &sa, NULL);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 || listen(lfd, 512) != 0) return 3;
    getsockname(lfd, (struct sockaddr *)&a, &al);
    ln = snprintf(line, sizeof line, "PORT %d\n", ntohs(a.sin_port));
    if (write(report_fd, line, (size_t)ln) != ln) return 3;
    if (strcmp(mode, "rstaccept") == 0) {
        cpu_set_t cpus;
        struct sched_param sp;
        CPU_ZERO(&cpus);
        CPU_SET(0, &cpus);
        memset(&sp, 0, sizeof sp);
        sp.sched_priority = 10;
        if (sched_setaffinity(0, sizeof cpus, &cpus) != 0 || sched_setscheduler(0, SCHED_FIFO, &sp) != 0)
            if (write(report_fd, "NOFIFO\n", 7) != 7) {}
        while (!child_stop && t_now() < end) {
            struct pollfd pf;
            int fd;
            pf.fd = lfd; pf.events = POLLIN; pf.revents = 0;
            if (poll(&pf, 1, 100) <= 0) continue;
            fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            if (fd < 0) continue;
            t_set_rst(fd);
            close(fd);
        }
        _exit(0);
    }
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    while (!child_stop && t_now() < end) {
        struct pollfd pf;
        int fd;
        pf.fd = lfd; pf.events = POLLIN; pf.revents = 0;
        if (poll(&pf, 1, 100) <= 0) continue;
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) continue;
        n++;
        if (leak_every > 0 && n % leak_every == 0) {
            ln = snprintf(line, sizeof line, "LEAK %d\n", fd);
            if (write(report_fd, line, (size_t)ln) != ln) {}
            continue; /* never read, never closed */
        }
        {
            pthread_t th;
            child_conn *cc = (child_conn *)malloc(sizeof *cc);
            if (!cc) { close(fd); continue; }
            cc->fd = fd; cc->n = n; cc->stuck_every = stuck_every; cc->report_fd = report_fd;
            if (pthread_create(&th, &attr, child_conn_main, cc) != 0) { close(fd); free(cc); }
        }
    }
    _exit(0);
}

typedef struct child_srv { pid_t pid; int port; int rfd; char lines[16384]; size_t len; } child_srv;

static int child_start(child_srv *cs, const char *mode) {
    int p[2];
    double end;
    memset(cs, 0, sizeof *cs);
    if (pipe(p) != 0) return -1;
    fcntl(p[0], F_SETFD, FD_CLOEXEC);
    fflush(stdout);
    cs->pid = fork();
    if (cs->pid < 0) { close(p[0]); close(p[1]); return -1; }
    if (cs->pid == 0) {
        char fdstr[16];
        snprintf(fdstr, sizeof fdstr, "%d", p[1]);
        execl(self_exe, "test_loop", "--serve-child", mode, fdstr, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    cs->rfd = p[0];
    fcntl(cs->rfd, F_SETFL, O_NONBLOCK);
    end = t_now() + 5.0;
    while (t_now() < end) {
        struct pollfd pf;
        ssize_t k;
        char *nl;
        pf.fd = cs->rfd; pf.events = POLLIN; pf.revents = 0;
        poll(&pf, 1, 100);
        k = read(cs->rfd, cs->lines + cs->len, sizeof cs->lines - 1 - cs->len);
        if (k > 0) { cs->len += (size_t)k; cs->lines[cs->len] = '\0'; }
        if ((nl = strchr(cs->lines, '\n')) != NULL) {
            if (sscanf(cs->lines, "PORT %d", &cs->port) != 1) break;
            cs->len -= (size_t)(nl + 1 - cs->lines);
            memmove(cs->lines, nl + 1, cs->len + 1);
            return 0;
        }
    }
    kill(cs->pid, SIGKILL);
    waitpid(cs->pid, NULL, 0);
    close(cs->rfd);
    return -1;
}

static void child_collect(child_srv *cs) {
    for (;;) {
        ssize_t k = read(cs->rfd, cs->lines + cs->len, sizeof cs->lines - 1 - cs->len);
        if (k <= 0) break;
        cs->len += (size_t)k;
    }
    cs->lines[cs->len] = '\0';
}

static void child_stop_wait(child_srv *cs) {
    double end = t_now() + 3.0;
    int st;
    kill(cs->pid, SIGTERM);
    while (t_now() < end) {
        if (waitpid(cs->pid, &st, WNOHANG) == cs->pid) { close(cs->rfd); return; }
        t_sleep_ms(10);
    }
    kill(cs->pid, SIGKILL);
    waitpid(cs->pid, &st, 0);
    close(cs->rfd);
}

static void child_cfg(churn_config *c, const child_srv *cs, long long cycles) {
    cfg_for(c, cs->port);
    c->cycles = cycles;
    c->watch_pid = cs->pid;
    c->no_inventory = 0;
    c->drain_timeout_ms = 2000;
    c->timeout_ms = 1000;
    strict_limits(&c->limits);
}

CT_TEST(child_leaks_every_10th_fd) {
    child_srv cs;
    churn_config c;
    churn_result res;
    int rc, i, nleak = 0, sockets = 0, matched = 0;
    int leaked_fds[64];
    char prefix[64];
    const char *q;
    CT_REQUIRE(child_start(&cs, "leakfd") == 0);
    child_cfg(&c, &cs, 100);
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_CLOSE);
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    child_collect(&cs);
    for (q = cs.lines; (q = strstr(q, "LEAK ")) != NULL; q += 5)
        if (nleak < 64) leaked_fds[nleak++] = atoi(q + 5);
    CT_EQ_LL(rc, CHURN_OK);
    CT_EQ_LL(res.outcomes.completed, 100);
    CT_GE_LL(nleak, 9);
    CT_EQ_LL(res.verdict.ok, 0);
    CT_EQ_LL(res.verdict.status, CHURN_FAIL);
    CT_CHECK(has_violation(&res.verdict, CHURN_METRIC_HANDLES, CHURN_PHASE_POST_DRAIN));
    CT_CHECK(has_violation(&res.verdict, CHURN_METRIC_SOCKETS, CHURN_PHASE_POST_DRAIN));
    snprintf(prefix, sizeof prefix, "tcp 127.0.0.1:%d -> 127.0.0.1:", cs.port);
    for (i = 0; i < res.leaked.handle_count; i++) {
        const churn_handle_info *h = &res.leaked.handles[i];
        int j;
        if (strcmp(h->kind, "socket") != 0) continue;
        sockets++;
        if (strncmp(h->detail, prefix, strlen(prefix)) != 0 || !strstr(h->detail, "CLOSE_WAIT")) {
            fail_msg(__FILE__, __LINE__, "leaked socket detail \"%s\", want \"%sPORT CLOSE_WAIT\"", h->detail, prefix);
        }
        for (j = 0; j < nleak; j++)
            if (h->id == leaked_fds[j]) { matched++; break; }
    }
    CT_EQ_LL(sockets, nleak);
    CT_EQ_LL(matched, nleak);
    CT_EQ_LL(res.leaked.handle_count, nleak);
    CT_EQ_LL(res.leaked.thread_count, 0);
    if (res.verdict.ok || res.leaked.handle_count != nleak || res.leaked.thread_count) {
        print_verdict(&res);
        churn_inventory_fprint(&res.leaked, stdout, 30);
    }
    churn_result_free(&res);
    child_stop_wait(&cs);
}

CT_TEST(child_leaves_every_25th_thread_blocked) {
    child_srv cs;
    churn_config c;
    churn_result res;
    int rc, i, nstuck = 0, matched = 0;
    long stuck_tid[16];
    char stuck_name[16][32];
    const char *q;
    CT_REQUIRE(child_start(&cs, "stuck") == 0);
    child_cfg(&c, &cs, 100);
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_CLOSE) | CHURN_PROFILE_BIT(CHURN_PROFILE_RESET);
    c.concurrency = 2;
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    child_collect(&cs);
    for (q = cs.lines; (q = strstr(q, "STUCK ")) != NULL; q += 6)
        if (nstuck < 16 && sscanf(q + 6, "%ld %31s", &stuck_tid[nstuck], stuck_name[nstuck]) == 2) nstuck++;
    CT_EQ_LL(rc, CHURN_OK);
    CT_GE_LL(nstuck, 4);
    CT_EQ_LL(res.verdict.ok, 0);
    CT_EQ_LL(res.verdict.status, CHURN_FAIL);
    CT_CHECK(has_violation(&res.verdict, CHURN_METRIC_THREADS, CHURN_PHASE_POST_DRAIN));
    CT_CHECK(!has_violation(&res.verdict, CHURN_METRIC_HANDLES, CHURN_PHASE_POST_DRAIN));
    CT_EQ_LL(res.leaked.thread_count, nstuck);
    for (i = 0; i < res.leaked.thread_count; i++) {
        int j;
        for (j = 0; j < nstuck; j++)
            if (res.leaked.threads[i].tid == stuck_tid[j]) {
                matched++;
                CT_EQ_STR(res.leaked.threads[i].name, stuck_name[j]);
                break;
            }
    }
    CT_EQ_LL(matched, nstuck);
    CT_EQ_LL(res.leaked.handle_count, 0);
    if (res.verdict.ok || res.leaked.thread_count != nstuck || res.leaked.handle_count) {
        print_verdict(&res);
        churn_inventory_fprint(&res.leaked, stdout, 30);
    }
    churn_result_free(&res);
    child_stop_wait(&cs);
}

CT_TEST(child_clean_server_passes_strict) {
    child_srv cs;
    churn_config c;
    churn_result res;
    int rc;
    CT_REQUIRE(child_start(&cs, "clean") == 0);
    child_cfg(&c, &cs, 100);
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_RESET) | CHURN_PROFILE_BIT(CHURN_PROFILE_CLOSE) |
                 CHURN_PROFILE_BIT(CHURN_PROFILE_IDLE) | CHURN_PROFILE_BIT(CHURN_PROFILE_PARTIAL_HEADERS) |
                 CHURN_PROFILE_BIT(CHURN_PROFILE_TLS_PARTIAL_HELLO);
    c.idle_ms = 5;
    c.concurrency = 4;
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    CT_EQ_LL(rc, CHURN_OK);
    CT_EQ_LL(res.outcomes.completed, 100);
    CT_EQ_LL(res.watched_pid, cs.pid);
    CT_EQ_LL(res.verdict.ok, 1);
    CT_EQ_LL(res.verdict.status, CHURN_PASS);
    CT_EQ_LL(res.leaked.handle_count, 0);
    CT_EQ_LL(res.leaked.thread_count, 0);
    if (!res.verdict.ok || res.leaked.handle_count || res.leaked.thread_count) {
        print_verdict(&res);
        churn_inventory_fprint(&res.leaked, stdout, 30);
    }
    churn_result_free(&res);
    child_stop_wait(&cs);
}



/* A server that resets every connection right after accept() is reachable: the pre-flight
   probe must not turn "connected, then reset by the peer" into CHURN_E_CONNECT. The server
   runs SCHED_FIFO on the CPU this thread is pinned to, so its RST always comes first. */
CT_TEST(probe_reset_by_peer_is_reachable) {
    child_srv cs;
    churn_config c;
    churn_result res;
    cpu_set_t old, one;
    int rc, pinned;
    CT_REQUIRE(child_start(&cs, "rstaccept") == 0);
    t_sleep_ms(50);
    child_collect(&cs);
    if (strstr(cs.lines, "NOFIFO")) printf("    # no SCHED_FIFO here: the race is not forced\n");
    pinned = sched_getaffinity(0, sizeof old, &old) == 0;
    CPU_ZERO(&one);
    CPU_SET(0, &one);
    if (pinned) pinned = sched_setaffinity(0, sizeof one, &one) == 0;
    cfg_for(&c, cs.port);
    c.cycles = 10;
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_RESET) | CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST);
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    if (pinned) sched_setaffinity(0, sizeof old, &old);
    if (rc != CHURN_OK) {
        char m[160];
        snprintf(m, sizeof m, "server that resets after accept: churn_run returned %d (%s), want CHURN_OK", rc,
                 churn_strerror(rc));
        ct_fail_at(__FILE__, __LINE__, m);
    } else {
        CHECK_OUTCOMES(&res);
        CT_EQ_LL(res.outcomes.attempted, 10);
        CT_EQ_LL(res.outcomes.connected, 10);
        CT_EQ_LL(res.by_profile[CHURN_PROFILE_REQUEST].reset_by_peer, 5);
    }
    churn_result_free(&res);
    child_stop_wait(&cs);
}

typedef struct kill_state { pid_t pid; int killed, reap; } kill_state;
static int kill_progress(void *user, long long done, long long total) {
    kill_state *k = (kill_state *)user;
    (void)total;
    if (!k->killed && done > 0) {
        kill(k->pid, SIGKILL);
        k->killed = 1;
        if (k->reap) waitpid(k->pid, NULL, 0);
    }
    return 0;
}

/* The watched server dies mid-run (and stays an un-reaped zombie, as a crashed server
   under a test harness does): the verdict is inconclusive, never a pass. */
static void watched_exits(int reap) {
    child_srv cs;
    churn_config c;
    churn_result res;
    kill_state ks;
    int rc;
    CT_REQUIRE(child_start(&cs, "clean") == 0);
    child_cfg(&c, &cs, 400);
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_IDLE);
    c.idle_ms = 5;
    c.timeout_ms = 300;
    ks.pid = cs.pid;
    ks.killed = 0;
    ks.reap = reap;
    c.progress = kill_progress;
    c.user = &ks;
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    printf("    # watched process killed%s: rc %d (%s), watch_exited %d, status %s, reason \"%s\"\n",
           reap ? " and reaped" : " (zombie)", rc,
           churn_strerror(rc), res.watch_exited, churn_status_name(res.verdict.status), res.verdict.reason);
    CT_EQ_LL(ks.killed, 1);
    CT_EQ_LL(rc, CHURN_OK);
    CT_EQ_LL(res.watch_exited, 1);
    CT_EQ_LL(res.verdict.ok, 0);
    CT_EQ_LL(res.verdict.status, CHURN_INCONCLUSIVE);
    CHECK_OUTCOMES(&res);
    churn_result_free(&res);
    if (reap) close(cs.rfd);
    else child_stop_wait(&cs);
}

CT_TEST(watched_process_exits_mid_run) { watched_exits(0); }
CT_TEST(watched_process_exits_and_reaped_mid_run) { watched_exits(1); }

/* ---- --remote-guard: run inside `unshare -n` by tests/test_remote.sh ------------------- */

typedef struct net_counters { long long tcp_active_opens, tcp_out_segs, ip_out, ip6_out, udp_out, udp6_out; } net_counters;

static long long snmp_field(const char *path, const char *section, const char *field) {
    FILE *f = fopen(path, "r");
    char hdr[2048], val[2048];
    long long out = -1;
    if (!f) return -1;
    if (strcmp(path, "/proc/net/snmp6") == 0) {
        char name[128];
        long long v;
        while (fscanf(f, "%127s %lld", name, &v) == 2)
            if (strcmp(name, field) == 0) { out = v; break; }
        fclose(f);
        return out;
    }
    while (fgets(hdr, sizeof hdr, f) && fgets(val, sizeof val, f)) {
        char *hs, *vs, *h, *v;
        size_t sl = strlen(section);
        if (strncmp(hdr, section, sl) != 0 || hdr[sl] != ':') continue;
        h = strtok_r(hdr, " \n", &hs);
        v = strtok_r(val, " \n", &vs);
        while (h && v) {
            if (strcmp(h, field) == 0) { out = atoll(v); break; }
            h = strtok_r(NULL, " \n", &hs);
            v = strtok_r(NULL, " \n", &vs);
        }
        break;
    }
    fclose(f);
    return out;
}

static void net_read(net_counters *n) {
    n->tcp_active_opens = snmp_field("/proc/net/snmp", "Tcp", "ActiveOpens");
    n->tcp_out_segs = snmp_field("/proc/net/snmp", "Tcp", "OutSegs");
    n->ip_out = snmp_field("/proc/net/snmp", "Ip", "OutRequests");
    n->udp_out = snmp_field("/proc/net/snmp", "Udp", "OutDatagrams");
    n->ip6_out = snmp_field("/proc/net/snmp6", "", "Ip6OutRequests");
    n->udp6_out = snmp_field("/proc/net/snmp6", "", "Udp6OutDatagrams");
}

CT_TEST(ns_remote_guard_sends_nothing) {
    static const char *hosts[] = { "10.0.0.1", "192.0.2.1", "::ffff:192.0.2.1", "2001:db8::1" };
    int i;
    for (i = 0; i < 4; i++) {
        churn_config c;
        churn_result res;
        net_counters a, b;
        int rc;
        cfg_for(&c, 80);
        c.host = hosts[i];
        c.timeout_ms = 200;
        net_read(&a);
        memset(&res, 0, sizeof res);
        rc = churn_run(&c, &res);
        net_read(&b);
        if (rc != CHURN_E_REMOTE) {
            char m[256];
            snprintf(m, sizeof m, "host %s: churn_run returned %d (%s), want CHURN_E_REMOTE", hosts[i], rc,
                     churn_strerror(rc));
            ct_fail_at(__FILE__, __LINE__, m);
        }
        if (memcmp(&a, &b, sizeof a) != 0) {
            char m[512];
            snprintf(m, sizeof m, "host %s: packets left: tcp ActiveOpens %lld->%lld OutSegs %lld->%lld ip out "
                     "%lld->%lld ip6 out %lld->%lld udp %lld->%lld udp6 %lld->%lld", hosts[i], a.tcp_active_opens,
                     b.tcp_active_opens, a.tcp_out_segs, b.tcp_out_segs, a.ip_out, b.ip_out, a.ip6_out, b.ip6_out,
                     a.udp_out, b.udp_out, a.udp6_out, b.udp6_out);
            ct_fail_at(__FILE__, __LINE__, m);
        }
        churn_result_free(&res);
    }
}

/* Control: with allow_remote the same target is tried, and the counters see it (when the
   script could route 10/8 to lo: CHURN_NS_ROUTES=1). */
CT_TEST(ns_allow_remote_control) {
    churn_config c;
    churn_result res;
    net_counters a, b;
    int rc;
    const char *routes = getenv("CHURN_NS_ROUTES");
    cfg_for(&c, 80);
    c.host = "10.0.0.1";
    c.allow_remote = 1;
    c.timeout_ms = 200;
    c.cycles = 1;
    net_read(&a);
    memset(&res, 0, sizeof res);
    rc = churn_run(&c, &res);
    net_read(&b);
    CT_CHECK(rc != CHURN_E_REMOTE);
    CT_CHECK(rc == CHURN_E_CONNECT);
    printf("    # 10/8 routed to lo: %s; tcp ActiveOpens %lld -> %lld\n", routes && strcmp(routes, "1") == 0 ? "yes" : "no",
           a.tcp_active_opens, b.tcp_active_opens);
    if (routes && strcmp(routes, "1") == 0) CT_CHECK(b.tcp_active_opens > a.tcp_active_opens);
    churn_result_free(&res);
}

static void ns_loopback(int family, const char *host) {
    srv *s = srv_new(family, SM_RECORD, RS_CL);
    churn_config c;
    churn_result res;
    CT_REQUIRE(s != NULL);
    cfg_for(&c, s->port);
    c.host = host;
    c.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_RESET) | CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST);
    memset(&res, 0, sizeof res);
    CT_EQ_LL(churn_run(&c, &res), CHURN_OK);
    CT_EQ_LL(res.outcomes.completed, 20);
    churn_result_free(&res);
    srv_settle(s, 20);
    srv_free(s);
}

CT_TEST(ns_loopback_ipv4_works) { ns_loopback(AF_INET, "127.0.0.1"); }
CT_TEST(ns_loopback_ipv6_works) { ns_loopback(AF_INET6, "::1"); }

/* ---- main ------------------------------------------------------------------------------ */

int main(int argc, char **argv) {
    memset(large_body, 'b', sizeof large_body);
    {
        ssize_t n = readlink("/proc/self/exe", self_exe, sizeof self_exe - 1);
        if (n > 0) self_exe[n] = '\0';
        else snprintf(self_exe, sizeof self_exe, "%s", argv[0]);
    }
    if (argc >= 4 && strcmp(argv[1], "--serve-child") == 0) return child_server_main(argv[2], atoi(argv[3]));
    if (argc >= 2 && strcmp(argv[1], "--remote-guard") == 0) {
        CT_RUN(ns_remote_guard_sends_nothing);
        CT_RUN(ns_allow_remote_control);
        CT_RUN(ns_loopback_ipv4_works);
        CT_RUN(ns_loopback_ipv6_works);
        return ct_finish();
    }
    CT_RUN(budgets);
    CT_RUN(bad_input_inval);
    CT_RUN(profile_bytes_each_profile);
    CT_RUN(profile_bytes_default_path_and_host);
    CT_RUN(rotation_bytes_all_profiles);
    CT_RUN(rotation_restarts_after_warmup);
    CT_RUN(rotation_share_concurrency_1);
    CT_RUN(rotation_share_concurrency_3);
    CT_RUN(rotation_share_concurrency_16);
    CT_RUN(concurrency_above_cycles);
    CT_RUN(profile_zero_means_reset);
    CT_RUN(idle_reads_nothing);
    CT_RUN(request_content_length);
    CT_RUN(request_content_length_c8);
    CT_RUN(request_chunked);
    CT_RUN(request_close_delimited);
    CT_RUN(request_large_body);
    CT_RUN(request_chunked_ext_trailer);
    CT_RUN(request_one_byte_segments);
    CT_RUN(request_content_length_zero);
    CT_RUN(request_lowercase_content_length);
    CT_RUN(request_lowercase_chunked);
    CT_RUN(request_24k_response_head);
    CT_RUN(request_6k_head_content_length_first);
    CT_RUN(request_204_has_no_body);
    CT_RUN(request_content_length_then_fin);
    CT_RUN(ws_upgrade_any_status_completes);
    CT_RUN(outcome_nothing_listening_is_connect_error);
    CT_RUN(outcome_reset_by_peer_request);
    CT_RUN(outcome_reset_by_peer_unread);
    CT_RUN(outcome_reset_by_peer_ws);
    CT_RUN(outcome_closed_by_peer_request);
    CT_RUN(outcome_closed_by_peer_unread);
    CT_RUN(outcome_closed_by_peer_ws);
    CT_RUN(outcome_rst_on_accept_request);
    CT_RUN(outcome_rst_on_accept_unread);
    CT_RUN(outcome_timed_out_request);
    CT_RUN(outcome_timed_out_unread);
    CT_RUN(outcome_timed_out_ws);
    CT_RUN(outcome_refused_mid_run);
    CT_RUN(outcome_failed_on_emfile);
    CT_RUN(watch_pid_gone_is_noproc);
    CT_RUN(effective_config_defaults);
    CT_RUN(loopback_127_0_0_2_allowed);
    CT_RUN(loopback_v4_mapped_allowed);
    CT_RUN(ipv6_loopback);
    CT_RUN(stop_start_restart_ok);
    CT_RUN(stop_start_restart_fails);
    CT_RUN(stop_start_non_http_server);
    CT_RUN(progress_reports_increasing_done);
    CT_RUN(progress_cancel_tcp);
    CT_RUN(progress_cancel_custom);
    /* no server threads from here on: watch_pid 0 sees only this thread */
    CT_RUN(custom_cycle_pipe_leak_caught);
    CT_RUN(custom_cycle_clean_passes);
    CT_RUN(custom_cycle_ignores_host_port_profiles);
    CT_RUN(custom_cycle_failures_counted);
    CT_RUN(series_stays_bounded);
    CT_RUN(child_leaks_every_10th_fd);
    CT_RUN(child_leaves_every_25th_thread_blocked);
    CT_RUN(child_clean_server_passes_strict);
    CT_RUN(probe_reset_by_peer_is_reachable);
    CT_RUN(watched_process_exits_mid_run);
    CT_RUN(watched_process_exits_and_reaped_mid_run);
    return ct_finish();
}
