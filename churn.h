/* churn.h - v0.1.0 - process-resource leak-churn gates for C tests - public domain or MIT, see end of file

   Do this:
       #define CHURN_IMPLEMENTATION
   before you include this file in *one* C or C++ file to create the implementation.
       #include ...
       #define CHURN_IMPLEMENTATION
       #include "churn.h"
   Every other file includes "churn.h" without the define and sees only declarations.

TABLE OF CONTENTS
=================
    Documentation
        OVERVIEW
        QUICK START
        CONFIGURATION MACROS
        SNAPSHOTS
        INVENTORIES
        LIMITS AND VERDICTS
        THE CHURN LOOP
        REPORTS
        ERROR HANDLING
        GUARANTEES
        PLATFORM NOTES
        RECENT CHANGES
    Declarations (inside CHURN_H_INCLUDED)
    Implementation (under CHURN_IMPLEMENTATION); grep the tags:
        >>common            platform detection, allocator, clock, errors, names
        >>snapshot linux    /proc, sock_diag netlink, text-table fallback
        >>snapshot windows  psapi, toolhelp, iphlpapi, NtQuery*
        >>snapshot macos    libproc, Mach
        >>inventory         portable inventory diff and ignore filters
        >>limits            presets, evaluate, growth, drain
        >>churn loop        profiles, non-blocking connect engine, run
        >>json              streaming JSON writer
        >>report            JSON report, summary
    License

OVERVIEW
========
Servers leak under churn in ways request counts never show: accepted-client
threads that never exit, sockets left in CLOSE_WAIT, send buffers still queued on
dead connections, zombie children, handles and private bytes creeping up per
thousand connections. churn.h drives a server through thousands of adversarial
TCP cycles (RST, FIN, idle, partial headers, partial body, unread response, full
request, WebSocket upgrade reset, partial TLS ClientHello, TLS stall) while it
measures the server's own process resources, then judges baseline, peak,
post-drain and growth-per-1000-cycles against limits, names every leaked handle
and thread, and writes a JSON release artifact.

Five parts, usable alone or together:
    1. snapshots     churn_snapshot_take()      counts of one process's resources
    2. inventories   churn_inventory_take()     which fds/handles and threads, with detail
    3. verdicts      churn_evaluate()           deltas and trends against limits
    4. churn loop    churn_run()                load + measurement + verdict in one call
    5. reports       churn_report_write()       atomic JSON artifact, churn_summary_fprint()

QUICK START
===========
    #define CHURN_IMPLEMENTATION
    #include "churn.h"

    int main(void) {
        churn_config cfg;
        churn_result res;
        int rc;
        churn_config_init(&cfg, CHURN_BUDGET_SMOKE);   // 100 cycles
        cfg.port = 8080;                               // your server on 127.0.0.1
        cfg.watch_pid = 0;                             // 0: this process (server on a thread)
        cfg.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_RESET)
                     | CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST);
        churn_limits_strict(&cfg.limits);
        rc = churn_run(&cfg, &res);
        if (rc != CHURN_OK) { fprintf(stderr, "churn: %s\n", churn_strerror(rc)); return 2; }
        churn_summary_fprint(&res, stderr);
        churn_report_write(&cfg, &res, "churn-report.json");
        rc = res.verdict.ok ? 0 : 1;
        churn_result_free(&res);
        return rc;
    }

CONFIGURATION MACROS
====================
    macro                       default     meaning
    CHURN_IMPLEMENTATION        -           emit the implementation in this translation unit
    CHURN_STATIC                -           every function `static` (private copy per TU)
    CHURN_DEF                   extern      linkage of public functions
    CHURN_MALLOC(sz)            malloc      allocator; define all three or none
    CHURN_REALLOC(p,sz)         realloc
    CHURN_FREE(p)               free
    CHURN_NO_STDIO              -           no FILE* functions (JSON through churn_json callbacks)
    CHURN_NO_NET                -           snapshots, inventories, verdicts only; no churn loop
    CHURN_SERIES_MAX            256         default bound of the in-run time series
    CHURN_MAX_CONCURRENCY       4096        largest accepted churn_config.concurrency

SNAPSHOTS
=========
churn_snapshot_take(pid, &s) fills s.value[metric] for every churn_metric, for
this process (pid 0) or another one the OS lets us inspect. A value the platform
cannot give is CHURN_UNKNOWN (-1), never a guess and never 0.
churn_snapshot_take_some(pid, mask, &s) reads only the metrics in the mask, which
is how the churn loop keeps in-run samples cheap: on Linux handles, threads,
rss, private and virtual bytes cost a few stat()/read() calls, independent of the
number of open fds (CHURN_METRICS_CHEAP). The snapshot's own temporary fds are
closed before it returns and never counted; nothing it allocates survives the call.

INVENTORIES
===========
churn_inventory_take(pid, &inv) lists every fd/handle with a kind and a human
detail, and every thread with its id and name. churn_inventory_diff(before, after,
&added) keeps what `after` holds and `before` did not; identity is the object,
not the number (an fd number reused for another socket or file is new).
churn_inventory_filter() drops expected entries (churn_ignore rules: a kind plus
a detail substring, or a thread-name prefix). A leak report reads:

    leaked handles (2):
      fd 7    socket  tcp 127.0.0.1:8080 -> 127.0.0.1:53422 CLOSE_WAIT
      fd 9    pipe    pipe:[812345]
    leaked threads (1):
      tid 4242  conn-worker

LIMITS AND VERDICTS
===================
Three phases are judged, each per metric, each only where its limit is >= 0:
    peak        max over every snapshot of the run - baseline   <= limits.peak[m]
    post_drain  after churn_drain() settled - baseline          <= limits.post_drain[m]
    growth      least-squares slope of the in-run series, per 1000 cycles
                                                                <= limits.growth_per_1k[m]
                With limits.growth_windows = K > 0 a slope is a violation only when
                each of the last K windows of the series also grew (CPython
                regrtest's rule: noise such as [0, 1, -1] is not a leak).
A metric unknown in any snapshot it needs is not checked; its bit is set in
verdict.unchecked and the report lists it. The verdict has three outcomes
(verdict.status): CHURN_PASS, CHURN_FAIL (at least one violation) and
CHURN_INCONCLUSIVE (nothing that was limited could be measured, the run was
canceled, the watched process exited, or no TCP cycle connected). verdict.ok is
1 only for CHURN_PASS.
churn_drain() re-snapshots with backoff (10 ms doubling to 200 ms) until every
post-drain limit holds, bounded both by time and by attempts (CHURN_DRAIN_ATTEMPTS,
default 64), because wall-time-only drains flake on loaded CI machines.

Presets (deltas against the baseline; "-" is unchecked):
    metric            release peak / post     strict peak / post / growth per 1k
    handles           128 / 64                - / 0 / 8
    threads           32 / 4                  - / 0 / 2
    rss_bytes         384 MiB / 256 MiB       256 MiB / 64 MiB / 4 MiB
    private_bytes     384 MiB / 256 MiB       256 MiB / 64 MiB / 4 MiB
    sockets           - / -                   - / 0 / 8
    close_wait        - / -                   - / 0 / 4
    zombies           - / -                   - / 0 / 2
    children          - / -                   - / - / 2
    gdi/user objects  64 / 32                 - / 0 / 4
release is the gate for a release build under real load: bounded residue that
tolerates pools and caches. strict is for unit tests: nothing may remain after
the drain, and the growth rule (K = 4 windows) catches slow leaks that a drain
hides. Peak is unchecked for counts in strict because concurrency sets it.

THE CHURN LOOP
==============
churn_run(&cfg, &res): resolve the target once (loopback only unless
cfg.allow_remote), probe it (CHURN_E_CONNECT if unreachable), run warmup cycles,
take the baseline snapshot and inventory of cfg.watch_pid, run cfg.cycles measured
cycles with cfg.concurrency connections in flight (non-blocking sockets, poll() in
the caller's thread, every wait bounded by timeout_ms), sample every
cfg.sample_every cycles, drain, take the post-drain snapshot and inventory, diff,
filter, judge, optionally stop/start the server, and fill res.

Profiles (measured cycle i runs the (i mod k)-th selected profile, in enum order).
"RST" is SO_LINGER {1, 0} then close(); every send uses MSG_NOSIGNAL/SO_NOSIGPIPE.
    RESET              connect; RST.
    CLOSE              connect; close() (FIN).
    IDLE               connect; wait idle_ms reading nothing; RST.
    PARTIAL_HEADERS    send "GET <path> HTTP/1.1\r\nHost: <host>\r\nUser-Agent: churn.h\r\nX-Churn: parti"
                       (no blank line); RST.
    PARTIAL_BODY       send "POST <path> HTTP/1.1\r\nHost: <host>\r\nUser-Agent: churn.h\r\n
                       Content-Type: application/octet-stream\r\nContent-Length: 1024\r\n\r\n"
                       and 512 bytes of 'x'; RST.
    UNREAD_RESPONSE    send "GET <path> HTTP/1.1\r\nHost: <host>\r\nUser-Agent: churn.h\r\n\r\n";
                       wait until response bytes are readable, never read them; RST.
    REQUEST            send "GET <path> HTTP/1.1\r\nHost: <host>\r\nUser-Agent: churn.h\r\n
                       Connection: close\r\n\r\n"; read the response to its end
                       (Content-Length, chunked, or close); close() (FIN).
    WS_UPGRADE_RESET   send "GET <path> HTTP/1.1\r\nHost: <host>\r\nUpgrade: websocket\r\n
                       Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n
                       Sec-WebSocket-Version: 13\r\n\r\n"; wait for a whole response head
                       (101 or any status); RST.
    TLS_PARTIAL_HELLO  send the first 5 + 43 bytes of a TLS 1.2 ClientHello: record header
                       16 03 01 02 00 (512 bytes declared), handshake header 01 00 01 fc,
                       version 03 03, 32 random bytes, session id length 00, cipher
                       suites length 00 (cut here); RST.
    TLS_STALL          connect; send nothing; wait idle_ms; close() (FIN).

Outcomes: every attempted cycle ends in exactly one class:
    completed       the script ran to its end
    refused         connect() was refused (RST to SYN)
    timed_out       a wait (connect, response) reached timeout_ms
    reset_by_peer   the peer reset the connection before the script ended
    closed_by_peer  the peer closed (EOF) before the script ended
    failed          a local error (EMFILE, ENFILE, EADDRNOTAVAIL, ...)
so attempted == completed + refused + timed_out + reset_by_peer + closed_by_peer
+ failed. connected counts cycles whose TCP connect succeeded.

REPORTS
=======
churn_report_write(&cfg, &res, path) writes the JSON report to a temporary file
in the same directory, flushes it to disk and renames it over path: a reader never
sees a partial file and on any error the old file is untouched and no temporary
is left. churn_report_fprint() writes the same bytes to a stream and
churn_report_write_fn() to a callback. Key order is fixed (reports diff cleanly);
the schema is churn-report.schema.json. churn_json_* is the streaming writer
underneath, public so cfg.report_extra can add the caller's own fields.

ERROR HANDLING
==============
Fallible functions return CHURN_OK (0) or a negative CHURN_E_* code, named by
churn_strerror(). Nothing calls exit() or abort(), prints unasked, or raises SIGPIPE.
    CHURN_E_INVAL        bad argument: NULL, port outside 1..65535, cycles < 1, ...
    CHURN_E_NOPROC       no such process
    CHURN_E_PERM         the OS does not let us inspect that process
    CHURN_E_NOMEM        allocation failed
    CHURN_E_IO           a read/write failed
    CHURN_E_UNSUPPORTED  the platform lacks the facility
    CHURN_E_CONNECT      target unreachable before any cycle ran
    CHURN_E_REMOTE       non-loopback target refused (set allow_remote)
    CHURN_E_TIMEOUT      churn_drain ran out of time (post_drain still holds the last snapshot)
    CHURN_E_CANCELED     the progress callback stopped the run (partial result, inconclusive)
    CHURN_E_RESOLVE      the host name could not be resolved

GUARANTEES
==========
    - No SIGPIPE: sends use MSG_NOSIGNAL (SO_NOSIGPIPE on macOS).
    - Bounded waits: every network wait ends at timeout_ms; drains end at their
      timeout or attempt bound; EINTR restarts a wait with the remaining time.
    - No global mutable state: runs and snapshots may proceed in several threads.
    - Bounded memory: the time series is decimated to at most series_max samples.
    - Atomic reports: temp file + fsync + rename (MoveFileExW on Windows).
    - No leaks of its own: every fd and allocation is released before return
      (results own their memory until churn_result_free/churn_inventory_free).

PLATFORM NOTES
==============
    metric            Linux (run)                    Windows (wine run)            macOS (build only)
    handles           /proc/P/fd                     GetProcessHandleCount*        PROC_PIDLISTFDS
    threads           /proc/P/task, status           Toolhelp32 threads            PROC_PIDTASKINFO
    rss_bytes         statm / VmRSS                  WorkingSetSize                pti_resident_size
    private_bytes     RssAnon + VmSwap               PrivateUsage (PagefileUsage)  phys_footprint
    virtual_bytes     VmSize                         PrivateUsage+... (see code)   pti_virtual_size
    sockets           socket fds                     TCP table rows of the pid     socket fds
    close_wait        sock_diag (text fallback)      GetExtendedTcpTable           PROC_PIDFDSOCKETINFO
    send_queue_bytes  sock_diag wqueue               unknown                       so_snd.sbc_cc
    children          /proc scan by ppid             Toolhelp32 parent pid         proc_listchildpids
    zombies           state Z children               unknown                       SZOMB children
    gdi/user objects  unknown                        GetGuiResources (build only)  unknown
    (* falls back to counting the pid's rows of SystemExtendedHandleInformation)

RECENT CHANGES
==============
    0.1.0  (2026-11-22) first release: Linux snapshots, inventories, verdicts,
           churn loop, JSON reports.
*/

#ifndef CHURN_H_INCLUDED
#define CHURN_H_INCLUDED

#include <stddef.h>
#ifndef CHURN_NO_STDIO
#include <stdio.h>
#endif

#define CHURN_VERSION_MAJOR 0
#define CHURN_VERSION_MINOR 1
#define CHURN_VERSION_PATCH 0
#define CHURN_VERSION_STRING "0.1.0"

#ifndef CHURN_DEF
#ifdef CHURN_STATIC
#define CHURN_DEF static
#else
#define CHURN_DEF extern
#endif
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ---------------------------------------------------------------------------- */
/* X(name, value, text): one list, so the enum and churn_strerror cannot drift. */
#define CHURN__ERRORS(X)                                                              \
    X(OK, 0, "ok")                                                                    \
    X(E_INVAL, -1, "invalid argument")                                                \
    X(E_NOPROC, -2, "no such process")                                                \
    X(E_PERM, -3, "permission denied")                                                \
    X(E_NOMEM, -4, "out of memory")                                                   \
    X(E_IO, -5, "input/output error")                                                 \
    X(E_UNSUPPORTED, -6, "not supported on this platform")                            \
    X(E_CONNECT, -7, "target unreachable before any cycle ran")                       \
    X(E_REMOTE, -8, "non-loopback target refused (set allow_remote)")                 \
    X(E_TIMEOUT, -9, "timed out")                                                     \
    X(E_CANCELED, -10, "canceled by the progress callback")                           \
    X(E_RESOLVE, -11, "host name could not be resolved")

#define CHURN__ERROR_ENUM(name, value, text) CHURN_##name = value,
enum { CHURN__ERRORS(CHURN__ERROR_ENUM) CHURN__ERROR_END = -12 };
#undef CHURN__ERROR_ENUM

CHURN_DEF const char *churn_strerror(int code);
CHURN_DEF const char *churn_version_string(void);
CHURN_DEF const char *churn_platform_name(void); /* "linux", "windows", "macos" */

/* ---- metrics and snapshots ------------------------------------------------------------- */
typedef enum churn_metric {
    CHURN_METRIC_HANDLES,          /* open fds (POSIX) / kernel handles (Windows) */
    CHURN_METRIC_THREADS,
    CHURN_METRIC_RSS_BYTES,        /* resident set / working set */
    CHURN_METRIC_PRIVATE_BYTES,    /* Linux RssAnon+VmSwap, Windows PrivateUsage, macOS phys_footprint */
    CHURN_METRIC_VIRTUAL_BYTES,
    CHURN_METRIC_SOCKETS,          /* socket descriptors/handles */
    CHURN_METRIC_CLOSE_WAIT,       /* the process's TCP sockets in CLOSE_WAIT */
    CHURN_METRIC_SEND_QUEUE_BYTES, /* bytes queued in the process's connected TCP send queues */
    CHURN_METRIC_CHILDREN,         /* live child processes (zombies not included) */
    CHURN_METRIC_ZOMBIES,          /* exited, un-reaped children */
    CHURN_METRIC_GDI_OBJECTS,      /* Windows */
    CHURN_METRIC_USER_OBJECTS,     /* Windows */
    CHURN_METRIC_COUNT
} churn_metric;

#define CHURN_UNKNOWN (-1LL)
#define CHURN_METRIC_BIT(m) (1u << (m))
#define CHURN_METRICS_ALL ((1u << CHURN_METRIC_COUNT) - 1u)
/* The metrics that cost O(1) in the number of fds on Linux: the default in-run sample. */
#define CHURN_METRICS_CHEAP                                                                  \
    (CHURN_METRIC_BIT(CHURN_METRIC_HANDLES) | CHURN_METRIC_BIT(CHURN_METRIC_THREADS) |      \
     CHURN_METRIC_BIT(CHURN_METRIC_RSS_BYTES) | CHURN_METRIC_BIT(CHURN_METRIC_PRIVATE_BYTES) | \
     CHURN_METRIC_BIT(CHURN_METRIC_VIRTUAL_BYTES))

typedef struct churn_snapshot {
    long long value[CHURN_METRIC_COUNT];
    double    at;              /* seconds, monotonic clock */
    long      pid;             /* the process measured (0 resolved to the real pid) */
} churn_snapshot;

CHURN_DEF int  churn_snapshot_take(long pid, churn_snapshot *out);   /* pid 0: this process */
CHURN_DEF int  churn_snapshot_take_some(long pid, unsigned metric_mask, churn_snapshot *out);
CHURN_DEF void churn_snapshot_init(churn_snapshot *s);  /* every value CHURN_UNKNOWN: for synthetic snapshots */
CHURN_DEF void churn_snapshot_peak(churn_snapshot *peak, const churn_snapshot *s);
CHURN_DEF const char *churn_metric_name(churn_metric m);
CHURN_DEF unsigned churn_metrics_cheap(void);  /* what sample_metrics 0 means on this platform */

/* ---- inventories ----------------------------------------------------------------------- */
typedef struct churn_handle_info {
    long long id;          /* fd number or HANDLE value */
    char kind[16];         /* "socket", "pipe", "file", "dir", "eventfd", "epoll", "timerfd",
                              "signalfd", "inotify", "tty", "anon", "other" */
    char detail[256];      /* "tcp 127.0.0.1:8080 -> 127.0.0.1:53422 CLOSE_WAIT", a path, ... */
    unsigned long long object; /* identity of the object (inode, ...); 0 when unknown */
} churn_handle_info;

typedef struct churn_thread_info {
    long long tid;
    char name[32];         /* raw bytes as the OS holds them, NUL-terminated */
} churn_thread_info;

typedef struct churn_inventory {
    long pid;
    churn_handle_info *handles;  int handle_count;
    churn_thread_info *threads;  int thread_count;
    int skipped;           /* entries that vanished or could not be read while listing */
} churn_inventory;

typedef struct churn_ignore {
    const char *kind;          /* handle rule: kind to match exactly (NULL: any kind) */
    const char *detail;        /* handle rule: substring of detail (NULL: any detail) */
    const char *thread_prefix; /* thread rule: thread-name prefix; when set the rule is a thread rule */
} churn_ignore;

CHURN_DEF int  churn_inventory_take(long pid, churn_inventory *out);
CHURN_DEF int  churn_inventory_diff(const churn_inventory *before, const churn_inventory *after,
                                    churn_inventory *added);
CHURN_DEF void churn_inventory_filter(churn_inventory *inv, const churn_ignore *rules, int rule_count);
CHURN_DEF void churn_inventory_free(churn_inventory *inv);    /* safe on zeroed or freed */
#ifndef CHURN_NO_STDIO
CHURN_DEF void churn_inventory_fprint(const churn_inventory *inv, FILE *f, int max_lines);
#endif

/* ---- limits and verdicts --------------------------------------------------------------- */
#define CHURN_NO_LIMIT (-1LL)

typedef struct churn_limits {
    long long peak[CHURN_METRIC_COUNT];          /* max (peak - baseline); CHURN_NO_LIMIT: unchecked */
    long long post_drain[CHURN_METRIC_COUNT];    /* max (post_drain - baseline) */
    double    growth_per_1k[CHURN_METRIC_COUNT]; /* max slope per 1000 cycles; < 0: unchecked */
    int       growth_windows;  /* K > 0: growth also needs each of the last K windows to grow */
    int       growth_min_samples; /* fewer samples than this: growth unchecked (default 0 -> 5) */
} churn_limits;

CHURN_DEF void churn_limits_none(churn_limits *l);
CHURN_DEF void churn_limits_release(churn_limits *l);
CHURN_DEF void churn_limits_strict(churn_limits *l);

typedef enum churn_phase { CHURN_PHASE_PEAK, CHURN_PHASE_POST_DRAIN, CHURN_PHASE_GROWTH } churn_phase;
CHURN_DEF const char *churn_phase_name(churn_phase p); /* "peak", "post_drain", "growth" */

typedef struct churn_violation {
    churn_metric metric;
    churn_phase  phase;
    double observed;    /* delta, or slope per 1000 cycles */
    double limit;
} churn_violation;

typedef enum churn_status { CHURN_PASS = 0, CHURN_FAIL = 1, CHURN_INCONCLUSIVE = 2 } churn_status;
CHURN_DEF const char *churn_status_name(churn_status s); /* "pass", "fail", "inconclusive" */

typedef struct churn_verdict {
    int ok;                                  /* 1: status is CHURN_PASS */
    int violation_count;
    churn_violation violations[3 * CHURN_METRIC_COUNT];
    churn_status status;
    unsigned unchecked;    /* CHURN_METRIC_BIT set: a limit was set but the metric was unknown */
    unsigned checked;      /* CHURN_METRIC_BIT set: at least one phase of it was judged */
    char reason[128];      /* one line: why fail / inconclusive; "" on pass */
} churn_verdict;

typedef struct churn_sample {
    long long      cycle;         /* measured cycles done when it was taken */
    churn_snapshot snapshot;
} churn_sample;

CHURN_DEF int churn_evaluate(const churn_snapshot *baseline, const churn_snapshot *peak,
                             const churn_snapshot *post_drain, const churn_limits *limits,
                             churn_verdict *out);
/* Adds growth violations (and the growth part of `unchecked`) to an evaluated verdict. */
CHURN_DEF int churn_evaluate_growth(const churn_sample *series, int count, const churn_limits *limits,
                                    churn_verdict *verdict);
/* Least-squares slope per 1000 cycles of one metric over the known points; CHURN_E_INVAL
   when fewer than two known points with distinct cycles. */
CHURN_DEF int churn_growth_slope(const churn_sample *series, int count, churn_metric m, double *slope_per_1k);
/* 1 when each of the last `windows` consecutive windows of the series grew for m. */
CHURN_DEF int churn_growth_every_window(const churn_sample *series, int count, churn_metric m, int windows);

#define CHURN_DRAIN_ATTEMPTS 64
typedef struct churn_drain_stats {
    int    attempts;       /* snapshots taken */
    double settle_s;       /* time until the limits held (or the time spent when they never did) */
    int    settled;        /* 1: limits held */
} churn_drain_stats;

CHURN_DEF int churn_drain(long pid, const churn_snapshot *baseline, const churn_limits *limits,
                          int timeout_ms, churn_snapshot *post_drain);
CHURN_DEF int churn_drain_ex(long pid, const churn_snapshot *baseline, const churn_limits *limits,
                             int timeout_ms, int max_attempts, churn_snapshot *post_drain,
                             churn_drain_stats *stats);

/* ---- JSON writer ----------------------------------------------------------------------- */
typedef int (*churn_write_fn)(void *user, const void *bytes, size_t length); /* 0 ok, else error */

typedef struct churn_json {
    churn_write_fn write;
    void *user;
    int   error;           /* sticky: first write error (CHURN_E_IO) or misuse (CHURN_E_INVAL) */
    int   depth;
    int   indent;          /* spaces per level; 0: compact */
    unsigned char need_comma[64];
    unsigned char after_key;
} churn_json;

CHURN_DEF void churn_json_init(churn_json *j, churn_write_fn write, void *user, int indent);
CHURN_DEF void churn_json_object_begin(churn_json *j);
CHURN_DEF void churn_json_object_end(churn_json *j);
CHURN_DEF void churn_json_array_begin(churn_json *j);
CHURN_DEF void churn_json_array_end(churn_json *j);
CHURN_DEF void churn_json_key(churn_json *j, const char *key);
CHURN_DEF void churn_json_string(churn_json *j, const char *s);          /* NULL writes null */
CHURN_DEF void churn_json_string_n(churn_json *j, const char *s, size_t n);
CHURN_DEF void churn_json_int(churn_json *j, long long v);
CHURN_DEF void churn_json_double(churn_json *j, double v);               /* non-finite: null */
CHURN_DEF void churn_json_bool(churn_json *j, int v);
CHURN_DEF void churn_json_null(churn_json *j);
CHURN_DEF int  churn_json_finish(churn_json *j);  /* CHURN_OK, or the sticky error */
/* Escape per RFC 8259 into out (always NUL-terminated when cap > 0): controls as \uXXXX or
   \n-style, invalid UTF-8 as U+FFFD. Returns the full escaped length (without quotes). */
CHURN_DEF size_t churn_json_escape(const char *s, size_t n, char *out, size_t cap);
#ifndef CHURN_NO_STDIO
CHURN_DEF int churn_json_write_file(void *file, const void *bytes, size_t length); /* FILE* sink */
#endif

/* ---- the churn loop -------------------------------------------------------------------- */
typedef enum churn_profile {
    CHURN_PROFILE_RESET,
    CHURN_PROFILE_CLOSE,
    CHURN_PROFILE_IDLE,
    CHURN_PROFILE_PARTIAL_HEADERS,
    CHURN_PROFILE_PARTIAL_BODY,
    CHURN_PROFILE_UNREAD_RESPONSE,
    CHURN_PROFILE_REQUEST,
    CHURN_PROFILE_WS_UPGRADE_RESET,
    CHURN_PROFILE_TLS_PARTIAL_HELLO,
    CHURN_PROFILE_TLS_STALL,
    CHURN_PROFILE_COUNT
} churn_profile;
#define CHURN_PROFILE_BIT(p) (1u << (p))
#define CHURN_PROFILES_ALL ((1u << CHURN_PROFILE_COUNT) - 1u)
CHURN_DEF const char *churn_profile_name(churn_profile p); /* "reset", "close", "idle", ... */
CHURN_DEF int churn_profile_parse(const char *name, churn_profile *out); /* by name */

typedef enum churn_budget { CHURN_BUDGET_SMOKE, CHURN_BUDGET_SOAK } churn_budget; /* 100 / 1000 cycles */

typedef struct churn_result churn_result;

typedef struct churn_config {
    const char  *host;            /* default "127.0.0.1"; IPv4/IPv6 literal or name */
    int          port;            /* 1..65535 (not used with `cycle`) */
    long long    cycles;          /* measured cycles; SMOKE 100, SOAK 1000 */
    long long    warmup_cycles;   /* run before the baseline; default 0 */
    int          concurrency;     /* connections in flight; 0 -> 1; max CHURN_MAX_CONCURRENCY */
    unsigned     profiles;        /* CHURN_PROFILE_BIT mask; 0 -> RESET only */
    long         watch_pid;       /* process measured; 0: this process */
    int          sample_every;    /* snapshot every N cycles; 0 -> max(1, cycles / 100) */
    int          timeout_ms;      /* bound on every network wait; 0 -> 2000 */
    int          idle_ms;         /* IDLE and TLS_STALL wait; 0 -> 50 */
    int          drain_timeout_ms;/* 0 -> 3000 */
    int          allow_remote;    /* non-loopback targets are refused unless set */
    unsigned     sample_metrics;  /* in-run mask; 0 -> churn_metrics_cheap() */
    churn_limits limits;          /* churn_config_init: release */
    int  (*cycle)(void *user, long long index);   /* custom cycle instead of TCP profiles; 0 = ok */
    int  (*stop)(void *user);                     /* optional stop/start after a passing drain */
    int  (*start)(void *user);
    int  (*progress)(void *user, long long done, long long total); /* non-zero: cancel; <= ~10/s */
    void *user;
    const char *label;            /* gate name in the report; default "churn" */
    /* extensions */
    const char *http_path;        /* default "/" */
    const char *http_host;        /* Host header; default: host */
    const churn_ignore *ignore;   /* expected handles/threads, removed from `leaked` */
    int          ignore_count;
    int          series_max;      /* time-series bound; 0 -> CHURN_SERIES_MAX; min 8 */
    int          drain_max_attempts; /* 0 -> CHURN_DRAIN_ATTEMPTS */
    int          no_inventory;    /* 1: skip baseline/post inventories (leaked stays empty) */
    void (*report_extra)(void *user, churn_json *j); /* writes the value of the report's "extra" key */
} churn_config;

CHURN_DEF void churn_config_init(churn_config *cfg, churn_budget budget);

typedef struct churn_outcomes {
    long long attempted, connected, refused, timed_out, reset_by_peer,
              closed_by_peer, completed, failed, bytes_sent, bytes_received;
} churn_outcomes;

struct churn_result {
    churn_snapshot baseline, peak, post_drain;
    churn_outcomes outcomes;
    churn_outcomes by_profile[CHURN_PROFILE_COUNT];
    churn_verdict  verdict;
    churn_inventory leaked;       /* after drain, absent at baseline, ignore rules applied */
    long long cycles_done;        /* measured cycles (warmup excluded, also from outcomes) */
    double    elapsed_s;          /* measured cycles only */
    int       restart_ok;         /* -1 not tried, 0 failed, 1 ok */
    churn_sample *series;         /* bounded time series */
    int       series_count;
    /* extensions */
    double    cycles_per_s;
    long long warmup_done;
    churn_drain_stats drain;
    int       drain_rc;           /* CHURN_OK or CHURN_E_TIMEOUT */
    int       canceled;
    int       watch_exited;       /* the watched process went away during the run */
    int       run_rc;             /* what churn_run returned */
    long      watched_pid;        /* resolved pid */
    double    started_unix;       /* wall clock, seconds since 1970 */
    double    finished_unix;
    long long series_stride;      /* cycles between series samples after decimation */
    /* effective configuration, every default resolved (the report's "config") */
    long long cfg_cycles, cfg_warmup;
    int       cfg_concurrency, cfg_sample_every, cfg_timeout_ms, cfg_idle_ms, cfg_drain_timeout_ms;
    unsigned  cfg_profiles, cfg_sample_metrics;
};

CHURN_DEF int  churn_run(const churn_config *cfg, churn_result *out);
CHURN_DEF void churn_result_free(churn_result *r);

/* ---- reports --------------------------------------------------------------------------- */
#define CHURN_REPORT_SCHEMA "churn-report/1"
CHURN_DEF int  churn_report_write_fn(const churn_config *cfg, const churn_result *r,
                                     churn_write_fn write, void *user);
#ifndef CHURN_NO_STDIO
CHURN_DEF int  churn_report_write(const churn_config *cfg, const churn_result *r, const char *path);
CHURN_DEF int  churn_report_fprint(const churn_config *cfg, const churn_result *r, FILE *f);
CHURN_DEF void churn_summary_fprint(const churn_result *r, FILE *f);
#endif

#ifdef __cplusplus
}
#endif

#endif /* CHURN_H_INCLUDED */
