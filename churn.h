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
        >>common            platform detection, allocator, errors, names, socket table helpers
        >>posix             what Linux and macOS share: pid, clocks, sleep, fds, atomic replace
        >>snapshot linux    /proc, sock_diag netlink, text-table fallback
        >>snapshot windows  psapi, toolhelp, iphlpapi, NtQuery*
        >>snapshot macos    libproc, Mach
        >>inventory         portable inventory diff and ignore filters
        >>limits            presets, evaluate, growth, drain
        >>json              streaming JSON writer
        >>churn loop        profiles, non-blocking connect engine, run
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
                                            (in-run samples: cfg.sample_metrics, or the cheap
                                            metrics plus every growth-limited one)
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

A sampler takes the same snapshots repeatedly for less: churn_sampler_open(pid, &sm)
keeps /proc/P and /proc/P/statm open on Linux, so churn_sampler_take(&sm, mask, &s)
costs one pread() and two fstatat() for the cheap metrics (about half a plain
snapshot), and it stays bound to the process it opened: after that process exits,
samples return CHURN_E_NOPROC even if the pid has been reused. Its 2 fds are left
out of handles when it samples this process; close it with churn_sampler_close()
before taking an inventory. On Windows it keeps the process handle (same pinning);
on macOS it is a plain snapshot of the pid. churn_run samples the watched process
with one during the measured cycles.

INVENTORIES
===========
churn_inventory_take(pid, &inv) lists every fd/handle with a kind and a human
detail, and every thread with its id and name. churn_inventory_diff(before, after,
&added) keeps what `after` holds and `before` did not; identity is the object,
not the number (an fd number reused for another socket or file is new).
churn_inventory_filter() drops expected entries (churn_ignore rules: a kind plus
a detail substring, or a thread-name prefix). churn_listener_pid(port, &pid, &n)
finds the local process that owns a listening TCP socket, for tools that know a
server's port but not its pid (churn-gate without --pid). A leak report reads:

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
Under ASan the allocator's quarantine grows rss/private bytes by ~14 MiB per 1000
cycles of an in-process server: relax the memory growth limits in sanitizer builds.
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
    TLS_PARTIAL_HELLO  send the first 48 bytes of a TLS ClientHello: record header
                       16 03 01 02 00 (512 bytes declared), handshake header 01 00 01 fc
                       (508 declared), version 03 03, 32 fixed pseudo-random bytes
                       (0x5a ^ 37*i), session id length 00, cipher suites length 00 02,
                       suite 13 01 (cut here); RST.
    The Host header is http_host, or host (an IPv6 literal in brackets), without port.
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

When the watched process is the caller (watch_pid 0: a server on a thread of the
test), in-run samples leave out the harness's own client sockets still in flight
from handles and sockets; baseline and post-drain are taken with none in flight.
Custom cycles (cfg.cycle) run one at a time; their index counts from 0 in the
warmup and again from 0 in the measured phase; a non-zero return is `failed`.
The loop never installs signal handlers and never changes the caller's signal
dispositions.

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
A host that is not a valid name or address literal is CHURN_E_INVAL; a name that does
not resolve is CHURN_E_CONNECT.

GUARANTEES
==========
    - No SIGPIPE: sends use MSG_NOSIGNAL (SO_NOSIGPIPE on macOS).
    - Bounded waits: every network wait ends at timeout_ms; drains end at their
      timeout or attempt bound; EINTR restarts a wait with the remaining time.
    - No global mutable state: runs and snapshots may proceed in several threads.
    - Bounded memory: the time series is decimated to at most series_max samples.
    - Atomic reports: temp file + fsync + rename (MoveFileExW on Windows).
    - No leaks of its own: every fd and allocation is released before return
      (results own their memory until churn_result_free/churn_inventory_free;
      an open churn_sampler holds 2 fds on Linux until churn_sampler_close).

PLATFORM NOTES
==============
Linux is verified by running (make test, make check-all); Windows by running under wine 8
(make test-windows: mingw-w64 build; wine lacks some sources, marked); macOS only by
building for x86_64 and arm64 (make check-macos: zig cc with the macOS SDK headers).
    metric            Linux (run)                   Windows (wine run)                    macOS (build only)
    handles           /proc/P/fd st_size, getdents  GetProcessHandleCount, else the pid's   PROC_PIDLISTFDS
                                                    SystemExtendedHandleInformation rows
    threads           /proc/P/task link count       Toolhelp32 threads of the pid           PROC_PIDTASKINFO
    rss_bytes         statm resident                VM counters WorkingSetSize              pti_resident_size
    private_bytes     RssAnon (+VmSwap with swap)   PrivateUsage (PagefileUsage if 0)       phys_footprint
    virtual_bytes     statm size                    VM counters VirtualSize                 pti_virtual_size
    sockets           socket fds                    own: Winsock-probed handles; other      socket fds
                                                    pid: its TCP table rows (TCP only)
    close_wait        sock_diag, text fallback      GetExtendedTcpTable CLOSE_WAIT rows     PROC_PIDFDSOCKETINFO
    send_queue_bytes  sock_diag wqueue              unknown (no documented source)          soi_snd.sbi_cc
    children          children lists / /proc ppid   Toolhelp32 parent pid                   proc_listpids(PPID_ONLY)
    zombies           children in state Z           exited children whose process handles   children in SZOMB
                                                    the pid still holds (CreateProcess
                                                    without closing hProcess)
    gdi/user objects  unknown                       GetGuiResources (build only: wine       unknown
                                                    lacks it, so unknown there)
    listener owner    LISTEN sockets by sock_diag,  GetExtendedTcpTable owning pid (wine:   every pid's socket fds,
    (churn_listener_  then /proc/P/fd inode match   no pids: CHURN_E_UNSUPPORTED)           PROC_PIDFDSOCKETINFO
     pid)
Windows: link ws2_32 (MSVC: a #pragma does it); ntdll, iphlpapi, psapi and user32 are loaded
at run time; Windows 7 or later. Another process's sockets/close_wait are unknown where the
TCP table cannot attribute rows to pids (wine). Name and socket queries on handles run on a
helper thread with a deadline (pipe handles can block NtQueryObject forever); a stuck one
is left behind. Details: docs/windows-platform-notes.md, docs/macos-platform-notes.md.

RECENT CHANGES
==============
    0.1.0  (2026-11-22) first release: snapshots, samplers, inventories, verdicts,
           the churn loop and JSON reports on Linux, Windows (run under wine) and
           macOS (built, not run).
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

#ifndef CHURN_SERIES_MAX
#define CHURN_SERIES_MAX 256        /* default bound of the in-run time series */
#endif
#ifndef CHURN_MAX_CONCURRENCY
#define CHURN_MAX_CONCURRENCY 4096  /* largest accepted churn_config.concurrency */
#endif

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
    X(E_CANCELED, -10, "canceled by the progress callback")

#define CHURN__ERROR_ENUM(name, value, text) CHURN_##name = value,
enum { CHURN__ERRORS(CHURN__ERROR_ENUM) CHURN__ERROR_END = -11 };
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

/* A sampler: repeated snapshots of one process at the cost of the reads alone. On Linux
   it keeps /proc/P and /proc/P/statm open, so a cheap sample is one pread() and two
   fstatat() calls; on Windows it keeps the process handle. Either way it stays bound to
   the process it opened: once that process has exited, samples return CHURN_E_NOPROC
   even if its pid was reused. The sampler's own fds are left out of handles when P is
   this process. On macOS a sample is churn_snapshot_take_some() on the pid checked at
   open. The churn loop samples with one. */
typedef struct churn_sampler {
    long  pid;
    int   own_fds;     /* fds/handles it holds in this process: Linux 2; Windows 1 for
                          another pid (0 for this one); macOS 0 */
    int   is_open;
    int   os_fd[2];    /* Linux: the /proc/P directory and /proc/P/statm */
    void *os_handle;   /* Windows: the process handle (NULL for this process) */
} churn_sampler;

CHURN_DEF int  churn_sampler_open(long pid, churn_sampler *s);  /* pid 0: this process */
CHURN_DEF int  churn_sampler_take(churn_sampler *s, unsigned metric_mask, churn_snapshot *out);
CHURN_DEF void churn_sampler_close(churn_sampler *s);  /* safe on zeroed and closed samplers */

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

/* The local process owning a listening TCP socket on port (IPv4 or IPv6, any address): for
   tools that know a server's port, not its pid. Several owners (a pre-forked server, or
   SO_REUSEPORT workers): *pid is the lowest, usually the parent, and *owners says how
   many (owners may be NULL). CHURN_E_NOPROC: nothing we may inspect listens there;
   CHURN_E_PERM (Linux): a listener exists but belongs to a process we may not read;
   CHURN_E_UNSUPPORTED: the OS does not say who owns it (wine). Cost: one socket-table
   query, then a walk of every readable process's fds (milliseconds), so call it once. */
CHURN_DEF int churn_listener_pid(int port, long *pid, int *owners);

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
    unsigned char is_object[64];
    unsigned char after_key;
    unsigned char root_done;  /* the one top-level value is complete */
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
    unsigned     sample_metrics;  /* in-run mask; 0 -> churn_metrics_cheap() plus every metric
                                     with a growth limit */
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
    char      os[64];             /* OS name and release the run measured on ("" when unknown) */
    long long fd_deferrals;       /* cycle starts postponed for want of a free fd (EMFILE/ENFILE)
                                     until one of churn's own sockets closed */
};

#ifndef CHURN_NO_NET
CHURN_DEF int  churn_run(const churn_config *cfg, churn_result *out);
#endif
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

/* ============================================================================================
   IMPLEMENTATION
   ============================================================================================ */
#ifdef CHURN_IMPLEMENTATION
#ifndef CHURN__IMPL_INCLUDED
#define CHURN__IMPL_INCLUDED

/* >>common ===================================================================================
   Platform detection (once), feature macros, system headers, allocator, clock, errors, names. */
#if defined(_WIN32)
#define CHURN__WINDOWS 1
#elif defined(__APPLE__) && defined(__MACH__)
#define CHURN__MACOS 1
#elif defined(__linux__)
#define CHURN__LINUX 1
#else
#error "churn.h: unsupported platform (Linux, Windows and macOS are supported)"
#endif

#if defined(CHURN__LINUX)
/* The implementation needs POSIX and Linux declarations even when the including file
   already pulled in system headers under strict -std=c99 (where glibc's <features.h> has
   locked in "no POSIX"). glibc: re-run <features.h> with _GNU_SOURCE; it resets every
   __USE_* macro first, so headers included from here on see the full set. musl checks
   the macros in each header, so defining _GNU_SOURCE is enough. */
#if defined(_TIME_H) && !defined(CLOCK_MONOTONIC) && !defined(__cplusplus)
#define CHURN__DECLARE_CLOCK 1
#endif
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#if defined(__GLIBC__) && !defined(__USE_GNU)
#undef _FEATURES_H
#include <features.h>
#endif
#endif

#include <string.h>
#include <stdlib.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h> /* snprintf and rename are needed even under CHURN_NO_STDIO */

#if defined(CHURN__LINUX) || defined(CHURN__MACOS)
#include <unistd.h>
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <time.h>
#include <poll.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/un.h>
#endif
#if defined(CHURN__WINDOWS)
/* Windows headers. winsock2.h comes before windows.h (windows.h without
   WIN32_LEAN_AND_MEAN pulls in the old winsock.h). WSAPoll, inet_ntop and inet_pton
   need Vista (0x0600); churn.h targets Windows 7 and later (0x0601) unless the
   including file chose a newer _WIN32_WINNT. Link with ws2_32 (MSVC: the pragma below);
   ntdll, iphlpapi, psapi and user32 entry points are loaded at run time. */
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN 1
#define CHURN__UNDEF_LEAN 1
#endif
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0601
#endif
#if _WIN32_WINNT < 0x0600
#error "churn.h: Windows builds need _WIN32_WINNT >= 0x0600 (Vista) for WSAPoll and inet_ntop"
#endif
#include <stdio.h> /* snprintf, used by the implementation even under CHURN_NO_STDIO */
#if defined(__MINGW32__) && defined(_WINSOCKAPI_) && !defined(_WINSOCK2API_)
/* windows.h came first without WIN32_LEAN_AND_MEAN, so winsock.h is in. mingw-w64's
   winsock.h and winsock2.h share their guarded parts and only a #warning objects (which a
   diagnostic pragma cannot silence in C++): clear winsock.h's guard first. MSVC's
   winsock2.h does not cope; there windows.h must come after churn.h or with
   WIN32_LEAN_AND_MEAN (see PLATFORM NOTES). */
#undef _WINSOCKAPI_
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <tlhelp32.h>
#include <iphlpapi.h>
#if defined(CHURN__UNDEF_LEAN)
#undef WIN32_LEAN_AND_MEAN
#undef CHURN__UNDEF_LEAN
#endif
#if defined(_MSC_VER)
#pragma comment(lib, "ws2_32.lib")
#endif
#endif
#if defined(CHURN__MACOS)
/* macOS: libproc (in libSystem: no extra link flag), Mach time, sysctl, uname.
   <sys/sysctl.h> brings <sys/proc.h> (SZOMB). Every header below ships in the macOS SDK
   (and in zig's bundled any-macos.11/12/13 headers); none is needed in the declarations. */
#if defined(__DARWIN_C_LEVEL) && defined(__DARWIN_C_FULL) && __DARWIN_C_LEVEL < __DARWIN_C_FULL
#error "churn.h: on macOS the implementation needs the Darwin extensions (libproc): do not set a strict _POSIX_C_SOURCE in the file that defines CHURN_IMPLEMENTATION, or also define _DARWIN_C_SOURCE"
#endif
#include <sys/resource.h>
#include <sys/sysctl.h>
#include <sys/utsname.h>
#include <sys/proc_info.h>
#include <libproc.h>
#include <mach/mach_time.h>
/* Private flavor of proc_pidinfo (xnu bsd/sys/proc_info.h under PRIVATE, not in the SDK):
   the threads' unique 64-bit ids, the ids pthread_threadid_np() returns. Implemented since
   xnu-4570 (macOS 10.13); on an older kernel the call fails with EINVAL and the inventory
   falls back to PROC_PIDLISTTHREADS (thread handles). */
#define CHURN__PROC_PIDLISTTHREADIDS 28
#endif
#if defined(CHURN__LINUX)
#include <sys/syscall.h>
#include <sys/sysinfo.h>
#include <sys/resource.h>
/* sock_diag needs the kernel's uapi headers; a musl toolchain without them (Debian's
   musl-gcc) falls back to the /proc/P/net text tables, slower but complete */
#if defined(__has_include)
#if __has_include(<linux/inet_diag.h>) && __has_include(<linux/unix_diag.h>) && __has_include(<linux/rtnetlink.h>)
#define CHURN__SOCK_DIAG 1
#endif
#else
#define CHURN__SOCK_DIAG 1
#endif
#if defined(CHURN__SOCK_DIAG)
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/inet_diag.h>
#include <linux/unix_diag.h>
#include <linux/rtnetlink.h>
#endif
#endif

#if defined(CHURN__DECLARE_CLOCK)
extern int clock_gettime(clockid_t clock_id, struct timespec *tp);
#endif
#if defined(CHURN__LINUX) && !defined(CLOCK_MONOTONIC)
#define CLOCK_MONOTONIC 1
#endif

#if defined(CHURN_MALLOC) && defined(CHURN_REALLOC) && defined(CHURN_FREE)
/* caller's allocator */
#elif !defined(CHURN_MALLOC) && !defined(CHURN_REALLOC) && !defined(CHURN_FREE)
#define CHURN_MALLOC(sz) malloc(sz)
#define CHURN_REALLOC(p, sz) realloc(p, sz)
#define CHURN_FREE(p) free(p)
#else
#error "churn.h: define all of CHURN_MALLOC, CHURN_REALLOC and CHURN_FREE, or none"
#endif

#if defined(__GNUC__) || defined(__clang__)
#define CHURN__UNUSED __attribute__((unused))
#else
#define CHURN__UNUSED
#endif
/* Definitions of public functions: under CHURN_STATIC they are static and may go unused. */
#ifdef CHURN_STATIC
#define CHURN__API CHURN__UNUSED static
#else
#define CHURN__API
#endif
#define CHURN__PRIV CHURN__UNUSED static

/* Our own fds are classified with fstat(number), a third of the cost of a stat through
   /proc. That is harmless even while another thread closes and reuses the number (a
   read-only look at whatever the number names now), but ThreadSanitizer models fds as
   memory and reports it, so TSan builds stat through /proc instead. Nothing but fstat is
   ever done to an fd number we do not own. */
#if defined(__SANITIZE_THREAD__)
#define CHURN__TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CHURN__TSAN 1
#endif
#endif
#ifndef CHURN__TSAN
#define CHURN__TSAN 0
#endif


#if defined(CHURN__WINDOWS)
#define CHURN__HANDLE_WORD "handle"
#else
#define CHURN__HANDLE_WORD "fd"
#endif
#define CHURN__ARRAY_LEN(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define CHURN__MIB (1024LL * 1024LL)

/* Platform layer: every platform section below defines these.
     churn__os_pid()                              this process's pid
     churn__os_now()                              monotonic seconds
     churn__os_wall()                             seconds since 1970
     churn__os_sleep_ms(ms)
     churn__os_snapshot(pid, mask, out)           pid > 0, resolved; fills the masked metrics
     churn__os_inventory(pid, out)                fills handles and threads
     churn__os_cheap_metrics()                    the O(1) metrics of this platform
     churn__os_platform()                         "linux", "windows", "macos"
     churn__os_describe(buf, cap)                 OS name, release, machine for the report
     churn__os_write_atomic(path, data, len)      temp file + flush + rename over path
     churn__os_listener_owners(port, list)        pids owning a TCP listener on port
     churn__os_sampler_open(s) / _take / _close   repeated samples of s->pid (resolved, > 0)
   and, unless CHURN_NO_NET, the socket shim in >>churn loop (churn__sock, churn__poll, ...). */
CHURN__PRIV long   churn__os_pid(void);
CHURN__PRIV double churn__os_now(void);
CHURN__PRIV double churn__os_wall(void);
CHURN__PRIV void   churn__os_sleep_ms(int ms);
CHURN__PRIV int    churn__os_snapshot(long pid, unsigned mask, churn_snapshot *out);
CHURN__PRIV int    churn__os_inventory(long pid, churn_inventory *out);
CHURN__PRIV unsigned churn__os_cheap_metrics(void);
CHURN__PRIV const char *churn__os_platform(void);
CHURN__PRIV void   churn__os_describe(char *out, size_t cap);
CHURN__PRIV int    churn__os_write_atomic(const char *path, const char *data, size_t len);
CHURN__PRIV int    churn__os_sampler_open(churn_sampler *s);
CHURN__PRIV int    churn__os_sampler_take(churn_sampler *s, unsigned mask, churn_snapshot *out);
CHURN__PRIV void   churn__os_sampler_close(churn_sampler *s);

#define CHURN__ERROR_CASE(name, value, text) case value: return text;
CHURN__API const char *churn_strerror(int code) {
    switch (code) {
        CHURN__ERRORS(CHURN__ERROR_CASE)
        default: return "unknown churn.h error";
    }
}
#undef CHURN__ERROR_CASE

CHURN__API const char *churn_version_string(void) { return CHURN_VERSION_STRING; }

static const char *const churn__metric_names[CHURN_METRIC_COUNT] = {
    "handles", "threads", "rss_bytes", "private_bytes", "virtual_bytes", "sockets",
    "close_wait", "send_queue_bytes", "children", "zombies", "gdi_objects", "user_objects"};

CHURN__API const char *churn_metric_name(churn_metric m) {
    if ((int)m < 0 || (int)m >= CHURN_METRIC_COUNT) return "unknown";
    return churn__metric_names[m];
}

CHURN__API unsigned churn_metrics_cheap(void) { return churn__os_cheap_metrics(); }

CHURN__API void churn_snapshot_init(churn_snapshot *s) {
    int i;
    if (!s) return;
    for (i = 0; i < CHURN_METRIC_COUNT; i++) s->value[i] = CHURN_UNKNOWN;
    s->at = 0.0;
    s->pid = 0;
}

CHURN__API void churn_snapshot_peak(churn_snapshot *peak, const churn_snapshot *s) {
    int i;
    if (!peak || !s) return;
    for (i = 0; i < CHURN_METRIC_COUNT; i++) {
        long long v = s->value[i];
        if (v == CHURN_UNKNOWN) continue;
        if (peak->value[i] == CHURN_UNKNOWN || v > peak->value[i]) peak->value[i] = v;
    }
    if (s->at > peak->at) peak->at = s->at;
    if (!peak->pid) peak->pid = s->pid;
}

CHURN__API int churn_snapshot_take_some(long pid, unsigned metric_mask, churn_snapshot *out) {
    int rc;
    if (!out) return CHURN_E_INVAL;
    churn_snapshot_init(out);
    if (pid < 0) return CHURN_E_INVAL;
    if (pid == 0) pid = churn__os_pid();
    out->pid = pid;
    metric_mask &= CHURN_METRICS_ALL;
    rc = churn__os_snapshot(pid, metric_mask, out);
    out->at = churn__os_now();
    return rc;
}

CHURN__API int churn_snapshot_take(long pid, churn_snapshot *out) {
    return churn_snapshot_take_some(pid, CHURN_METRICS_ALL, out);
}

CHURN__API int churn_sampler_open(long pid, churn_sampler *s) {
    int rc;
    if (!s) return CHURN_E_INVAL;
    memset(s, 0, sizeof *s);
    s->os_fd[0] = s->os_fd[1] = -1;
    if (pid < 0) return CHURN_E_INVAL;
    s->pid = pid ? pid : churn__os_pid();
    rc = churn__os_sampler_open(s);
    if (rc != CHURN_OK) {
        s->pid = 0;
        return rc;
    }
    s->is_open = 1;
    return CHURN_OK;
}

CHURN__API int churn_sampler_take(churn_sampler *s, unsigned metric_mask, churn_snapshot *out) {
    int rc;
    if (!out) return CHURN_E_INVAL;
    churn_snapshot_init(out);
    if (!s || !s->is_open) return CHURN_E_INVAL;
    out->pid = s->pid;
    metric_mask &= CHURN_METRICS_ALL;
    rc = churn__os_sampler_take(s, metric_mask, out);
    out->at = churn__os_now();
    return rc;
}

CHURN__API void churn_sampler_close(churn_sampler *s) {
    if (!s || !s->is_open) return;
    churn__os_sampler_close(s);
    memset(s, 0, sizeof *s);
    s->os_fd[0] = s->os_fd[1] = -1;
}

/* Bounded string copy that always terminates (strncpy does not, snprintf warns on truncation). */
CHURN__PRIV void churn__copy(char *dst, size_t cap, const char *src, size_t n) {
    if (cap == 0) return;
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}
CHURN__PRIV size_t churn__strnlen(const char *s, size_t cap) {
    size_t n = 0;
    while (n < cap && s[n]) n++;
    return n;
}
CHURN__PRIV void churn__copyz(char *dst, size_t cap, const char *src) {
    churn__copy(dst, cap, src, strlen(src));
}
/* Appends with truncation; dst is a terminated string within cap. */
CHURN__PRIV void churn__cat(char *dst, size_t cap, const char *src) {
    size_t n = churn__strnlen(dst, cap);
    if (n < cap) churn__copyz(dst + n, cap - n, src);
}

CHURN__PRIV int churn__hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

CHURN__PRIV long long churn__parse_ll(const char **pp) {
    const char *p = *pp;
    long long v = 0;
    while (*p == ' ') p++;
    while (*p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
    *pp = p;
    return v;
}

/* Growable array helper: ensures room for one more element. */
CHURN__PRIV int churn__grow(void **items, int *cap, int count, size_t elem) {
    void *p;
    int ncap;
    if (count < *cap) return CHURN_OK;
    if (*cap > INT_MAX / 2) return CHURN_E_NOMEM;
    ncap = *cap ? *cap * 2 : 32;
    p = CHURN_REALLOC(*items, (size_t)ncap * elem);
    if (!p) return CHURN_E_NOMEM;
    *items = p;
    *cap = ncap;
    return CHURN_OK;
}

CHURN__PRIV int churn__cmp_ull(const void *a, const void *b) {
    unsigned long long x = *(const unsigned long long *)a, y = *(const unsigned long long *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}
CHURN__PRIV int churn__has_ull(const unsigned long long *sorted, int n, unsigned long long v) {
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (sorted[mid] == v) return 1;
        if (sorted[mid] < v) lo = mid + 1; else hi = mid - 1;
    }
    return 0;
}

/* TCP state names as the kernel prints them (include/net/tcp_states.h order). */
static const char *const churn__tcp_state_names[] = {
    "UNKNOWN", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
    "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"};
#define CHURN__TCP_ESTABLISHED 1
#define CHURN__TCP_TIME_WAIT 6
#define CHURN__TCP_CLOSE 7
#define CHURN__TCP_CLOSE_WAIT 8
#define CHURN__TCP_LISTEN 10
CHURN__PRIV const char *churn__tcp_state_name(int st) {
    if (st < 0 || st >= CHURN__ARRAY_LEN(churn__tcp_state_names)) return "UNKNOWN";
    return churn__tcp_state_names[st];
}

/* Socket table entry: one TCP/UDP/UNIX socket of the system (or of a process). */
typedef struct churn__sock_entry {
    unsigned long long inode;
    int  proto;          /* 't' tcp, 'u' udp, 'x' unix */
    int  family;         /* 4, 6; unix: socket type (1 stream, 2 dgram, 5 seqpacket) */
    int  state;          /* TCP state number; unix: 0 */
    unsigned char laddr[16], raddr[16];
    int  lport, rport;
    long long wqueue;    /* unsent + unacknowledged bytes */
    char path[108];      /* unix: bound path ("@..." abstract), "" unbound */
} churn__sock_entry;

typedef struct churn__sock_table {
    churn__sock_entry *items;
    int count, cap;
} churn__sock_table;

typedef struct churn__pid_list { /* pids, duplicates allowed until sorted */
    unsigned long long *items;
    int count, cap;
} churn__pid_list;
CHURN__PRIV int churn__pid_list_add(churn__pid_list *l, long pid);
CHURN__PRIV int churn__os_listener_owners(int port, churn__pid_list *owners);

CHURN__PRIV int churn__cmp_sock_entry(const void *a, const void *b) {
    unsigned long long x = ((const churn__sock_entry *)a)->inode, y = ((const churn__sock_entry *)b)->inode;
    return x < y ? -1 : x > y ? 1 : 0;
}
CHURN__PRIV const churn__sock_entry *churn__sock_find(const churn__sock_table *t, unsigned long long ino) {
    int lo = 0, hi = t->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        if (t->items[mid].inode == ino) return &t->items[mid];
        if (t->items[mid].inode < ino) lo = mid + 1; else hi = mid - 1;
    }
    return NULL;
}
CHURN__PRIV churn__sock_entry *churn__sock_add(churn__sock_table *t) {
    churn__sock_entry *e;
    if (churn__grow((void **)&t->items, &t->cap, t->count, sizeof(*t->items)) != CHURN_OK) return NULL;
    e = &t->items[t->count++];
    memset(e, 0, sizeof(*e));
    return e;
}

CHURN__PRIV void churn__format_endpoint(char *out, size_t cap, int family, const unsigned char *addr, int port) {
    char ip[64];
    if (family == 6) {
        inet_ntop(AF_INET6, addr, ip, sizeof ip);
        snprintf(out, cap, "[%s]:%d", ip, port);
    } else {
        inet_ntop(AF_INET, addr, ip, sizeof ip);
        snprintf(out, cap, "%s:%d", ip, port);
    }
}

/* "tcp 127.0.0.1:8080 -> 127.0.0.1:53422 CLOSE_WAIT", "udp6 [::1]:5000", "unix stream /p" */
CHURN__PRIV void churn__sock_describe(const churn__sock_entry *e, char *out, size_t cap) {
    char l[80], r[80];
    static const unsigned char zero[16] = {0};
    if (e->proto == 'x') {
        const char *type = e->family == 2 ? "dgram" : e->family == 5 ? "seqpacket" : "stream";
        if (e->path[0]) snprintf(out, cap, "unix %s %s", type, e->path);
        else snprintf(out, cap, "unix %s", type);
        return;
    }
    churn__format_endpoint(l, sizeof l, e->family, e->laddr, e->lport);
    if (e->proto == 't') {
        const char *name = e->family == 6 ? "tcp6" : "tcp";
        if (e->state == CHURN__TCP_LISTEN || e->state == CHURN__TCP_CLOSE)
            snprintf(out, cap, "%s %s %s", name, l, churn__tcp_state_name(e->state));
        else {
            churn__format_endpoint(r, sizeof r, e->family, e->raddr, e->rport);
            snprintf(out, cap, "%s %s -> %s %s", name, l, r, churn__tcp_state_name(e->state));
        }
    } else {
        const char *name = e->family == 6 ? "udp6" : "udp";
        if (e->rport == 0 && memcmp(e->raddr, zero, e->family == 6 ? 16 : 4) == 0)
            snprintf(out, cap, "%s %s", name, l);
        else {
            churn__format_endpoint(r, sizeof r, e->family, e->raddr, e->rport);
            snprintf(out, cap, "%s %s -> %s", name, l, r);
        }
    }
}

/* >>posix ==================================================================================
   What Linux and macOS share: pid, wall clock, sleep, errno mapping, fds, atomic replace. */
#if defined(CHURN__LINUX) || defined(CHURN__MACOS)

#if defined(O_CLOEXEC)
#define CHURN__O_CLOEXEC O_CLOEXEC
#else
#define CHURN__O_CLOEXEC 0 /* strict _POSIX_C_SOURCE < 2008 hides it; fcntl below */
#endif

CHURN__PRIV long churn__os_pid(void) { return (long)getpid(); }

CHURN__PRIV double churn__os_wall(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (double)tv.tv_sec + (double)tv.tv_usec * 1e-6;
}

CHURN__PRIV void churn__os_sleep_ms(int ms) {
    /* the whole nap, whatever signals arrive (handlers without SA_RESTART interrupt it) */
    double until = churn__os_now() + ms / 1000.0;
    for (;;) {
        int left = (int)((until - churn__os_now()) * 1000.0 + 0.999);
        if (left <= 0) return;
#if defined(CHURN__LINUX)
        poll(NULL, 0, left); /* no timespec plumbing (see the clock note in >>common) */
#else
        {
            struct timespec ts; /* poll() without fds is not a documented sleep on macOS */
            ts.tv_sec = left / 1000;
            ts.tv_nsec = (long)(left % 1000) * 1000000L;
            nanosleep(&ts, NULL);
        }
#endif
    }
}

CHURN__PRIV int churn__errno_to_code(int e) {
    switch (e) {
        case ENOENT: case ESRCH: return CHURN_E_NOPROC;
        case EACCES: case EPERM: return CHURN_E_PERM;
        case ENOMEM: return CHURN_E_NOMEM;
        case EINVAL: return CHURN_E_INVAL;
        case ENOTSUP: return CHURN_E_UNSUPPORTED;
        default: return CHURN_E_IO;
    }
}

CHURN__PRIV int churn__open_cloexec(const char *path, int flags) {
    int fd;
    do fd = open(path, flags | CHURN__O_CLOEXEC, 0666); while (fd < 0 && errno == EINTR);
#if !defined(O_CLOEXEC)
    if (fd >= 0) fcntl(fd, F_SETFD, FD_CLOEXEC);
#endif
    return fd;
}

CHURN__PRIV void churn__close(int fd) {
    if (fd >= 0) close(fd); /* not retried on EINTR: the fd is gone either way */
}

/* Atomic replace: temp file in the same directory, F_FULLFSYNC (fsync only flushes to the
   drive's cache on macOS; fall back to fsync where the file system refuses it), rename,
   then sync the directory. On any error the temp file is removed and path is untouched. */
CHURN__PRIV int churn__os_write_atomic(const char *path, const char *data, size_t len) {
    char *tmp, *dir;
    const char *slash = strrchr(path, '/');
    size_t plen = strlen(path), dlen = slash ? (size_t)(slash - path) : 0, off = 0;
    static const char hex[] = "0123456789abcdef";
    int fd = -1, rc = CHURN_OK, attempt;
    if (plen == 0 || path[plen - 1] == '/') return CHURN_E_INVAL;
    {
        /* A write past RLIMIT_FSIZE would raise SIGXFSZ: refuse before creating anything. */
        struct rlimit rl;
        if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
            (unsigned long long)len > (unsigned long long)rl.rlim_cur)
            return CHURN_E_IO;
    }
    tmp = (char *)CHURN_MALLOC(plen + 64);
    dir = (char *)CHURN_MALLOC(dlen + 2);
    if (!tmp || !dir) { CHURN_FREE(tmp); CHURN_FREE(dir); return CHURN_E_NOMEM; }
    if (slash) { memcpy(dir, path, dlen ? dlen : 1); dir[dlen ? dlen : 1] = '\0'; }
    else { dir[0] = '.'; dir[1] = '\0'; }
    for (attempt = 0; attempt < 16 && fd < 0; attempt++) {
        /* unique per process, thread and attempt: "<dir>/.<base>.tmp-<pid>-<nonce>" */
        unsigned long long nonce = (unsigned long long)(churn__os_now() * 1e9) ^ ((unsigned long long)(size_t)&fd << 16) ^
                                   (unsigned long long)attempt * 0x9E3779B97F4A7C15ULL;
        char nonce_s[17];
        int k;
        for (k = 0; k < 16; k++) nonce_s[k] = hex[(nonce >> (k * 4)) & 15];
        nonce_s[16] = '\0';
        snprintf(tmp, plen + 64, "%.*s.%s.tmp-%ld-%s", (int)(slash ? dlen + 1 : 0), path, slash ? slash + 1 : path,
                 (long)getpid(), nonce_s);
        fd = churn__open_cloexec(tmp, O_WRONLY | O_CREAT | O_EXCL);
        if (fd < 0 && errno != EEXIST) break;
    }
    if (fd < 0) { rc = churn__errno_to_code(errno); if (rc == CHURN_E_NOPROC) rc = CHURN_E_IO; goto out; }
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0) { if (errno == EINTR) continue; rc = CHURN_E_IO; goto fail; }
        off += (size_t)n;
    }
#if defined(F_FULLFSYNC)
    if (fcntl(fd, F_FULLFSYNC) != 0 && fsync(fd) != 0) { rc = CHURN_E_IO; goto fail; }
#else
    if (fsync(fd) != 0) { rc = CHURN_E_IO; goto fail; }
#endif
    if (close(fd) != 0) { fd = -1; rc = CHURN_E_IO; goto fail; }
    fd = -1;
    if (rename(tmp, path) != 0) { rc = CHURN_E_IO; goto fail; }
    {
        int dfd = churn__open_cloexec(dir, O_RDONLY);
        if (dfd >= 0) { fsync(dfd); churn__close(dfd); }
    }
    goto out;
fail:
    if (fd >= 0) close(fd);
    unlink(tmp);
out:
    CHURN_FREE(tmp);
    CHURN_FREE(dir);
    return rc;
}

#endif /* CHURN__LINUX || CHURN__MACOS */

/* >>snapshot linux ===========================================================================
   Sources, cheapest first (costs measured on a 2-core VM, see bench/snapshot.c):
     handles   stat("/proc/P/fd").st_size is the fd count on Linux >= 6.2 (1.8 us, O(1));
               older kernels report 0 there and we count the directory with getdents64.
     threads   stat("/proc/P/task").st_nlink - 2 (O(1)).
     memory    /proc/P/statm: resident - shared pages is exactly RssAnon (the kernel's
               task_statm); VmSwap from /proc/P/status only when the machine has swap.
     sockets   the fd list: fstat() of our own fds, fstatat() through /proc/P/fd otherwise.
     TCP       one sock_diag netlink dump filtered by state in the kernel (~0.4 ms), only
               when the process has sockets; never by fd number, not even our own (another
               thread may reuse the number for a device with other ioctls); the text
               tables /proc/P/net/tcp{,6} only when netlink fails or P lives in another
               network namespace (they walk the whole hash table: ~10 ms).
     children  /proc/P/task/T/children when the kernel has it, else a /proc scan by ppid. */
#if defined(CHURN__LINUX)


CHURN__PRIV double churn__os_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}



/* Reads a whole small /proc file into buf (NUL-terminated). Returns bytes or -errno. */
CHURN__PRIV long churn__read_small(const char *path, char *buf, size_t cap) {
    int fd = churn__open_cloexec(path, O_RDONLY);
    size_t len = 0;
    if (cap > 0) buf[0] = '\0'; /* callers may parse it whatever happened */
    if (fd < 0) return -errno;
    while (len + 1 < cap) {
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0) {
            int e = errno;
            if (e == EINTR) continue;
            churn__close(fd);
            return -e;
        }
        if (n == 0) break;
        len += (size_t)n;
        /* /proc seq files hand out whole records: a short read ending in a newline is the
           end, which saves the second read() that would only return 0 */
        if ((size_t)n < cap - 1 - (len - (size_t)n) && buf[len - 1] == '\n') break;
    }
    buf[len] = '\0';
    churn__close(fd);
    return (long)len;
}

/* Value of "Key:" in a /proc status-style buffer, in the file's unit; -1 when absent. */
CHURN__PRIV long long churn__status_field(const char *buf, const char *key) {
    size_t klen = strlen(key);
    const char *p = buf;
    while (p && *p) {
        if (strncmp(p, key, klen) == 0 && p[klen] == ':') {
            long long v = 0;
            p += klen + 1;
            while (*p == ' ' || *p == '\t') p++;
            if (*p < '0' || *p > '9') return -1;
            while (*p >= '0' && *p <= '9') v = v * 10 + (*p++ - '0');
            return v;
        }
        p = strchr(p, '\n');
        if (p) p++;
    }
    return -1;
}

/* Process existence and permission, for clear NOPROC/PERM codes. */
CHURN__PRIV int churn__linux_check_pid(long pid) {
    char path[64];
    struct stat st;
    snprintf(path, sizeof path, "/proc/%ld", pid);
    if (stat(path, &st) != 0) return churn__errno_to_code(errno);
    return CHURN_OK;
}

typedef struct churn__fd_scan {
    int handles;
    int sockets;
    unsigned long long *inodes; /* socket inodes (when wanted) */
    int inode_count, inode_cap;
    int err;
} churn__fd_scan;

struct churn__linux_dirent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[1];
};

/* Walks /proc/P/fd with getdents64 (no DIR allocation); classifies sockets when asked. */
CHURN__PRIV int churn__linux_scan_fds(long pid, int self, int want_sockets, churn__fd_scan *sc) {
    char path[64];
    long buf_storage[2048]; /* 16 KiB, aligned for the dirent records */
    char *buf = (char *)buf_storage;
    int dfd;
    memset(sc, 0, sizeof(*sc));
    snprintf(path, sizeof path, "/proc/%ld/fd", pid);
    dfd = churn__open_cloexec(path, O_RDONLY | O_DIRECTORY);
    if (dfd < 0) return churn__errno_to_code(errno);
    for (;;) {
        long n = syscall(SYS_getdents64, dfd, buf, sizeof buf_storage);
        long off = 0;
        if (n < 0) {
            if (errno == EINTR) continue;
            sc->err = churn__errno_to_code(errno);
            break;
        }
        if (n == 0) break;
        while (off < n) {
            struct churn__linux_dirent64 *d = (struct churn__linux_dirent64 *)(buf + off);
            const char *name = d->d_name;
            off += d->d_reclen;
            if (name[0] < '0' || name[0] > '9') continue;
            {
                int fd = atoi(name);
                struct stat st;
                int ok;
                if (self && fd == dfd) continue; /* our own listing fd is not the process's */
                sc->handles++;
                if (!want_sockets) continue;
                ok = (self && !CHURN__TSAN ? fstat(fd, &st) : fstatat(dfd, name, &st, 0)) == 0;
                if (!ok || !S_ISSOCK(st.st_mode)) continue;
                sc->sockets++;
                if (churn__grow((void **)&sc->inodes, &sc->inode_cap, sc->inode_count, sizeof(*sc->inodes)) != CHURN_OK) {
                    sc->err = CHURN_E_NOMEM;
                    continue;
                }
                sc->inodes[sc->inode_count++] = (unsigned long long)st.st_ino;
            }
        }
    }
    churn__close(dfd);
    return CHURN_OK;
}

CHURN__PRIV void churn__fd_scan_free(churn__fd_scan *sc) {
    CHURN_FREE(sc->inodes);
    sc->inodes = NULL;
}

/* The open-fd count from a stat of /proc/P/fd: its st_size on Linux 6.2+, else the listing
   counted. *count stays CHURN_UNKNOWN when the listing broke off. */
CHURN__PRIV int churn__linux_fd_count(long pid, int self, const struct stat *fd_dir, long long *count) {
    churn__fd_scan sc;
    int rc;
    if (fd_dir->st_size > 0) {
        *count = (long long)fd_dir->st_size;
        return CHURN_OK;
    }
    rc = churn__linux_scan_fds(pid, self, 0, &sc);
    churn__fd_scan_free(&sc);
    if (rc == CHURN_OK && sc.err == CHURN_OK) *count = sc.handles;
    return rc;
}

typedef struct churn__diag_ctx {
    const unsigned long long *only; /* sorted inodes to keep */
    int only_count;
    int family, protocol;
    churn__sock_table *out;
} churn__diag_ctx;

#if defined(CHURN__SOCK_DIAG)
/* One sock_diag dump: sends req, hands every SOCK_DIAG_BY_FAMILY message to on_msg until
   NLMSG_DONE. Bounded by a 2 s deadline; the netlink fd is closed before return. */
typedef int (*churn__diag_fn)(void *ctx, const struct nlmsghdr *h);
CHURN__PRIV int churn__linux_sock_diag(const void *req, size_t req_len, churn__diag_fn on_msg, void *ctx) {
    struct sockaddr_nl sa;
    long rbuf_storage[4096]; /* 32 KiB */
    char *rbuf = (char *)rbuf_storage;
    int fd, done = 0, rc = CHURN_OK;
    double deadline = churn__os_now() + 2.0;
    fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) return CHURN_E_UNSUPPORTED;
    memset(&sa, 0, sizeof sa);
    sa.nl_family = AF_NETLINK;
    if (sendto(fd, req, req_len, MSG_NOSIGNAL, (struct sockaddr *)&sa, sizeof sa) < 0) {
        churn__close(fd);
        return CHURN_E_UNSUPPORTED;
    }
    while (!done) {
        struct pollfd pfd;
        ssize_t n;
        struct nlmsghdr *h;
        int left = (int)((deadline - churn__os_now()) * 1000.0);
        if (left <= 0) { rc = CHURN_E_TIMEOUT; break; }
        pfd.fd = fd; pfd.events = POLLIN; pfd.revents = 0;
        if (poll(&pfd, 1, left) <= 0) { if (errno == EINTR) continue; rc = CHURN_E_TIMEOUT; break; }
        n = recv(fd, rbuf, sizeof rbuf_storage, 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            rc = CHURN_E_IO;
            break;
        }
        if (n == 0) break;
        for (h = (struct nlmsghdr *)rbuf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE) { done = 1; break; }
            if (h->nlmsg_type == NLMSG_ERROR) { rc = CHURN_E_UNSUPPORTED; done = 1; break; }
            if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY) continue;
            rc = on_msg(ctx, h);
            if (rc != CHURN_OK) { done = 1; break; }
        }
    }
    churn__close(fd);
    return rc;
}


CHURN__PRIV int churn__linux_inet_msg(void *vctx, const struct nlmsghdr *h) {
    churn__diag_ctx *c = (churn__diag_ctx *)vctx;
    const struct inet_diag_msg *d = (const struct inet_diag_msg *)NLMSG_DATA(h);
    churn__sock_entry *e;
    if (c->only_count >= 0 && !churn__has_ull(c->only, c->only_count, d->idiag_inode)) return CHURN_OK;
    e = churn__sock_add(c->out);
    if (!e) return CHURN_E_NOMEM;
    e->inode = d->idiag_inode;
    e->proto = c->protocol == IPPROTO_TCP ? 't' : 'u';
    e->family = c->family == AF_INET6 ? 6 : 4;
    e->state = d->idiag_state;
    memcpy(e->laddr, d->id.idiag_src, c->family == AF_INET6 ? 16 : 4);
    memcpy(e->raddr, d->id.idiag_dst, c->family == AF_INET6 ? 16 : 4);
    e->lport = ntohs(d->id.idiag_sport);
    e->rport = ntohs(d->id.idiag_dport);
    e->wqueue = d->idiag_wqueue;
    return CHURN_OK;
}

/* TCP or UDP sockets of one family, filtered by state mask in the kernel; keeps those
   whose inode is in `only` (sorted) when only_count >= 0. */
CHURN__PRIV int churn__linux_inet_diag(int family, int protocol, unsigned states,
                                       const unsigned long long *only, int only_count,
                                       churn__sock_table *out) {
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } msg;
    churn__diag_ctx c;
    memset(&msg, 0, sizeof msg);
    msg.nlh.nlmsg_len = sizeof msg;
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.nlh.nlmsg_seq = 1;
    msg.req.sdiag_family = (unsigned char)family;
    msg.req.sdiag_protocol = (unsigned char)protocol;
    msg.req.idiag_states = states;
    c.only = only; c.only_count = only_count; c.family = family; c.protocol = protocol; c.out = out;
    return churn__linux_sock_diag(&msg, sizeof msg, churn__linux_inet_msg, &c);
}
#else
CHURN__PRIV int churn__linux_inet_diag(int family, int protocol, unsigned states,
                                       const unsigned long long *only, int only_count,
                                       churn__sock_table *out) {
    (void)family; (void)protocol; (void)states; (void)only; (void)only_count; (void)out;
    return CHURN_E_UNSUPPORTED; /* no uapi headers at build time: text tables instead */
}
#endif /* CHURN__SOCK_DIAG */

CHURN__PRIV const char *churn__parse_hex_endpoint(const char *p, int family, unsigned char *addr, int *port) {
    int words = family == AF_INET6 ? 4 : 1, w, b;
    for (w = 0; w < words; w++) {
        unsigned int v = 0;
        for (b = 0; b < 8; b++) {
            int h = churn__hexval(*p);
            if (h < 0) return NULL;
            v = (v << 4) | (unsigned)h;
            p++;
        }
        /* the kernel prints each 32-bit word of the address as a native-endian integer */
        memcpy(addr + 4 * w, &v, 4);
    }
    if (*p != ':') return NULL;
    p++;
    *port = 0;
    while (churn__hexval(*p) >= 0) *port = (*port << 4) | churn__hexval(*p++);
    return p;
}

/* Calls fn for every line after the header of a /proc text table, streamed in chunks
   (tables can be megabytes). Lines longer than 511 bytes are truncated. */
typedef int (*churn__line_fn)(void *ctx, const char *line);
CHURN__PRIV int churn__linux_each_line(const char *path, churn__line_fn fn, void *ctx) {
    char chunk[8192], line[512];
    size_t line_len = 0;
    int fd, first = 1, rc = CHURN_OK;
    fd = churn__open_cloexec(path, O_RDONLY);
    if (fd < 0) return churn__errno_to_code(errno);
    while (rc == CHURN_OK) {
        ssize_t n = read(fd, chunk, sizeof chunk), i;
        if (n < 0) { if (errno == EINTR) continue; rc = CHURN_E_IO; break; }
        if (n == 0) break;
        for (i = 0; i < n && rc == CHURN_OK; i++) {
            if (chunk[i] != '\n') {
                if (line_len + 1 < sizeof line) line[line_len++] = chunk[i];
                continue;
            }
            line[line_len] = '\0';
            line_len = 0;
            if (first) { first = 0; continue; } /* column header */
            rc = fn(ctx, line);
        }
    }
    churn__close(fd);
    return rc;
}

CHURN__PRIV int churn__linux_inet_line(void *vctx, const char *line) {
    churn__diag_ctx *c = (churn__diag_ctx *)vctx;
    const char *p = strchr(line, ':');
    churn__sock_entry e, *slot;
    long long txq, ino;
    int k;
    if (!p) return CHURN_OK;
    memset(&e, 0, sizeof e);
    p++;
    while (*p == ' ') p++;
    p = churn__parse_hex_endpoint(p, c->family, e.laddr, &e.lport);
    if (!p) return CHURN_OK;
    while (*p == ' ') p++;
    p = churn__parse_hex_endpoint(p, c->family, e.raddr, &e.rport);
    if (!p) return CHURN_OK;
    while (*p == ' ') p++;
    e.state = churn__hexval(p[0]) * 16 + churn__hexval(p[1]);
    p += 2;
    while (*p == ' ') p++;
    txq = 0;
    while (churn__hexval(*p) >= 0) txq = txq * 16 + churn__hexval(*p++);
    for (k = 0; k < 5; k++) { /* rx_queue, tr:tm->when, retrnsmt, uid, timeout */
        while (*p && *p != ' ') p++;
        while (*p == ' ') p++;
    }
    ino = churn__parse_ll(&p);
    if (ino == 0) return CHURN_OK; /* TIME_WAIT and request sockets own no inode */
    if (c->only_count >= 0 && !churn__has_ull(c->only, c->only_count, (unsigned long long)ino)) return CHURN_OK;
    e.inode = (unsigned long long)ino;
    e.proto = c->protocol == IPPROTO_TCP ? 't' : 'u';
    e.family = c->family == AF_INET6 ? 6 : 4;
    e.wqueue = e.state == CHURN__TCP_LISTEN ? 0 : txq;
    slot = churn__sock_add(c->out);
    if (!slot) return CHURN_E_NOMEM;
    *slot = e;
    return CHURN_OK;
}

/* Text-table fallback: /proc/P/net/{tcp,tcp6,udp,udp6} (P's own network namespace). */
CHURN__PRIV int churn__linux_proc_net_inet(long pid, const char *table, int protocol, int family,
                                           const unsigned long long *only, int only_count,
                                           churn__sock_table *out) {
    char path[64];
    churn__diag_ctx c;
    int rc;
    snprintf(path, sizeof path, "/proc/%ld/net/%s", pid, table);
    c.only = only; c.only_count = only_count; c.family = family; c.protocol = protocol; c.out = out;
    rc = churn__linux_each_line(path, churn__linux_inet_line, &c);
    return rc == CHURN_E_NOPROC ? CHURN_OK : rc; /* no such table (IPv6 off): nothing to add */
}

/* 1 when pid shares our network namespace (netlink answers for ours only). */
CHURN__PRIV int churn__linux_same_netns(long pid) {
    char path[64];
    struct stat a, b;
    if (pid == churn__os_pid()) return 1;
    snprintf(path, sizeof path, "/proc/%ld/ns/net", pid);
    if (stat("/proc/self/ns/net", &a) != 0 || stat(path, &b) != 0) return 0;
    return a.st_ino == b.st_ino && a.st_dev == b.st_dev;
}

#define CHURN__TCP_STATES_CONNECTED                                                     \
    ((1u << 1) | (1u << 2) | (1u << 4) | (1u << 5) | (1u << 7) | (1u << 8) | (1u << 9) | \
     (1u << 11))

/* TCP sockets of P (inodes sorted) into out: netlink when possible, text tables otherwise. */
CHURN__PRIV int churn__linux_tcp_sockets(long pid, unsigned states, const unsigned long long *inodes, int n,
                                         churn__sock_table *out) {
    int rc = CHURN_E_UNSUPPORTED;
    if (churn__linux_same_netns(pid)) {
        rc = churn__linux_inet_diag(AF_INET, IPPROTO_TCP, states, inodes, n, out);
        if (rc == CHURN_OK) rc = churn__linux_inet_diag(AF_INET6, IPPROTO_TCP, states, inodes, n, out);
        if (rc != CHURN_OK) out->count = 0;
    }
    if (rc != CHURN_OK) {
        rc = churn__linux_proc_net_inet(pid, "tcp", IPPROTO_TCP, AF_INET, inodes, n, out);
        if (rc == CHURN_OK) rc = churn__linux_proc_net_inet(pid, "tcp6", IPPROTO_TCP, AF_INET6, inodes, n, out);
    }
    return rc;
}

/* Children and zombies: the per-thread children lists when the kernel has them
   (CONFIG_PROC_CHILDREN), else one pass over /proc comparing ppid. */
CHURN__PRIV int churn__linux_stat_state(long pid, long *ppid, char *state) {
    char path[64], buf[1024];
    const char *p;
    long n;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    n = churn__read_small(path, buf, sizeof buf);
    if (n <= 0) return -1;
    p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
    if (!p || p[1] != ' ' || !p[2]) return -1;
    *state = p[2];
    p += 3;
    *ppid = (long)churn__parse_ll(&p);
    return 0;
}

/* Counts child c as live or zombie (a child that vanished meanwhile counts as neither). */
CHURN__PRIV void churn__linux_count_child(long c, long *live, long *dead) {
    long pp;
    char st;
    if (churn__linux_stat_state(c, &pp, &st) == 0) { if (st == 'Z') (*dead)++; else (*live)++; }
}

/* Threads in /proc/P/task, or -1: the directory's link count is 2 + the thread count. */
CHURN__PRIV long churn__linux_task_count(const char *task_dir) {
    struct stat st;
    return stat(task_dir, &st) == 0 && st.st_nlink >= 2 ? (long)st.st_nlink - 2 : -1;
}

/* Calls visit(pid, tid, ctx) once for every thread of pid. visit returns 1 when it read the
   thread, 0 when the thread was gone, or a negative CHURN_E_* to stop.
   Listing /proc/P/task is not atomic: when the thread under the listing's cursor exits,
   the kernel ends the listing there (or, between two getdents calls, resumes it by
   position), and live threads after it are missing. A pass is complete when
     - every thread it listed was still there when visited (or, if visited by an earlier
       pass, is there now): no listed thread died under the cursor, and
     - the thread count was the same before and after the pass and equals what it listed:
       no unlisted thread died under it (new threads join the end of the list, after any
       thread a cut listing misses, so they cannot make up the difference).
   Otherwise the listing repeats, at most CHURN__TASK_PASSES times, visiting new tids only. */
#define CHURN__TASK_PASSES 4
typedef int (*churn__task_visit)(long pid, unsigned long long tid, void *ctx);

CHURN__PRIV int churn__linux_each_task(long pid, churn__task_visit visit, void *ctx) {
    char path[64];
    unsigned long long *seen = NULL, *cur = NULL;
    int nseen = 0, cap_seen = 0, cap_cur = 0, pass, rc = CHURN_OK;
    snprintf(path, sizeof path, "/proc/%ld/task", pid);
    for (pass = 0; pass < CHURN__TASK_PASSES && rc == CHURN_OK; pass++) {
        int ncur = 0, nnew = 0, nuniq = 0, complete = 1, i, k;
        long before = churn__linux_task_count(path), after;
        struct dirent *de;
        DIR *d = opendir(path);
        if (!d) { rc = churn__errno_to_code(errno); break; }
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
            if (churn__grow((void **)&cur, &cap_cur, ncur, sizeof(*cur)) != CHURN_OK) { rc = CHURN_E_NOMEM; break; }
            cur[ncur++] = strtoull(de->d_name, NULL, 10);
        }
        closedir(d);
        after = churn__linux_task_count(path);
        if (rc != CHURN_OK) break;
        if (ncur > 1) qsort(cur, (size_t)ncur, sizeof(*cur), churn__cmp_ull);
        for (i = 0; i < ncur && rc == CHURN_OK; i++) {
            if (i > 0 && cur[i] == cur[i - 1]) continue;
            nuniq++;
            if (churn__has_ull(seen, nseen, cur[i])) { /* visited by an earlier pass: still there? */
                char tpath[96];
                struct stat st;
                snprintf(tpath, sizeof tpath, "%s/%llu", path, cur[i]);
                if (stat(tpath, &st) != 0) complete = 0;
                continue;
            }
            k = visit(pid, cur[i], ctx);
            if (k < 0) { rc = k; break; }
            if (k == 0) complete = 0;
            cur[nnew++] = cur[i]; /* in place: nnew <= i */
        }
        if (rc != CHURN_OK) break;
        if (before < 0 || before != after || nuniq != before) complete = 0;
        for (i = 0; i < nnew; i++) {
            if (churn__grow((void **)&seen, &cap_seen, nseen, sizeof(*seen)) != CHURN_OK) { rc = CHURN_E_NOMEM; break; }
            seen[nseen++] = cur[i];
        }
        if (nseen > 1) qsort(seen, (size_t)nseen, sizeof(*seen), churn__cmp_ull);
        if (complete) break;
    }
    CHURN_FREE(seen);
    CHURN_FREE(cur);
    return rc;
}

/* Children of one thread from /proc/P/task/T/children, counted as live or zombie. */
typedef struct churn__children_ctx {
    long live, dead;
} churn__children_ctx;

CHURN__PRIV int churn__linux_task_children(long pid, unsigned long long tid, void *ctx) {
    churn__children_ctx *cc = (churn__children_ctx *)ctx;
    char cpath[96], buf[4096];
    long c = 0;
    int cfd;
    snprintf(cpath, sizeof cpath, "/proc/%ld/task/%llu/children", pid, tid);
    cfd = churn__open_cloexec(cpath, O_RDONLY);
    if (cfd < 0) return 0; /* the thread exited meanwhile */
    /* streamed: a busy supervisor's list is longer than any fixed buffer */
    for (;;) {
        ssize_t n = read(cfd, buf, sizeof buf), k;
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        for (k = 0; k < n; k++) {
            if (buf[k] >= '0' && buf[k] <= '9') { c = c * 10 + (buf[k] - '0'); continue; }
            if (c > 0) churn__linux_count_child(c, &cc->live, &cc->dead);
            c = 0;
        }
    }
    if (c > 0) churn__linux_count_child(c, &cc->live, &cc->dead);
    churn__close(cfd);
    return 1;
}

CHURN__PRIV int churn__linux_children(long pid, long long *children, long long *zombies) {
    char path[64];
    long live = 0, dead = 0;
    DIR *d;
    struct dirent *de;
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", pid, pid);
    if (access(path, R_OK) == 0) {
        /* Fast path: every task's children file. */
        churn__children_ctx cc;
        int rc;
        cc.live = cc.dead = 0;
        rc = churn__linux_each_task(pid, churn__linux_task_children, &cc);
        if (rc != CHURN_OK) return rc;
        live = cc.live;
        dead = cc.dead;
    } else {
        d = opendir("/proc");
        if (!d) return churn__errno_to_code(errno);
        while ((de = readdir(d)) != NULL) {
            long c, pp;
            char st;
            if (de->d_name[0] < '1' || de->d_name[0] > '9') continue;
            c = atol(de->d_name);
            if (churn__linux_stat_state(c, &pp, &st) != 0 || pp != pid) continue;
            if (st == 'Z') dead++; else live++;
        }
        closedir(d);
    }
    *children = live;
    *zombies = dead;
    return CHURN_OK;
}

CHURN__PRIV unsigned churn__os_cheap_metrics(void) { return CHURN_METRICS_CHEAP; }

#define CHURN__WANT(mask, m) (((mask) & CHURN_METRIC_BIT(m)) != 0)

/* A pid whose /proc entry remains but which has exited (zombie, dead) or vanished. */
CHURN__PRIV int churn__linux_is_gone(long pid) {
    long pp;
    char state = 0;
    return churn__linux_stat_state(pid, &pp, &state) != 0 || state == 'Z' || state == 'X';
}

/* Swapped-out bytes of pid: 0 without swap on the machine (no read), -1 when unreadable. */
CHURN__PRIV long long churn__linux_swap_bytes(long pid) {
    struct sysinfo si;
    char path[64], buf[4096];
    long long kb;
    if (sysinfo(&si) == 0 && si.totalswap == 0) return 0;
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    if (churn__read_small(path, buf, sizeof buf) <= 0) return -1;
    kb = churn__status_field(buf, "VmSwap");
    return kb < 0 ? -1 : kb * 1024;
}

/* The memory metrics from the text of /proc/P/statm ("size resident shared ..." in pages).
   No mm at all (size 0): a kernel thread (unknown) or an exited, unreaped process (gone). */
CHURN__PRIV int churn__linux_statm_fill(long pid, int self, const char *statm, unsigned mask, churn_snapshot *out) {
    const char *p = statm;
    long long page = sysconf(_SC_PAGESIZE);
    long long size = churn__parse_ll(&p), resident = churn__parse_ll(&p), shared = churn__parse_ll(&p);
    if (size <= 0) return !self && churn__linux_is_gone(pid) ? CHURN_E_NOPROC : CHURN_OK;
    if (CHURN__WANT(mask, CHURN_METRIC_VIRTUAL_BYTES)) out->value[CHURN_METRIC_VIRTUAL_BYTES] = size * page;
    if (CHURN__WANT(mask, CHURN_METRIC_RSS_BYTES)) out->value[CHURN_METRIC_RSS_BYTES] = resident * page;
    if (CHURN__WANT(mask, CHURN_METRIC_PRIVATE_BYTES)) {
        long long swap = churn__linux_swap_bytes(pid);
        if (swap >= 0) out->value[CHURN_METRIC_PRIVATE_BYTES] = (resident - shared) * page + swap;
    }
    return CHURN_OK;
}

CHURN__PRIV int churn__os_snapshot(long pid, unsigned mask, churn_snapshot *out) {
    char path[64];
    struct stat st;
    int self = pid == churn__os_pid();
    int rc = self ? CHURN_OK : churn__linux_check_pid(pid); /* we cannot vanish under ourselves */
    unsigned mem_mask = CHURN_METRIC_BIT(CHURN_METRIC_RSS_BYTES) | CHURN_METRIC_BIT(CHURN_METRIC_PRIVATE_BYTES) |
                        CHURN_METRIC_BIT(CHURN_METRIC_VIRTUAL_BYTES);
    unsigned sock_mask = CHURN_METRIC_BIT(CHURN_METRIC_SOCKETS) | CHURN_METRIC_BIT(CHURN_METRIC_CLOSE_WAIT) |
                         CHURN_METRIC_BIT(CHURN_METRIC_SEND_QUEUE_BYTES);
    if (rc != CHURN_OK) return rc;

    /* Everything needing the fd list: one walk for handles and sockets. */
    if (mask & sock_mask) {
        churn__fd_scan sc;
        int want_tcp = CHURN__WANT(mask, CHURN_METRIC_CLOSE_WAIT) || CHURN__WANT(mask, CHURN_METRIC_SEND_QUEUE_BYTES);
        rc = churn__linux_scan_fds(pid, self, 1, &sc);
        if (rc != CHURN_OK) { churn__fd_scan_free(&sc); return rc; }
        if (sc.err == CHURN_OK) {
            if (CHURN__WANT(mask, CHURN_METRIC_HANDLES)) out->value[CHURN_METRIC_HANDLES] = sc.handles;
            if (CHURN__WANT(mask, CHURN_METRIC_SOCKETS)) out->value[CHURN_METRIC_SOCKETS] = sc.sockets;
        }
        if (want_tcp && sc.err == CHURN_OK) {
            long long close_wait = 0, sendq = 0;
            int ok = 1, i;
            /* Never by fd number, even for our own process: another thread may close the
               number and reuse it for a device whose ioctls mean something else. One
               state-filtered sock_diag dump answers for every socket at once. */
            if (sc.inode_count > 0) {
                churn__sock_table t;
                memset(&t, 0, sizeof t);
                qsort(sc.inodes, (size_t)sc.inode_count, sizeof(*sc.inodes), churn__cmp_ull);
                if (churn__linux_tcp_sockets(pid, CHURN__TCP_STATES_CONNECTED, sc.inodes, sc.inode_count, &t) == CHURN_OK) {
                    for (i = 0; i < t.count; i++) {
                        if (t.items[i].state == CHURN__TCP_CLOSE_WAIT) close_wait++;
                        sendq += t.items[i].wqueue;
                    }
                } else {
                    ok = 0;
                }
                CHURN_FREE(t.items);
            }
            if (ok) {
                if (CHURN__WANT(mask, CHURN_METRIC_CLOSE_WAIT)) out->value[CHURN_METRIC_CLOSE_WAIT] = close_wait;
                if (CHURN__WANT(mask, CHURN_METRIC_SEND_QUEUE_BYTES)) out->value[CHURN_METRIC_SEND_QUEUE_BYTES] = sendq;
            }
        }
        churn__fd_scan_free(&sc);
    } else if (CHURN__WANT(mask, CHURN_METRIC_HANDLES)) {
        snprintf(path, sizeof path, "/proc/%ld/fd", pid);
        if (stat(path, &st) != 0) return churn__errno_to_code(errno);
        rc = churn__linux_fd_count(pid, self, &st, &out->value[CHURN_METRIC_HANDLES]);
        if (rc != CHURN_OK) return rc;
    }

    if (CHURN__WANT(mask, CHURN_METRIC_THREADS)) {
        long n;
        snprintf(path, sizeof path, "/proc/%ld/task", pid);
        n = churn__linux_task_count(path);
        if (n > 0) out->value[CHURN_METRIC_THREADS] = n;
        else if (n < 0 && errno == ENOENT) return CHURN_E_NOPROC;
    }

    if (mask & mem_mask) {
        char buf[256];
        snprintf(path, sizeof path, "/proc/%ld/statm", pid);
        if (churn__read_small(path, buf, sizeof buf) > 0) {
            rc = churn__linux_statm_fill(pid, self, buf, mask, out);
            if (rc != CHURN_OK) return rc;
        }
    }

    if (mask & (CHURN_METRIC_BIT(CHURN_METRIC_CHILDREN) | CHURN_METRIC_BIT(CHURN_METRIC_ZOMBIES))) {
        long long live = CHURN_UNKNOWN, dead = CHURN_UNKNOWN;
        if (churn__linux_children(pid, &live, &dead) == CHURN_OK) {
            if (CHURN__WANT(mask, CHURN_METRIC_CHILDREN)) out->value[CHURN_METRIC_CHILDREN] = live;
            if (CHURN__WANT(mask, CHURN_METRIC_ZOMBIES)) out->value[CHURN_METRIC_ZOMBIES] = dead;
        }
    }
    /* gdi_objects / user_objects: Windows only, stay CHURN_UNKNOWN. */

    /* The process may have exited while we read: do not report a half snapshot as real. */
    return self ? CHURN_OK : churn__linux_check_pid(pid);
}

/* The sampler keeps /proc/P (which pins P's struct pid: lookups under it fail once P has
   exited, whatever reuses the number) and /proc/P/statm, whose pread is the liveness check. */
CHURN__PRIV int churn__os_sampler_open(churn_sampler *s) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld", s->pid);
    s->os_fd[0] = churn__open_cloexec(path, O_RDONLY | O_DIRECTORY);
    if (s->os_fd[0] < 0) return churn__errno_to_code(errno);
    s->os_fd[1] = openat(s->os_fd[0], "statm", O_RDONLY | O_CLOEXEC);
    if (s->os_fd[1] < 0 || (s->pid != churn__os_pid() && churn__linux_is_gone(s->pid))) {
        int rc = s->os_fd[1] < 0 ? churn__errno_to_code(errno) : CHURN_E_NOPROC;
        churn__os_sampler_close(s);
        return rc;
    }
    s->own_fds = 2;
    return CHURN_OK;
}

CHURN__PRIV void churn__os_sampler_close(churn_sampler *s) {
    int i;
    for (i = 0; i < 2; i++) {
        if (s->os_fd[i] >= 0) churn__close(s->os_fd[i]);
        s->os_fd[i] = -1;
    }
    s->own_fds = 0;
}

/* The pinned /proc/P/statm, NUL-terminated: its length, 0 or -1 (errno) once P has exited. */
CHURN__PRIV ssize_t churn__linux_sampler_statm(churn_sampler *s, char *buf, size_t cap) {
    ssize_t n;
    do n = pread(s->os_fd[1], buf, cap - 1, 0);
    while (n < 0 && errno == EINTR);
    if (n >= 0) buf[n] = '\0';
    return n;
}

CHURN__PRIV int churn__os_sampler_take(churn_sampler *s, unsigned mask, churn_snapshot *out) {
    const unsigned fast = CHURN_METRICS_CHEAP;
    int self = s->pid == churn__os_pid(), rc;
    char buf[256];
    ssize_t n;
    struct stat st;
    n = churn__linux_sampler_statm(s, buf, sizeof buf);
    if (n <= 0) return n == 0 ? CHURN_E_NOPROC : churn__errno_to_code(errno);
    if (mask & ~fast) {
        /* fd walks and socket tables: the plain path (by pid number), then the pinned statm
           again: if P died meanwhile, whatever took its number was not measured as P */
        rc = churn__os_snapshot(s->pid, mask, out);
        if (rc == CHURN_OK && churn__linux_sampler_statm(s, buf, sizeof buf) <= 0) rc = CHURN_E_NOPROC;
        if (rc == CHURN_OK && self && out->value[CHURN_METRIC_HANDLES] != CHURN_UNKNOWN)
            out->value[CHURN_METRIC_HANDLES] -= s->own_fds;
        return rc;
    }
    rc = churn__linux_statm_fill(s->pid, self, buf, mask, out);
    if (rc != CHURN_OK) return rc;
    if (CHURN__WANT(mask, CHURN_METRIC_HANDLES)) {
        long long *h = &out->value[CHURN_METRIC_HANDLES];
        if (fstatat(s->os_fd[0], "fd", &st, 0) != 0) return churn__errno_to_code(errno);
        rc = churn__linux_fd_count(s->pid, self, &st, h);
        if (rc != CHURN_OK) return rc;
        if (self && *h != CHURN_UNKNOWN) *h -= s->own_fds;
    }
    if (CHURN__WANT(mask, CHURN_METRIC_THREADS)) {
        if (fstatat(s->os_fd[0], "task", &st, 0) != 0) return churn__errno_to_code(errno);
        if (st.st_nlink > 2) out->value[CHURN_METRIC_THREADS] = (long long)st.st_nlink - 2;
    }
    return CHURN_OK;
}

/* Inventory, Linux: one readlinkat + fstatat per fd; the socket tables are read once per
   inventory (netlink for TCP/UDP in our namespace, /proc/P/net text otherwise, and
   /proc/P/net/unix for UNIX sockets), only when the process has sockets at all. */

CHURN__PRIV void churn__linux_classify(const char *target, const struct stat *st, int have_st,
                                       churn_handle_info *h) {
    static const struct { const char *link; const char *kind; } anon[] = {
        {"anon_inode:[eventfd]", "eventfd"}, {"anon_inode:[eventpoll]", "epoll"},
        {"anon_inode:[timerfd]", "timerfd"}, {"anon_inode:[signalfd]", "signalfd"},
        {"anon_inode:inotify", "inotify"}};
    int i;
    churn__copyz(h->detail, sizeof h->detail, target);
    if (strncmp(target, "socket:[", 8) == 0) { churn__copyz(h->kind, sizeof h->kind, "socket"); return; }
    if (strncmp(target, "pipe:[", 6) == 0) { churn__copyz(h->kind, sizeof h->kind, "pipe"); return; }
    if (strncmp(target, "anon_inode:", 11) == 0) {
        for (i = 0; i < CHURN__ARRAY_LEN(anon); i++)
            if (strcmp(target, anon[i].link) == 0) { churn__copyz(h->kind, sizeof h->kind, anon[i].kind); return; }
        churn__copyz(h->kind, sizeof h->kind, "anon");
        return;
    }
    if (have_st) {
        if (S_ISREG(st->st_mode)) { churn__copyz(h->kind, sizeof h->kind, "file"); return; }
        if (S_ISDIR(st->st_mode)) { churn__copyz(h->kind, sizeof h->kind, "dir"); return; }
        if (S_ISFIFO(st->st_mode)) { churn__copyz(h->kind, sizeof h->kind, "pipe"); return; }
        if (S_ISSOCK(st->st_mode)) { churn__copyz(h->kind, sizeof h->kind, "socket"); return; }
        if (S_ISCHR(st->st_mode) &&
            (strncmp(target, "/dev/pts/", 9) == 0 || strncmp(target, "/dev/tty", 8) == 0 ||
             strcmp(target, "/dev/console") == 0 || strcmp(target, "/dev/ptmx") == 0 ||
             strncmp(target, "/dev/pts/ptmx", 13) == 0)) {
            churn__copyz(h->kind, sizeof h->kind, "tty");
            return;
        }
    }
    churn__copyz(h->kind, sizeof h->kind, "other");
}

CHURN__PRIV int churn__linux_unix_line(void *vctx, const char *line) {
    /* Num: RefCount Protocol Flags Type St Inode Path */
    churn__diag_ctx *c = (churn__diag_ctx *)vctx;
    const char *p = strchr(line, ':');
    long long type = 0, ino;
    int k;
    churn__sock_entry *e;
    if (!p) return CHURN_OK;
    p++;
    for (k = 0; k < 3; k++) { while (*p == ' ') p++; while (*p && *p != ' ') p++; }
    while (*p == ' ') p++;
    while (churn__hexval(*p) >= 0) type = type * 16 + churn__hexval(*p++);
    while (*p == ' ') p++;
    while (*p && *p != ' ') p++; /* St */
    ino = churn__parse_ll(&p);
    if (c->only_count >= 0 && !churn__has_ull(c->only, c->only_count, (unsigned long long)ino)) return CHURN_OK;
    e = churn__sock_add(c->out);
    if (!e) return CHURN_E_NOMEM;
    e->inode = (unsigned long long)ino;
    e->proto = 'x';
    e->family = (int)type;
    if (*p == ' ') churn__copyz(e->path, sizeof e->path, p + 1);
    return CHURN_OK;
}

/* /proc/P/net/unix: the fallback outside our namespace (a newline in a path cuts it short). */
CHURN__PRIV int churn__linux_unix_table(long pid, const unsigned long long *only, int only_count,
                                        churn__sock_table *out) {
    char path[64];
    churn__diag_ctx c;
    snprintf(path, sizeof path, "/proc/%ld/net/unix", pid);
    memset(&c, 0, sizeof c);
    c.only = only; c.only_count = only_count; c.out = out;
    return churn__linux_each_line(path, churn__linux_unix_line, &c);
}

/* UNIX sockets with their names as raw bytes (a path may hold a newline, which the text
   table cannot carry): unix_diag in our namespace, /proc/P/net/unix otherwise. */
#if defined(CHURN__SOCK_DIAG)
CHURN__PRIV int churn__linux_unix_msg(void *vctx, const struct nlmsghdr *h) {
    churn__diag_ctx *c = (churn__diag_ctx *)vctx;
    const struct unix_diag_msg *d = (const struct unix_diag_msg *)NLMSG_DATA(h);
    const struct rtattr *a;
    int alen;
    churn__sock_entry *e;
    if (!churn__has_ull(c->only, c->only_count, d->udiag_ino)) return CHURN_OK;
    e = churn__sock_add(c->out);
    if (!e) return CHURN_E_NOMEM;
    e->inode = d->udiag_ino;
    e->proto = 'x';
    e->family = d->udiag_type;
    alen = (int)(h->nlmsg_len - NLMSG_LENGTH(sizeof(*d)));
    for (a = (const struct rtattr *)(d + 1); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
        if (a->rta_type == UNIX_DIAG_NAME) {
            const char *name = (const char *)RTA_DATA(a);
            size_t len = RTA_PAYLOAD(a);
            if (len > 0 && name[0] == '\0') { /* abstract: shown as "@name" */
                e->path[0] = '@';
                churn__copy(e->path + 1, sizeof e->path - 1, name + 1, len - 1);
            } else {
                churn__copy(e->path, sizeof e->path, name, churn__strnlen(name, len));
            }
        }
    }
    return CHURN_OK;
}

CHURN__PRIV int churn__linux_unix_diag(const unsigned long long *only, int only_count, churn__sock_table *out) {
    struct {
        struct nlmsghdr nlh;
        struct unix_diag_req req;
    } msg;
    churn__diag_ctx c;
    int start = out->count, rc;
    memset(&msg, 0, sizeof msg);
    msg.nlh.nlmsg_len = sizeof msg;
    msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    msg.nlh.nlmsg_seq = 1;
    msg.req.sdiag_family = AF_UNIX;
    msg.req.udiag_states = 0xffffffffu;
    msg.req.udiag_show = UDIAG_SHOW_NAME;
    memset(&c, 0, sizeof c);
    c.only = only; c.only_count = only_count; c.out = out;
    rc = churn__linux_sock_diag(&msg, sizeof msg, churn__linux_unix_msg, &c);
    if (rc != CHURN_OK) out->count = start;
    return rc;
}
#else
CHURN__PRIV int churn__linux_unix_diag(const unsigned long long *only, int only_count, churn__sock_table *out) {
    (void)only; (void)only_count; (void)out;
    return CHURN_E_UNSUPPORTED;
}
#endif /* CHURN__SOCK_DIAG */

CHURN__PRIV int churn__linux_unix_sockets(long pid, const unsigned long long *only, int only_count,
                                          churn__sock_table *out) {
    if (churn__linux_same_netns(pid) && churn__linux_unix_diag(only, only_count, out) == CHURN_OK) return CHURN_OK;
    return churn__linux_unix_table(pid, only, only_count, out);
}

CHURN__PRIV int churn__cmp_thread_id(const void *x, const void *y); /* >>inventory */

typedef struct churn__threads_ctx {
    churn_inventory *out;
    int cap;
} churn__threads_ctx;

CHURN__PRIV int churn__linux_thread_visit(long pid, unsigned long long tid, void *ctx) {
    churn__threads_ctx *tc = (churn__threads_ctx *)ctx;
    char cpath[96], name[64];
    long n;
    churn_thread_info *t;
    snprintf(cpath, sizeof cpath, "/proc/%ld/task/%llu/comm", pid, tid);
    n = churn__read_small(cpath, name, sizeof name);
    if (n < 0) { /* exited while we listed */
        tc->out->skipped++;
        return 0;
    }
    if (n > 0 && name[n - 1] == '\n') name[--n] = '\0'; /* comm ends in one newline */
    if (churn__grow((void **)&tc->out->threads, &tc->cap, tc->out->thread_count, sizeof(*tc->out->threads)) != CHURN_OK)
        return CHURN_E_NOMEM;
    t = &tc->out->threads[tc->out->thread_count++];
    t->tid = (long long)tid;
    churn__copy(t->name, sizeof t->name, name, (size_t)n);
    return 1;
}

CHURN__PRIV int churn__linux_threads(long pid, churn_inventory *out) {
    churn__threads_ctx tc;
    int rc, before = out->thread_count;
    tc.out = out;
    tc.cap = out->thread_count;
    rc = churn__linux_each_task(pid, churn__linux_thread_visit, &tc);
    if (rc == CHURN_OK && out->thread_count > before + 1) /* passes append in pass order */
        qsort(out->threads + before, (size_t)(out->thread_count - before), sizeof(*out->threads), churn__cmp_thread_id);
    return rc;
}

CHURN__PRIV int churn__os_inventory(long pid, churn_inventory *out) {
    char path[64];
    int dfd, cap = 0, rc, i, nsock = 0;
    DIR *d;
    struct dirent *de;
    int self = pid == churn__os_pid();
    unsigned long long *sock_inodes = NULL;
    rc = churn__linux_check_pid(pid);
    if (rc != CHURN_OK) return rc;
    if (!self) { /* an exited, unreaped process is gone, as for snapshots */
        if (churn__linux_is_gone(pid)) return CHURN_E_NOPROC;
    }
    snprintf(path, sizeof path, "/proc/%ld/fd", pid);
    d = opendir(path);
    if (!d) return churn__errno_to_code(errno);
    dfd = dirfd(d);
    while ((de = readdir(d)) != NULL) {
        char target[256];
        ssize_t n;
        struct stat st;
        int have_st;
        churn_handle_info *h;
        int fd;
        if (de->d_name[0] < '0' || de->d_name[0] > '9') continue;
        fd = atoi(de->d_name);
        if (self && fd == dfd) continue;
        n = readlinkat(dfd, de->d_name, target, sizeof target - 1);
        if (n < 0) { out->skipped++; continue; } /* closed meanwhile, or unreadable */
        target[n] = '\0';
        have_st = (self && !CHURN__TSAN ? fstat(fd, &st) : fstatat(dfd, de->d_name, &st, 0)) == 0;
        if (churn__grow((void **)&out->handles, &cap, out->handle_count, sizeof(*out->handles)) != CHURN_OK) {
            closedir(d);
            return CHURN_E_NOMEM;
        }
        h = &out->handles[out->handle_count++];
        memset(h, 0, sizeof(*h));
        h->id = fd;
        churn__linux_classify(target, &st, have_st, h);
        /* identity: the inode (socket, pipe, file); anon inodes all share one, so for
           them the kind and detail carry the identity */
        if (have_st) h->object = (unsigned long long)st.st_ino;
        if (strcmp(h->kind, "socket") == 0) nsock++;
    }
    closedir(d);

    if (nsock > 0) {
        churn__sock_table t;
        int k = 0;
        memset(&t, 0, sizeof t);
        sock_inodes = (unsigned long long *)CHURN_MALLOC((size_t)nsock * sizeof(*sock_inodes));
        if (!sock_inodes) return CHURN_E_NOMEM;
        for (i = 0; i < out->handle_count; i++)
            if (strcmp(out->handles[i].kind, "socket") == 0) sock_inodes[k++] = out->handles[i].object;
        qsort(sock_inodes, (size_t)k, sizeof(*sock_inodes), churn__cmp_ull);
        rc = churn__linux_tcp_sockets(pid, 0xffffffffu, sock_inodes, k, &t);
        if (rc == CHURN_OK && churn__linux_same_netns(pid)) {
            rc = churn__linux_inet_diag(AF_INET, IPPROTO_UDP, 0xffffffffu, sock_inodes, k, &t);
            if (rc == CHURN_OK) rc = churn__linux_inet_diag(AF_INET6, IPPROTO_UDP, 0xffffffffu, sock_inodes, k, &t);
            if (rc != CHURN_OK) {
                /* drop partial UDP rows, read the text tables instead */
                int w = 0;
                for (i = 0; i < t.count; i++) if (t.items[i].proto != 'u') t.items[w++] = t.items[i];
                t.count = w;
                rc = CHURN_E_UNSUPPORTED;
            }
        } else {
            rc = CHURN_E_UNSUPPORTED;
        }
        if (rc != CHURN_OK) {
            churn__linux_proc_net_inet(pid, "udp", IPPROTO_UDP, AF_INET, sock_inodes, k, &t);
            churn__linux_proc_net_inet(pid, "udp6", IPPROTO_UDP, AF_INET6, sock_inodes, k, &t);
        }
        churn__linux_unix_sockets(pid, sock_inodes, k, &t);
        if (t.count > 0) qsort(t.items, (size_t)t.count, sizeof(*t.items), churn__cmp_sock_entry);
        for (i = 0; i < out->handle_count; i++) {
            churn_handle_info *h = &out->handles[i];
            const churn__sock_entry *e;
            if (strcmp(h->kind, "socket") != 0) continue;
            e = churn__sock_find(&t, h->object);
            if (e) churn__sock_describe(e, h->detail, sizeof h->detail);
        }
        CHURN_FREE(t.items);
        CHURN_FREE(sock_inodes);
    }
    return churn__linux_threads(pid, out);
}

#include <sys/utsname.h>
/* Owners of a TCP listener on port: the LISTEN sockets of our network namespace with that
   local port (sock_diag, text tables as fallback), then every process's socket fds for
   their inodes.
   Socket inodes are unique machine-wide, so a match is the owner whatever its namespace. */
CHURN__PRIV int churn__os_listener_owners(int port, churn__pid_list *owners) {
    churn__sock_table t;
    unsigned long long *inodes = NULL;
    int n = 0, cap = 0, i, rc, denied = 0;
    long self = churn__os_pid();
    DIR *procs;
    struct dirent *de;
    memset(&t, 0, sizeof t);
    rc = churn__linux_tcp_sockets(self, 1u << CHURN__TCP_LISTEN, NULL, -1, &t);
    for (i = 0; rc == CHURN_OK && i < t.count; i++) {
        if (t.items[i].state != CHURN__TCP_LISTEN || t.items[i].lport != port) continue;
        if (churn__grow((void **)&inodes, &cap, n, sizeof(*inodes)) != CHURN_OK) rc = CHURN_E_NOMEM;
        else inodes[n++] = t.items[i].inode;
    }
    CHURN_FREE(t.items);
    if (rc != CHURN_OK || n == 0) { CHURN_FREE(inodes); return rc; }
    qsort(inodes, (size_t)n, sizeof(*inodes), churn__cmp_ull);
    procs = opendir("/proc");
    if (!procs) { rc = churn__errno_to_code(errno); CHURN_FREE(inodes); return rc; }
    while (rc == CHURN_OK && (de = readdir(procs)) != NULL) {
        churn__fd_scan sc;
        long pid;
        int k, scan_rc;
        if (de->d_name[0] < '1' || de->d_name[0] > '9') continue;
        pid = atol(de->d_name);
        scan_rc = churn__linux_scan_fds(pid, pid == self, 1, &sc);
        denied += scan_rc == CHURN_E_PERM;
        for (k = 0; scan_rc == CHURN_OK && k < sc.inode_count; k++)
            if (churn__has_ull(inodes, n, sc.inodes[k])) {
                rc = churn__pid_list_add(owners, pid);
                break;
            }
        churn__fd_scan_free(&sc);
    }
    closedir(procs);
    CHURN_FREE(inodes);
    /* a listener exists: its owner is another user's process, or has just exited */
    return rc == CHURN_OK && owners->count == 0 && denied ? CHURN_E_PERM : rc;
}

CHURN__PRIV const char *churn__os_platform(void) { return "linux"; }
CHURN__PRIV void churn__os_describe(char *out, size_t cap) {
    struct utsname u;
    churn__copyz(out, cap, "Linux");
    if (uname(&u) == 0) {
        churn__cat(out, cap, " ");
        churn__cat(out, cap, u.release);
        churn__cat(out, cap, " ");
        churn__cat(out, cap, u.machine);
    }
}


#endif /* CHURN__LINUX */

/* >>snapshot windows =========================================================================
   psapi, toolhelp, iphlpapi and ntdll (loaded at run time). */
#if defined(CHURN__WINDOWS)
/* Sources (every ntdll, iphlpapi, psapi and user32 entry point is loaded at run time, so
   the only link dependency is ws2_32, for the churn loop and inet_ntop):
     handles        GetProcessHandleCount; where it returns 0 for a live process (wine) the
                    pid's rows of NtQuerySystemInformation(SystemExtendedHandleInformation)
     threads        Toolhelp32 thread snapshot, filtered by owner pid
     rss / private  NtQueryInformationProcess(ProcessVmCounters): WorkingSetSize,
                    PrivateUsage (PagefileUsage when PrivateUsage is 0: documented equal);
                    K32GetProcessMemoryInfo when ntdll refuses
     virtual        the same VM counters' VirtualSize; else the committed + reserved
                    regions walked with VirtualQueryEx; else unknown
     sockets        TCP sockets. This process: its own handles that Winsock takes for
                    SOCK_STREAM sockets (probed on a helper thread). Another process: its
                    rows of GetExtendedTcpTable(TCP_TABLE_OWNER_PID_ALL), IPv4 and IPv6
                    (bound or connected only); unknown when live rows lack owner pids (wine)
     close_wait     those sockets in MIB_TCP_STATE_CLOSE_WAIT (own sockets matched to the
                    table's rows by their endpoints)
     children       Toolhelp32 process snapshot by parent pid, live ones (a child created
                    before its "parent", i.e. a reused parent pid, is not counted)
     zombies        exited children still held open: the pid's Process handles whose
                    process exited and whose parent pid is the pid (each child once)
     gdi / user     GetGuiResources; ERROR_CALL_NOT_IMPLEMENTED (wine) -> unknown
     send_queue_bytes: unknown (no honest source).
   The snapshot's own handles (process handle, toolhelp snapshot) are opened after the
   handle count is read and closed before return. The run-time loaded modules are loaded
   once per process, before the first handle count, so their handles are in every count. */

#ifndef CHURN__WANT
#define CHURN__WANT(mask, m) (((mask) & CHURN_METRIC_BIT(m)) != 0)
#endif

/* ---- ntdll / iphlpapi / psapi / user32 entry points, loaded once ---- */
typedef LONG churn__ntstatus;
#define CHURN__NT_OK(s) ((s) >= 0)
#define CHURN__STATUS_INFO_LENGTH_MISMATCH ((churn__ntstatus)0xC0000004L)
#define CHURN__STATUS_BUFFER_OVERFLOW ((churn__ntstatus)0x80000005L)
#define CHURN__STATUS_BUFFER_TOO_SMALL ((churn__ntstatus)0xC0000023L)
#define CHURN__SYSTEM_EXTENDED_HANDLE_INFORMATION 64
#define CHURN__PROCESS_VM_COUNTERS 3
#define CHURN__OBJECT_NAME_INFORMATION 1
#define CHURN__OBJECT_TYPE_INFORMATION 2

typedef struct churn__nt_ustr {
    USHORT Length, MaximumLength;
    PWSTR Buffer;
} churn__nt_ustr;

typedef struct churn__nt_handle_entry {
    PVOID Object;
    ULONG_PTR UniqueProcessId;
    ULONG_PTR HandleValue;
    ULONG GrantedAccess;
    USHORT CreatorBackTraceIndex;
    USHORT ObjectTypeIndex;
    ULONG HandleAttributes;
    ULONG Reserved;
} churn__nt_handle_entry;

typedef struct churn__nt_handle_table {
    ULONG_PTR NumberOfHandles;
    ULONG_PTR Reserved;
    churn__nt_handle_entry Handles[1];
} churn__nt_handle_table;

typedef struct churn__nt_vm_counters { /* VM_COUNTERS_EX */
    SIZE_T PeakVirtualSize, VirtualSize;
    ULONG PageFaultCount;
    SIZE_T PeakWorkingSetSize, WorkingSetSize, QuotaPeakPagedPoolUsage, QuotaPagedPoolUsage,
           QuotaPeakNonPagedPoolUsage, QuotaNonPagedPoolUsage, PagefileUsage, PeakPagefileUsage,
           PrivateUsage;
} churn__nt_vm_counters;

typedef struct churn__os_version { /* RTL_OSVERSIONINFOW */
    ULONG dwOSVersionInfoSize, dwMajorVersion, dwMinorVersion, dwBuildNumber, dwPlatformId;
    WCHAR szCSDVersion[128];
} churn__os_version;

typedef struct churn__pmc_ex { /* PROCESS_MEMORY_COUNTERS_EX */
    DWORD cb, PageFaultCount;
    SIZE_T PeakWorkingSetSize, WorkingSetSize, QuotaPeakPagedPoolUsage, QuotaPagedPoolUsage,
           QuotaPeakNonPagedPoolUsage, QuotaNonPagedPoolUsage, PagefileUsage, PeakPagefileUsage,
           PrivateUsage;
} churn__pmc_ex;

typedef churn__ntstatus (WINAPI *churn__NtQuerySystemInformation_fn)(ULONG, PVOID, ULONG, PULONG);
typedef churn__ntstatus (WINAPI *churn__NtQueryInformationProcess_fn)(HANDLE, ULONG, PVOID, ULONG, PULONG);
typedef churn__ntstatus (WINAPI *churn__NtQueryObject_fn)(HANDLE, ULONG, PVOID, ULONG, PULONG);
typedef churn__ntstatus (WINAPI *churn__RtlGetVersion_fn)(churn__os_version *);
typedef DWORD (WINAPI *churn__GetExtendedTcpTable_fn)(PVOID, PDWORD, BOOL, ULONG, TCP_TABLE_CLASS, ULONG);
typedef BOOL (WINAPI *churn__GetProcessMemoryInfo_fn)(HANDLE, churn__pmc_ex *, DWORD);
typedef DWORD (WINAPI *churn__GetGuiResources_fn)(HANDLE, DWORD);
typedef HRESULT (WINAPI *churn__GetThreadDescription_fn)(HANDLE, PWSTR *);

typedef struct churn__win_api {
    churn__NtQuerySystemInformation_fn NtQuerySystemInformation;
    churn__NtQueryInformationProcess_fn NtQueryInformationProcess;
    churn__NtQueryObject_fn NtQueryObject;
    churn__RtlGetVersion_fn RtlGetVersion;
    churn__GetExtendedTcpTable_fn GetExtendedTcpTable;
    churn__GetProcessMemoryInfo_fn GetProcessMemoryInfo;
    churn__GetGuiResources_fn GetGuiResources;
    churn__GetThreadDescription_fn GetThreadDescription;
} churn__win_api;

/* Written once, inside the init-once callback; read-only afterwards. */
static churn__win_api churn__win;
static INIT_ONCE churn__win_once = INIT_ONCE_STATIC_INIT;

/* GetProcAddress returns FARPROC; going through a union avoids the cast warnings that
   -Wcast-function-type and C++ give for a direct function-pointer cast. */
CHURN__PRIV void churn__win_sym(HMODULE m, const char *name, void *slot, size_t size) {
    union { FARPROC f; void *p; } u;
    u.f = m ? GetProcAddress(m, name) : NULL;
    if (u.f && size == sizeof u.f) memcpy(slot, &u.f, size);
}
#define CHURN__WIN_SYM(mod, fn) churn__win_sym(mod, #fn, &churn__win.fn, sizeof churn__win.fn)

CHURN__PRIV BOOL CALLBACK churn__win_load(PINIT_ONCE once, PVOID param, PVOID *context) {
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    HMODULE k32 = GetModuleHandleW(L"kernel32.dll");
    HMODULE iphlp = LoadLibraryW(L"iphlpapi.dll");
    HMODULE user32 = LoadLibraryW(L"user32.dll");
    (void)once; (void)param; (void)context;
    CHURN__WIN_SYM(ntdll, NtQuerySystemInformation);
    CHURN__WIN_SYM(ntdll, NtQueryInformationProcess);
    CHURN__WIN_SYM(ntdll, NtQueryObject);
    CHURN__WIN_SYM(ntdll, RtlGetVersion);
    CHURN__WIN_SYM(iphlp, GetExtendedTcpTable);
    CHURN__WIN_SYM(user32, GetGuiResources);
    CHURN__WIN_SYM(k32, GetThreadDescription);
    churn__win_sym(k32, "K32GetProcessMemoryInfo", &churn__win.GetProcessMemoryInfo, sizeof churn__win.GetProcessMemoryInfo);
    if (!churn__win.GetProcessMemoryInfo)
        churn__win_sym(LoadLibraryW(L"psapi.dll"), "GetProcessMemoryInfo", &churn__win.GetProcessMemoryInfo,
                       sizeof churn__win.GetProcessMemoryInfo);
    /* First calls may open handles these modules keep (the window station and desktop for
       user32, the NSI device for iphlpapi): make them here, before any handle count. */
    if (churn__win.GetGuiResources) churn__win.GetGuiResources(GetCurrentProcess(), 0);
    if (churn__win.GetExtendedTcpTable && !GetProcAddress(ntdll, "wine_get_version")) {
        /* (not under wine: its table opens no handle, and building it costs seconds there) */
        DWORD size = 0;
        churn__win.GetExtendedTcpTable(NULL, &size, FALSE, AF_INET, TCP_TABLE_OWNER_PID_ALL, 0);
    }
    return TRUE;
}

CHURN__PRIV const churn__win_api *churn__win_api_get(void) {
    InitOnceExecuteOnce(&churn__win_once, churn__win_load, NULL, NULL);
    return &churn__win;
}

/* ---- clock, pid, errors ---- */
CHURN__PRIV long churn__os_pid(void) { return (long)GetCurrentProcessId(); }

CHURN__PRIV double churn__os_now(void) {
    LARGE_INTEGER f, c;
    QueryPerformanceFrequency(&f); /* fixed at boot; cheap */
    QueryPerformanceCounter(&c);
    return (double)c.QuadPart / (double)f.QuadPart;
}
CHURN__PRIV double churn__os_wall(void) {
    FILETIME ft;
    ULARGE_INTEGER u;
    GetSystemTimeAsFileTime(&ft);
    u.LowPart = ft.dwLowDateTime;
    u.HighPart = ft.dwHighDateTime;
    return (double)(u.QuadPart - 116444736000000000ULL) * 1e-7; /* 100 ns since 1601 -> s since 1970 */
}
CHURN__PRIV void churn__os_sleep_ms(int ms) {
    if (ms > 0) Sleep((DWORD)ms);
}

CHURN__PRIV int churn__win_error_code(DWORD e) {
    switch (e) {
        case ERROR_INVALID_PARAMETER: return CHURN_E_NOPROC; /* OpenProcess of an unknown pid */
        case ERROR_ACCESS_DENIED: case ERROR_PRIVILEGE_NOT_HELD: return CHURN_E_PERM;
        case ERROR_NOT_ENOUGH_MEMORY: case ERROR_OUTOFMEMORY: return CHURN_E_NOMEM;
        default: return CHURN_E_IO;
    }
}

/* Opens pid with the first access set the OS grants; CHURN_OK and *h, or an error code. */
CHURN__PRIV int churn__win_open(long pid, DWORD want, DWORD fallback, HANDLE *h) {
    DWORD code = 0;
    *h = OpenProcess(want, FALSE, (DWORD)pid);
    if (!*h && fallback) *h = OpenProcess(fallback, FALSE, (DWORD)pid);
    if (!*h) return churn__win_error_code(GetLastError());
    /* a pid whose process exited but is still referenced opens fine: it is gone for us */
    if (GetExitCodeProcess(*h, &code) && code != STILL_ACTIVE) {
        CloseHandle(*h);
        *h = NULL;
        return CHURN_E_NOPROC;
    }
    return CHURN_OK;
}

CHURN__PRIV int churn__win_alive(HANDLE h) {
    DWORD code = 0;
    return !GetExitCodeProcess(h, &code) || code == STILL_ACTIVE;
}

/* The system handle table (SystemExtendedHandleInformation); caller frees. */
CHURN__PRIV churn__nt_handle_table *churn__win_handle_table(void) {
    const churn__win_api *api = churn__win_api_get();
    ULONG size = 1u << 20;
    if (!api->NtQuerySystemInformation) return NULL;
    for (;;) {
        ULONG need = 0;
        churn__ntstatus st;
        churn__nt_handle_table *t = (churn__nt_handle_table *)CHURN_MALLOC(size);
        if (!t) return NULL;
        st = api->NtQuerySystemInformation(CHURN__SYSTEM_EXTENDED_HANDLE_INFORMATION, t, size, &need);
        if (CHURN__NT_OK(st)) return t;
        CHURN_FREE(t);
        if (st != CHURN__STATUS_INFO_LENGTH_MISMATCH && st != CHURN__STATUS_BUFFER_TOO_SMALL &&
            st != CHURN__STATUS_BUFFER_OVERFLOW)
            return NULL;
        if (size >= (1u << 30)) return NULL;
        size = need > size ? need + (need >> 3) : size * 2; /* the table grows meanwhile */
    }
}

CHURN__PRIV long long churn__win_table_count(long pid) {
    churn__nt_handle_table *t = churn__win_handle_table();
    long long n = 0;
    ULONG_PTR i;
    if (!t) return CHURN_UNKNOWN;
    for (i = 0; i < t->NumberOfHandles; i++)
        if (t->Handles[i].UniqueProcessId == (ULONG_PTR)pid) n++;
    CHURN_FREE(t);
    return n;
}

/* ---- TCP table: the pid's rows, IPv4 and IPv6 ---- */
CHURN__PRIV int churn__win_tcp_state(DWORD mib) {
    switch (mib) { /* MIB_TCP_STATE_* -> the kernel-style numbers of churn__tcp_state_names */
        case MIB_TCP_STATE_ESTAB: return 1;
        case MIB_TCP_STATE_SYN_SENT: return 2;
        case MIB_TCP_STATE_SYN_RCVD: return 3;
        case MIB_TCP_STATE_FIN_WAIT1: return 4;
        case MIB_TCP_STATE_FIN_WAIT2: return 5;
        case MIB_TCP_STATE_TIME_WAIT: return CHURN__TCP_TIME_WAIT;
        case MIB_TCP_STATE_CLOSE_WAIT: return CHURN__TCP_CLOSE_WAIT;
        case MIB_TCP_STATE_LAST_ACK: return 9;
        case MIB_TCP_STATE_LISTEN: return CHURN__TCP_LISTEN;
        case MIB_TCP_STATE_CLOSING: return 11;
        default: return CHURN__TCP_CLOSE; /* CLOSED, DELETE_TCB */
    }
}

/* Appends the TCP rows owned by pid (pid < 0: every row) to out. */
CHURN__PRIV int churn__win_tcp_rows(long pid, churn__sock_table *out) {
    const churn__win_api *api = churn__win_api_get();
    int f;
    if (!api->GetExtendedTcpTable) return CHURN_E_UNSUPPORTED;
    for (f = 0; f < 2; f++) {
        ULONG family = f == 0 ? AF_INET : AF_INET6;
        DWORD size = 0, rc = 0, i;
        void *buf = NULL;
        int tries;
        for (tries = 0; tries < 8; tries++) {
            rc = api->GetExtendedTcpTable(buf, &size, FALSE, family, TCP_TABLE_OWNER_PID_ALL, 0);
            if (rc != ERROR_INSUFFICIENT_BUFFER) break;
            CHURN_FREE(buf);
            size += 4096; /* rows come and go between the calls */
            buf = CHURN_MALLOC(size);
            if (!buf) return CHURN_E_NOMEM;
        }
        if (rc != NO_ERROR) {
            CHURN_FREE(buf);
            if (f == 1 && (rc == ERROR_NOT_SUPPORTED || rc == ERROR_INVALID_PARAMETER)) break; /* no IPv6 */
            return rc == ERROR_NOT_ENOUGH_MEMORY ? CHURN_E_NOMEM : CHURN_E_IO;
        }
        if (!buf) continue;
        if (f == 0) {
            const MIB_TCPTABLE_OWNER_PID *t = (const MIB_TCPTABLE_OWNER_PID *)buf;
            for (i = 0; i < t->dwNumEntries; i++) {
                const MIB_TCPROW_OWNER_PID *r = &t->table[i];
                churn__sock_entry *e;
                if (pid >= 0 && r->dwOwningPid != (DWORD)pid) continue;
                e = churn__sock_add(out);
                if (!e) { CHURN_FREE(buf); return CHURN_E_NOMEM; }
                e->proto = 't';
                e->family = 4;
                e->state = churn__win_tcp_state(r->dwState);
                memcpy(e->laddr, &r->dwLocalAddr, 4);
                memcpy(e->raddr, &r->dwRemoteAddr, 4);
                e->lport = ntohs((u_short)r->dwLocalPort);
                e->rport = ntohs((u_short)r->dwRemotePort);
                e->wqueue = CHURN_UNKNOWN;
                e->inode = r->dwOwningPid;
            }
        } else {
            const MIB_TCP6TABLE_OWNER_PID *t = (const MIB_TCP6TABLE_OWNER_PID *)buf;
            for (i = 0; i < t->dwNumEntries; i++) {
                const MIB_TCP6ROW_OWNER_PID *r = &t->table[i];
                churn__sock_entry *e;
                if (pid >= 0 && r->dwOwningPid != (DWORD)pid) continue;
                e = churn__sock_add(out);
                if (!e) { CHURN_FREE(buf); return CHURN_E_NOMEM; }
                e->proto = 't';
                e->family = 6;
                e->state = churn__win_tcp_state(r->dwState);
                memcpy(e->laddr, r->ucLocalAddr, 16);
                memcpy(e->raddr, r->ucRemoteAddr, 16);
                e->lport = ntohs((u_short)r->dwLocalPort);
                e->rport = ntohs((u_short)r->dwRemotePort);
                e->wqueue = CHURN_UNKNOWN;
                e->inode = r->dwOwningPid;
            }
        }
        CHURN_FREE(buf);
    }
    return CHURN_OK;
}

/* ---- snapshot ---- */
CHURN__PRIV unsigned churn__os_cheap_metrics(void) {
    /* O(1) per process: handle count, VM counters, GUI counts. Threads take one Toolhelp32
       snapshot of the system (about a millisecond): sampled anyway, so in-run peaks of the
       thread count are seen, as on Linux. */
    return CHURN_METRIC_BIT(CHURN_METRIC_HANDLES) | CHURN_METRIC_BIT(CHURN_METRIC_THREADS) |
           CHURN_METRIC_BIT(CHURN_METRIC_RSS_BYTES) | CHURN_METRIC_BIT(CHURN_METRIC_PRIVATE_BYTES) |
           CHURN_METRIC_BIT(CHURN_METRIC_VIRTUAL_BYTES) | CHURN_METRIC_BIT(CHURN_METRIC_GDI_OBJECTS) |
           CHURN_METRIC_BIT(CHURN_METRIC_USER_OBJECTS);
}

CHURN__PRIV long long churn__win_filetime(const FILETIME *ft) {
    return (long long)(((unsigned long long)ft->dwHighDateTime << 32) | ft->dwLowDateTime);
}

/* Threads and children from one Toolhelp32 snapshot; the snapshot handle is closed here. */
CHURN__PRIV int churn__win_toolhelp(long pid, HANDLE proc, int want_threads, int want_children,
                                    long long *threads, long long *children) {
    DWORD flags = (want_threads ? TH32CS_SNAPTHREAD : 0) | (want_children ? TH32CS_SNAPPROCESS : 0);
    HANDLE snap = CreateToolhelp32Snapshot(flags, 0);
    long long nt = 0, nc = 0;
    FILETIME pc, x1, x2, x3;
    int have_pc = proc && GetProcessTimes(proc, &pc, &x1, &x2, &x3);
    if (snap == INVALID_HANDLE_VALUE) return churn__win_error_code(GetLastError());
    if (want_threads) {
        THREADENTRY32 te;
        te.dwSize = sizeof te;
        if (Thread32First(snap, &te)) {
            do {
                if (te.th32OwnerProcessID == (DWORD)pid) nt++;
                te.dwSize = sizeof te;
            } while (Thread32Next(snap, &te));
        }
        *threads = nt;
    }
    if (want_children) {
        PROCESSENTRY32W pe;
        pe.dwSize = sizeof pe;
        if (Process32FirstW(snap, &pe)) {
            do {
                if (pe.th32ParentProcessID == (DWORD)pid && pe.th32ProcessID != (DWORD)pid && pe.th32ProcessID != 0) {
                    /* parent pids are not cleared when the parent exits: a child older than
                       this process belongs to an earlier owner of the pid */
                    int mine = 1;
                    HANDLE c = have_pc ? OpenProcess(PROCESS_QUERY_LIMITED_INFORMATION, FALSE, pe.th32ProcessID) : NULL;
                    if (c) {
                        FILETIME cc;
                        if (GetProcessTimes(c, &cc, &x1, &x2, &x3) && churn__win_filetime(&cc) < churn__win_filetime(&pc))
                            mine = 0;
                        if (!churn__win_alive(c)) mine = 0;
                        CloseHandle(c);
                    }
                    nc += mine;
                }
                pe.dwSize = sizeof pe;
            } while (Process32NextW(snap, &pe));
        }
        *children = nc;
    }
    CloseHandle(snap);
    return CHURN_OK;
}

/* Committed + reserved address space, by walking the regions (needs PROCESS_QUERY_INFORMATION). */
CHURN__PRIV long long churn__win_vm_walk(HANDLE h) {
    MEMORY_BASIC_INFORMATION mbi;
    unsigned char *p = NULL;
    long long total = 0;
    size_t n;
    while ((n = VirtualQueryEx(h, p, &mbi, sizeof mbi)) == sizeof mbi) {
        unsigned char *next = (unsigned char *)mbi.BaseAddress + mbi.RegionSize;
        if (mbi.State != MEM_FREE) total += (long long)mbi.RegionSize;
        if (next <= p) break;
        p = next;
    }
    return total > 0 ? total : CHURN_UNKNOWN;
}

CHURN__PRIV int churn__win_own_sockets(int want_close_wait, long long *sockets, long long *close_wait);
CHURN__PRIV void churn__win_type_name(HANDLE h, char *out, size_t cap);

/* Zombies, Windows' analogue: exited child processes whose process objects the pid still
   holds handles to. As a zombie keeps its exit status until waitpid, an exited process stays
   (exit code, pid reserved) while any handle to it is open; CreateProcess without closing
   PROCESS_INFORMATION.hProcess is the leak this counts. Children are the processes whose
   parent pid is the pid; each exited child counts once however many handles name it.
   Another pid needs PROCESS_DUP_HANDLE; without it the metric is unknown. */
typedef struct churn__nt_basic_info { /* PROCESS_BASIC_INFORMATION */
    LONG_PTR ExitStatus;
    PVOID PebBaseAddress;
    ULONG_PTR AffinityMask;
    LONG_PTR BasePriority;
    ULONG_PTR UniqueProcessId;
    ULONG_PTR InheritedFromUniqueProcessId;
} churn__nt_basic_info;
#define CHURN__PROCESS_BASIC_INFORMATION 0

CHURN__PRIV int churn__win_zombies(long pid, int self, long long *zombies) {
    const churn__win_api *api = churn__win_api_get();
    churn__nt_handle_table *tab;
    HANDLE src = NULL, me = GetCurrentProcess();
    ULONG_PTR i, seen[64];
    USHORT not_process[64];
    int n_seen = 0, n_not = 0, process_index = -1, rc = CHURN_OK;
    long long n = 0;
    if (!api->NtQueryInformationProcess) return CHURN_E_UNSUPPORTED;
    if (!self) {
        src = OpenProcess(PROCESS_DUP_HANDLE, FALSE, (DWORD)pid);
        if (!src) return churn__win_error_code(GetLastError());
    }
    tab = churn__win_handle_table();
    if (!tab) { if (src) CloseHandle(src); return CHURN_E_UNSUPPORTED; }
    for (i = 0; i < tab->NumberOfHandles; i++) {
        const churn__nt_handle_entry *e = &tab->Handles[i];
        HANDLE h = NULL;
        DWORD code = 0;
        churn__nt_basic_info bi;
        ULONG got = 0;
        int j, known = 0;
        if (e->UniqueProcessId != (ULONG_PTR)pid) continue;
        if (process_index >= 0 && e->ObjectTypeIndex != (USHORT)process_index) continue;
        for (j = 0; j < n_not; j++) if (not_process[j] == e->ObjectTypeIndex) known = 1;
        if (known) continue;
        if (self) h = (HANDLE)e->HandleValue;
        else if (!DuplicateHandle(src, (HANDLE)e->HandleValue, me, &h, PROCESS_QUERY_LIMITED_INFORMATION, FALSE, 0) &&
                 !DuplicateHandle(src, (HANDLE)e->HandleValue, me, &h, 0, FALSE, DUPLICATE_SAME_ACCESS))
            continue;
        if (process_index < 0) {
            char type[32];
            churn__win_type_name(h, type, sizeof type);
            if (strcmp(type, "Process") != 0) {
                if (type[0] && n_not < CHURN__ARRAY_LEN(not_process)) not_process[n_not++] = e->ObjectTypeIndex;
                if (!self) CloseHandle(h);
                continue;
            }
            process_index = e->ObjectTypeIndex;
        }
        memset(&bi, 0, sizeof bi);
        if (GetExitCodeProcess(h, &code) && code != STILL_ACTIVE &&
            CHURN__NT_OK(api->NtQueryInformationProcess(h, CHURN__PROCESS_BASIC_INFORMATION, &bi, sizeof bi, &got)) &&
            bi.InheritedFromUniqueProcessId == (ULONG_PTR)pid && bi.UniqueProcessId != (ULONG_PTR)pid) {
            for (j = 0; j < n_seen; j++) if (seen[j] == bi.UniqueProcessId) break;
            if (j == n_seen) {
                n++;
                if (n_seen < CHURN__ARRAY_LEN(seen)) seen[n_seen++] = bi.UniqueProcessId;
            }
        }
        if (!self) CloseHandle(h);
    }
    CHURN_FREE(tab);
    if (src) CloseHandle(src);
    *zombies = n;
    return rc;
}

/* Every masked metric of pid through h, a handle to it (GetCurrentProcess() for self). */
CHURN__PRIV void churn__win_snapshot_h(long pid, HANDLE h, int self, unsigned mask, churn_snapshot *out) {
    const churn__win_api *api = churn__win_api_get(); /* before any count: see churn__win_load */
    unsigned mem_mask = CHURN_METRIC_BIT(CHURN_METRIC_RSS_BYTES) | CHURN_METRIC_BIT(CHURN_METRIC_PRIVATE_BYTES) |
                        CHURN_METRIC_BIT(CHURN_METRIC_VIRTUAL_BYTES);
    if (CHURN__WANT(mask, CHURN_METRIC_HANDLES)) {
        DWORD n = 0;
        if (GetProcessHandleCount(h, &n) && n > 0) out->value[CHURN_METRIC_HANDLES] = (long long)n;
        else out->value[CHURN_METRIC_HANDLES] = churn__win_table_count(pid); /* unknown when it fails */
    }

    if (mask & mem_mask) {
        churn__nt_vm_counters vm;
        ULONG got = 0;
        long long rss = CHURN_UNKNOWN, priv = CHURN_UNKNOWN, virt = CHURN_UNKNOWN;
        memset(&vm, 0, sizeof vm);
        if (api->NtQueryInformationProcess &&
            CHURN__NT_OK(api->NtQueryInformationProcess(h, CHURN__PROCESS_VM_COUNTERS, &vm, sizeof vm, &got))) {
            rss = (long long)vm.WorkingSetSize;
            priv = (long long)(vm.PrivateUsage ? vm.PrivateUsage : vm.PagefileUsage);
            if (vm.VirtualSize) virt = (long long)vm.VirtualSize;
        } else if (api->GetProcessMemoryInfo) {
            churn__pmc_ex pm;
            memset(&pm, 0, sizeof pm);
            pm.cb = sizeof pm;
            if (api->GetProcessMemoryInfo(h, &pm, sizeof pm)) {
                rss = (long long)pm.WorkingSetSize;
                priv = (long long)(pm.PrivateUsage ? pm.PrivateUsage : pm.PagefileUsage);
            }
        }
        if (virt == CHURN_UNKNOWN && CHURN__WANT(mask, CHURN_METRIC_VIRTUAL_BYTES)) {
            /* the region walk needs PROCESS_QUERY_INFORMATION: a second, short-lived handle */
            HANDLE q = self ? h : OpenProcess(PROCESS_QUERY_INFORMATION, FALSE, (DWORD)pid);
            if (q) {
                virt = churn__win_vm_walk(q);
                if (q != h) CloseHandle(q);
            }
        }
        if (rss == 0) rss = CHURN_UNKNOWN; /* a live process always has a working set */
        if (priv == 0) priv = CHURN_UNKNOWN;
        if (CHURN__WANT(mask, CHURN_METRIC_RSS_BYTES)) out->value[CHURN_METRIC_RSS_BYTES] = rss;
        if (CHURN__WANT(mask, CHURN_METRIC_PRIVATE_BYTES)) out->value[CHURN_METRIC_PRIVATE_BYTES] = priv;
        if (CHURN__WANT(mask, CHURN_METRIC_VIRTUAL_BYTES)) out->value[CHURN_METRIC_VIRTUAL_BYTES] = virt;
    }

    if ((CHURN__WANT(mask, CHURN_METRIC_GDI_OBJECTS) || CHURN__WANT(mask, CHURN_METRIC_USER_OBJECTS)) &&
        api->GetGuiResources) {
        int k;
        for (k = 0; k < 2; k++) {
            int m = k == 0 ? CHURN_METRIC_GDI_OBJECTS : CHURN_METRIC_USER_OBJECTS;
            DWORD v;
            if (!CHURN__WANT(mask, m)) continue;
            SetLastError(0);
            v = api->GetGuiResources(h, k == 0 ? 0 /* GR_GDIOBJECTS */ : 1 /* GR_USEROBJECTS */);
            /* 0 with an error (ERROR_CALL_NOT_IMPLEMENTED on wine, access denied) is unknown */
            if (v > 0 || GetLastError() == 0) out->value[m] = (long long)v;
        }
    }

    if (CHURN__WANT(mask, CHURN_METRIC_THREADS) || CHURN__WANT(mask, CHURN_METRIC_CHILDREN)) {
        long long nt = CHURN_UNKNOWN, nc = CHURN_UNKNOWN;
        if (churn__win_toolhelp(pid, h, CHURN__WANT(mask, CHURN_METRIC_THREADS), CHURN__WANT(mask, CHURN_METRIC_CHILDREN),
                                &nt, &nc) == CHURN_OK) {
            if (CHURN__WANT(mask, CHURN_METRIC_THREADS) && nt > 0) out->value[CHURN_METRIC_THREADS] = nt;
            if (CHURN__WANT(mask, CHURN_METRIC_CHILDREN)) out->value[CHURN_METRIC_CHILDREN] = nc;
        }
    }

    if (CHURN__WANT(mask, CHURN_METRIC_SOCKETS) || CHURN__WANT(mask, CHURN_METRIC_CLOSE_WAIT)) {
        long long ns = 0, cw = 0;
        int i, ok = 1;
        if (self) {
            /* our own sockets through our handles, matched to TCP rows by endpoints: exact
               even where the table's owner pids are not (wine) */
            ok = churn__win_own_sockets(CHURN__WANT(mask, CHURN_METRIC_CLOSE_WAIT), &ns, &cw) == CHURN_OK;
        } else {
            churn__sock_table t;
            memset(&t, 0, sizeof t);
            ok = churn__win_tcp_rows(-1, &t) == CHURN_OK;
            for (i = 0; ok && i < t.count; i++) {
                /* a live row without an owner (wine): another process's share is unknown */
                if (t.items[i].state != CHURN__TCP_TIME_WAIT && t.items[i].inode == 0) ok = 0;
                if (t.items[i].inode != (unsigned long long)pid) continue;
                ns++;
                if (t.items[i].state == CHURN__TCP_CLOSE_WAIT) cw++;
            }
            CHURN_FREE(t.items);
        }
        if (ok && CHURN__WANT(mask, CHURN_METRIC_SOCKETS)) out->value[CHURN_METRIC_SOCKETS] = ns;
        if (ok && CHURN__WANT(mask, CHURN_METRIC_CLOSE_WAIT)) out->value[CHURN_METRIC_CLOSE_WAIT] = cw;
    }
    if (CHURN__WANT(mask, CHURN_METRIC_ZOMBIES)) {
        long long nz = CHURN_UNKNOWN;
        if (churn__win_zombies(pid, self, &nz) == CHURN_OK) out->value[CHURN_METRIC_ZOMBIES] = nz;
    }
    /* send_queue_bytes: no honest source on Windows; it stays CHURN_UNKNOWN. */
}

CHURN__PRIV int churn__os_snapshot(long pid, unsigned mask, churn_snapshot *out) {
    int self = pid == churn__os_pid(), rc = CHURN_OK;
    HANDLE h = GetCurrentProcess(); /* self: a pseudo-handle, nothing to close, nothing counted */
    /* another pid: the handle we open is in our table, not in theirs */
    if (!self) {
        rc = churn__win_open(pid, PROCESS_QUERY_LIMITED_INFORMATION, 0, &h); /* enough for all but the VM walk */
        if (rc != CHURN_OK) return rc;
    }
    churn__win_snapshot_h(pid, h, self, mask, out);
    if (!self) {
        if (!churn__win_alive(h)) rc = CHURN_E_NOPROC; /* exited while we read */
        CloseHandle(h);
    }
    return rc;
}

/* Samplers keep the process handle: the process object, and so its pid, cannot be reused
   while we hold it, and an exit shows as NOPROC on the next sample. */
CHURN__PRIV int churn__os_sampler_open(churn_sampler *s) {
    HANDLE h = NULL;
    int rc;
    if (s->pid == churn__os_pid()) return CHURN_OK; /* the pseudo-handle, held by nobody */
    rc = churn__win_open(s->pid, PROCESS_QUERY_LIMITED_INFORMATION, 0, &h);
    if (rc != CHURN_OK) return rc;
    if (!churn__win_alive(h)) { CloseHandle(h); return CHURN_E_NOPROC; }
    s->os_handle = (void *)h;
    s->own_fds = 1;
    return CHURN_OK;
}

CHURN__PRIV int churn__os_sampler_take(churn_sampler *s, unsigned mask, churn_snapshot *out) {
    HANDLE h = s->os_handle ? (HANDLE)s->os_handle : GetCurrentProcess();
    if (s->os_handle && !churn__win_alive(h)) return CHURN_E_NOPROC;
    churn__win_snapshot_h(s->pid, h, !s->os_handle, mask, out);
    /* exited while we read (Toolhelp and the TCP table go by pid number) */
    return s->os_handle && !churn__win_alive(h) ? CHURN_E_NOPROC : CHURN_OK;
}

CHURN__PRIV void churn__os_sampler_close(churn_sampler *s) {
    if (s->os_handle) CloseHandle((HANDLE)s->os_handle);
    s->os_handle = NULL;
    s->own_fds = 0;
}

/* ---- inventory ---- */
CHURN__PRIV void churn__win_utf8(char *out, size_t cap, const WCHAR *w, int wlen) {
    int n;
    if (cap == 0) return;
    out[0] = '\0';
    if (!w || wlen == 0) return;
    n = WideCharToMultiByte(CP_UTF8, 0, w, wlen, out, (int)(cap - 1), NULL, NULL);
    if (n <= 0) {
        /* too long for out: convert whole, then cut at a character boundary */
        int need = WideCharToMultiByte(CP_UTF8, 0, w, wlen, NULL, 0, NULL, NULL);
        char *tmp = need > 0 ? (char *)CHURN_MALLOC((size_t)need + 1) : NULL;
        size_t k;
        if (!tmp) return;
        n = WideCharToMultiByte(CP_UTF8, 0, w, wlen, tmp, need, NULL, NULL);
        if (n < 0) n = 0;
        k = (size_t)n < cap - 1 ? (size_t)n : cap - 1;
        while (k > 0 && k < (size_t)n && ((unsigned char)tmp[k] & 0xC0) == 0x80) k--;
        memcpy(out, tmp, k);
        out[k] = '\0';
        CHURN_FREE(tmp);
        return;
    }
    out[n] = '\0';
}

/* Object type name of one handle (valid in our process) into out; "" when unknown. */
CHURN__PRIV void churn__win_type_name(HANDLE h, char *out, size_t cap) {
    const churn__win_api *api = churn__win_api_get();
    ULONG_PTR buf_storage[128]; /* 1 KiB, aligned */
    ULONG got = 0;
    out[0] = '\0';
    if (!api->NtQueryObject) return;
    if (CHURN__NT_OK(api->NtQueryObject(h, CHURN__OBJECT_TYPE_INFORMATION, buf_storage, sizeof buf_storage, &got))) {
        const churn__nt_ustr *u = (const churn__nt_ustr *)(void *)buf_storage;
        if (u->Buffer) churn__win_utf8(out, cap, u->Buffer, (int)(u->Length / sizeof(WCHAR)));
    }
}

/* Kernel object name (not for File objects: see churn__win_name_job). */
CHURN__PRIV void churn__win_object_name(HANDLE h, char *out, size_t cap) {
    const churn__win_api *api = churn__win_api_get();
    ULONG_PTR buf_storage[256]; /* 2 KiB */
    ULONG got = 0;
    out[0] = '\0';
    if (!api->NtQueryObject) return;
    if (CHURN__NT_OK(api->NtQueryObject(h, CHURN__OBJECT_NAME_INFORMATION, buf_storage, sizeof buf_storage, &got))) {
        const churn__nt_ustr *u = (const churn__nt_ustr *)(void *)buf_storage;
        if (u->Buffer && u->Length) churn__win_utf8(out, cap, u->Buffer, (int)(u->Length / sizeof(WCHAR)));
    }
}

/* Names of File handles are queried on a helper thread with a deadline: a name query on
   a synchronous file object waits behind any synchronous I/O pending on it (a pipe read
   blocked forever hangs the query forever). The helper owns duplicated handles and the
   job; the last of caller and helper to let go frees it, so an abandoned query costs one
   stuck helper thread (in the caller's process), never a hang. */
typedef struct churn__win_name_item {
    HANDLE dup;                 /* owned by the job */
    int kind;                   /* 0: path of a disk file, 1: object name, 2: socket probe */
    char name[200];
    ULONG_PTR raw;              /* kind 2: our own handle value, probed as is (Winsock does not
                                   take a DuplicateHandle copy of a socket for a socket) */
    int sock_type;              /* kind 2: SO_TYPE (SOCK_STREAM, ...), 0: not a socket */
    int bound, has_peer;
    int is_dir;                 /* kind 0: the path is a directory */
    churn__sock_entry ep;       /* kind 2: family, local and remote endpoints */
} churn__win_name_item;
typedef struct churn__win_name_job {
    volatile LONG refs;
    volatile LONG done;         /* items finished, in order */
    int count;
    churn__win_name_item *items;
} churn__win_name_job;

CHURN__PRIV void churn__win_name_job_release(churn__win_name_job *j) {
    int i;
    if (InterlockedDecrement(&j->refs) != 0) return;
    for (i = 0; i < j->count; i++) if (j->items[i].dup) CloseHandle(j->items[i].dup);
    CHURN_FREE(j->items);
    CHURN_FREE(j);
}

/* Socket probe (on the helper thread: on a handle that is really a synchronous pipe a
   Winsock call may wait behind pending I/O). Fills the type and the endpoints. */
CHURN__PRIV void churn__win_probe_socket(SOCKET s, churn__win_name_item *it) {
    struct sockaddr_storage la, ra;
    int llen = (int)sizeof la, rlen = (int)sizeof ra, type = 0, tlen = (int)sizeof type;
    churn__sock_entry *e = &it->ep;
    if (getsockopt(s, SOL_SOCKET, SO_TYPE, (char *)&type, &tlen) != 0 || type == 0) return;
    memset(e, 0, sizeof *e);
    e->proto = type == SOCK_DGRAM ? 'u' : 't';
    e->state = CHURN__TCP_CLOSE;
    e->family = 4;
    if (getsockname(s, (struct sockaddr *)&la, &llen) == 0) {
        memset(&ra, 0, sizeof ra);
        if (getpeername(s, (struct sockaddr *)&ra, &rlen) != 0) rlen = 0;
        if (la.ss_family == AF_INET6) {
            const struct sockaddr_in6 *l6 = (const struct sockaddr_in6 *)(const void *)&la;
            const struct sockaddr_in6 *r6 = (const struct sockaddr_in6 *)(const void *)&ra;
            e->family = 6;
            memcpy(e->laddr, &l6->sin6_addr, 16);
            e->lport = ntohs(l6->sin6_port);
            if (rlen) { memcpy(e->raddr, &r6->sin6_addr, 16); e->rport = ntohs(r6->sin6_port); }
        } else {
            const struct sockaddr_in *l4 = (const struct sockaddr_in *)(const void *)&la;
            const struct sockaddr_in *r4 = (const struct sockaddr_in *)(const void *)&ra;
            memcpy(e->laddr, &l4->sin_addr, 4);
            e->lport = ntohs(l4->sin_port);
            if (rlen) { memcpy(e->raddr, &r4->sin_addr, 4); e->rport = ntohs(r4->sin_port); }
        }
        it->bound = 1;
        it->has_peer = rlen > 0;
    }
    it->sock_type = type;
}

/* The TCP row of a probed socket (by its 4-tuple; a listener by its local end), or NULL. */
CHURN__PRIV const churn__sock_entry *churn__win_match_row(const churn__win_name_item *it, const churn__sock_table *rows) {
    int i;
    size_t alen = it->ep.family == 6 ? 16 : 4;
    if (!rows || it->sock_type != SOCK_STREAM || !it->bound) return NULL;
    for (i = 0; i < rows->count; i++) {
        const churn__sock_entry *r = &rows->items[i];
        if (r->family != it->ep.family || r->lport != it->ep.lport || memcmp(r->laddr, it->ep.laddr, alen) != 0) continue;
        if (it->has_peer) {
            if (r->rport != it->ep.rport || memcmp(r->raddr, it->ep.raddr, alen) != 0) continue;
            if (r->state == CHURN__TCP_LISTEN || r->state == CHURN__TCP_TIME_WAIT) continue;
        } else if (r->state != CHURN__TCP_LISTEN) {
            continue;
        }
        return r;
    }
    return NULL;
}

CHURN__PRIV void churn__win_describe_probe(const churn__win_name_item *it, const churn__sock_table *rows, char *out, size_t cap) {
    churn__sock_entry e = it->ep;
    const churn__sock_entry *r = churn__win_match_row(it, rows);
    const char *proto = it->sock_type == SOCK_DGRAM ? "udp" : "tcp";
    if (it->sock_type != SOCK_STREAM && it->sock_type != SOCK_DGRAM) { snprintf(out, cap, "socket type %d", it->sock_type); return; }
    if (!it->bound) { snprintf(out, cap, "%s (unbound)", proto); return; }
    if (r) e.state = r->state;
    else if (e.proto == 't') e.state = it->has_peer ? CHURN__TCP_ESTABLISHED : CHURN__TCP_CLOSE;
    churn__sock_describe(&e, out, cap);
}

CHURN__PRIV DWORD WINAPI churn__win_name_thread(LPVOID arg) {
    churn__win_name_job *j = (churn__win_name_job *)arg;
    WCHAR w[512];
    int i;
    for (i = 0; i < j->count; i++) {
        churn__win_name_item *it = &j->items[i];
        it->name[0] = '\0';
        if (it->kind == 0) {
            DWORD n = GetFinalPathNameByHandleW(it->dup, w, (DWORD)(sizeof w / sizeof w[0]), 0);
            if (n > 0 && n < sizeof w / sizeof w[0]) {
                const WCHAR *p = w;
                if (n >= 4 && w[0] == L'\\' && w[1] == L'\\' && w[2] == L'?' && w[3] == L'\\') { p += 4; n -= 4; }
                churn__win_utf8(it->name, sizeof it->name, p, (int)n);
            }
            {
                FILE_BASIC_INFO bi;
                if (GetFileInformationByHandleEx(it->dup, FileBasicInfo, &bi, sizeof bi) &&
                    (bi.FileAttributes & FILE_ATTRIBUTE_DIRECTORY))
                    it->is_dir = 1;
            }
        } else if (it->kind == 1) {
            churn__win_object_name(it->dup, it->name, sizeof it->name);
        } else {
            churn__win_probe_socket((SOCKET)it->raw, it);
        }
        InterlockedIncrement(&j->done);
    }
    churn__win_name_job_release(j);
    return 0;
}

/* Runs the job with an overall deadline; returns the number of items answered. */
CHURN__PRIV int churn__win_name_run(churn__win_name_job *j, int total_ms) {
    HANDLE th;
    LONG last = -1;
    double start = churn__os_now(), progress_at = start;
    int answered;
    if (j->count == 0) return 0;
    j->refs = 2;
    th = CreateThread(NULL, 64 * 1024, churn__win_name_thread, j, STACK_SIZE_PARAM_IS_A_RESERVATION, NULL);
    if (!th) { j->refs = 1; return 0; }
    for (;;) {
        DWORD w = WaitForSingleObject(th, 20);
        LONG d = InterlockedCompareExchange(&j->done, 0, 0);
        double now = churn__os_now();
        if (w == WAIT_OBJECT_0) break;
        if (d != last) { last = d; progress_at = now; }
        /* stuck: one item took 500 ms, or the whole job ran out of time */
        if (now - progress_at > 0.5 || now - start > total_ms / 1000.0) break;
    }
    answered = (int)InterlockedCompareExchange(&j->done, 0, 0); /* items before `done` are complete */
    CloseHandle(th);
    return answered;
}

CHURN__PRIV void churn__win_lower_kind(char *kind, size_t cap, const char *type) {
    size_t i;
    for (i = 0; type[i] && i + 1 < cap; i++) {
        char c = type[i];
        kind[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    kind[i] = '\0';
}

/* Our own TCP sockets, found through our handles (Winsock probes on the helper thread) and
   matched to the TCP table by endpoints: the fallback when the table does not say who owns
   a row (wine reports owning pid 0 for every row). Unbound TCP sockets count too. */
CHURN__PRIV int churn__win_own_sockets(int want_close_wait, long long *sockets, long long *close_wait) {
    churn__nt_handle_table *tab = churn__win_handle_table();
    ULONG_PTR pid = (ULONG_PTR)churn__os_pid(), i;
    churn__win_name_job *job;
    USHORT not_file[64];
    int n_not_file = 0, file_index = -1, answered, k, rc = CHURN_OK;
    long long ns = 0, ncw = 0;
    if (!tab) return CHURN_E_UNSUPPORTED;
    job = (churn__win_name_job *)CHURN_MALLOC(sizeof *job);
    if (!job) { CHURN_FREE(tab); return CHURN_E_NOMEM; }
    memset(job, 0, sizeof *job);
    job->items = (churn__win_name_item *)CHURN_MALLOC(sizeof(*job->items) * (tab->NumberOfHandles + 1));
    if (!job->items) { CHURN_FREE(job); CHURN_FREE(tab); return CHURN_E_NOMEM; }
    for (i = 0; i < tab->NumberOfHandles; i++) {
        const churn__nt_handle_entry *e = &tab->Handles[i];
        HANDLE h = (HANDLE)e->HandleValue;
        if (e->UniqueProcessId != pid) continue;
        if (file_index >= 0 && e->ObjectTypeIndex != (USHORT)file_index) continue;
        if (file_index < 0) {
            char type[32];
            int j, known = 0;
            for (j = 0; j < n_not_file; j++) if (not_file[j] == e->ObjectTypeIndex) known = 1;
            if (known) continue;
            churn__win_type_name(h, type, sizeof type);
            if (strcmp(type, "File") != 0) {
                if (type[0] && n_not_file < CHURN__ARRAY_LEN(not_file)) not_file[n_not_file++] = e->ObjectTypeIndex;
                continue;
            }
            file_index = e->ObjectTypeIndex;
        }
        if (GetFileType(h) != FILE_TYPE_PIPE) continue;
        memset(&job->items[job->count], 0, sizeof job->items[0]);
        job->items[job->count].raw = e->HandleValue;
        job->items[job->count++].kind = 2;
    }
    CHURN_FREE(tab);
    answered = churn__win_name_run(job, 2000);
    if (answered < job->count) rc = CHURN_E_TIMEOUT;
    for (k = 0; k < answered; k++) if (job->items[k].sock_type == SOCK_STREAM) ns++;
    if (ns > 0 && want_close_wait && rc == CHURN_OK) {
        /* the system TCP table only when we hold TCP sockets: it is the costly part */
        churn__sock_table rows;
        memset(&rows, 0, sizeof rows);
        rc = churn__win_tcp_rows(-1, &rows);
        for (k = 0; rc == CHURN_OK && k < answered; k++) {
            const churn__sock_entry *r = churn__win_match_row(&job->items[k], &rows);
            if (r && r->state == CHURN__TCP_CLOSE_WAIT) ncw++;
        }
        CHURN_FREE(rows.items);
    }
    if (job->refs == 0) job->refs = 1; /* never started */
    churn__win_name_job_release(job);
    *sockets = ns;
    *close_wait = ncw;
    return rc;
}

typedef struct churn__win_type_cache {
    USHORT index[64];
    char name[64][32];
    int count;
} churn__win_type_cache;

CHURN__PRIV const char *churn__win_cached_type(const churn__win_type_cache *c, USHORT index) {
    int i;
    for (i = 0; i < c->count; i++) if (c->index[i] == index) return c->name[i];
    return NULL;
}

CHURN__PRIV int churn__win_threads(long pid, churn_inventory *out) {
    const churn__win_api *api = churn__win_api_get();
    HANDLE snap = CreateToolhelp32Snapshot(TH32CS_SNAPTHREAD, 0);
    THREADENTRY32 te;
    int cap = 0;
    if (snap == INVALID_HANDLE_VALUE) return churn__win_error_code(GetLastError());
    te.dwSize = sizeof te;
    if (Thread32First(snap, &te)) {
        do {
            churn_thread_info *t;
            if (te.th32OwnerProcessID != (DWORD)pid) { te.dwSize = sizeof te; continue; }
            if (churn__grow((void **)&out->threads, &cap, out->thread_count, sizeof(*out->threads)) != CHURN_OK) {
                CloseHandle(snap);
                return CHURN_E_NOMEM;
            }
            t = &out->threads[out->thread_count++];
            memset(t, 0, sizeof(*t));
            t->tid = (long long)te.th32ThreadID;
            if (api->GetThreadDescription) {
                HANDLE th = OpenThread(THREAD_QUERY_LIMITED_INFORMATION, FALSE, te.th32ThreadID);
                if (th) {
                    PWSTR desc = NULL;
                    if (SUCCEEDED(api->GetThreadDescription(th, &desc)) && desc) {
                        churn__win_utf8(t->name, sizeof t->name, desc, -1);
                        LocalFree(desc);
                    }
                    CloseHandle(th);
                }
            }
            te.dwSize = sizeof te;
        } while (Thread32Next(snap, &te));
    }
    CloseHandle(snap);
    return CHURN_OK;
}

CHURN__PRIV int churn__os_inventory(long pid, churn_inventory *out) {
    int self = pid == churn__os_pid();
    HANDLE proc = NULL, me = GetCurrentProcess();
    int rc, cap = 0;
    churn__nt_handle_table *tab;
    churn__sock_table tcp;
    churn__win_type_cache types;
    churn__win_name_job *job = NULL;
    int *job_slot = NULL; /* inventory index of each job item */
    ULONG_PTR i;

    if (self) {
        proc = me;
    } else {
        rc = churn__win_open(pid, PROCESS_QUERY_LIMITED_INFORMATION | PROCESS_DUP_HANDLE,
                             PROCESS_QUERY_LIMITED_INFORMATION, &proc);
        if (rc != CHURN_OK) return rc;
    }
    memset(&tcp, 0, sizeof tcp);
    memset(&types, 0, sizeof types);

    tab = churn__win_handle_table();
    if (tab) {
        job = (churn__win_name_job *)CHURN_MALLOC(sizeof *job);
        if (job) {
            memset(job, 0, sizeof *job);
            job->items = (churn__win_name_item *)CHURN_MALLOC(sizeof(*job->items) * (tab->NumberOfHandles + 1));
            job_slot = (int *)CHURN_MALLOC(sizeof(int) * (tab->NumberOfHandles + 1));
            if (!job->items || !job_slot) { CHURN_FREE(job->items); CHURN_FREE(job); job = NULL; }
        }
        for (i = 0; i < tab->NumberOfHandles; i++) {
            const churn__nt_handle_entry *e = &tab->Handles[i];
            churn_handle_info *hi;
            HANDLE dup = NULL, use;
            const char *type;
            char type_buf[32];
            if (e->UniqueProcessId != (ULONG_PTR)pid) continue;
            if (churn__grow((void **)&out->handles, &cap, out->handle_count, sizeof(*out->handles)) != CHURN_OK) {
                rc = CHURN_E_NOMEM;
                goto done;
            }
            hi = &out->handles[out->handle_count];
            memset(hi, 0, sizeof(*hi));
            hi->id = (long long)e->HandleValue;
            hi->object = (unsigned long long)(ULONG_PTR)e->Object;
            /* a handle valid in our process: the original (self) or a duplicate */
            if (self) {
                use = (HANDLE)e->HandleValue;
            } else {
                if (!DuplicateHandle(proc, (HANDLE)e->HandleValue, me, &dup, 0, FALSE, DUPLICATE_SAME_ACCESS)) dup = NULL;
                use = dup;
            }
            type = churn__win_cached_type(&types, e->ObjectTypeIndex);
            if (!type && use) {
                churn__win_type_name(use, type_buf, sizeof type_buf);
                if (type_buf[0] && types.count < CHURN__ARRAY_LEN(types.index)) {
                    types.index[types.count] = e->ObjectTypeIndex;
                    churn__copyz(types.name[types.count], sizeof types.name[0], type_buf);
                    type = types.name[types.count++];
                } else if (type_buf[0]) {
                    type = type_buf;
                }
            }
            if (!type) {
                churn__copyz(hi->kind, sizeof hi->kind, "other");
                snprintf(hi->detail, sizeof hi->detail, "type #%u", (unsigned)e->ObjectTypeIndex);
            } else if (strcmp(type, "File") == 0) {
                DWORD ft = use ? GetFileType(use) : FILE_TYPE_UNKNOWN; /* device type only: never blocks */
                int item_kind = -1;
                churn__copyz(hi->kind, sizeof hi->kind, "file");
                churn__copyz(hi->detail, sizeof hi->detail, "File");
                if (ft == FILE_TYPE_CHAR) {
                    churn__copyz(hi->kind, sizeof hi->kind, "tty");
                    churn__copyz(hi->detail, sizeof hi->detail, "File (character device)");
                } else if (ft == FILE_TYPE_PIPE) {
                    /* sockets are \Device\Afd files that GetFileType calls pipes: our own
                       are probed with Winsock, another process's are told by name */
                    churn__copyz(hi->kind, sizeof hi->kind, "pipe");
                    churn__copyz(hi->detail, sizeof hi->detail, "File (pipe)");
                    item_kind = self ? 2 : 1;
                } else if (ft == FILE_TYPE_DISK) {
                    item_kind = 0;
                }
                if (item_kind >= 0 && job && use) {
                    churn__win_name_item *it = &job->items[job->count];
                    HANDLE own = NULL;
                    if (item_kind == 2) own = NULL; /* probed as is: see churn__win_name_item */
                    else if (dup) { own = dup; dup = NULL; } /* the job takes the duplicate */
                    else if (!DuplicateHandle(me, use, me, &own, 0, FALSE, DUPLICATE_SAME_ACCESS)) own = NULL;
                    if (own || item_kind == 2) {
                        memset(it, 0, sizeof(*it));
                        it->raw = e->HandleValue;
                        it->dup = own;
                        it->kind = item_kind;
                        job_slot[job->count++] = out->handle_count;
                    }
                }
            } else {
                char name[200];
                churn__win_lower_kind(hi->kind, sizeof hi->kind, type);
                name[0] = '\0';
                if (use) {
                    if (strcmp(type, "Process") == 0) {
                        DWORD p = GetProcessId(use);
                        if (p) snprintf(name, sizeof name, "pid %lu", (unsigned long)p);
                    } else if (strcmp(type, "Thread") == 0) {
                        DWORD t = GetThreadId(use);
                        if (t) snprintf(name, sizeof name, "tid %lu", (unsigned long)t);
                    } else {
                        churn__win_object_name(use, name, sizeof name);
                    }
                }
                if (name[0]) snprintf(hi->detail, sizeof hi->detail, "%s %s", type, name);
                else churn__copyz(hi->detail, sizeof hi->detail, type);
            }
            if (dup) CloseHandle(dup);
            out->handle_count++;
        }
        if (job) {
            int answered = churn__win_name_run(job, 2000), k;
            for (k = 0; k < answered; k++) {
                if (job->items[k].kind == 2 && job->items[k].sock_type == SOCK_STREAM && job->items[k].bound) {
                    /* the system TCP table (every row: ours are matched by endpoints), only
                       when we hold a bound TCP socket: it is the costly part */
                    churn__win_tcp_rows(-1, &tcp);
                    break;
                }
            }
            for (k = 0; k < answered && k < job->count; k++) {
                churn_handle_info *hi = &out->handles[job_slot[k]];
                const char *n = job->items[k].name;
                if (job->items[k].kind == 2) {
                    if (job->items[k].sock_type) {
                        churn__copyz(hi->kind, sizeof hi->kind, "socket");
                        churn__win_describe_probe(&job->items[k], &tcp, hi->detail, sizeof hi->detail);
                    }
                    continue;
                }
                if (!n[0]) continue;
                if (job->items[k].kind == 0) {
                    churn__copyz(hi->detail, sizeof hi->detail, n);
                    if (job->items[k].is_dir) churn__copyz(hi->kind, sizeof hi->kind, "dir");
                } else if (strncmp(n, "\\Device\\Afd", 11) == 0) {
                    churn__copyz(hi->kind, sizeof hi->kind, "socket");
                    snprintf(hi->detail, sizeof hi->detail, "socket %s", n);
                } else {
                    snprintf(hi->detail, sizeof hi->detail, "File %s", n);
                }
            }
            for (; k < job->count; k++) {
                churn_handle_info *hi = &out->handles[job_slot[k]];
                churn__cat(hi->detail, sizeof hi->detail,
                           job->items[k].kind == 2 ? " (socket probe timed out)" : " (name query timed out)");
            }
        }
    } else {
        out->skipped++; /* no handle table: the handle list is empty, say so */
    }
    rc = churn__win_threads(pid, out);
done:
    if (job) {
        if (job->refs == 0) job->refs = 1; /* never started */
        churn__win_name_job_release(job);
    }
    CHURN_FREE(job_slot);
    CHURN_FREE(tab);
    CHURN_FREE(tcp.items);
    if (!self) {
        if (rc == CHURN_OK && !churn__win_alive(proc)) rc = CHURN_E_NOPROC;
        CloseHandle(proc);
    }
    return rc;
}

/* ---- platform description and atomic writes ---- */
/* Owners of a TCP listener on port: the owning pids of the LISTEN rows of the TCP tables.
   A row with pid 0 is a listener the OS does not attribute (wine): unsupported, not absent. */
CHURN__PRIV int churn__os_listener_owners(int port, churn__pid_list *owners) {
    churn__sock_table t;
    int i, rc, unattributed = 0;
    memset(&t, 0, sizeof t);
    rc = churn__win_tcp_rows(-1, &t);
    for (i = 0; rc == CHURN_OK && i < t.count; i++) {
        const churn__sock_entry *e = &t.items[i];
        if (e->state != CHURN__TCP_LISTEN || e->lport != port) continue;
        if (e->inode == 0) unattributed++;
        else rc = churn__pid_list_add(owners, (long)e->inode);
    }
    CHURN_FREE(t.items);
    return rc == CHURN_OK && owners->count == 0 && unattributed ? CHURN_E_UNSUPPORTED : rc;
}

CHURN__PRIV const char *churn__os_platform(void) { return "windows"; }

CHURN__PRIV void churn__os_describe(char *out, size_t cap) {
    const churn__win_api *api = churn__win_api_get();
    churn__os_version v;
    SYSTEM_INFO si;
    const char *arch = NULL;
    char buf[64];
    churn__copyz(out, cap, "Windows");
    memset(&v, 0, sizeof v);
    v.dwOSVersionInfoSize = sizeof v;
    if (api->RtlGetVersion && CHURN__NT_OK(api->RtlGetVersion(&v))) {
        snprintf(buf, sizeof buf, " %lu.%lu.%lu", (unsigned long)v.dwMajorVersion, (unsigned long)v.dwMinorVersion,
                 (unsigned long)v.dwBuildNumber);
        churn__cat(out, cap, buf);
    }
    GetNativeSystemInfo(&si);
    switch (si.wProcessorArchitecture) {
        case PROCESSOR_ARCHITECTURE_AMD64: arch = "x86_64"; break;
        case PROCESSOR_ARCHITECTURE_INTEL: arch = "x86"; break;
#ifdef PROCESSOR_ARCHITECTURE_ARM64
        case PROCESSOR_ARCHITECTURE_ARM64: arch = "arm64"; break;
#endif
        case PROCESSOR_ARCHITECTURE_ARM: arch = "arm"; break;
        default: break;
    }
    if (arch) { churn__cat(out, cap, " "); churn__cat(out, cap, arch); }
}

/* UTF-8 -> UTF-16, allocated (caller frees); NULL on invalid input or no memory. */
CHURN__PRIV WCHAR *churn__win_wide(const char *s, size_t extra) {
    int n = MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, NULL, 0);
    WCHAR *w;
    if (n <= 0) return NULL;
    w = (WCHAR *)CHURN_MALLOC(((size_t)n + extra) * sizeof(WCHAR));
    if (!w) return NULL;
    if (MultiByteToWideChar(CP_UTF8, MB_ERR_INVALID_CHARS, s, -1, w, n) != n) { CHURN_FREE(w); return NULL; }
    return w;
}

/* Atomic replace: temp file in the same directory, FlushFileBuffers, MoveFileExW with
   MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH. On error the temp file is deleted
   and the old file is untouched. */
CHURN__PRIV int churn__os_write_atomic(const char *path, const char *data, size_t len) {
    WCHAR *wpath, *tmp;
    size_t wlen, base, k;
    HANDLE f = INVALID_HANDLE_VALUE;
    int rc = CHURN_OK, attempt;
    size_t off = 0;
    static const WCHAR hex[] = L"0123456789abcdef";
    size_t plen = strlen(path);
    if (plen == 0 || path[plen - 1] == '/' || path[plen - 1] == '\\') return CHURN_E_INVAL;
    wpath = churn__win_wide(path, 0);
    if (!wpath) return CHURN_E_INVAL;
    wlen = wcslen(wpath);
    tmp = (WCHAR *)CHURN_MALLOC((wlen + 48) * sizeof(WCHAR));
    if (!tmp) { CHURN_FREE(wpath); return CHURN_E_NOMEM; }
    for (base = wlen; base > 0 && wpath[base - 1] != L'\\' && wpath[base - 1] != L'/' && wpath[base - 1] != L':'; base--) {}
    for (attempt = 0; attempt < 16 && f == INVALID_HANDLE_VALUE; attempt++) {
        /* "<dir>\.<base>.tmp-<pid>-<nonce>" */
        unsigned long long nonce = (unsigned long long)(churn__os_now() * 1e9) ^ ((unsigned long long)(size_t)&f << 16) ^
                                   ((unsigned long long)GetCurrentThreadId() << 40) ^
                                   (unsigned long long)attempt * 0x9E3779B97F4A7C15ULL;
        size_t w = 0;
        unsigned long pid = (unsigned long)GetCurrentProcessId();
        WCHAR pid_s[16];
        int np = 0;
        memcpy(tmp, wpath, base * sizeof(WCHAR));
        w = base;
        tmp[w++] = L'.';
        memcpy(tmp + w, wpath + base, (wlen - base) * sizeof(WCHAR));
        w += wlen - base;
        tmp[w++] = L'.'; tmp[w++] = L't'; tmp[w++] = L'm'; tmp[w++] = L'p'; tmp[w++] = L'-';
        do { pid_s[np++] = hex[pid % 10]; pid /= 10; } while (pid && np < 15);
        while (np > 0) tmp[w++] = pid_s[--np];
        tmp[w++] = L'-';
        for (k = 0; k < 16; k++) tmp[w++] = hex[(nonce >> (k * 4)) & 15];
        tmp[w] = 0;
        f = CreateFileW(tmp, GENERIC_WRITE, 0, NULL, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, NULL);
        if (f == INVALID_HANDLE_VALUE && GetLastError() != ERROR_FILE_EXISTS && GetLastError() != ERROR_ALREADY_EXISTS) break;
    }
    if (f == INVALID_HANDLE_VALUE) {
        DWORD e = GetLastError();
        rc = e == ERROR_ACCESS_DENIED ? CHURN_E_PERM : CHURN_E_IO;
        goto out;
    }
    while (off < len) {
        DWORD chunk = (DWORD)(len - off > 0x40000000u ? 0x40000000u : len - off), wrote = 0;
        if (!WriteFile(f, data + off, chunk, &wrote, NULL) || wrote == 0) { rc = CHURN_E_IO; goto fail; }
        off += wrote;
    }
    if (!FlushFileBuffers(f)) { rc = CHURN_E_IO; goto fail; }
    if (!CloseHandle(f)) { f = INVALID_HANDLE_VALUE; rc = CHURN_E_IO; goto fail; }
    f = INVALID_HANDLE_VALUE;
    if (!MoveFileExW(tmp, wpath, MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
        rc = GetLastError() == ERROR_ACCESS_DENIED ? CHURN_E_PERM : CHURN_E_IO;
        goto fail;
    }
    goto out;
fail:
    if (f != INVALID_HANDLE_VALUE) CloseHandle(f);
    DeleteFileW(tmp);
out:
    CHURN_FREE(tmp);
    CHURN_FREE(wpath);
    return rc;
}
#endif /* CHURN__WINDOWS */

/* >>snapshot macos ===========================================================================
   libproc and Mach. */
#if defined(CHURN__MACOS)
/* Sources (every one a libproc call: the snapshot and the inventory open no fds at all, so
   they can never count one of their own):
     pid check  proc_pidinfo(PROC_PIDT_SHORTBSDINFO): allowed for any pid; ESRCH -> NOPROC,
                a zombie (SZOMB) has exited and is NOPROC too (it has no task to measure).
     handles    proc_pidinfo(PROC_PIDLISTFDS): one call, the kernel copies 8 bytes per open fd.
                O(n) in the fds but no per-fd system call; in the cheap mask (see below).
     threads    proc_pidinfo(PROC_PIDTASKINFO).pti_threadnum      (O(1))
     rss        pti_resident_size, virtual pti_virtual_size        (same call)
     private    proc_pid_rusage(RUSAGE_INFO_V0).ri_phys_footprint  (O(1); what Activity
                Monitor shows as "Memory": dirty + compressed + swapped private memory)
     sockets    the PROC_PIDLISTFDS entries of type PROX_FDTYPE_SOCKET
     TCP        proc_pidfdinfo(PROC_PIDFDSOCKETINFO) per socket fd: tcpsi_state (TSI_S_*,
                mapped to the Linux numbering) and soi_snd.sbi_cc (bytes in the send buffer:
                unsent + unacknowledged, as Linux's wqueue) of connected sockets
     children   proc_listpids(PROC_PPID_ONLY) (the kernel walks allproc, then zombproc),
                then PROC_PIDT_SHORTBSDINFO of each child: pbsi_status SZOMB -> zombie
   Another process: proc_pidinfo answers for the same user (root: any); EPERM -> CHURN_E_PERM.
   Verified only by building (zig cc -target {x86_64,aarch64}-macos); see PLATFORM NOTES. */


CHURN__PRIV double churn__os_now(void) {
#if defined(CLOCK_MONOTONIC)
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) == 0) return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
#endif
    {
        /* Mach ticks (no global cache: mach_timebase_info is a cheap commpage read) */
        mach_timebase_info_data_t tb;
        unsigned long long t = (unsigned long long)mach_absolute_time();
        if (mach_timebase_info(&tb) != 0 || tb.denom == 0) return (double)t * 1e-9;
        return (double)t * ((double)tb.numer / (double)tb.denom) * 1e-9;
    }
}



/* proc_pidinfo / proc_pidfdinfo return the bytes written, 0 (errno set) on failure. A short
   answer is a kernel that does not know the flavor: report it as unsupported. */
CHURN__PRIV int churn__macos_info(long pid, int flavor, unsigned long long arg, void *buf, int size) {
    int n;
    errno = 0;
    n = proc_pidinfo((int)pid, flavor, (uint64_t)arg, buf, size);
    if (n == size) return CHURN_OK;
    if (n <= 0 && errno != 0) return churn__errno_to_code(errno);
    return CHURN_E_UNSUPPORTED;
}
CHURN__PRIV int churn__macos_fdinfo(long pid, int fd, int flavor, void *buf, int size) {
    int n;
    errno = 0;
    n = proc_pidfdinfo((int)pid, fd, flavor, buf, size);
    if (n == size) return CHURN_OK;
    if (n <= 0 && errno != 0) return errno == EBADF ? CHURN_E_NOPROC : churn__errno_to_code(errno);
    return CHURN_E_UNSUPPORTED;
}

/* Exists, may be inspected at all, and has not exited (a zombie has no task). */
CHURN__PRIV int churn__macos_check_pid(long pid) {
    struct proc_bsdshortinfo si;
    int rc;
    if (pid <= 0 || pid > INT_MAX) return CHURN_E_NOPROC;
    rc = churn__macos_info(pid, PROC_PIDT_SHORTBSDINFO, 0, &si, (int)sizeof si);
    if (rc == CHURN_E_INVAL) rc = CHURN_E_NOPROC;
    if (rc != CHURN_OK) return rc;
    if (si.pbsi_status == SZOMB) return CHURN_E_NOPROC;
    return CHURN_OK;
}

/* The fd list of pid: a stack buffer first (no allocation for up to 256 fds), the heap when
   the kernel may have had more. *list is stack or *heap; free *heap. Returns the count or a
   negative CHURN_E_*. A full buffer may be truncated, so it grows and asks again. */
#define CHURN__MACOS_FD_STACK 256
CHURN__PRIV int churn__macos_list_fds(long pid, struct proc_fdinfo *stack, struct proc_fdinfo **list,
                                      struct proc_fdinfo **heap) {
    int cap = CHURN__MACOS_FD_STACK, n, attempt;
    const int esz = (int)sizeof(struct proc_fdinfo);
    *heap = NULL;
    *list = stack;
    errno = 0;
    n = proc_pidinfo((int)pid, PROC_PIDLISTFDS, 0, stack, cap * esz);
    if (n <= 0 && errno != 0) return churn__errno_to_code(errno);
    if (n < 0) return CHURN_E_IO;
    if (n / esz < cap) return n / esz;
    for (attempt = 0; attempt < 8; attempt++) {
        struct proc_fdinfo *p;
        int need = proc_pidinfo((int)pid, PROC_PIDLISTFDS, 0, NULL, 0); /* (table slots + 20) * 8 */
        int want = need / esz;
        if (want < cap * 2) want = cap * 2;
        if (want > INT_MAX / esz / 2) { CHURN_FREE(*heap); *heap = NULL; return CHURN_E_NOMEM; }
        p = (struct proc_fdinfo *)CHURN_REALLOC(*heap, (size_t)want * (size_t)esz);
        if (!p) { CHURN_FREE(*heap); *heap = NULL; return CHURN_E_NOMEM; }
        *heap = p;
        *list = p;
        cap = want;
        errno = 0;
        n = proc_pidinfo((int)pid, PROC_PIDLISTFDS, 0, p, cap * esz);
        if (n <= 0 && errno != 0) { CHURN_FREE(*heap); *heap = NULL; *list = stack; return churn__errno_to_code(errno); }
        if (n / esz < cap) return n / esz;
    }
    return cap; /* still growing after 8 doublings: report what we saw */
}

/* macOS TCP states (TSI_S_*, the BSD order) to the Linux numbering churn__tcp_state_name uses. */
CHURN__PRIV int churn__macos_tcp_state(int tsi) {
    static const int map[] = {
        7,  /* TSI_S_CLOSED       -> CLOSE */
        10, /* TSI_S_LISTEN       -> LISTEN */
        2,  /* TSI_S_SYN_SENT     -> SYN_SENT */
        3,  /* TSI_S_SYN_RECEIVED -> SYN_RECV */
        1,  /* TSI_S_ESTABLISHED  -> ESTABLISHED */
        8,  /* TSI_S__CLOSE_WAIT  -> CLOSE_WAIT */
        4,  /* TSI_S_FIN_WAIT_1   -> FIN_WAIT1 */
        11, /* TSI_S_CLOSING      -> CLOSING */
        9,  /* TSI_S_LAST_ACK     -> LAST_ACK */
        5,  /* TSI_S_FIN_WAIT_2   -> FIN_WAIT2 */
        6   /* TSI_S_TIME_WAIT    -> TIME_WAIT */
    };
    if (tsi < 0 || tsi >= CHURN__ARRAY_LEN(map)) return 0; /* UNKNOWN */
    return map[tsi];
}

/* One in_sockinfo address into 4 or 16 bytes. An AF_INET6 socket talking IPv4 (INI_IPV4
   only) holds the address in the in4in6 layout; Linux prints those as ::ffff:a.b.c.d. */
CHURN__PRIV void churn__macos_inaddr(int family6, int vflag, const struct in4in6_addr *a46,
                                     const struct in6_addr *a6, unsigned char *out) {
    memset(out, 0, 16);
    if (!family6) { memcpy(out, &a46->i46a_addr4, 4); return; }
    if ((vflag & INI_IPV6) || !(vflag & INI_IPV4)) { memcpy(out, a6, 16); return; }
    out[10] = 0xff;
    out[11] = 0xff;
    memcpy(out + 12, &a46->i46a_addr4, 4);
}

/* PROC_PIDFDSOCKETINFO into a churn__sock_entry. 1: described (TCP, UDP, UNIX), 0: another
   kind of socket (e->inode still holds the identity), negative: CHURN_E_*. */
CHURN__PRIV int churn__macos_socket(long pid, int fd, churn__sock_entry *e) {
    struct socket_fdinfo si;
    const struct socket_info *s = &si.psi;
    int rc = churn__macos_fdinfo(pid, fd, PROC_PIDFDSOCKETINFO, &si, (int)sizeof si);
    memset(e, 0, sizeof(*e));
    if (rc != CHURN_OK) return rc;
    e->inode = (unsigned long long)s->soi_so; /* the socket's (kernel-obfuscated) handle */
    if ((s->soi_kind == SOCKINFO_TCP || s->soi_kind == SOCKINFO_IN) &&
        (s->soi_family == AF_INET || s->soi_family == AF_INET6)) {
        const struct in_sockinfo *in = s->soi_kind == SOCKINFO_TCP ? &s->soi_proto.pri_tcp.tcpsi_ini
                                                                   : &s->soi_proto.pri_in;
        int six = s->soi_family == AF_INET6;
        if (s->soi_kind == SOCKINFO_TCP) {
            e->proto = 't';
            e->state = churn__macos_tcp_state(s->soi_proto.pri_tcp.tcpsi_state);
            e->wqueue = (e->state == CHURN__TCP_LISTEN || e->state == CHURN__TCP_CLOSE) ? 0 : (long long)s->soi_snd.sbi_cc;
        } else if (s->soi_protocol == IPPROTO_UDP) {
            e->proto = 'u';
        } else {
            return 0; /* raw IP and the like */
        }
        e->family = six ? 6 : 4;
        churn__macos_inaddr(six, in->insi_vflag, &in->insi_laddr.ina_46, &in->insi_laddr.ina_6, e->laddr);
        churn__macos_inaddr(six, in->insi_vflag, &in->insi_faddr.ina_46, &in->insi_faddr.ina_6, e->raddr);
        /* the pcb keeps ports in network order */
        e->lport = ntohs((unsigned short)in->insi_lport);
        e->rport = ntohs((unsigned short)in->insi_fport);
        if (!six) { /* churn__sock_describe compares 4 bytes for IPv4 */
            memset(e->laddr + 4, 0, 12);
            memset(e->raddr + 4, 0, 12);
        }
        return 1;
    }
    if (s->soi_kind == SOCKINFO_UN) {
        const struct sockaddr_un *sun = &s->soi_proto.pri_un.unsi_addr.ua_sun;
        size_t n = churn__strnlen(sun->sun_path, sizeof sun->sun_path);
        e->proto = 'x';
        e->family = s->soi_type; /* SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_SEQPACKET 5: same as Linux */
        churn__copy(e->path, sizeof e->path, sun->sun_path, n);
        return 1;
    }
    return 0;
}

/* proc_listpids(type, typeinfo) into *list: the caller's stack buffer first, the heap when
   it filled up (a full buffer may be cut short: grow and ask again). Returns the count or a
   negative CHURN_E_*; free *list when it is not `stack`. */
CHURN__PRIV int churn__macos_list_pids(uint32_t type, uint32_t typeinfo, int *stack, int stack_cap, int **list) {
    int *buf = stack, cap = stack_cap, n, attempt;
    for (attempt = 0;; attempt++) {
        errno = 0;
        n = proc_listpids(type, typeinfo, buf, cap * (int)sizeof(int));
        if (n < 0 || (n == 0 && errno != 0)) {
            int rc = churn__errno_to_code(errno ? errno : EIO);
            if (buf != stack) CHURN_FREE(buf);
            *list = stack;
            return rc;
        }
        n /= (int)sizeof(int);
        if (n < cap || attempt >= 6) break;
        {
            int *p;
            cap *= 4;
            p = (int *)CHURN_REALLOC(buf == stack ? NULL : buf, (size_t)cap * sizeof(int));
            if (!p) { if (buf != stack) CHURN_FREE(buf); *list = stack; return CHURN_E_NOMEM; }
            buf = p;
        }
    }
    *list = buf;
    return n;
}

CHURN__PRIV int churn__macos_children(long pid, long long *children, long long *zombies) {
    int stack[256], *buf, n, i;
    long long live = 0, dead = 0;
    n = churn__macos_list_pids(PROC_PPID_ONLY, (uint32_t)pid, stack, CHURN__ARRAY_LEN(stack), &buf);
    if (n < 0) return n;
    for (i = 0; i < n; i++) {
        struct proc_bsdshortinfo si;
        if (buf[i] <= 0) continue;
        /* gone (and reaped) since the listing: neither live nor zombie */
        if (churn__macos_info(buf[i], PROC_PIDT_SHORTBSDINFO, 0, &si, (int)sizeof si) != CHURN_OK) continue;
        if ((long)si.pbsi_ppid != pid) continue; /* pid reused by another process meanwhile */
        if (si.pbsi_status == SZOMB) dead++; else live++;
    }
    if (buf != stack) CHURN_FREE(buf);
    *children = live;
    *zombies = dead;
    return CHURN_OK;
}

/* handles are in the cheap mask although PROC_PIDLISTFDS is O(n): it is one system call
   copying 8 bytes per fd (no per-fd work, no socket tables), and without it in-run samples
   the release preset's handle peak limit would only ever see baseline and post-drain.
   A caller who wants strictly O(1) samples sets sample_metrics without HANDLES. */
CHURN__PRIV unsigned churn__os_cheap_metrics(void) { return CHURN_METRICS_CHEAP; }

#define CHURN__WANT(mask, m) (((mask) & CHURN_METRIC_BIT(m)) != 0)

CHURN__PRIV int churn__os_snapshot(long pid, unsigned mask, churn_snapshot *out) {
    int rc = churn__macos_check_pid(pid);
    unsigned task_mask = CHURN_METRIC_BIT(CHURN_METRIC_THREADS) | CHURN_METRIC_BIT(CHURN_METRIC_RSS_BYTES) |
                         CHURN_METRIC_BIT(CHURN_METRIC_VIRTUAL_BYTES);
    unsigned fd_mask = CHURN_METRIC_BIT(CHURN_METRIC_HANDLES) | CHURN_METRIC_BIT(CHURN_METRIC_SOCKETS) |
                       CHURN_METRIC_BIT(CHURN_METRIC_CLOSE_WAIT) | CHURN_METRIC_BIT(CHURN_METRIC_SEND_QUEUE_BYTES);
    if (rc != CHURN_OK) return rc;

    if (mask & task_mask) {
        struct proc_taskinfo ti;
        rc = churn__macos_info(pid, PROC_PIDTASKINFO, 0, &ti, (int)sizeof ti);
        if (rc == CHURN_E_NOPROC || rc == CHURN_E_PERM) return rc;
        if (rc == CHURN_OK) {
            if (CHURN__WANT(mask, CHURN_METRIC_THREADS) && ti.pti_threadnum > 0)
                out->value[CHURN_METRIC_THREADS] = ti.pti_threadnum;
            if (CHURN__WANT(mask, CHURN_METRIC_RSS_BYTES)) out->value[CHURN_METRIC_RSS_BYTES] = (long long)ti.pti_resident_size;
            if (CHURN__WANT(mask, CHURN_METRIC_VIRTUAL_BYTES)) out->value[CHURN_METRIC_VIRTUAL_BYTES] = (long long)ti.pti_virtual_size;
        }
    }

    if (CHURN__WANT(mask, CHURN_METRIC_PRIVATE_BYTES)) {
        struct rusage_info_v0 ri;
        memset(&ri, 0, sizeof ri);
        if (proc_pid_rusage((int)pid, RUSAGE_INFO_V0, (rusage_info_t *)(void *)&ri) == 0)
            out->value[CHURN_METRIC_PRIVATE_BYTES] = (long long)ri.ri_phys_footprint;
        else if (errno == ESRCH || errno == EPERM)
            return churn__errno_to_code(errno);
    }

    if (mask & fd_mask) {
        struct proc_fdinfo stack[CHURN__MACOS_FD_STACK], *list, *heap;
        int n = churn__macos_list_fds(pid, stack, &list, &heap), i;
        if (n < 0) {
            if (n == CHURN_E_NOPROC || n == CHURN_E_PERM || n == CHURN_E_NOMEM) return n;
        } else {
            long long sockets = 0, close_wait = 0, sendq = 0;
            int want_tcp = CHURN__WANT(mask, CHURN_METRIC_CLOSE_WAIT) || CHURN__WANT(mask, CHURN_METRIC_SEND_QUEUE_BYTES);
            int tcp_ok = 1;
            for (i = 0; i < n; i++) {
                churn__sock_entry e;
                int r;
                if (list[i].proc_fdtype != PROX_FDTYPE_SOCKET) continue;
                sockets++;
                if (!want_tcp) continue;
                r = churn__macos_socket(pid, list[i].proc_fd, &e);
                if (r == CHURN_E_NOPROC) continue; /* this fd was closed since the listing */
                if (r < 0) { tcp_ok = 0; continue; }
                if (r == 0 || e.proto != 't') continue;
                if (e.state == CHURN__TCP_CLOSE_WAIT) close_wait++;
                sendq += e.wqueue; /* 0 for listeners */
            }
            CHURN_FREE(heap);
            if (CHURN__WANT(mask, CHURN_METRIC_HANDLES)) out->value[CHURN_METRIC_HANDLES] = n;
            if (CHURN__WANT(mask, CHURN_METRIC_SOCKETS)) out->value[CHURN_METRIC_SOCKETS] = sockets;
            if (want_tcp && tcp_ok) {
                if (CHURN__WANT(mask, CHURN_METRIC_CLOSE_WAIT)) out->value[CHURN_METRIC_CLOSE_WAIT] = close_wait;
                if (CHURN__WANT(mask, CHURN_METRIC_SEND_QUEUE_BYTES)) out->value[CHURN_METRIC_SEND_QUEUE_BYTES] = sendq;
            }
        }
    }

    if (mask & (CHURN_METRIC_BIT(CHURN_METRIC_CHILDREN) | CHURN_METRIC_BIT(CHURN_METRIC_ZOMBIES))) {
        long long live = CHURN_UNKNOWN, dead = CHURN_UNKNOWN;
        if (churn__macos_children(pid, &live, &dead) == CHURN_OK) {
            if (CHURN__WANT(mask, CHURN_METRIC_CHILDREN)) out->value[CHURN_METRIC_CHILDREN] = live;
            if (CHURN__WANT(mask, CHURN_METRIC_ZOMBIES)) out->value[CHURN_METRIC_ZOMBIES] = dead;
        }
    }
    /* gdi_objects / user_objects: Windows only, stay CHURN_UNKNOWN. */

    /* The process may have exited while we read: do not report a half snapshot as real. */
    return churn__macos_check_pid(pid);
}

/* Inventory, macOS: PROC_PIDLISTFDS, then one proc_pidfdinfo per fd for its kind's detail;
   threads by unique id (PROC_PIDLISTTHREADIDS + PROC_PIDTHREADID64INFO for the name). */

CHURN__PRIV int churn__macos_is_tty(const char *path) {
    return strncmp(path, "/dev/tty", 8) == 0 || strcmp(path, "/dev/console") == 0 ||
           strcmp(path, "/dev/ptmx") == 0;
}

CHURN__PRIV void churn__macos_describe_fd(long pid, const struct proc_fdinfo *fi, churn_handle_info *h,
                                          int *skipped) {
    int fd = fi->proc_fd, rc;
    switch (fi->proc_fdtype) {
        case PROX_FDTYPE_VNODE: {
            struct vnode_fdinfowithpath v;
            const struct vinfo_stat *st = &v.pvip.vip_vi.vi_stat;
            const char *kind = "other";
            rc = churn__macos_fdinfo(pid, fd, PROC_PIDFDVNODEPATHINFO, &v, (int)sizeof v);
            if (rc != CHURN_OK) {
                churn__copyz(h->kind, sizeof h->kind, "other");
                churn__copyz(h->detail, sizeof h->detail, "vnode");
                if (rc == CHURN_E_NOPROC) ++*skipped;
                return;
            }
            v.pvip.vip_path[sizeof v.pvip.vip_path - 1] = '\0';
            if (S_ISREG(st->vst_mode)) kind = "file";
            else if (S_ISDIR(st->vst_mode)) kind = "dir";
            else if (S_ISFIFO(st->vst_mode)) kind = "pipe";
            else if (S_ISSOCK(st->vst_mode)) kind = "socket";
            else if (S_ISCHR(st->vst_mode) && churn__macos_is_tty(v.pvip.vip_path)) kind = "tty";
            churn__copyz(h->kind, sizeof h->kind, kind);
            churn__copyz(h->detail, sizeof h->detail, v.pvip.vip_path[0] ? v.pvip.vip_path : "vnode");
            h->object = ((unsigned long long)st->vst_dev << 40) ^ (unsigned long long)st->vst_ino;
            return;
        }
        case PROX_FDTYPE_SOCKET: {
            churn__sock_entry e;
            churn__copyz(h->kind, sizeof h->kind, "socket");
            rc = churn__macos_socket(pid, fd, &e);
            if (rc == 1) churn__sock_describe(&e, h->detail, sizeof h->detail);
            else if (rc == 0) snprintf(h->detail, sizeof h->detail, "socket:[%llu]", e.inode);
            else churn__copyz(h->detail, sizeof h->detail, "socket");
            if (rc == CHURN_E_NOPROC) ++*skipped;
            h->object = rc >= 0 ? e.inode : 0;
            return;
        }
        case PROX_FDTYPE_PIPE: {
            struct pipe_fdinfo p;
            churn__copyz(h->kind, sizeof h->kind, "pipe");
            rc = churn__macos_fdinfo(pid, fd, PROC_PIDFDPIPEINFO, &p, (int)sizeof p);
            if (rc == CHURN_OK) {
                snprintf(h->detail, sizeof h->detail, "pipe:[%llu]", (unsigned long long)p.pipeinfo.pipe_handle);
                h->object = (unsigned long long)p.pipeinfo.pipe_handle;
            } else {
                churn__copyz(h->detail, sizeof h->detail, "pipe");
                if (rc == CHURN_E_NOPROC) ++*skipped;
            }
            return;
        }
        case PROX_FDTYPE_KQUEUE:
            churn__copyz(h->kind, sizeof h->kind, "kqueue");
            churn__copyz(h->detail, sizeof h->detail, "kqueue");
            return;
        case PROX_FDTYPE_PSHM: {
            struct pshm_fdinfo p;
            churn__copyz(h->kind, sizeof h->kind, "shm");
            rc = churn__macos_fdinfo(pid, fd, PROC_PIDFDPSHMINFO, &p, (int)sizeof p);
            p.pshminfo.pshm_name[sizeof p.pshminfo.pshm_name - 1] = '\0';
            churn__copyz(h->detail, sizeof h->detail, rc == CHURN_OK && p.pshminfo.pshm_name[0] ? p.pshminfo.pshm_name : "shm");
            return;
        }
        case PROX_FDTYPE_PSEM: {
            struct psem_fdinfo p;
            churn__copyz(h->kind, sizeof h->kind, "sem");
            rc = churn__macos_fdinfo(pid, fd, PROC_PIDFDPSEMINFO, &p, (int)sizeof p);
            p.pseminfo.psem_name[sizeof p.pseminfo.psem_name - 1] = '\0';
            churn__copyz(h->detail, sizeof h->detail, rc == CHURN_OK && p.pseminfo.psem_name[0] ? p.pseminfo.psem_name : "sem");
            return;
        }
        case PROX_FDTYPE_FSEVENTS:
            churn__copyz(h->kind, sizeof h->kind, "fsevents");
            churn__copyz(h->detail, sizeof h->detail, "fsevents");
            return;
        default:
            churn__copyz(h->kind, sizeof h->kind, "other");
            snprintf(h->detail, sizeof h->detail, "fdtype %u", (unsigned)fi->proc_fdtype);
            return;
    }
}

/* Threads by unique id (what pthread_threadid_np returns). Kernels before 10.13 lack
   PROC_PIDLISTTHREADIDS: then thread handles (PROC_PIDLISTTHREADS) stand in for ids. */
CHURN__PRIV int churn__macos_threads(long pid, churn_inventory *out) {
    struct proc_taskinfo ti;
    unsigned long long *ids = NULL;
    int cap, n = 0, i, by_id = 1, attempt, rc;
    rc = churn__macos_info(pid, PROC_PIDTASKINFO, 0, &ti, (int)sizeof ti);
    if (rc != CHURN_OK) return rc;
    cap = (ti.pti_threadnum > 0 ? ti.pti_threadnum : 1) + 16;
    for (attempt = 0; attempt < 8; attempt++) {
        unsigned long long *p = (unsigned long long *)CHURN_REALLOC(ids, (size_t)cap * sizeof(*ids));
        if (!p) { CHURN_FREE(ids); return CHURN_E_NOMEM; }
        ids = p;
        errno = 0;
        n = proc_pidinfo((int)pid, by_id ? CHURN__PROC_PIDLISTTHREADIDS : PROC_PIDLISTTHREADS, 0, ids,
                         cap * (int)sizeof(*ids));
        if (n <= 0 && errno != 0) {
            if (by_id && (errno == EINVAL || errno == ENOTSUP)) { by_id = 0; continue; }
            CHURN_FREE(ids);
            return churn__errno_to_code(errno);
        }
        n /= (int)sizeof(*ids);
        if (n < cap) break;
        if (cap > INT_MAX / 4 / (int)sizeof(*ids)) break;
        cap *= 2; /* full: threads were born meanwhile, ask again */
    }
    out->threads = (churn_thread_info *)CHURN_MALLOC((size_t)(n > 0 ? n : 1) * sizeof(*out->threads));
    if (!out->threads) { CHURN_FREE(ids); return CHURN_E_NOMEM; }
    for (i = 0; i < n; i++) {
        struct proc_threadinfo pt;
        churn_thread_info *t;
        rc = churn__macos_info(pid, by_id ? PROC_PIDTHREADID64INFO : PROC_PIDTHREADINFO, ids[i], &pt, (int)sizeof pt);
        if (rc != CHURN_OK) { out->skipped++; continue; } /* thread exited while we listed */
        t = &out->threads[out->thread_count++];
        t->tid = (long long)ids[i];
        churn__copy(t->name, sizeof t->name, pt.pth_name, churn__strnlen(pt.pth_name, sizeof pt.pth_name));
    }
    CHURN_FREE(ids);
    return CHURN_OK;
}

CHURN__PRIV int churn__os_inventory(long pid, churn_inventory *out) {
    struct proc_fdinfo stack[CHURN__MACOS_FD_STACK], *list, *heap;
    int n, i, rc = churn__macos_check_pid(pid);
    if (rc != CHURN_OK) return rc;
    n = churn__macos_list_fds(pid, stack, &list, &heap);
    if (n < 0) return n;
    out->handles = (churn_handle_info *)CHURN_MALLOC((size_t)(n > 0 ? n : 1) * sizeof(*out->handles));
    if (!out->handles) { CHURN_FREE(heap); return CHURN_E_NOMEM; }
    for (i = 0; i < n; i++) {
        churn_handle_info *h = &out->handles[out->handle_count];
        int before = out->skipped;
        memset(h, 0, sizeof(*h));
        h->id = list[i].proc_fd;
        churn__macos_describe_fd(pid, &list[i], h, &out->skipped);
        if (out->skipped == before) out->handle_count++; /* closed since the listing: not kept */
    }
    CHURN_FREE(heap);
    return churn__macos_threads(pid, out);
}

/* Owners of a TCP listener on port: every pid's socket fds, PROC_PIDFDSOCKETINFO each. */
CHURN__PRIV int churn__os_listener_owners(int port, churn__pid_list *owners) {
    int stack[1024], *pids, n, i;
    n = churn__macos_list_pids(PROC_ALL_PIDS, 0, stack, CHURN__ARRAY_LEN(stack), &pids);
    if (n < 0) return n;
    for (i = 0; i < n; i++) {
        struct proc_fdinfo fstack[CHURN__MACOS_FD_STACK], *fds, *fheap;
        int nf, k, rc = CHURN_OK;
        if (pids[i] <= 0) continue;
        nf = churn__macos_list_fds(pids[i], fstack, &fds, &fheap);
        if (nf < 0) continue; /* not ours to inspect, or gone */
        for (k = 0; k < nf; k++) {
            churn__sock_entry e;
            if (fds[k].proc_fdtype != PROX_FDTYPE_SOCKET) continue;
            if (churn__macos_socket(pids[i], fds[k].proc_fd, &e) != 1) continue;
            if (e.proto == 't' && e.state == CHURN__TCP_LISTEN && e.lport == port) {
                rc = churn__pid_list_add(owners, pids[i]);
                break;
            }
        }
        CHURN_FREE(fheap);
        if (rc != CHURN_OK) { if (pids != stack) CHURN_FREE(pids); return rc; }
    }
    if (pids != stack) CHURN_FREE(pids);
    return CHURN_OK;
}

CHURN__PRIV const char *churn__os_platform(void) { return "macos"; }

/* Samplers: plain snapshots of the pid (libproc reads by pid; nothing to keep open that
   would pin the process), which must exist at open. */
CHURN__PRIV int churn__os_sampler_open(churn_sampler *s) {
    churn_snapshot probe;
    return churn__os_snapshot(s->pid, CHURN_METRIC_BIT(CHURN_METRIC_THREADS), &probe);
}
CHURN__PRIV int churn__os_sampler_take(churn_sampler *s, unsigned mask, churn_snapshot *out) {
    return churn__os_snapshot(s->pid, mask, out);
}
CHURN__PRIV void churn__os_sampler_close(churn_sampler *s) { (void)s; }

/* "macOS 14.2 (Darwin 23.2.0) arm64"; "Darwin 23.2.0 arm64" before 10.13.4 (no
   kern.osproductversion). */
CHURN__PRIV void churn__os_describe(char *out, size_t cap) {
    struct utsname u;
    char ver[32];
    size_t vlen = sizeof ver;
    int have_ver = sysctlbyname("kern.osproductversion", ver, &vlen, NULL, 0) == 0 && vlen > 0 && vlen <= sizeof ver;
    int have_u = uname(&u) == 0;
    if (have_ver) {
        ver[vlen - 1] = '\0';
        churn__copyz(out, cap, "macOS ");
        churn__cat(out, cap, ver);
        if (have_u) {
            churn__cat(out, cap, " (Darwin ");
            churn__cat(out, cap, u.release);
            churn__cat(out, cap, ")");
        }
    } else {
        churn__copyz(out, cap, "Darwin");
        if (have_u) {
            churn__cat(out, cap, " ");
            churn__cat(out, cap, u.release);
        }
    }
    if (have_u) {
        churn__cat(out, cap, " ");
        churn__cat(out, cap, u.machine);
    }
}

#endif /* CHURN__MACOS */

/* >>inventory ================================================================================
   Portable inventory API on top of churn__os_inventory. Identity of a handle is
   (id, kind, object): an fd number reused for another object is a new handle. When the
   object is unknown (0) the detail text stands in for it. */

/* ---- listener owners ---- */
CHURN__PRIV int churn__pid_list_add(churn__pid_list *l, long pid) {
    if (churn__grow((void **)&l->items, &l->cap, l->count, sizeof(*l->items)) != CHURN_OK) return CHURN_E_NOMEM;
    l->items[l->count++] = (unsigned long long)pid;
    return CHURN_OK;
}

CHURN__API int churn_listener_pid(int port, long *pid, int *owners) {
    churn__pid_list l;
    int rc, i, distinct = 0;
    if (pid) *pid = 0;
    if (owners) *owners = 0;
    if (!pid || port < 1 || port > 65535) return CHURN_E_INVAL;
    memset(&l, 0, sizeof l);
    rc = churn__os_listener_owners(port, &l);
    if (rc == CHURN_OK && l.count == 0) rc = CHURN_E_NOPROC;
    if (rc == CHURN_OK) {
        qsort(l.items, (size_t)l.count, sizeof(*l.items), churn__cmp_ull);
        for (i = 0; i < l.count; i++) distinct += i == 0 || l.items[i] != l.items[i - 1];
        *pid = (long)l.items[0];
        if (owners) *owners = distinct;
    }
    CHURN_FREE(l.items);
    return rc;
}

CHURN__API void churn_inventory_free(churn_inventory *inv) {
    if (!inv) return;
    CHURN_FREE(inv->handles);
    CHURN_FREE(inv->threads);
    inv->handles = NULL;
    inv->threads = NULL;
    inv->handle_count = 0;
    inv->thread_count = 0;
    inv->skipped = 0;
}

CHURN__API int churn_inventory_take(long pid, churn_inventory *out) {
    int rc;
    if (!out) return CHURN_E_INVAL;
    memset(out, 0, sizeof(*out));
    if (pid < 0) return CHURN_E_INVAL;
    if (pid == 0) pid = churn__os_pid();
    out->pid = pid;
    rc = churn__os_inventory(pid, out);
    if (rc != CHURN_OK) {
        churn_inventory_free(out);
        out->pid = pid;
    }
    return rc;
}

CHURN__PRIV int churn__same_handle(const churn_handle_info *a, const churn_handle_info *b) {
    if (a->id != b->id || a->object != b->object || strcmp(a->kind, b->kind) != 0) return 0;
    /* files: the inode alone could repeat across devices; the path settles it */
    if (!a->object || strcmp(a->kind, "file") == 0 || strcmp(a->kind, "dir") == 0)
        return strcmp(a->detail, b->detail) == 0;
    return 1;
}

CHURN__PRIV int churn__cmp_handle_id(const void *x, const void *y) {
    const churn_handle_info *a = (const churn_handle_info *)x, *b = (const churn_handle_info *)y;
    return a->id < b->id ? -1 : a->id > b->id ? 1 : 0;
}
CHURN__PRIV int churn__cmp_thread_id(const void *x, const void *y) {
    const churn_thread_info *a = (const churn_thread_info *)x, *b = (const churn_thread_info *)y;
    return a->tid < b->tid ? -1 : a->tid > b->tid ? 1 : 0;
}

CHURN__API int churn_inventory_diff(const churn_inventory *before, const churn_inventory *after,
                                    churn_inventory *added) {
    churn_handle_info *bh = NULL;
    churn_thread_info *bt = NULL;
    int i;
    if (!before || !after || !added || added == before || added == after) return CHURN_E_INVAL;
    if ((before->handle_count > 0 && !before->handles) || (after->handle_count > 0 && !after->handles) ||
        (before->thread_count > 0 && !before->threads) || (after->thread_count > 0 && !after->threads) ||
        before->handle_count < 0 || after->handle_count < 0 || before->thread_count < 0 || after->thread_count < 0)
        return CHURN_E_INVAL;
    memset(added, 0, sizeof(*added));
    added->pid = after->pid;
    /* sorted copies of `before` so the diff is O(n log n), not O(n^2), at 10k fds */
    if (before->handle_count) {
        bh = (churn_handle_info *)CHURN_MALLOC((size_t)before->handle_count * sizeof(*bh));
        if (!bh) return CHURN_E_NOMEM;
        memcpy(bh, before->handles, (size_t)before->handle_count * sizeof(*bh));
        qsort(bh, (size_t)before->handle_count, sizeof(*bh), churn__cmp_handle_id);
    }
    if (before->thread_count) {
        bt = (churn_thread_info *)CHURN_MALLOC((size_t)before->thread_count * sizeof(*bt));
        if (!bt) { CHURN_FREE(bh); return CHURN_E_NOMEM; }
        memcpy(bt, before->threads, (size_t)before->thread_count * sizeof(*bt));
        qsort(bt, (size_t)before->thread_count, sizeof(*bt), churn__cmp_thread_id);
    }
    if (after->handle_count) {
        added->handles = (churn_handle_info *)CHURN_MALLOC((size_t)after->handle_count * sizeof(*added->handles));
        if (!added->handles) goto nomem;
    }
    if (after->thread_count) {
        added->threads = (churn_thread_info *)CHURN_MALLOC((size_t)after->thread_count * sizeof(*added->threads));
        if (!added->threads) goto nomem;
    }
    for (i = 0; i < after->handle_count; i++) {
        const churn_handle_info *h = &after->handles[i];
        int lo = 0, hi = before->handle_count - 1, found = 0;
        while (lo <= hi) { /* find the first entry with this id, then scan equals */
            int mid = lo + (hi - lo) / 2;
            if (bh[mid].id < h->id) lo = mid + 1; else hi = mid - 1;
        }
        for (; lo < before->handle_count && bh[lo].id == h->id; lo++)
            if (churn__same_handle(&bh[lo], h)) { found = 1; break; }
        if (!found) added->handles[added->handle_count++] = *h;
    }
    for (i = 0; i < after->thread_count; i++) {
        churn_thread_info key = after->threads[i];
        if (!bt || !bsearch(&key, bt, (size_t)before->thread_count, sizeof(*bt), churn__cmp_thread_id))
            added->threads[added->thread_count++] = key;
    }
    CHURN_FREE(bh);
    CHURN_FREE(bt);
    return CHURN_OK;
nomem:
    CHURN_FREE(bh);
    CHURN_FREE(bt);
    churn_inventory_free(added);
    return CHURN_E_NOMEM;
}

CHURN__PRIV int churn__ignore_handle(const churn_handle_info *h, const churn_ignore *rules, int n) {
    int i;
    for (i = 0; i < n; i++) {
        const churn_ignore *r = &rules[i];
        if (r->thread_prefix) continue;
        if (!r->kind && !r->detail) continue; /* an empty rule matches nothing, not everything */
        if (r->kind && strcmp(r->kind, h->kind) != 0) continue;
        if (r->detail && !strstr(h->detail, r->detail)) continue;
        return 1;
    }
    return 0;
}
CHURN__PRIV int churn__ignore_thread(const churn_thread_info *t, const churn_ignore *rules, int n) {
    int i;
    for (i = 0; i < n; i++)
        if (rules[i].thread_prefix && strncmp(t->name, rules[i].thread_prefix, strlen(rules[i].thread_prefix)) == 0)
            return 1;
    return 0;
}

CHURN__API void churn_inventory_filter(churn_inventory *inv, const churn_ignore *rules, int rule_count) {
    int i, w;
    if (!inv || !rules || rule_count <= 0) return;
    for (i = w = 0; i < inv->handle_count; i++)
        if (!churn__ignore_handle(&inv->handles[i], rules, rule_count)) inv->handles[w++] = inv->handles[i];
    inv->handle_count = w;
    for (i = w = 0; i < inv->thread_count; i++)
        if (!churn__ignore_thread(&inv->threads[i], rules, rule_count)) inv->threads[w++] = inv->threads[i];
    inv->thread_count = w;
}

#ifndef CHURN_NO_STDIO
/* Printable copy: control bytes become '?', so a hostile name cannot rewrite a CI log. */
CHURN__PRIV void churn__printable(char *dst, size_t cap, const char *src) {
    size_t i;
    for (i = 0; src[i] && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (cap) dst[i < cap ? i : cap - 1] = '\0';
}

/* all_sections 0: an empty list gets no heading (the summary's use) */
CHURN__PRIV void churn__inventory_fprint_parts(const churn_inventory *inv, FILE *f, int max_lines, int all_sections) {
    int i;
    char buf[256];
    if (!inv || !f) return;
    if (max_lines <= 0) max_lines = INT_MAX;
    if (all_sections || inv->handle_count) fprintf(f, "leaked handles (%d):\n", inv->handle_count);
    for (i = 0; i < inv->handle_count && i < max_lines; i++) {
        churn__printable(buf, sizeof buf, inv->handles[i].detail);
        fprintf(f, "  %s %-8lld %-8s %s\n", CHURN__HANDLE_WORD, inv->handles[i].id, inv->handles[i].kind, buf);
    }
    if (inv->handle_count > max_lines) fprintf(f, "  ... and %d more\n", inv->handle_count - max_lines);
    if (all_sections || inv->thread_count) fprintf(f, "leaked threads (%d):\n", inv->thread_count);
    for (i = 0; i < inv->thread_count && i < max_lines; i++) {
        churn__printable(buf, sizeof buf, inv->threads[i].name);
        fprintf(f, "  tid %-8lld %s\n", inv->threads[i].tid, buf);
    }
    if (inv->thread_count > max_lines) fprintf(f, "  ... and %d more\n", inv->thread_count - max_lines);
}

CHURN__API void churn_inventory_fprint(const churn_inventory *inv, FILE *f, int max_lines) {
    churn__inventory_fprint_parts(inv, f, max_lines, 1);
}
#endif

/* >>limits ===================================================================================
   Presets, evaluation of peak/post-drain deltas, growth trend, drain. Pure logic over
   snapshots (the drain takes real ones). */

CHURN__API const char *churn_phase_name(churn_phase p) {
    switch (p) {
        case CHURN_PHASE_PEAK: return "peak";
        case CHURN_PHASE_POST_DRAIN: return "post_drain";
        case CHURN_PHASE_GROWTH: return "growth";
    }
    return "unknown";
}

CHURN__API const char *churn_status_name(churn_status s) {
    switch (s) {
        case CHURN_PASS: return "pass";
        case CHURN_FAIL: return "fail";
        case CHURN_INCONCLUSIVE: return "inconclusive";
    }
    return "unknown";
}

CHURN__API void churn_limits_none(churn_limits *l) {
    int i;
    if (!l) return;
    memset(l, 0, sizeof(*l));
    for (i = 0; i < CHURN_METRIC_COUNT; i++) {
        l->peak[i] = CHURN_NO_LIMIT;
        l->post_drain[i] = CHURN_NO_LIMIT;
        l->growth_per_1k[i] = -1.0;
    }
}

CHURN__API void churn_limits_release(churn_limits *l) {
    if (!l) return;
    churn_limits_none(l);
    l->post_drain[CHURN_METRIC_HANDLES] = 64;
    l->post_drain[CHURN_METRIC_THREADS] = 4;
    l->post_drain[CHURN_METRIC_GDI_OBJECTS] = 32;
    l->post_drain[CHURN_METRIC_USER_OBJECTS] = 32;
    l->post_drain[CHURN_METRIC_PRIVATE_BYTES] = 256 * CHURN__MIB;
    l->post_drain[CHURN_METRIC_RSS_BYTES] = 256 * CHURN__MIB;
    l->peak[CHURN_METRIC_HANDLES] = 128;
    l->peak[CHURN_METRIC_THREADS] = 32;
    l->peak[CHURN_METRIC_GDI_OBJECTS] = 64;
    l->peak[CHURN_METRIC_USER_OBJECTS] = 64;
    l->peak[CHURN_METRIC_PRIVATE_BYTES] = 384 * CHURN__MIB;
    l->peak[CHURN_METRIC_RSS_BYTES] = 384 * CHURN__MIB;
}

CHURN__API void churn_limits_strict(churn_limits *l) {
    static const int zero_after_drain[] = {CHURN_METRIC_HANDLES, CHURN_METRIC_THREADS, CHURN_METRIC_SOCKETS,
                                           CHURN_METRIC_CLOSE_WAIT, CHURN_METRIC_ZOMBIES,
                                           CHURN_METRIC_GDI_OBJECTS, CHURN_METRIC_USER_OBJECTS};
    int i;
    if (!l) return;
    churn_limits_none(l);
    for (i = 0; i < CHURN__ARRAY_LEN(zero_after_drain); i++) l->post_drain[zero_after_drain[i]] = 0;
    l->post_drain[CHURN_METRIC_RSS_BYTES] = 64 * CHURN__MIB;
    l->post_drain[CHURN_METRIC_PRIVATE_BYTES] = 64 * CHURN__MIB;
    l->peak[CHURN_METRIC_RSS_BYTES] = 256 * CHURN__MIB;
    l->peak[CHURN_METRIC_PRIVATE_BYTES] = 256 * CHURN__MIB;
    l->growth_per_1k[CHURN_METRIC_HANDLES] = 8;
    l->growth_per_1k[CHURN_METRIC_SOCKETS] = 8;
    l->growth_per_1k[CHURN_METRIC_THREADS] = 2;
    l->growth_per_1k[CHURN_METRIC_CLOSE_WAIT] = 4;
    l->growth_per_1k[CHURN_METRIC_ZOMBIES] = 2;
    l->growth_per_1k[CHURN_METRIC_CHILDREN] = 2;
    l->growth_per_1k[CHURN_METRIC_GDI_OBJECTS] = 4;
    l->growth_per_1k[CHURN_METRIC_USER_OBJECTS] = 4;
    l->growth_per_1k[CHURN_METRIC_RSS_BYTES] = (double)(4 * CHURN__MIB);
    l->growth_per_1k[CHURN_METRIC_PRIVATE_BYTES] = (double)(4 * CHURN__MIB);
    l->growth_windows = 4;
    l->growth_min_samples = 5;
}

CHURN__PRIV int churn__limits_valid(const churn_limits *l) {
    int i;
    for (i = 0; i < CHURN_METRIC_COUNT; i++) {
        if (l->peak[i] < CHURN_NO_LIMIT || l->post_drain[i] < CHURN_NO_LIMIT) return 0;
        if (l->growth_per_1k[i] != l->growth_per_1k[i]) return 0; /* NaN */
    }
    return l->growth_windows >= 0 && l->growth_min_samples >= 0;
}

CHURN__PRIV int churn__limits_any(const churn_limits *l, int with_growth) {
    int i;
    for (i = 0; i < CHURN_METRIC_COUNT; i++)
        if (l->peak[i] >= 0 || l->post_drain[i] >= 0 || (with_growth && l->growth_per_1k[i] >= 0)) return 1;
    return 0;
}

CHURN__PRIV void churn__verdict_add(churn_verdict *v, int m, churn_phase ph, double observed, double limit) {
    churn_violation *x;
    if (v->violation_count >= CHURN__ARRAY_LEN(v->violations)) return;
    x = &v->violations[v->violation_count++];
    x->metric = (churn_metric)m;
    x->phase = ph;
    x->observed = observed;
    x->limit = limit;
}

/* Status from what was found: violations fail; limits that could not be judged at all
   make it inconclusive; otherwise pass. Run-level reasons are layered on by churn_run. */
CHURN__PRIV void churn__verdict_settle(churn_verdict *v, const churn_limits *l, int with_growth) {
    if (v->violation_count > 0) {
        const churn_violation *x = &v->violations[0];
        v->status = CHURN_FAIL;
        snprintf(v->reason, sizeof v->reason, "%d violation%s, first: %s %s %.6g > %.6g", v->violation_count,
                 v->violation_count == 1 ? "" : "s", churn_metric_name(x->metric), churn_phase_name(x->phase),
                 x->observed, x->limit);
    } else if (churn__limits_any(l, with_growth) && v->checked == 0) {
        v->status = CHURN_INCONCLUSIVE;
        snprintf(v->reason, sizeof v->reason, "no limited metric could be measured");
    } else {
        v->status = CHURN_PASS;
        v->reason[0] = '\0';
    }
    v->ok = v->status == CHURN_PASS;
}

CHURN__API int churn_evaluate(const churn_snapshot *baseline, const churn_snapshot *peak,
                              const churn_snapshot *post_drain, const churn_limits *limits, churn_verdict *out) {
    int m;
    if (!out) return CHURN_E_INVAL;
    memset(out, 0, sizeof(*out));
    if (!baseline || !peak || !post_drain || !limits || !churn__limits_valid(limits)) {
        out->status = CHURN_INCONCLUSIVE;
        snprintf(out->reason, sizeof out->reason, "invalid arguments");
        return CHURN_E_INVAL;
    }
    for (m = 0; m < CHURN_METRIC_COUNT; m++) {
        const churn_snapshot *phase_snap[2];
        const long long *phase_limit[2];
        int ph;
        phase_snap[0] = peak; phase_limit[0] = limits->peak;
        phase_snap[1] = post_drain; phase_limit[1] = limits->post_drain;
        for (ph = 0; ph < 2; ph++) {
            long long lim = phase_limit[ph][m], b = baseline->value[m], x = phase_snap[ph]->value[m];
            if (lim < 0) continue;
            if (b == CHURN_UNKNOWN || x == CHURN_UNKNOWN) { out->unchecked |= CHURN_METRIC_BIT(m); continue; }
            out->checked |= CHURN_METRIC_BIT(m);
            if (x - b > lim)
                churn__verdict_add(out, m, ph == 0 ? CHURN_PHASE_PEAK : CHURN_PHASE_POST_DRAIN, (double)(x - b), (double)lim);
        }
    }
    churn__verdict_settle(out, limits, 0); /* growth is judged by churn_evaluate_growth */
    return CHURN_OK;
}

CHURN__API int churn_growth_slope(const churn_sample *series, int count, churn_metric m, double *slope_per_1k) {
    double sx = 0, sy = 0, sxx = 0, sxy = 0, n = 0, den;
    int i;
    if (!series || !slope_per_1k || count < 0 || (int)m < 0 || (int)m >= CHURN_METRIC_COUNT) return CHURN_E_INVAL;
    *slope_per_1k = 0.0;
    /* center on the first point so large cycle numbers do not cancel out in doubles */
    for (i = 0; i < count; i++) {
        double x, y;
        if (series[i].snapshot.value[m] == CHURN_UNKNOWN) continue;
        x = (double)(series[i].cycle - series[0].cycle);
        y = (double)series[i].snapshot.value[m];
        sx += x; sy += y; sxx += x * x; sxy += x * y; n += 1;
    }
    if (n < 2) return CHURN_E_INVAL;
    den = n * sxx - sx * sx;
    if (den <= 0) return CHURN_E_INVAL; /* every known point at the same cycle */
    *slope_per_1k = (n * sxy - sx * sy) / den * 1000.0;
    return CHURN_OK;
}

CHURN__API int churn_growth_every_window(const churn_sample *series, int count, churn_metric m, int windows) {
    int idx[CHURN_SERIES_MAX > 64 ? CHURN_SERIES_MAX : 64];
    int known = 0, i, w;
    if (!series || count <= 0 || windows <= 0 || (int)m < 0 || (int)m >= CHURN_METRIC_COUNT) return 0;
    /* K windows over the known points, boundaries evenly spaced: each must end higher
       than it started (a leak grows in every window; noise such as [0, 1, -1] does not) */
    for (i = 0; i < count && known < CHURN__ARRAY_LEN(idx); i++)
        if (series[i].snapshot.value[m] != CHURN_UNKNOWN) idx[known++] = i;
    if (known < windows + 1) return 0;
    for (w = 0; w < windows; w++) {
        int a = idx[(int)((long long)w * (known - 1) / windows)];
        int b = idx[(int)((long long)(w + 1) * (known - 1) / windows)];
        if (series[b].snapshot.value[m] <= series[a].snapshot.value[m]) return 0;
    }
    return 1;
}

CHURN__API int churn_evaluate_growth(const churn_sample *series, int count, const churn_limits *limits,
                                     churn_verdict *verdict) {
    int m, min_samples;
    if (!limits || !verdict || count < 0 || (count > 0 && !series) || !churn__limits_valid(limits)) return CHURN_E_INVAL;
    min_samples = limits->growth_min_samples > 0 ? limits->growth_min_samples : 5;
    for (m = 0; m < CHURN_METRIC_COUNT; m++) {
        double lim = limits->growth_per_1k[m], slope;
        int known = 0, i;
        if (lim < 0) continue;
        for (i = 0; i < count; i++) if (series[i].snapshot.value[m] != CHURN_UNKNOWN) known++;
        if (known < min_samples || churn_growth_slope(series, count, (churn_metric)m, &slope) != CHURN_OK) {
            verdict->unchecked |= CHURN_METRIC_BIT(m);
            continue;
        }
        verdict->checked |= CHURN_METRIC_BIT(m);
        if (slope > lim && (limits->growth_windows == 0 ||
                            churn_growth_every_window(series, count, (churn_metric)m, limits->growth_windows)))
            churn__verdict_add(verdict, m, CHURN_PHASE_GROWTH, slope, lim);
    }
    churn__verdict_settle(verdict, limits, 1);
    return CHURN_OK;
}

/* 1 when every checked post-drain limit holds for snapshot s. */
CHURN__PRIV int churn__post_drain_holds(const churn_snapshot *baseline, const churn_snapshot *s, const churn_limits *l) {
    int m;
    for (m = 0; m < CHURN_METRIC_COUNT; m++) {
        long long lim = l->post_drain[m];
        if (lim < 0 || baseline->value[m] == CHURN_UNKNOWN || s->value[m] == CHURN_UNKNOWN) continue;
        if (s->value[m] - baseline->value[m] > lim) return 0;
    }
    return 1;
}

#define CHURN__DRAIN_MIN_ATTEMPTS 3
CHURN__API int churn_drain_ex(long pid, const churn_snapshot *baseline, const churn_limits *limits, int timeout_ms,
                              int max_attempts, churn_snapshot *post_drain, churn_drain_stats *stats) {
    double start, deadline;
    int backoff_ms = 10, rc = CHURN_OK;
    churn_drain_stats local;
    if (!stats) stats = &local;
    memset(stats, 0, sizeof(*stats));
    if (!baseline || !limits || !post_drain || timeout_ms < 0 || max_attempts < 0 || pid < 0 ||
        !churn__limits_valid(limits))
        return CHURN_E_INVAL;
    if (max_attempts == 0) max_attempts = CHURN_DRAIN_ATTEMPTS;
    start = churn__os_now();
    deadline = start + timeout_ms / 1000.0;
    for (;;) {
        double now;
        int left_ms;
        rc = churn_snapshot_take(pid, post_drain);
        stats->attempts++;
        now = churn__os_now();
        stats->settle_s = now - start;
        if (rc != CHURN_OK) return rc;
        if (churn__post_drain_holds(baseline, post_drain, limits)) { stats->settled = 1; return CHURN_OK; }
        left_ms = (int)((deadline - now) * 1000.0);
        /* A loaded machine can burn the whole timeout in one slow snapshot: a positive
           timeout always gets CHURN__DRAIN_MIN_ATTEMPTS looks before giving up. */
        if (stats->attempts >= max_attempts) return CHURN_E_TIMEOUT;
        if (left_ms <= 0 && (timeout_ms == 0 || stats->attempts >= CHURN__DRAIN_MIN_ATTEMPTS)) return CHURN_E_TIMEOUT;
        if (left_ms < 10) left_ms = 10;
        churn__os_sleep_ms(backoff_ms < left_ms ? backoff_ms : left_ms);
        if (backoff_ms < 200) backoff_ms = backoff_ms * 2 > 200 ? 200 : backoff_ms * 2;
    }
}

CHURN__API int churn_drain(long pid, const churn_snapshot *baseline, const churn_limits *limits, int timeout_ms,
                           churn_snapshot *post_drain) {
    return churn_drain_ex(pid, baseline, limits, timeout_ms, 0, post_drain, NULL);
}

/* >>json =====================================================================================
   Streaming JSON through a (user, bytes, length) callback. Errors are sticky: after the
   first failed write nothing more is written and churn_json_finish reports it. */

CHURN__API void churn_json_init(churn_json *j, churn_write_fn write, void *user, int indent) {
    if (!j) return;
    memset(j, 0, sizeof(*j));
    j->write = write;
    j->user = user;
    j->indent = indent < 0 ? 0 : indent > 8 ? 8 : indent;
    if (!write) j->error = CHURN_E_INVAL;
}

CHURN__PRIV void churn__json_raw(churn_json *j, const char *s, size_t n) {
    if (j->error || n == 0) return;
    if (j->write(j->user, s, n) != 0) j->error = CHURN_E_IO;
}

CHURN__PRIV void churn__json_newline(churn_json *j) {
    static const char spaces[] = "                                                                ";
    int n;
    if (!j->indent) return;
    churn__json_raw(j, "\n", 1);
    n = j->depth * j->indent;
    while (n > 0) {
        int k = n > (int)sizeof spaces - 1 ? (int)sizeof spaces - 1 : n;
        churn__json_raw(j, spaces, (size_t)k);
        n -= k;
    }
}

/* Called before every value or key: the comma and indentation that precede it. */
CHURN__PRIV void churn__json_pre_any(churn_json *j, int is_key) {
    if (j->after_key) {
        if (is_key) j->error = CHURN_E_INVAL; /* key, key: the first one has no value */
        j->after_key = 0;
        return;
    }
    /* objects hold key/value pairs, arrays and the top level hold values */
    if ((j->depth > 0 && j->is_object[j->depth]) != !!is_key) { j->error = CHURN_E_INVAL; return; }
    if (j->depth == 0) {
        if (j->root_done) { j->error = CHURN_E_INVAL; return; } /* a document holds one value */
        j->root_done = 1;
    }
    if (j->depth > 0) {
        if (j->need_comma[j->depth]) churn__json_raw(j, ",", 1);
        churn__json_newline(j);
        j->need_comma[j->depth] = 1;
    }
}
CHURN__PRIV void churn__json_pre(churn_json *j) { churn__json_pre_any(j, 0); }

CHURN__PRIV void churn__json_open(churn_json *j, const char *c) {
    if (!j || j->error) return;
    churn__json_pre(j);
    churn__json_raw(j, c, 1);
    if (j->depth + 1 >= (int)sizeof j->need_comma) { j->error = CHURN_E_INVAL; return; }
    j->depth++;
    j->need_comma[j->depth] = 0;
    j->is_object[j->depth] = (unsigned char)(c[0] == '{');
}
CHURN__PRIV void churn__json_close(churn_json *j, const char *c) {
    int had;
    if (!j || j->error) return;
    if (j->depth <= 0 || j->after_key || j->is_object[j->depth] != (c[0] == '}')) { j->error = CHURN_E_INVAL; return; }
    had = j->need_comma[j->depth];
    j->depth--;
    if (had) churn__json_newline(j);
    churn__json_raw(j, c, 1);
}
CHURN__API void churn_json_object_begin(churn_json *j) { churn__json_open(j, "{"); }
CHURN__API void churn_json_object_end(churn_json *j) { churn__json_close(j, "}"); }
CHURN__API void churn_json_array_begin(churn_json *j) { churn__json_open(j, "["); }
CHURN__API void churn_json_array_end(churn_json *j) { churn__json_close(j, "]"); }

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one (then the
   caller emits U+FFFD for this byte and resynchronises on the next: maximal-subpart
   practice keeps every following valid character). */
CHURN__PRIV size_t churn__utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return (n >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        return (n >= 3 && s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        return (n >= 4 && s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80) ? 4 : 0;
    }
    return 0;
}
/* Bytes of a truncated-but-valid prefix starting at s (the "maximal subpart"), >= 1. */
CHURN__PRIV size_t churn__utf8_bad_len(const unsigned char *s, size_t n) {
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    size_t need, i;
    if (c >= 0xC2 && c <= 0xDF) need = 2;
    else if (c >= 0xE0 && c <= 0xEF) { need = 3; if (c == 0xE0) lo = 0xA0; if (c == 0xED) hi = 0x9F; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 4; if (c == 0xF0) lo = 0x90; if (c == 0xF4) hi = 0x8F; }
    else return 1;
    for (i = 1; i < need && i < n; i++) {
        if (s[i] < lo || s[i] > hi) break;
        lo = 0x80; hi = 0xBF;
    }
    return i;
}

/* Escapes the unit (byte or UTF-8 sequence) at s[*i] into out (at most 6 bytes); advances *i.
   One function for churn_json_escape and the streaming writer, so both give the same bytes. */
CHURN__PRIV size_t churn__escape_unit(const unsigned char *s, size_t n, size_t *i, char *out) {
    static const char hex[] = "0123456789abcdef";
    unsigned c = s[*i];
    size_t k;
    if (c < 0x80) {
        (*i)++;
        switch (c) {
            case '"': out[0] = '\\'; out[1] = '"'; return 2;
            case '\\': out[0] = '\\'; out[1] = '\\'; return 2;
            case '\b': out[0] = '\\'; out[1] = 'b'; return 2;
            case '\f': out[0] = '\\'; out[1] = 'f'; return 2;
            case '\n': out[0] = '\\'; out[1] = 'n'; return 2;
            case '\r': out[0] = '\\'; out[1] = 'r'; return 2;
            case '\t': out[0] = '\\'; out[1] = 't'; return 2;
            default:
                if (c < 0x20) {
                    out[0] = '\\'; out[1] = 'u'; out[2] = '0'; out[3] = '0';
                    out[4] = hex[c >> 4]; out[5] = hex[c & 15];
                    return 6;
                }
                out[0] = (char)c;
                return 1;
        }
    }
    k = churn__utf8_len(s + *i, n - *i);
    if (k) {
        memcpy(out, s + *i, k);
        *i += k;
        return k;
    }
    *i += churn__utf8_bad_len(s + *i, n - *i);
    out[0] = (char)0xEF; out[1] = (char)0xBF; out[2] = (char)0xBD; /* U+FFFD */
    return 3;
}

CHURN__API size_t churn_json_escape(const char *str, size_t n, char *out, size_t cap) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, len = 0;
    char unit[8];
    if (!s) n = 0;
    if (!out) cap = 0; /* length-only query */
    while (i < n) {
        size_t k = churn__escape_unit(s, n, &i, unit), t;
        for (t = 0; t < k; t++, len++)
            if (len + 1 < cap) out[len] = unit[t];
    }
    if (cap) out[len < cap ? len : cap - 1] = '\0';
    return len;
}

CHURN__PRIV void churn__json_str(churn_json *j, const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    char buf[512];
    size_t i = 0, len = 0;
    churn__json_raw(j, "\"", 1);
    while (i < n && !j->error) {
        len += churn__escape_unit(s, n, &i, buf + len);
        if (len > sizeof buf - 8) { churn__json_raw(j, buf, len); len = 0; }
    }
    churn__json_raw(j, buf, len);
    churn__json_raw(j, "\"", 1);
}

CHURN__API void churn_json_key(churn_json *j, const char *key) {
    if (!j || j->error) return;
    if (!key) { j->error = CHURN_E_INVAL; return; }
    churn__json_pre_any(j, 1);
    if (j->error) return;
    churn__json_str(j, key, strlen(key));
    churn__json_raw(j, j->indent ? ": " : ":", j->indent ? 2 : 1);
    j->after_key = 1;
}

CHURN__API void churn_json_string_n(churn_json *j, const char *s, size_t n) {
    if (!j || j->error) return;
    churn__json_pre(j);
    if (!s) { churn__json_raw(j, "null", 4); return; }
    churn__json_str(j, s, n);
}
CHURN__API void churn_json_string(churn_json *j, const char *s) { churn_json_string_n(j, s, s ? strlen(s) : 0); }

CHURN__API void churn_json_int(churn_json *j, long long v) {
    char buf[32];
    int n;
    if (!j || j->error) return;
    churn__json_pre(j);
    n = snprintf(buf, sizeof buf, "%lld", v);
    churn__json_raw(j, buf, (size_t)n);
}

/* v - v is 0 for finite v and NaN for NaN or an infinity (no isfinite: in C++ it is an
   out-of-line std:: function, which would be emitted into the user's object) */
CHURN__PRIV int churn__finite(double v) {
    double d = v - v;
    return d == d;
}

CHURN__API void churn_json_double(churn_json *j, double v) {
    char buf[40];
    int n;
    if (!j || j->error) return;
    churn__json_pre(j);
    if (!churn__finite(v)) { churn__json_raw(j, "null", 4); return; } /* NaN, +-Inf: JSON has no spelling */
    if (v == 0) v = 0; /* -0.0 prints as 0 */
    n = snprintf(buf, sizeof buf, "%.17g", v);
    /* shortest of %.15g/%.17g that round-trips keeps reports readable and byte-stable */
    {
        char shorter[40];
        int m = snprintf(shorter, sizeof shorter, "%.15g", v);
        if (strtod(shorter, NULL) == v) { memcpy(buf, shorter, (size_t)m + 1); n = m; }
    }
    /* a locale with a decimal comma must not break JSON */
    { int i; for (i = 0; i < n; i++) if (buf[i] == ',') buf[i] = '.'; }
    churn__json_raw(j, buf, (size_t)n);
}

CHURN__API void churn_json_bool(churn_json *j, int v) {
    if (!j || j->error) return;
    churn__json_pre(j);
    churn__json_raw(j, v ? "true" : "false", v ? 4 : 5);
}
CHURN__API void churn_json_null(churn_json *j) {
    if (!j || j->error) return;
    churn__json_pre(j);
    churn__json_raw(j, "null", 4);
}
CHURN__API int churn_json_finish(churn_json *j) {
    if (!j) return CHURN_E_INVAL;
    if (!j->error && (j->depth != 0 || j->after_key)) j->error = CHURN_E_INVAL;
    if (!j->error && j->indent) churn__json_raw(j, "\n", 1);
    return j->error;
}

#ifndef CHURN_NO_STDIO
CHURN__API int churn_json_write_file(void *file, const void *bytes, size_t length) {
    if (!file || (!bytes && length)) return -1;
    return fwrite(bytes, 1, length, (FILE *)file) == length ? 0 : -1;
}
#endif

/* >>churn loop ===============================================================================
   One engine for warmup, measured cycles and the restart probe: `concurrency` slots, each a
   non-blocking socket driven by a small per-profile script, multiplexed with poll() in the
   caller's thread. Every wait has a deadline; nothing blocks without one. */
static const char *const churn__profile_names[CHURN_PROFILE_COUNT] = {
    "reset", "close", "idle", "partial_headers", "partial_body", "unread_response", "request",
    "ws_upgrade_reset", "tls_partial_hello", "tls_stall"};

CHURN__API const char *churn_profile_name(churn_profile p) {
    if ((int)p < 0 || (int)p >= CHURN_PROFILE_COUNT) return "unknown";
    return churn__profile_names[p];
}

CHURN__API int churn_profile_parse(const char *name, churn_profile *out) {
    int p;
    if (!name || !out) return CHURN_E_INVAL;
    for (p = 0; p < CHURN_PROFILE_COUNT; p++) {
        const char *a = churn__profile_names[p], *b = name;
        while (*a && (*a == *b || (*a == '_' && *b == '-'))) { a++; b++; }
        if (!*a && !*b) { *out = (churn_profile)p; return CHURN_OK; }
    }
    return CHURN_E_INVAL;
}

CHURN__API void churn_config_init(churn_config *cfg, churn_budget budget) {
    if (!cfg) return;
    memset(cfg, 0, sizeof(*cfg));
    cfg->host = "127.0.0.1";
    cfg->cycles = budget == CHURN_BUDGET_SOAK ? 1000 : 100;
    cfg->concurrency = 1;
    cfg->profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_RESET) | CHURN_PROFILE_BIT(CHURN_PROFILE_CLOSE);
    cfg->timeout_ms = 2000;
    cfg->idle_ms = 50;
    cfg->drain_timeout_ms = 3000;
    cfg->label = "churn";
    cfg->http_path = "/";
    cfg->series_max = CHURN_SERIES_MAX;
    cfg->drain_max_attempts = CHURN_DRAIN_ATTEMPTS;
    churn_limits_release(&cfg->limits);
}

CHURN__API void churn_result_free(churn_result *r) {
    if (!r) return;
    CHURN_FREE(r->series);
    r->series = NULL;
    r->series_count = 0;
    churn_inventory_free(&r->leaked);
}

#ifndef CHURN_NO_NET
/* ---- socket shim: the engine below uses only these ---- */
#if defined(CHURN__LINUX) || defined(CHURN__MACOS)
typedef int churn__sock;
typedef struct pollfd churn__pollfd;
#define CHURN__BAD_SOCK (-1)
#if defined(MSG_NOSIGNAL)
#define CHURN__SEND_FLAGS MSG_NOSIGNAL
#else
#define CHURN__SEND_FLAGS 0 /* macOS: SO_NOSIGPIPE is set on every socket instead */
#endif
CHURN__PRIV int churn__net_init(void) { return CHURN_OK; }
CHURN__PRIV int churn__sock_err(void) { return errno; }
CHURN__PRIV int churn__poll(churn__pollfd *p, int n, int ms) { return poll(p, (nfds_t)n, ms); }
CHURN__PRIV void churn__sock_close(churn__sock s) { close(s); }
CHURN__PRIV churn__sock churn__sock_open(int family) {
    churn__sock s;
#if defined(SOCK_NONBLOCK) && defined(SOCK_CLOEXEC)
    s = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
#else
    s = socket(family, SOCK_STREAM, 0);
    if (s >= 0) {
        fcntl(s, F_SETFD, FD_CLOEXEC);
        fcntl(s, F_SETFL, fcntl(s, F_GETFL) | O_NONBLOCK);
    }
#endif
#if defined(SO_NOSIGPIPE)
    if (s >= 0) { int one = 1; setsockopt(s, SOL_SOCKET, SO_NOSIGPIPE, &one, sizeof one); }
#endif
    return s;
}
#define CHURN__E_INPROGRESS(e) ((e) == EINPROGRESS || (e) == EALREADY || (e) == EAGAIN)
#define CHURN__E_AGAIN(e) ((e) == EAGAIN || (e) == EWOULDBLOCK || (e) == EINTR)
#define CHURN__E_REFUSED(e) ((e) == ECONNREFUSED)
#define CHURN__E_RESET(e) ((e) == ECONNRESET || (e) == EPIPE || (e) == ECONNABORTED)
#define CHURN__E_TIMEDOUT(e) ((e) == ETIMEDOUT)
#define CHURN__E_INTR(e) ((e) == EINTR)
#define CHURN__E_NOFD(e) ((e) == EMFILE || (e) == ENFILE || (e) == ENOBUFS)
#if defined(POLLRDHUP)
#define CHURN__POLL_PEER_CLOSED POLLRDHUP /* the peer's FIN, seen without reading */
#else
#define CHURN__POLL_PEER_CLOSED 0         /* only a reset or full hang-up ends an idle wait */
#endif
#endif
#if defined(CHURN__WINDOWS)
/* >>socket shim windows: the same names as the POSIX shim above */
/* Winsock. Sockets are non-blocking (FIONBIO) and not inheritable; WSAPoll multiplexes.
   WSAStartup runs once per process (InitOnceExecuteOnce) and is never undone: a
   WSACleanup behind the caller's back would break the caller's own sockets.
   Known limit: before Windows 10 2004, WSAPoll does not report a refused non-blocking
   connect (the cycle ends timed_out, not refused); Windows also retries a refused SYN
   for about 2 s on loopback. */
typedef SOCKET churn__sock;
typedef WSAPOLLFD churn__pollfd;
#define CHURN__BAD_SOCK INVALID_SOCKET
#define CHURN__SEND_FLAGS 0

static INIT_ONCE churn__wsa_once = INIT_ONCE_STATIC_INIT;
static int churn__wsa_rc; /* written once inside the init-once callback */
CHURN__PRIV BOOL CALLBACK churn__wsa_init(PINIT_ONCE once, PVOID param, PVOID *context) {
    WSADATA wd;
    (void)once; (void)param; (void)context;
    churn__wsa_rc = WSAStartup(MAKEWORD(2, 2), &wd) == 0 ? CHURN_OK : CHURN_E_UNSUPPORTED;
    return TRUE;
}
CHURN__PRIV int churn__net_init(void) {
    if (!InitOnceExecuteOnce(&churn__wsa_once, churn__wsa_init, NULL, NULL)) return CHURN_E_UNSUPPORTED;
    return churn__wsa_rc;
}
CHURN__PRIV int churn__sock_err(void) { return WSAGetLastError(); }
CHURN__PRIV int churn__poll(churn__pollfd *p, int n, int ms) { return WSAPoll(p, (ULONG)n, ms); }
CHURN__PRIV void churn__sock_close(churn__sock s) { closesocket(s); }
CHURN__PRIV churn__sock churn__sock_open(int family) {
    u_long one = 1;
    churn__sock s = socket(family, SOCK_STREAM, IPPROTO_TCP);
    if (s == INVALID_SOCKET) return s;
    if (ioctlsocket(s, FIONBIO, &one) != 0) {
        int e = WSAGetLastError();
        closesocket(s);
        WSASetLastError(e);
        return INVALID_SOCKET;
    }
    SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0);
    return s;
}
#define CHURN__E_INPROGRESS(e) ((e) == WSAEWOULDBLOCK || (e) == WSAEINPROGRESS || (e) == WSAEALREADY)
#define CHURN__E_AGAIN(e) ((e) == WSAEWOULDBLOCK || (e) == WSAEINTR)
#define CHURN__E_REFUSED(e) ((e) == WSAECONNREFUSED)
#define CHURN__E_RESET(e) ((e) == WSAECONNRESET || (e) == WSAECONNABORTED || (e) == WSAESHUTDOWN)
#define CHURN__E_TIMEDOUT(e) ((e) == WSAETIMEDOUT)
#define CHURN__E_INTR(e) ((e) == WSAEINTR)
/* WSAPoll has no POLLRDHUP; it reports a peer's orderly close as POLLHUP ("disconnected"). */
#define CHURN__POLL_PEER_CLOSED 0
#define CHURN__E_NOFD(e) ((e) == WSAEMFILE || (e) == WSAENOBUFS)
/* <<socket shim windows */
#endif

CHURN__PRIV void churn__sock_reset(churn__sock s) {
    /* SO_LINGER {1, 0}: close() discards the send queue and sends RST, no TIME_WAIT */
    struct linger lg;
    lg.l_onoff = 1;
    lg.l_linger = 0;
    setsockopt(s, SOL_SOCKET, SO_LINGER, (const char *)&lg, sizeof lg);
    churn__sock_close(s);
}

/* ---- target resolution and the loopback guard ---- */
typedef struct churn__target {
    struct sockaddr_storage addr;
    int addr_len;
    int family;
} churn__target;

CHURN__PRIV int churn__is_loopback(const struct sockaddr *sa) {
    if (sa->sa_family == AF_INET) {
        const unsigned char *b = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
        return b[0] == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const unsigned char *b = (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
        static const unsigned char v6_loop[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
        static const unsigned char v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(b, v6_loop, 16) == 0) return 1;
        return memcmp(b, v4_mapped, 12) == 0 && b[12] == 127;
    }
    return 0;
}

CHURN__PRIV int churn__host_syntax_ok(const char *h) {
    size_t n = strlen(h), i;
    int all_numeric = 1;
    if (n == 0 || n > 253) return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' ||
              c == ':' || c == '%' || c == '_'))
            return 0;
        if (!((c >= '0' && c <= '9') || c == '.')) all_numeric = 0;
    }
    if (all_numeric) { /* looks like a dotted quad: it must be one */
        struct in_addr a;
        return inet_pton(AF_INET, h, &a) == 1;
    }
    if (strchr(h, ':')) { /* only an IPv6 literal may hold colons */
        struct in6_addr a;
        char tmp[64];
        const char *pct = strchr(h, '%');
        size_t len = pct ? (size_t)(pct - h) : n;
        if (len >= sizeof tmp) return 0;
        memcpy(tmp, h, len);
        tmp[len] = '\0';
        return inet_pton(AF_INET6, tmp, &a) == 1;
    }
    return 1;
}

CHURN__PRIV int churn__resolve(const char *host, int port, int allow_remote, churn__target *t) {
    struct addrinfo hints, *res = NULL, *ai;
    char port_s[16];
    int rc = CHURN_E_CONNECT, found_remote = 0;
    if (!churn__host_syntax_ok(host)) return CHURN_E_INVAL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(port_s, sizeof port_s, "%d", port);
    if (getaddrinfo(host, port_s, &hints, &res) != 0 || !res) return CHURN_E_CONNECT;
    /* names are resolved once; a loopback answer wins over a remote one */
    for (ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
        if (!allow_remote && !churn__is_loopback(ai->ai_addr)) { found_remote = 1; continue; }
        memset(t, 0, sizeof(*t));
        memcpy(&t->addr, ai->ai_addr, ai->ai_addrlen);
        t->addr_len = (int)ai->ai_addrlen;
        t->family = ai->ai_family;
        rc = CHURN_OK;
        break;
    }
    freeaddrinfo(res);
    if (rc != CHURN_OK && found_remote) rc = CHURN_E_REMOTE;
    return rc;
}

/* ---- scripts ---- */
enum {
    CHURN__S_FREE,
    CHURN__S_CONNECTING,
    CHURN__S_SENDING,
    CHURN__S_READING,  /* REQUEST: response to its end; WS: response head */
    CHURN__S_AWAIT,    /* UNREAD_RESPONSE: wait until bytes are readable, never read */
    CHURN__S_IDLE      /* IDLE / TLS_STALL: wait idle_ms, discarding what arrives */
};
enum { CHURN__O_COMPLETED, CHURN__O_REFUSED, CHURN__O_TIMED_OUT, CHURN__O_RESET, CHURN__O_CLOSED, CHURN__O_FAILED };

enum { CHURN__H_HEAD, CHURN__H_LENGTH, CHURN__H_CHUNK_SIZE, CHURN__H_CHUNK_DATA, CHURN__H_CHUNK_CRLF,
       CHURN__H_TRAILER, CHURN__H_UNTIL_CLOSE, CHURN__H_DONE };

/* Response reader: the head is parsed line by line as it arrives (no size limit on the
   head), then the body by Content-Length, chunked encoding, or until close. */
typedef struct churn__http {
    int state;
    char line[256];      /* current head line (longer lines are kept truncated) */
    int line_len;
    int line_no;         /* head lines seen; 0: the status line */
    int status;
    int chunked;
    long long length;    /* Content-Length, -1 when absent */
    long long remaining;
    int line_hex;        /* chunk size digits still being read */
} churn__http;

typedef struct churn__slot {
    churn__sock fd;
    int state;
    int profile;
    int measured;
    double deadline;   /* connect / response bound */
    double idle_until;
    const char *out;
    size_t out_len, out_off;
    long long sent, received;
    churn__http http;
} churn__slot;

typedef struct churn__engine {
    const churn_config *cfg;
    churn_result *res;
    churn__target target;
    int profile_list[CHURN_PROFILE_COUNT];
    int profile_count;
    int timeout_ms, idle_ms;
    char *req_partial_headers, *req_partial_body, *req_unread, *req_request, *req_ws;
    size_t len_partial_headers, len_partial_body, len_unread, len_request, len_ws;
    unsigned char tls_hello[48];
    /* per-phase run state */
    churn_outcomes scratch;            /* warmup / probe outcomes, discarded */
    churn_outcomes scratch_by[CHURN_PROFILE_COUNT];
    int measured;
    int stop;                          /* cancel or watched process gone */
    int open_socks;                    /* the engine's own sockets open right now */
    int watch_self;                    /* watched process is this one: exclude open_socks */
    /* sampling */
    unsigned sample_mask;
    churn_sampler sampler;             /* open during the measured cycles only */
    long sample_every;
    int series_cap;
    double last_progress;
} churn__engine;

CHURN__PRIV char *churn__build_request(const char *fmt_path, const char *path, const char *host, const char *tail,
                                       size_t *len_out) {
    size_t n = strlen(fmt_path) + strlen(path) + strlen(host) + strlen(tail) + 64;
    char *buf = (char *)CHURN_MALLOC(n);
    int w;
    if (!buf) return NULL;
    w = snprintf(buf, n, "%s %s HTTP/1.1\r\nHost: %s\r\n%s", fmt_path, path, host, tail);
    *len_out = w > 0 ? (size_t)w : 0;
    return buf;
}

CHURN__PRIV int churn__engine_scripts(churn__engine *e, const char *path, const char *host) {
    static const char body_x[512 + 1] =
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
        "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
    size_t head_len;
    char *head;
    int i;
    e->req_partial_headers = churn__build_request("GET", path, host, "User-Agent: churn.h\r\nX-Churn: parti",
                                                  &e->len_partial_headers);
    head = churn__build_request("POST", path, host,
                                "User-Agent: churn.h\r\nContent-Type: application/octet-stream\r\n"
                                "Content-Length: 1024\r\n\r\n",
                                &head_len);
    if (head) {
        e->req_partial_body = (char *)CHURN_MALLOC(head_len + 512 + 1);
        if (e->req_partial_body) {
            memcpy(e->req_partial_body, head, head_len);
            memcpy(e->req_partial_body + head_len, body_x, 512);
            e->len_partial_body = head_len + 512;
        }
        CHURN_FREE(head);
    }
    e->req_unread = churn__build_request("GET", path, host, "User-Agent: churn.h\r\n\r\n", &e->len_unread);
    e->req_request = churn__build_request("GET", path, host, "User-Agent: churn.h\r\nConnection: close\r\n\r\n",
                                          &e->len_request);
    e->req_ws = churn__build_request("GET", path, host,
                                     "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                                     &e->len_ws);
    /* TLS record (handshake, legacy version 3.1, 512 bytes declared), ClientHello header
       (508 bytes declared), client_version 3.3, 32 "random" bytes, empty session id,
       one cipher suite: a well-formed start whose declared length never arrives. */
    e->tls_hello[0] = 0x16; e->tls_hello[1] = 0x03; e->tls_hello[2] = 0x01; e->tls_hello[3] = 0x02; e->tls_hello[4] = 0x00;
    e->tls_hello[5] = 0x01; e->tls_hello[6] = 0x00; e->tls_hello[7] = 0x01; e->tls_hello[8] = 0xfc;
    e->tls_hello[9] = 0x03; e->tls_hello[10] = 0x03;
    for (i = 0; i < 32; i++) e->tls_hello[11 + i] = (unsigned char)(0x5a ^ (i * 37));
    e->tls_hello[43] = 0x00;                          /* session id length */
    e->tls_hello[44] = 0x00; e->tls_hello[45] = 0x02; /* cipher suites length: one suite */
    e->tls_hello[46] = 0x13; e->tls_hello[47] = 0x01; /* TLS_AES_128_GCM_SHA256; cut here */
    if (!e->req_partial_headers || !e->req_partial_body || !e->req_unread || !e->req_request || !e->req_ws)
        return CHURN_E_NOMEM;
    return CHURN_OK;
}
#define CHURN__TLS_HELLO_SENT 48

CHURN__PRIV void churn__engine_free(churn__engine *e) {
    churn_sampler_close(&e->sampler);
    CHURN_FREE(e->req_partial_headers);
    CHURN_FREE(e->req_partial_body);
    CHURN_FREE(e->req_unread);
    CHURN_FREE(e->req_request);
    CHURN_FREE(e->req_ws);
}

/* ---- HTTP response reader ---- */
CHURN__PRIV int churn__ci_prefix(const char *s, const char *prefix) {
    while (*prefix) {
        char a = *s++, b = *prefix++;
        if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
        if (b >= 'A' && b <= 'Z') b = (char)(b - 'A' + 'a');
        if (a != b) return 0;
    }
    return 1;
}

/* One complete head line (without CR/LF). An empty line ends the head. */
CHURN__PRIV void churn__http_head_line(churn__http *h, int profile) {
    const char *line = h->line;
    if (h->line_len == 0) {
        if (profile == CHURN_PROFILE_WS_UPGRADE_RESET) { h->state = CHURN__H_DONE; return; }
        if (h->status >= 100 && h->status < 200 && h->status != 101) { /* 1xx interim: the real head follows */
            h->line_no = 0; h->status = 0; h->chunked = 0; h->length = -1;
            return;
        }
        if (h->status == 204 || h->status == 304 || (h->status >= 100 && h->status < 200)) h->state = CHURN__H_DONE;
        else if (h->chunked) { h->state = CHURN__H_CHUNK_SIZE; h->remaining = 0; h->line_hex = 1; }
        else if (h->length >= 0) { h->remaining = h->length; h->state = h->length == 0 ? CHURN__H_DONE : CHURN__H_LENGTH; }
        else h->state = CHURN__H_UNTIL_CLOSE;
        return;
    }
    if (h->line_no++ == 0) {
        const char *sp = strchr(line, ' ');
        if (strncmp(line, "HTTP/", 5) == 0 && sp) h->status = atoi(sp + 1);
    } else if (churn__ci_prefix(line, "content-length:")) {
        const char *v = line + 15;
        while (*v == ' ' || *v == '\t') v++;
        h->length = 0;
        while (*v >= '0' && *v <= '9' && h->length < (1LL << 50)) h->length = h->length * 10 + (*v++ - '0');
    } else if (churn__ci_prefix(line, "transfer-encoding:")) {
        const char *v;
        for (v = line + 18; *v; v++)
            if (churn__ci_prefix(v, "chunked")) h->chunked = 1;
    }
}

/* Feeds received bytes; returns 1 when the response is complete. */
CHURN__PRIV int churn__http_feed(churn__http *h, const char *b, size_t n, int profile) {
    size_t i = 0;
    while (i < n && h->state != CHURN__H_DONE) {
        char c = b[i];
        switch (h->state) {
            case CHURN__H_HEAD:
                i++;
                if (c == '\n') {
                    h->line[h->line_len] = '\0';
                    churn__http_head_line(h, profile);
                    h->line_len = 0;
                } else if (c != '\r' && h->line_len < (int)sizeof h->line - 1) {
                    h->line[h->line_len++] = c;
                }
                break;
            case CHURN__H_LENGTH: {
                size_t take = n - i;
                if ((long long)take > h->remaining) take = (size_t)h->remaining;
                h->remaining -= (long long)take;
                i += take;
                if (h->remaining == 0) h->state = CHURN__H_DONE;
                break;
            }
            case CHURN__H_CHUNK_SIZE: {
                int v = churn__hexval(c);
                i++;
                if (c == '\n') {
                    if (h->remaining == 0) { h->state = CHURN__H_TRAILER; h->line_len = 0; }
                    else h->state = CHURN__H_CHUNK_DATA;
                } else if (v >= 0 && h->line_hex) {
                    if (h->remaining < (1LL << 50)) h->remaining = h->remaining * 16 + v;
                } else {
                    h->line_hex = 0; /* chunk extension or CR: ignored until LF */
                }
                break;
            }
            case CHURN__H_CHUNK_DATA: {
                size_t take = n - i;
                if ((long long)take > h->remaining) take = (size_t)h->remaining;
                h->remaining -= (long long)take;
                i += take;
                if (h->remaining == 0) h->state = CHURN__H_CHUNK_CRLF;
                break;
            }
            case CHURN__H_CHUNK_CRLF:
                i++;
                if (c == '\n') { h->state = CHURN__H_CHUNK_SIZE; h->remaining = 0; h->line_hex = 1; }
                break;
            case CHURN__H_TRAILER:
                i++;
                if (c == '\n') {
                    if (h->line_len == 0) h->state = CHURN__H_DONE;
                    h->line_len = 0;
                } else if (c != '\r') {
                    h->line_len++;
                }
                break;
            default: /* UNTIL_CLOSE: everything is body */
                i = n;
                break;
        }
    }
    return h->state == CHURN__H_DONE;
}

/* ---- one cycle's life ---- */
CHURN__PRIV void churn__count(churn__engine *e, int profile, int outcome, int connected, long long sent, long long recvd) {
    churn_outcomes *tot = e->measured ? &e->res->outcomes : &e->scratch;
    churn_outcomes *byp = profile < 0 ? NULL : e->measured ? &e->res->by_profile[profile] : &e->scratch_by[profile];
    churn_outcomes *both[2];
    int k;
    both[0] = tot;
    both[1] = byp;
    for (k = 0; k < (profile >= 0 ? 2 : 1); k++) {
        churn_outcomes *o = both[k];
        o->attempted++;
        if (connected) o->connected++;
        switch (outcome) {
            case CHURN__O_COMPLETED: o->completed++; break;
            case CHURN__O_REFUSED: o->refused++; break;
            case CHURN__O_TIMED_OUT: o->timed_out++; break;
            case CHURN__O_RESET: o->reset_by_peer++; break;
            case CHURN__O_CLOSED: o->closed_by_peer++; break;
            default: o->failed++; break;
        }
        o->bytes_sent += sent;
        o->bytes_received += recvd;
    }
}

/* Ends the slot's cycle: closes the socket the way the script says, counts the outcome. */
CHURN__PRIV void churn__finish(churn__engine *e, churn__slot *s, int outcome, int rst) {
    int connected = s->state != CHURN__S_CONNECTING;
    if (s->fd != CHURN__BAD_SOCK) {
        if (rst) churn__sock_reset(s->fd); else churn__sock_close(s->fd);
        e->open_socks--;
    }
    if (outcome == CHURN__O_REFUSED || (outcome == CHURN__O_FAILED && s->state == CHURN__S_CONNECTING)) connected = 0;
    if (outcome == CHURN__O_TIMED_OUT && s->state == CHURN__S_CONNECTING) connected = 0;
    /* a reset seen while still "connecting" means the handshake completed and the peer
       then reset it (accept-and-RST servers); a refused connect is ECONNREFUSED instead */
    if (outcome == CHURN__O_RESET && s->state == CHURN__S_CONNECTING) connected = 1;
    churn__count(e, s->profile, outcome, connected, s->sent, s->received);
    s->fd = CHURN__BAD_SOCK;
    s->state = CHURN__S_FREE;
}

CHURN__PRIV int churn__outcome_of_error(int err) {
    if (CHURN__E_REFUSED(err)) return CHURN__O_REFUSED;
    if (CHURN__E_RESET(err)) return CHURN__O_RESET;
    if (CHURN__E_TIMEDOUT(err)) return CHURN__O_TIMED_OUT;
    return CHURN__O_FAILED;
}

/* The connection is up: set the script's next step. May finish the cycle at once. */
CHURN__PRIV void churn__connected(churn__engine *e, churn__slot *s, double now) {
    s->state = CHURN__S_SENDING;
    s->out = NULL;
    s->out_len = s->out_off = 0;
    s->deadline = now + e->timeout_ms / 1000.0;
    switch (s->profile) {
        case CHURN_PROFILE_RESET: churn__finish(e, s, CHURN__O_COMPLETED, 1); return;
        case CHURN_PROFILE_CLOSE: churn__finish(e, s, CHURN__O_COMPLETED, 0); return;
        case CHURN_PROFILE_IDLE:
        case CHURN_PROFILE_TLS_STALL:
            s->state = CHURN__S_IDLE;
            s->idle_until = now + e->idle_ms / 1000.0;
            return;
        case CHURN_PROFILE_PARTIAL_HEADERS: s->out = e->req_partial_headers; s->out_len = e->len_partial_headers; break;
        case CHURN_PROFILE_PARTIAL_BODY: s->out = e->req_partial_body; s->out_len = e->len_partial_body; break;
        case CHURN_PROFILE_UNREAD_RESPONSE: s->out = e->req_unread; s->out_len = e->len_unread; break;
        case CHURN_PROFILE_REQUEST: s->out = e->req_request; s->out_len = e->len_request; break;
        case CHURN_PROFILE_WS_UPGRADE_RESET: s->out = e->req_ws; s->out_len = e->len_ws; break;
        default: s->out = (const char *)e->tls_hello; s->out_len = CHURN__TLS_HELLO_SENT; break;
    }
    memset(&s->http, 0, sizeof s->http);
    s->http.length = -1;
}

/* All script bytes are out: what comes next. */
CHURN__PRIV void churn__sent_all(churn__engine *e, churn__slot *s) {
    switch (s->profile) {
        case CHURN_PROFILE_UNREAD_RESPONSE: s->state = CHURN__S_AWAIT; break;
        case CHURN_PROFILE_REQUEST:
        case CHURN_PROFILE_WS_UPGRADE_RESET: s->state = CHURN__S_READING; break;
        default: churn__finish(e, s, CHURN__O_COMPLETED, 1); break; /* partial scripts: RST */
    }
}

CHURN__PRIV void churn__try_send(churn__engine *e, churn__slot *s) {
    while (s->state == CHURN__S_SENDING && s->out_off < s->out_len) {
        long n = (long)send(s->fd, s->out + s->out_off, s->out_len - s->out_off, CHURN__SEND_FLAGS);
        if (n < 0) {
            int err = churn__sock_err();
            if (CHURN__E_AGAIN(err)) return;
            churn__finish(e, s, churn__outcome_of_error(err), 1);
            return;
        }
        s->out_off += (size_t)n;
        s->sent += n;
    }
    if (s->state == CHURN__S_SENDING) churn__sent_all(e, s);
}

CHURN__PRIV void churn__on_readable(churn__engine *e, churn__slot *s, short rev) {
    char buf[16384];
    int rounds;
    if (s->state == CHURN__S_IDLE) {
        /* idle scripts read nothing: only a reset or the peer's close ends them early */
        int err = 0;
        socklen_t len = sizeof err;
        if (rev & POLLERR) {
            getsockopt(s->fd, SOL_SOCKET, SO_ERROR, (char *)&err, &len);
            churn__finish(e, s, err ? churn__outcome_of_error(err) : CHURN__O_RESET, 1);
        } else if (rev & (POLLHUP | CHURN__POLL_PEER_CLOSED)) {
            churn__finish(e, s, CHURN__O_CLOSED, 1);
        }
        return;
    }
    if (s->state == CHURN__S_AWAIT) {
        /* peek: response bytes mean the script is done; EOF or RST mean the peer quit first */
        long n = (long)recv(s->fd, buf, 1, MSG_PEEK);
        if (n > 0) churn__finish(e, s, CHURN__O_COMPLETED, 1);
        else if (n == 0) churn__finish(e, s, CHURN__O_CLOSED, 1);
        else if (!CHURN__E_AGAIN(churn__sock_err())) churn__finish(e, s, churn__outcome_of_error(churn__sock_err()), 1);
        return;
    }
    for (rounds = 0; rounds < 64; rounds++) { /* bounded: a firehose server cannot starve the rest */
        long n = (long)recv(s->fd, buf, sizeof buf, 0);
        if (n < 0) {
            int err = churn__sock_err();
            if (CHURN__E_AGAIN(err)) return;
            churn__finish(e, s, churn__outcome_of_error(err), 1);
            return;
        }
        if (n == 0) {
            if (s->state == CHURN__S_READING && s->http.state == CHURN__H_UNTIL_CLOSE)
                churn__finish(e, s, CHURN__O_COMPLETED, 0);
            else
                churn__finish(e, s, CHURN__O_CLOSED, s->state != CHURN__S_READING);
            return;
        }
        s->received += n;
        if (s->state == CHURN__S_READING && churn__http_feed(&s->http, buf, (size_t)n, s->profile)) {
            if (s->profile == CHURN_PROFILE_REQUEST) churn__finish(e, s, CHURN__O_COMPLETED, 0);
            else churn__finish(e, s, CHURN__O_COMPLETED, 1); /* WS upgrade: RST after the head */
            return;
        }
        /* IDLE / TLS_STALL discard what arrives and keep waiting */
    }
}

/* Starts one cycle in slot s. Returns 1 when it could not start for want of fds and should
   be retried once a cycle in flight has ended (nothing was counted), else 0. */
CHURN__PRIV int churn__start(churn__engine *e, churn__slot *s, int profile, double now) {
    int rc;
    memset(s, 0, sizeof(*s));
    s->fd = CHURN__BAD_SOCK;
    s->profile = profile;
    s->state = CHURN__S_CONNECTING;
    s->deadline = now + e->timeout_ms / 1000.0;
    s->fd = churn__sock_open(e->target.family);
    if (s->fd == CHURN__BAD_SOCK) {
        /* out of fds while our own sockets are open: wait for one of them to finish rather
           than burn the remaining cycles as failures in a tight loop */
        if (e->open_socks > 0 && CHURN__E_NOFD(churn__sock_err())) {
            s->state = CHURN__S_FREE;
            if (e->measured) e->res->fd_deferrals++;
            return 1;
        }
        churn__finish(e, s, CHURN__O_FAILED, 0);
        return 0;
    }
    e->open_socks++;
    do rc = connect(s->fd, (const struct sockaddr *)&e->target.addr, (socklen_t)e->target.addr_len);
    while (rc != 0 && CHURN__E_INTR(churn__sock_err()));
    if (rc == 0) { churn__connected(e, s, now); if (s->state == CHURN__S_SENDING) churn__try_send(e, s); return 0; }
    rc = churn__sock_err();
    if (CHURN__E_INPROGRESS(rc)) return 0;
    churn__finish(e, s, churn__outcome_of_error(rc), 0);
    return 0;
}

CHURN__PRIV void churn__on_writable_connecting(churn__engine *e, churn__slot *s, double now) {
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, (char *)&err, &len) != 0) err = churn__sock_err();
    if (err != 0) { churn__finish(e, s, churn__outcome_of_error(err), 0); return; }
    churn__connected(e, s, now);
    if (s->state == CHURN__S_SENDING) churn__try_send(e, s);
}

/* Deadlines: connect and response waits time out; idle waits end the script. */
CHURN__PRIV void churn__on_time(churn__engine *e, churn__slot *s, double now) {
    if (s->state == CHURN__S_IDLE) {
        if (now >= s->idle_until) churn__finish(e, s, CHURN__O_COMPLETED, s->profile == CHURN_PROFILE_IDLE);
        return;
    }
    if (s->state != CHURN__S_FREE && now >= s->deadline) churn__finish(e, s, CHURN__O_TIMED_OUT, 1);
}

CHURN__PRIV double churn__slot_wake(const churn__slot *s) {
    return s->state == CHURN__S_IDLE ? s->idle_until : s->deadline;
}

/* ---- sampling: peak over every snapshot, a decimated series of bounded length ---- */
CHURN__PRIV void churn__series_add(churn__engine *e, long long cycle, const churn_snapshot *s) {
    churn_result *r = e->res;
    if (!r->series) return;
    if (cycle % r->series_stride != 0) return;
    if (r->series_count == e->series_cap) {
        /* full: keep every other sample and double the stride, so memory never grows */
        int i, w = 0;
        for (i = 0; i < r->series_count; i += 2) r->series[w++] = r->series[i];
        r->series_count = w;
        r->series_stride *= 2;
        if (cycle % r->series_stride != 0) return;
    }
    r->series[r->series_count].cycle = cycle;
    r->series[r->series_count].snapshot = *s;
    r->series_count++;
}

CHURN__PRIV void churn__sample(churn__engine *e) {
    churn_snapshot s;
    int rc;
    if (e->stop) return;
    rc = churn_sampler_take(&e->sampler, e->sample_mask, &s);
    if (rc == CHURN_E_NOPROC) { e->res->watch_exited = 1; e->stop = 1; return; }
    if (rc != CHURN_OK) return;
    if (e->watch_self) {
        /* the harness's own client sockets are not the server's: leave them out */
        if (s.value[CHURN_METRIC_HANDLES] != CHURN_UNKNOWN) s.value[CHURN_METRIC_HANDLES] -= e->open_socks;
        if (s.value[CHURN_METRIC_SOCKETS] != CHURN_UNKNOWN) s.value[CHURN_METRIC_SOCKETS] -= e->open_socks;
    }
    churn_snapshot_peak(&e->res->peak, &s);
    churn__series_add(e, e->res->cycles_done, &s);
}

/* After every measured cycle: sampling, progress (at most ~10 per second), cancel. */
CHURN__PRIV void churn__after_cycle(churn__engine *e) {
    churn_result *r = e->res;
    if (!e->measured) return;
    r->cycles_done++;
    if (r->cycles_done % e->sample_every == 0) churn__sample(e);
    if (e->cfg->progress) {
        double now = churn__os_now();
        if (now - e->last_progress >= 0.1 || r->cycles_done == e->res->cfg_cycles) {
            e->last_progress = now;
            if (e->cfg->progress(e->cfg->user, r->cycles_done, r->cfg_cycles) != 0) {
                r->canceled = 1;
                e->stop = 1;
            }
        }
    }
}

/* Runs `count` cycles of the TCP scripts; profile of cycle i is the (i mod k)-th selected. */
CHURN__PRIV int churn__engine_run(churn__engine *e, long long count, int concurrency) {
    churn__slot *slots;
    churn__pollfd *pfds;
    int *owner;
    long long next = 0;
    int active = 0, i;
    if (concurrency > count) concurrency = (int)count;
    if (concurrency < 1) concurrency = 1;
    slots = (churn__slot *)CHURN_MALLOC((size_t)concurrency * sizeof(*slots));
    pfds = (churn__pollfd *)CHURN_MALLOC((size_t)concurrency * sizeof(*pfds));
    owner = (int *)CHURN_MALLOC((size_t)concurrency * sizeof(*owner));
    if (!slots || !pfds || !owner) {
        CHURN_FREE(slots); CHURN_FREE(pfds); CHURN_FREE(owner);
        return CHURN_E_NOMEM;
    }
    for (i = 0; i < concurrency; i++) { slots[i].state = CHURN__S_FREE; slots[i].fd = CHURN__BAD_SOCK; }
    for (;;) {
        double now = churn__os_now(), wake = now + 3600.0;
        int n = 0, ready, timeout_ms;
        /* fill free slots; scripts that finish inside churn__start free their slot again */
        int starved = 0;
        for (i = 0; i < concurrency && !starved; i++) {
            while (slots[i].state == CHURN__S_FREE && next < count && !e->stop) {
                int profile = e->profile_list[next % e->profile_count];
                slots[i].measured = e->measured;
                if (churn__start(e, &slots[i], profile, now)) { starved = 1; break; } /* retried later */
                next++;
                if (slots[i].state == CHURN__S_FREE) { churn__after_cycle(e); now = churn__os_now(); }
            }
        }
        active = 0;
        for (i = 0; i < concurrency; i++) {
            churn__slot *s = &slots[i];
            if (s->state == CHURN__S_FREE) continue;
            active++;
            pfds[n].fd = s->fd;
            pfds[n].events = (short)(s->state == CHURN__S_CONNECTING || s->state == CHURN__S_SENDING ? POLLOUT
                                     : s->state == CHURN__S_IDLE ? CHURN__POLL_PEER_CLOSED
                                     : POLLIN);
            pfds[n].revents = 0;
            owner[n++] = i;
            if (churn__slot_wake(s) < wake) wake = churn__slot_wake(s);
        }
        if (active == 0) break;
        timeout_ms = (int)((wake - now) * 1000.0 + 0.999);
        if (timeout_ms < 0) timeout_ms = 0;
        ready = churn__poll(pfds, n, timeout_ms);
        if (ready < 0 && !CHURN__E_INTR(churn__sock_err())) {
            /* poll itself failed (EINVAL/ENOMEM): end every cycle in flight as failed */
            for (i = 0; i < concurrency; i++)
                if (slots[i].state != CHURN__S_FREE) { churn__finish(e, &slots[i], CHURN__O_FAILED, 1); churn__after_cycle(e); }
            continue;
        }
        now = churn__os_now();
        for (i = 0; i < n; i++) {
            churn__slot *s = &slots[owner[i]];
            short rev = ready > 0 ? pfds[i].revents : 0;
            if (s->state == CHURN__S_FREE) continue;
            if (rev) {
                if (s->state == CHURN__S_CONNECTING) churn__on_writable_connecting(e, s, now);
                else if (s->state == CHURN__S_SENDING) {
                    if (rev & (POLLERR | POLLHUP)) {
                        int err = 0;
                        socklen_t len = sizeof err;
                        getsockopt(s->fd, SOL_SOCKET, SO_ERROR, (char *)&err, &len);
                        churn__finish(e, s, err ? churn__outcome_of_error(err) : CHURN__O_CLOSED, 1);
                    } else {
                        churn__try_send(e, s);
                    }
                } else churn__on_readable(e, s, rev);
            }
            if (s->state != CHURN__S_FREE) churn__on_time(e, s, now);
            if (s->state == CHURN__S_FREE) churn__after_cycle(e);
        }
        if (e->stop) {
            /* canceled or the watched process is gone: cut what is in flight */
            for (i = 0; i < concurrency; i++)
                if (slots[i].state != CHURN__S_FREE) { churn__finish(e, &slots[i], CHURN__O_FAILED, 1); churn__after_cycle(e); }
            break;
        }
    }
    CHURN_FREE(slots);
    CHURN_FREE(pfds);
    CHURN_FREE(owner);
    return CHURN_OK;
}

CHURN__PRIV int churn__custom_run(churn__engine *e, long long count) {
    long long i;
    for (i = 0; i < count && !e->stop; i++) {
        int rc = e->cfg->cycle(e->cfg->user, i);
        churn__count(e, -1, rc == 0 ? CHURN__O_COMPLETED : CHURN__O_FAILED, 0, 0, 0); /* no profile */
        churn__after_cycle(e);
    }
    return CHURN_OK;
}

/* One connection attempt with the engine's own bounds: the pre-flight probe (RESET)
   and the restart check. Outcomes go to the scratch counters. Returns CHURN_OK (script
   completed), CHURN__SINGLE_CUT (connected, then cut short), CHURN_E_IO (local failure)
   or CHURN_E_CONNECT (refused, timed out). */
#define CHURN__SINGLE_CUT 1
CHURN__PRIV int churn__single(churn__engine *e, int profile) {
    churn_outcomes before = e->scratch;
    int saved_list[CHURN_PROFILE_COUNT], saved_count = e->profile_count, saved_measured = e->measured, rc;
    memcpy(saved_list, e->profile_list, sizeof saved_list);
    e->profile_list[0] = profile;
    e->profile_count = 1;
    e->measured = 0;
    rc = churn__engine_run(e, 1, 1);
    memcpy(e->profile_list, saved_list, sizeof saved_list);
    e->profile_count = saved_count;
    e->measured = saved_measured;
    if (rc != CHURN_OK) return rc;
    if (e->scratch.completed > before.completed) return CHURN_OK;
    if (e->scratch.connected > before.connected) return CHURN__SINGLE_CUT; /* reachable, script cut short */
    if (e->scratch.failed > before.failed) return CHURN_E_IO;            /* local: no fd, no port */
    return CHURN_E_CONNECT;
}

CHURN__PRIV int churn__validate(const churn_config *c) {
    if (c->cycles < 1 || c->warmup_cycles < 0 || c->concurrency < 0 || c->concurrency > CHURN_MAX_CONCURRENCY ||
        c->watch_pid < 0 || c->sample_every < 0 || c->timeout_ms < 0 || c->idle_ms < 0 || c->drain_timeout_ms < 0 ||
        c->series_max < 0 || c->drain_max_attempts < 0 || c->ignore_count < 0 || (c->ignore_count > 0 && !c->ignore) ||
        (c->sample_metrics & ~CHURN_METRICS_ALL) != 0 || !churn__limits_valid(&c->limits))
        return CHURN_E_INVAL;
    if (!c->cycle) {
        if (c->port < 1 || c->port > 65535 || (c->profiles & ~CHURN_PROFILES_ALL) != 0) return CHURN_E_INVAL;
        if (c->host && !churn__host_syntax_ok(c->host)) return CHURN_E_INVAL;
        if ((c->http_path && (!c->http_path[0] || strpbrk(c->http_path, " \r\n"))) ||
            (c->http_host && strpbrk(c->http_host, "\r\n")))
            return CHURN_E_INVAL; /* no header injection through the config */
    }
    return CHURN_OK;
}

/* Run-level reasons that make a verdict inconclusive, whatever the limits said. */
CHURN__PRIV void churn__verdict_run_reasons(const churn_config *cfg, churn_result *r) {
    churn_verdict *v = &r->verdict;
    const char *why = NULL;
    if (r->canceled) why = "canceled by the progress callback";
    else if (r->watch_exited) why = "the watched process exited during the run";
    else if (!cfg->cycle && r->outcomes.attempted > 0 && r->outcomes.connected == 0) why = "no cycle connected";
    else if (!cfg->cycle && r->outcomes.failed * 2 > r->outcomes.attempted)
        why = "most cycles failed locally (out of fds or ports): the server was barely exercised";
    else if (r->cycles_done == 0) why = "no cycle ran";
    if (!why) return;
    v->status = CHURN_INCONCLUSIVE;
    v->ok = 0;
    snprintf(v->reason, sizeof v->reason, "%s", why);
}

CHURN__API int churn_run(const churn_config *cfg, churn_result *out) {
    churn__engine e;
    churn_inventory before, after;
    churn_snapshot probe;
    int rc, i, conc;
    long pid;
    double t0;
    if (!out) return CHURN_E_INVAL;
    memset(out, 0, sizeof(*out));
    out->restart_ok = -1;
    churn_snapshot_init(&out->baseline);
    churn_snapshot_init(&out->peak);
    churn_snapshot_init(&out->post_drain);
    out->verdict.status = CHURN_INCONCLUSIVE;
    if (!cfg) { out->run_rc = CHURN_E_INVAL; return CHURN_E_INVAL; }
    rc = churn__validate(cfg);
    if (rc != CHURN_OK) { out->run_rc = rc; snprintf(out->verdict.reason, sizeof out->verdict.reason, "invalid configuration"); return rc; }

    memset(&e, 0, sizeof e);
    memset(&before, 0, sizeof before);
    memset(&after, 0, sizeof after);
    e.cfg = cfg;
    e.res = out;
    e.timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : 2000;
    e.idle_ms = cfg->idle_ms ? cfg->idle_ms : 50;
    /* default in-run sample: the cheap metrics, plus any metric whose growth is limited
       (a growth limit on an unsampled metric could only ever be "unchecked") */
    e.sample_mask = cfg->sample_metrics;
    if (!e.sample_mask) {
        e.sample_mask = churn__os_cheap_metrics();
        for (i = 0; i < CHURN_METRIC_COUNT; i++)
            if (cfg->limits.growth_per_1k[i] >= 0) e.sample_mask |= CHURN_METRIC_BIT(i);
    }
    e.sample_every = cfg->sample_every ? cfg->sample_every : (long)(cfg->cycles / 100 > 0 ? cfg->cycles / 100 : 1);
    if (e.sample_every > cfg->cycles) e.sample_every = (long)cfg->cycles;
    e.series_cap = cfg->series_max ? (cfg->series_max < 8 ? 8 : cfg->series_max) : CHURN_SERIES_MAX;
    conc = cfg->concurrency ? cfg->concurrency : 1;
    {
        unsigned mask = cfg->profiles ? cfg->profiles : CHURN_PROFILE_BIT(CHURN_PROFILE_RESET);
        for (i = 0; i < CHURN_PROFILE_COUNT; i++)
            if (mask & CHURN_PROFILE_BIT(i)) e.profile_list[e.profile_count++] = i;
        out->cfg_profiles = mask;
    }
    out->cfg_cycles = cfg->cycles;
    out->cfg_warmup = cfg->warmup_cycles;
    out->cfg_concurrency = cfg->cycle ? 1 : conc;
    out->cfg_sample_every = (int)e.sample_every;
    out->cfg_timeout_ms = e.timeout_ms;
    out->cfg_idle_ms = e.idle_ms;
    out->cfg_drain_timeout_ms = cfg->drain_timeout_ms ? cfg->drain_timeout_ms : 3000;
    out->cfg_sample_metrics = e.sample_mask;
    out->series_stride = e.sample_every;
    out->started_unix = churn__os_wall();
    churn__os_describe(out->os, sizeof out->os);
    pid = cfg->watch_pid ? cfg->watch_pid : churn__os_pid();
    out->watched_pid = pid;
    e.watch_self = pid == churn__os_pid();

    /* The watched process must be measurable before anything is sent. */
    rc = churn_snapshot_take_some(pid, CHURN_METRIC_BIT(CHURN_METRIC_THREADS), &probe);
    if (rc != CHURN_OK) { out->run_rc = rc; return rc; }

    if (!cfg->cycle) {
        const char *host = cfg->host ? cfg->host : "127.0.0.1";
        rc = churn__net_init();
        if (rc == CHURN_OK) rc = churn__resolve(host, cfg->port, cfg->allow_remote, &e.target);
        if (rc == CHURN_OK) {
            char host_hdr[300];
            /* an IPv6 literal goes in brackets in a Host header (RFC 9110 uri-host) */
            if (!cfg->http_host && strchr(host, ':')) snprintf(host_hdr, sizeof host_hdr, "[%s]", host);
            else churn__copyz(host_hdr, sizeof host_hdr, cfg->http_host ? cfg->http_host : host);
            rc = churn__engine_scripts(&e, cfg->http_path ? cfg->http_path : "/", host_hdr);
        }
        if (rc == CHURN_OK) {
            /* the probe: reachable means the handshake completed (a server that resets
               right after accept is reachable: churning it is the point) */
            int probe_rc = CHURN_E_CONNECT, tries;
            /* a few tries: one SYN lost to a full backlog must not fail the whole gate */
            for (tries = 0; tries < 3; tries++) {
                probe_rc = churn__single(&e, CHURN_PROFILE_RESET);
                if (probe_rc != CHURN_E_CONNECT) break;
                churn__os_sleep_ms(50);
            }
            if (probe_rc != CHURN_OK && probe_rc != CHURN__SINGLE_CUT) rc = probe_rc; /* E_IO: no fd/port here */
        }
        if (rc != CHURN_OK) { churn__engine_free(&e); out->run_rc = rc; return rc; }
    }

    out->series = (churn_sample *)CHURN_MALLOC((size_t)e.series_cap * sizeof(*out->series));
    if (!out->series) { churn__engine_free(&e); out->run_rc = CHURN_E_NOMEM; return CHURN_E_NOMEM; }

    /* warmup: same scripts, not measured */
    if (cfg->warmup_cycles > 0) {
        long long before_warmup = e.scratch.attempted;
        e.measured = 0;
        if (cfg->cycle) churn__custom_run(&e, cfg->warmup_cycles);
        else churn__engine_run(&e, cfg->warmup_cycles, conc);
        out->warmup_done = e.scratch.attempted - before_warmup;
    }

    /* baseline, once the server has let go of the probe and warmup connections: until two
       consecutive handle/thread counts agree (bounded: 20 looks, about a second) */
    {
        churn_snapshot a, b;
        int looks;
        unsigned m = CHURN_METRIC_BIT(CHURN_METRIC_HANDLES) | CHURN_METRIC_BIT(CHURN_METRIC_THREADS);
        if (churn_snapshot_take_some(pid, m, &a) == CHURN_OK) {
            for (looks = 0; looks < 20; looks++) {
                churn__os_sleep_ms(looks < 5 ? 10 : 50);
                if (churn_snapshot_take_some(pid, m, &b) != CHURN_OK) break;
                if (b.value[CHURN_METRIC_HANDLES] == a.value[CHURN_METRIC_HANDLES] &&
                    b.value[CHURN_METRIC_THREADS] == a.value[CHURN_METRIC_THREADS])
                    break;
                a = b;
            }
        }
    }
    rc = churn_snapshot_take(pid, &out->baseline);
    if (rc != CHURN_OK) { churn__engine_free(&e); churn_result_free(out); out->run_rc = rc; return rc; }
    out->peak = out->baseline;
    churn__series_add(&e, 0, &out->baseline);
    if (!cfg->no_inventory) churn_inventory_take(pid, &before);

    /* measured cycles; the sampler is opened after the "before" inventory and closed before
       the drain, so its own fds never appear in an inventory */
    rc = churn_sampler_open(pid, &e.sampler);
    if (rc == CHURN_E_NOPROC) out->watch_exited = 1;
    else if (rc != CHURN_OK) { churn__engine_free(&e); churn_inventory_free(&before); churn_result_free(out); out->run_rc = rc; return rc; }
    e.measured = 1;
    e.last_progress = churn__os_now();
    t0 = churn__os_now();
    if (out->watch_exited) rc = CHURN_OK;
    else if (cfg->cycle) rc = churn__custom_run(&e, cfg->cycles);
    else rc = churn__engine_run(&e, cfg->cycles, conc);
    out->elapsed_s = churn__os_now() - t0;
    churn_sampler_close(&e.sampler);
    out->cycles_per_s = out->elapsed_s > 0 ? (double)out->cycles_done / out->elapsed_s : 0.0;
    if (rc != CHURN_OK) {
        churn__engine_free(&e);
        churn_inventory_free(&before);
        churn_result_free(out);
        out->run_rc = rc;
        return rc;
    }

    /* drain and post-drain: full snapshots; a canceled run takes one look, no wait */
    if (!out->watch_exited) {
        int drain_ms = out->canceled ? 0 : out->cfg_drain_timeout_ms;
        out->drain_rc = churn_drain_ex(pid, &out->baseline, &cfg->limits, drain_ms,
                                       cfg->drain_max_attempts ? cfg->drain_max_attempts : CHURN_DRAIN_ATTEMPTS,
                                       &out->post_drain, &out->drain);
        if (out->drain_rc == CHURN_E_NOPROC) out->watch_exited = 1;
        else churn_snapshot_peak(&out->peak, &out->post_drain);
    }
    if (!cfg->no_inventory && !out->watch_exited) {
        if (churn_inventory_take(pid, &after) == CHURN_OK && before.pid) {
            if (churn_inventory_diff(&before, &after, &out->leaked) == CHURN_OK)
                churn_inventory_filter(&out->leaked, cfg->ignore, cfg->ignore_count);
        }
    }
    churn_inventory_free(&before);
    churn_inventory_free(&after);

    /* verdict: deltas, growth, then run-level reasons */
    churn_evaluate(&out->baseline, &out->peak, &out->post_drain, &cfg->limits, &out->verdict);
    churn_evaluate_growth(out->series, out->series_count, &cfg->limits, &out->verdict);
    churn__verdict_run_reasons(cfg, out);

    /* stop/start after a passing drain: the server must come back and serve */
    if (cfg->stop && cfg->start && out->verdict.ok && !out->canceled) {
        int ok = cfg->stop(cfg->user) == 0 && cfg->start(cfg->user) == 0;
        if (ok) {
            if (cfg->cycle) {
                ok = cfg->cycle(cfg->user, cfg->cycles) == 0;
            } else {
                /* REQUEST when the gate speaks HTTP to this server; otherwise one whole
                   cycle of the first selected profile proves it accepts again */
                int tries, check = out->cfg_profiles & CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST)
                                       ? CHURN_PROFILE_REQUEST : e.profile_list[0];
                ok = 0;
                for (tries = 0; tries < 20 && !ok; tries++) { /* the server may need a moment to listen */
                    int r1 = churn__single(&e, check);
                    if (r1 == CHURN_OK) ok = 1;
                    else if (r1 == CHURN_E_CONNECT) churn__os_sleep_ms(50);
                    else break;
                }
            }
        }
        out->restart_ok = ok;
        if (!ok) {
            out->verdict.status = CHURN_FAIL;
            out->verdict.ok = 0;
            snprintf(out->verdict.reason, sizeof out->verdict.reason, "the server did not serve after stop/start");
        }
    }
    churn__engine_free(&e);
    out->finished_unix = churn__os_wall();
    out->run_rc = out->canceled ? CHURN_E_CANCELED : CHURN_OK;
    return out->run_rc;
}

#endif /* CHURN_NO_NET */

/* >>report ===================================================================================
   The JSON report (key order fixed, see churn-report.schema.json) and the human summary. */

CHURN__API const char *churn_platform_name(void) { return churn__os_platform(); }

/* "2026-11-22T10:04:05Z" from seconds since 1970, without gmtime (portable, reentrant). */
CHURN__PRIV void churn__iso8601(double unix_s, char *out, size_t cap) {
    long long t = (long long)unix_s, days, rem, y, m, d, era, doe, yoe, doy, mp;
    if (unix_s <= 0) { churn__copyz(out, cap, ""); return; }
    days = t / 86400;
    rem = t % 86400;
    /* civil-from-days (Howard Hinnant's algorithm) */
    days += 719468;
    era = days / 146097;
    doe = days - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    if (m <= 2) y++;
    snprintf(out, cap, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ", y, m, d, rem / 3600, rem / 60 % 60, rem % 60);
}

CHURN__PRIV void churn__json_metric_value(churn_json *j, long long v) {
    if (v == CHURN_UNKNOWN) churn_json_null(j); else churn_json_int(j, v);
}

CHURN__PRIV void churn__json_snapshot(churn_json *j, const char *key, const churn_snapshot *s) {
    int m;
    churn_json_key(j, key);
    churn_json_object_begin(j);
    for (m = 0; m < CHURN_METRIC_COUNT; m++) {
        churn_json_key(j, churn__metric_names[m]);
        churn__json_metric_value(j, s->value[m]);
    }
    churn_json_object_end(j);
}

CHURN__PRIV void churn__json_delta(churn_json *j, const char *key, const churn_snapshot *b, const churn_snapshot *x) {
    int m;
    churn_json_key(j, key);
    churn_json_object_begin(j);
    for (m = 0; m < CHURN_METRIC_COUNT; m++) {
        churn_json_key(j, churn__metric_names[m]);
        if (b->value[m] == CHURN_UNKNOWN || x->value[m] == CHURN_UNKNOWN) churn_json_null(j);
        else churn_json_int(j, x->value[m] - b->value[m]);
    }
    churn_json_object_end(j);
}

CHURN__PRIV void churn__json_metric_list(churn_json *j, const char *key, unsigned mask) {
    int m;
    churn_json_key(j, key);
    churn_json_array_begin(j);
    for (m = 0; m < CHURN_METRIC_COUNT; m++)
        if (mask & CHURN_METRIC_BIT(m)) churn_json_string(j, churn__metric_names[m]);
    churn_json_array_end(j);
}

CHURN__PRIV void churn__json_outcomes(churn_json *j, const churn_outcomes *o) {
    churn_json_object_begin(j);
    churn_json_key(j, "attempted"); churn_json_int(j, o->attempted);
    churn_json_key(j, "connected"); churn_json_int(j, o->connected);
    churn_json_key(j, "completed"); churn_json_int(j, o->completed);
    churn_json_key(j, "refused"); churn_json_int(j, o->refused);
    churn_json_key(j, "timed_out"); churn_json_int(j, o->timed_out);
    churn_json_key(j, "reset_by_peer"); churn_json_int(j, o->reset_by_peer);
    churn_json_key(j, "closed_by_peer"); churn_json_int(j, o->closed_by_peer);
    churn_json_key(j, "failed"); churn_json_int(j, o->failed);
    churn_json_key(j, "bytes_sent"); churn_json_int(j, o->bytes_sent);
    churn_json_key(j, "bytes_received"); churn_json_int(j, o->bytes_received);
    churn_json_object_end(j);
}

CHURN__PRIV void churn__json_limits(churn_json *j, const churn_limits *l) {
    int m, ph;
    static const char *const phases[2] = {"peak", "post_drain"};
    churn_json_key(j, "limits");
    churn_json_object_begin(j);
    for (ph = 0; ph < 2; ph++) {
        const long long *v = ph == 0 ? l->peak : l->post_drain;
        churn_json_key(j, phases[ph]);
        churn_json_object_begin(j);
        for (m = 0; m < CHURN_METRIC_COUNT; m++) {
            churn_json_key(j, churn__metric_names[m]);
            if (v[m] < 0) churn_json_null(j); else churn_json_int(j, v[m]);
        }
        churn_json_object_end(j);
    }
    churn_json_key(j, "growth_per_1k");
    churn_json_object_begin(j);
    for (m = 0; m < CHURN_METRIC_COUNT; m++) {
        churn_json_key(j, churn__metric_names[m]);
        if (l->growth_per_1k[m] < 0) churn_json_null(j); else churn_json_double(j, l->growth_per_1k[m]);
    }
    churn_json_object_end(j);
    churn_json_key(j, "growth_windows"); churn_json_int(j, l->growth_windows);
    churn_json_object_end(j);
}

CHURN__API int churn_report_write_fn(const churn_config *cfg, const churn_result *r, churn_write_fn write, void *user) {
    churn_json jj, *j = &jj;
    churn_limits none;
    const churn_limits *lim;
    char ts[64];
    int m, i;
    if (!r || !write) return CHURN_E_INVAL;
    churn_limits_none(&none);
    lim = cfg ? &cfg->limits : &none;
    churn_json_init(j, write, user, 2);
    churn_json_object_begin(j);
    churn_json_key(j, "schema"); churn_json_string(j, CHURN_REPORT_SCHEMA);
    churn_json_key(j, "churn_version"); churn_json_string(j, CHURN_VERSION_STRING);
    churn_json_key(j, "label"); churn_json_string(j, cfg && cfg->label ? cfg->label : "churn");
    churn_json_key(j, "ok"); churn_json_bool(j, r->verdict.ok);
    churn_json_key(j, "verdict"); churn_json_string(j, churn_status_name(r->verdict.status));
    churn_json_key(j, "reason"); churn_json_string(j, r->verdict.reason);
    churn_json_key(j, "platform"); churn_json_string(j, churn__os_platform());
    churn_json_key(j, "os"); churn_json_string(j, r->os);
    churn_json_key(j, "pid"); churn_json_int(j, r->watched_pid ? r->watched_pid : r->baseline.pid);
    churn__iso8601(r->started_unix, ts, sizeof ts);
    churn_json_key(j, "started_at"); if (ts[0]) churn_json_string(j, ts); else churn_json_null(j);
    churn__iso8601(r->finished_unix, ts, sizeof ts);
    churn_json_key(j, "finished_at"); if (ts[0]) churn_json_string(j, ts); else churn_json_null(j);

    churn_json_key(j, "config");
    churn_json_object_begin(j);
    churn_json_key(j, "host"); churn_json_string(j, cfg && !cfg->cycle ? (cfg->host ? cfg->host : "127.0.0.1") : NULL);
    churn_json_key(j, "port"); if (cfg && !cfg->cycle) churn_json_int(j, cfg->port); else churn_json_null(j);
    churn_json_key(j, "custom_cycle"); churn_json_bool(j, cfg && cfg->cycle);
    churn_json_key(j, "cycles"); churn_json_int(j, r->cfg_cycles);
    churn_json_key(j, "warmup_cycles"); churn_json_int(j, r->cfg_warmup);
    churn_json_key(j, "concurrency"); churn_json_int(j, r->cfg_concurrency);
    churn_json_key(j, "profiles");
    churn_json_array_begin(j);
    if (!(cfg && cfg->cycle))
        for (i = 0; i < CHURN_PROFILE_COUNT; i++)
            if (r->cfg_profiles & CHURN_PROFILE_BIT(i)) churn_json_string(j, churn__profile_names[i]);
    churn_json_array_end(j);
    churn_json_key(j, "watch_pid"); churn_json_int(j, cfg ? cfg->watch_pid : 0);
    churn_json_key(j, "sample_every"); churn_json_int(j, r->cfg_sample_every);
    churn__json_metric_list(j, "sample_metrics", r->cfg_sample_metrics);
    churn_json_key(j, "timeout_ms"); churn_json_int(j, r->cfg_timeout_ms);
    churn_json_key(j, "idle_ms"); churn_json_int(j, r->cfg_idle_ms);
    churn_json_key(j, "drain_timeout_ms"); churn_json_int(j, r->cfg_drain_timeout_ms);
    churn_json_key(j, "allow_remote"); churn_json_bool(j, cfg && cfg->allow_remote);
    churn_json_key(j, "http_path"); churn_json_string(j, cfg && cfg->http_path ? cfg->http_path : "/");
    churn_json_key(j, "http_host"); churn_json_string(j, cfg && cfg->http_host ? cfg->http_host : NULL);
    churn_json_key(j, "stop_start"); churn_json_bool(j, cfg && cfg->stop && cfg->start);
    churn_json_key(j, "ignore");
    churn_json_array_begin(j);
    for (i = 0; cfg && i < cfg->ignore_count && cfg->ignore; i++) {
        churn_json_object_begin(j);
        churn_json_key(j, "kind"); churn_json_string(j, cfg->ignore[i].kind);
        churn_json_key(j, "detail"); churn_json_string(j, cfg->ignore[i].detail);
        churn_json_key(j, "thread_prefix"); churn_json_string(j, cfg->ignore[i].thread_prefix);
        churn_json_object_end(j);
    }
    churn_json_array_end(j);
    churn_json_object_end(j);

    churn_json_key(j, "cycles"); churn_json_int(j, r->cycles_done);
    churn_json_key(j, "warmup_done"); churn_json_int(j, r->warmup_done);
    churn_json_key(j, "elapsed_s"); churn_json_double(j, r->elapsed_s);
    churn_json_key(j, "cycles_per_s"); churn_json_double(j, r->cycles_per_s);
    churn_json_key(j, "canceled"); churn_json_bool(j, r->canceled);
    churn_json_key(j, "watch_exited"); churn_json_bool(j, r->watch_exited);
    churn__json_snapshot(j, "baseline", &r->baseline);
    churn__json_snapshot(j, "peak", &r->peak);
    churn__json_snapshot(j, "post_drain", &r->post_drain);
    churn_json_key(j, "deltas");
    churn_json_object_begin(j);
    churn__json_delta(j, "peak", &r->baseline, &r->peak);
    churn__json_delta(j, "post_drain", &r->baseline, &r->post_drain);
    churn_json_object_end(j);
    churn_json_key(j, "growth_per_1k");
    churn_json_object_begin(j);
    for (m = 0; m < CHURN_METRIC_COUNT; m++) {
        double slope;
        churn_json_key(j, churn__metric_names[m]);
        if (r->series_count > 0 && churn_growth_slope(r->series, r->series_count, (churn_metric)m, &slope) == CHURN_OK)
            churn_json_double(j, slope);
        else
            churn_json_null(j);
    }
    churn_json_object_end(j);
    churn__json_limits(j, lim);
    churn__json_metric_list(j, "checked", r->verdict.checked);
    churn__json_metric_list(j, "unchecked", r->verdict.unchecked);
    churn_json_key(j, "violations");
    churn_json_array_begin(j);
    for (i = 0; i < r->verdict.violation_count; i++) {
        const churn_violation *v = &r->verdict.violations[i];
        churn_json_object_begin(j);
        churn_json_key(j, "metric"); churn_json_string(j, churn_metric_name(v->metric));
        churn_json_key(j, "phase"); churn_json_string(j, churn_phase_name(v->phase));
        churn_json_key(j, "observed"); churn_json_double(j, v->observed);
        churn_json_key(j, "limit"); churn_json_double(j, v->limit);
        churn_json_object_end(j);
    }
    churn_json_array_end(j);
    churn_json_key(j, "drain");
    churn_json_object_begin(j);
    churn_json_key(j, "settled"); churn_json_bool(j, r->drain.settled);
    churn_json_key(j, "attempts"); churn_json_int(j, r->drain.attempts);
    churn_json_key(j, "settle_s"); churn_json_double(j, r->drain.settle_s);
    churn_json_key(j, "timeout_ms"); churn_json_int(j, r->cfg_drain_timeout_ms);
    churn_json_object_end(j);
    churn_json_key(j, "restart_ok");
    if (r->restart_ok < 0) churn_json_null(j); else churn_json_bool(j, r->restart_ok);
    churn_json_key(j, "outcomes"); churn__json_outcomes(j, &r->outcomes);
    churn_json_key(j, "by_profile");
    churn_json_object_begin(j);
    if (!(cfg && cfg->cycle))
        for (i = 0; i < CHURN_PROFILE_COUNT; i++)
            if (r->cfg_profiles & CHURN_PROFILE_BIT(i)) {
                churn_json_key(j, churn__profile_names[i]);
                churn__json_outcomes(j, &r->by_profile[i]);
            }
    churn_json_object_end(j);
    churn_json_key(j, "leaked");
    churn_json_object_begin(j);
    churn_json_key(j, "handles");
    churn_json_array_begin(j);
    for (i = 0; i < r->leaked.handle_count && r->leaked.handles; i++) {
        const churn_handle_info *h = &r->leaked.handles[i];
        churn_json_object_begin(j);
        churn_json_key(j, "id"); churn_json_int(j, h->id);
        churn_json_key(j, "kind"); churn_json_string_n(j, h->kind, churn__strnlen(h->kind, sizeof h->kind));
        churn_json_key(j, "detail"); churn_json_string_n(j, h->detail, churn__strnlen(h->detail, sizeof h->detail));
        churn_json_object_end(j);
    }
    churn_json_array_end(j);
    churn_json_key(j, "threads");
    churn_json_array_begin(j);
    for (i = 0; i < r->leaked.thread_count && r->leaked.threads; i++) {
        const churn_thread_info *t = &r->leaked.threads[i];
        churn_json_object_begin(j);
        churn_json_key(j, "tid"); churn_json_int(j, t->tid);
        churn_json_key(j, "name"); churn_json_string_n(j, t->name, churn__strnlen(t->name, sizeof t->name));
        churn_json_object_end(j);
    }
    churn_json_array_end(j);
    churn_json_object_end(j);
    churn_json_key(j, "series");
    churn_json_object_begin(j);
    churn_json_key(j, "stride"); churn_json_int(j, r->series_stride);
    churn__json_metric_list(j, "metrics", r->cfg_sample_metrics);
    churn_json_key(j, "samples");
    churn_json_array_begin(j);
    for (i = 0; i < r->series_count && r->series; i++) {
        const churn_sample *sm = &r->series[i];
        churn_json_object_begin(j);
        churn_json_key(j, "cycle"); churn_json_int(j, sm->cycle);
        churn_json_key(j, "t"); churn_json_double(j, sm->snapshot.at - r->series[0].snapshot.at);
        for (m = 0; m < CHURN_METRIC_COUNT; m++) {
            if (!(r->cfg_sample_metrics & CHURN_METRIC_BIT(m))) continue;
            churn_json_key(j, churn__metric_names[m]);
            churn__json_metric_value(j, sm->snapshot.value[m]);
        }
        churn_json_object_end(j);
    }
    churn_json_array_end(j);
    churn_json_object_end(j);
    if (cfg && cfg->report_extra) {
        int depth = j->depth;
        churn_json_key(j, "extra");
        cfg->report_extra(cfg->user, j);
        if (j->depth != depth || j->after_key) j->error = j->error ? j->error : CHURN_E_INVAL;
    }
    churn_json_object_end(j);
    return churn_json_finish(j);
}

typedef struct churn__membuf {
    char *data;
    size_t len, cap;
    int oom;
} churn__membuf;

CHURN__PRIV int churn__membuf_write(void *user, const void *bytes, size_t n) {
    churn__membuf *b = (churn__membuf *)user;
    if (b->oom) return -1;
    if (b->len + n > b->cap) {
        size_t ncap = b->cap ? b->cap : 16384;
        char *p;
        while (ncap < b->len + n) ncap *= 2;
        p = (char *)CHURN_REALLOC(b->data, ncap);
        if (!p) { b->oom = 1; return -1; }
        b->data = p;
        b->cap = ncap;
    }
    memcpy(b->data + b->len, bytes, n);
    b->len += n;
    return 0;
}

#ifndef CHURN_NO_STDIO
CHURN__API int churn_report_fprint(const churn_config *cfg, const churn_result *r, FILE *f) {
    int rc;
    if (!f) return CHURN_E_INVAL;
    rc = churn_report_write_fn(cfg, r, churn_json_write_file, f);
    if (rc == CHURN_OK && fflush(f) != 0) rc = CHURN_E_IO;
    return rc;
}

CHURN__API int churn_report_write(const churn_config *cfg, const churn_result *r, const char *path) {
    churn__membuf b;
    int rc;
    if (!r || !path || !path[0]) return CHURN_E_INVAL;
    /* Render to memory first: a rendering error never touches the file system, and the
       size is known before the first byte is written. */
    memset(&b, 0, sizeof b);
    rc = churn_report_write_fn(cfg, r, churn__membuf_write, &b);
    if (rc == CHURN_OK && b.oom) rc = CHURN_E_NOMEM;
    if (rc == CHURN_OK) rc = churn__os_write_atomic(path, b.data, b.len);
    CHURN_FREE(b.data);
    return rc;
}

CHURN__PRIV void churn__fmt_value(char *out, size_t cap, long long v, int metric) {
    if (v == CHURN_UNKNOWN) { churn__copyz(out, cap, "-"); return; }
    if (metric == CHURN_METRIC_RSS_BYTES || metric == CHURN_METRIC_PRIVATE_BYTES || metric == CHURN_METRIC_VIRTUAL_BYTES)
        snprintf(out, cap, "%.1fM", (double)v / (double)CHURN__MIB);
    else
        snprintf(out, cap, "%lld", v);
}

CHURN__API void churn_summary_fprint(const churn_result *r, FILE *f) {
    int m, i;
    const churn_outcomes *o;
    if (!r || !f) return;
    o = &r->outcomes;
    fprintf(f, "%-17s %12s %12s %12s %10s  %s\n", "metric", "baseline", "peak", "post-drain", "delta", "status");
    for (m = 0; m < CHURN_METRIC_COUNT; m++) {
        char b[32], p[32], d[32], dl[32];
        const char *status = "ok";
        long long bv = r->baseline.value[m], dv = r->post_drain.value[m];
        if (bv == CHURN_UNKNOWN && r->peak.value[m] == CHURN_UNKNOWN && dv == CHURN_UNKNOWN) continue;
        churn__fmt_value(b, sizeof b, bv, m);
        churn__fmt_value(p, sizeof p, r->peak.value[m], m);
        churn__fmt_value(d, sizeof d, dv, m);
        if (bv == CHURN_UNKNOWN || dv == CHURN_UNKNOWN) churn__copyz(dl, sizeof dl, "-");
        else if (m == CHURN_METRIC_RSS_BYTES || m == CHURN_METRIC_PRIVATE_BYTES || m == CHURN_METRIC_VIRTUAL_BYTES)
            snprintf(dl, sizeof dl, "%+.1fM", (double)(dv - bv) / (double)CHURN__MIB);
        else
            snprintf(dl, sizeof dl, "%+lld", dv - bv);
        if (r->verdict.unchecked & CHURN_METRIC_BIT(m))
            status = r->verdict.checked & CHURN_METRIC_BIT(m) ? "ok (partly unchecked)" : "unchecked";
        else if (!(r->verdict.checked & CHURN_METRIC_BIT(m))) status = "-";
        for (i = 0; i < r->verdict.violation_count; i++)
            if ((int)r->verdict.violations[i].metric == m) status = "FAIL";
        fprintf(f, "%-17s %12s %12s %12s %10s  %s\n", churn__metric_names[m], b, p, d, dl, status);
    }
    for (i = 0; i < r->verdict.violation_count; i++) {
        const churn_violation *v = &r->verdict.violations[i];
        int bytes = v->metric == CHURN_METRIC_RSS_BYTES || v->metric == CHURN_METRIC_PRIVATE_BYTES ||
                    v->metric == CHURN_METRIC_VIRTUAL_BYTES || v->metric == CHURN_METRIC_SEND_QUEUE_BYTES;
        double scale = bytes ? (double)CHURN__MIB : 1.0;
        fprintf(f, "violation: %s %s observed %.6g%s > limit %.6g%s%s\n", churn_metric_name(v->metric),
                churn_phase_name(v->phase), v->observed / scale, bytes ? " MiB" : "", v->limit / scale,
                bytes ? " MiB" : "", v->phase == CHURN_PHASE_GROWTH ? " per 1k cycles" : "");
    }
    fprintf(f, "cycles %lld in %.2f s (%.0f/s); attempted %lld connected %lld completed %lld refused %lld "
               "timed_out %lld reset_by_peer %lld closed_by_peer %lld failed %lld\n",
            r->cycles_done, r->elapsed_s, r->cycles_per_s, o->attempted, o->connected, o->completed, o->refused,
            o->timed_out, o->reset_by_peer, o->closed_by_peer, o->failed);
    fprintf(f, "drain: %s after %d snapshot%s, %.2f s\n", r->drain.settled ? "settled" : "did not settle",
            r->drain.attempts, r->drain.attempts == 1 ? "" : "s", r->drain.settle_s);
    if (r->restart_ok >= 0) fprintf(f, "restart: %s\n", r->restart_ok ? "ok" : "FAILED");
    if (r->fd_deferrals > 0)
        fprintf(f, "note: %lld cycle starts waited for a free fd (RLIMIT_NOFILE below concurrency)\n", r->fd_deferrals);
    if (r->leaked.handle_count || r->leaked.thread_count) churn__inventory_fprint_parts(&r->leaked, f, 20, 0);
    if (r->verdict.unchecked) {
        fprintf(f, "unchecked (a limit was set, the value was unknown in that phase):");
        for (m = 0; m < CHURN_METRIC_COUNT; m++)
            if (r->verdict.unchecked & CHURN_METRIC_BIT(m)) fprintf(f, " %s", churn__metric_names[m]);
        fprintf(f, "\n");
    }
    fprintf(f, "%s%s%s\n", r->verdict.status == CHURN_PASS ? "PASS" : r->verdict.status == CHURN_FAIL ? "FAIL" : "INCONCLUSIVE",
            r->verdict.reason[0] ? ": " : "", r->verdict.reason);
}
#endif /* CHURN_NO_STDIO */

#endif /* CHURN__IMPL_INCLUDED */
#endif /* CHURN_IMPLEMENTATION */

/*
------------------------------------------------------------------------------
This software is available under 2 licenses -- choose whichever you prefer.
------------------------------------------------------------------------------
ALTERNATIVE A - MIT License
Copyright (c) 2026 churn.h authors
Permission is hereby granted, free of charge, to any person obtaining a copy of
this software and associated documentation files (the "Software"), to deal in
the Software without restriction, including without limitation the rights to
use, copy, modify, merge, publish, distribute, sublicense, and/or sell copies
of the Software, and to permit persons to whom the Software is furnished to do
so, subject to the following conditions:
The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
------------------------------------------------------------------------------
ALTERNATIVE B - Public Domain (www.unlicense.org)
This is free and unencumbered software released into the public domain.
Anyone is free to copy, modify, publish, use, compile, sell, or distribute this
software, either in source code form or as a compiled binary, for any purpose,
commercial or non-commercial, and by any means.
In jurisdictions that recognize copyright laws, the author or authors of this
software dedicate any and all copyright interest in the software to the public
domain. We make this dedication for the benefit of the public at large and to
the detriment of our heirs and successors. We intend this dedication to be an
overt act of relinquishment in perpetuity of all present and future rights to
this software under copyright law.
THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN
ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION
WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
------------------------------------------------------------------------------
*/
