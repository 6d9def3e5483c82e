/* churn-gate - the command-line leak-churn gate for any local server, built on churn.h.

   churn-gate --target 127.0.0.1:8080 [--pid PID] [--budget smoke|soak] [--profiles LIST] ...

   It churns the target with TCP connect/reset cycles while it watches the server process
   (--pid, or the local process that owns the target's listening socket), judges baseline,
   peak, post-drain and growth against limits, prints a summary and writes a JSON report.

   Exit codes: 0 pass, 1 gate failed, 2 usage or setup error, 3 inconclusive.

   It is also a model of the API: churn_config_init, the option fields, a progress callback
   that samples the watched process cheaply (churn_snapshot_take_some), churn_run,
   churn_summary_fprint and churn_report_write. */
#define CHURN_IMPLEMENTATION
#include "../churn.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GATE_NAME "churn-gate"
#define GATE_MAX_CONCURRENCY 4096

enum { EXIT_PASS = 0, EXIT_GATE_FAILED = 1, EXIT_USAGE = 2, EXIT_INCONCLUSIVE = 3 };

static volatile sig_atomic_t g_interrupted;

static void on_interrupt(int sig) {
    g_interrupted = 1;
    signal(sig, SIG_DFL);   /* a second Ctrl-C ends the process at once */
}

typedef struct gate {
    long pid;               /* the watched process */
    int quiet, tty;
    double started, last_print;
    int drew_bar;
} gate;

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die_usage(const char *fmt, ...) {
    va_list ap;
    fputs(GATE_NAME ": ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n" "Try '" GATE_NAME " --help' for more information.\n", stderr);
    exit(EXIT_USAGE);
}

static void usage(FILE *f) {
    fprintf(f,
        "usage: " GATE_NAME " --target HOST:PORT [options]\n"
        "\n"
        "Churn a local server with TCP connect/reset cycles while watching its process,\n"
        "then judge handles, threads, memory, sockets and TCP state against limits.\n"
        "\n"
        "  --target HOST:PORT   server to churn: 127.0.0.1:8080, [::1]:8080, localhost:80\n"
        "  --pid PID            process to watch (default: the local process that owns the\n"
        "                       target port's listening socket)\n"
        "  --budget smoke|soak  100 or 1000 cycles (default smoke)\n"
        "  --cycles N           measured cycles (overrides the budget)\n"
        "  --warmup N           cycles run before the baseline (default 0)\n"
        "  --profiles LIST      comma-separated profiles, or 'all' (default reset)\n"
        "                       ");
    {
        int p, col = 23;
        for (p = 0; p < CHURN_PROFILE_COUNT; p++) {
            const char *n = churn_profile_name((churn_profile)p);
            if (col + (int)strlen(n) + 1 > 88) { fprintf(f, "\n                       "); col = 23; }
            col += fprintf(f, "%s%s", n, p + 1 < CHURN_PROFILE_COUNT ? "," : "\n");
        }
    }
    fprintf(f,
        "  --concurrency N      connections in flight (default 1)\n"
        "  --limits NAME        release (default), strict or none\n"
        "  --drain-ms N         post-run drain bound in ms (default 3000)\n"
        "  --timeout-ms N       bound on every network wait in ms (default 2000)\n"
        "  --idle-ms N          wait of the idle and tls_stall profiles in ms (default 50)\n"
        "  --path /X            HTTP request path (default /)\n"
        "  --report FILE        write the JSON report to FILE (atomically)\n"
        "  --label NAME         gate name in the report\n"
        "  --allow-remote       allow a non-loopback target\n"
        "  --quiet              no progress and no summary\n"
        "  --help, --version\n"
        "\n"
        "Exit status: 0 pass, 1 gate failed, 2 usage or setup error, 3 inconclusive.\n");
}

/* ---- argument parsing -------------------------------------------------------------------- */
static long long parse_int(const char *opt, const char *s, long long min, long long max) {
    char *end;
    long long v;
    const char *what = min > 0 ? "a positive integer" : "a non-negative integer";
    errno = 0;
    v = strtoll(s, &end, 10);
    if (!*s || *end || errno == ERANGE || s[0] == '-' || s[0] == '+' || s[0] == ' ')
        die_usage("%s: expected %s, got '%s'", opt, what, s);
    if (v < min) die_usage("%s: expected %s, got '%s'", opt, what, s);
    if (v > max) die_usage("%s: expected %s up to %lld, got '%s'", opt, what, max, s);
    return v;
}

static void parse_target(const char *s, char *host, size_t cap, int *port) {
    const char *colon, *h = s;
    size_t hl;
    long long p;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            die_usage("--target: expected [IPV6]:PORT, got '%s'", s);
        h = s + 1;
        hl = (size_t)(close - h);
        colon = close + 1;
    } else {
        colon = strrchr(s, ':');
        if (!colon) die_usage("--target: expected HOST:PORT (e.g. 127.0.0.1:8080), got '%s'", s);
        if (strchr(s, ':') != colon)
            die_usage("--target: an IPv6 address needs brackets, e.g. [::1]:8080; got '%s'", s);
        hl = (size_t)(colon - s);
    }
    if (hl == 0) die_usage("--target: missing host in '%s'", s);
    if (hl >= cap) die_usage("--target: host too long in '%s'", s);
    memcpy(host, h, hl);
    host[hl] = '\0';
    if (!colon[1]) die_usage("--target: missing port in '%s'", s);
    {
        char *end;
        errno = 0;
        p = strtoll(colon + 1, &end, 10);
        if (*end || errno || p < 1 || p > 65535 || colon[1] == '-' || colon[1] == '+')
            die_usage("--target: port must be 1..65535, got '%s'", colon + 1);
    }
    *port = (int)p;
}

static unsigned parse_profiles(const char *s) {
    unsigned mask = 0;
    const char *p = s;
    if (!strcmp(s, "all")) return CHURN_PROFILES_ALL;
    while (*p) {
        char name[64];
        size_t n = strcspn(p, ",");
        churn_profile prof;
        if (n == 0 || n >= sizeof name) {
            if (n == 0) die_usage("--profiles: empty profile name in '%s'", s);
            die_usage("--profiles: unknown profile '%.*s'", (int)n, p);
        }
        memcpy(name, p, n);
        name[n] = '\0';
        if (!strcmp(name, "all")) mask |= CHURN_PROFILES_ALL;
        else if (churn_profile_parse(name, &prof) != CHURN_OK) {
            char list[512];
            size_t len = 0;
            int i;
            list[0] = '\0';
            for (i = 0; i < CHURN_PROFILE_COUNT && len < sizeof list; i++)
                len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                                        i ? ", " : "", churn_profile_name((churn_profile)i));
            die_usage("--profiles: unknown profile '%s' (known: %s, all)", name, list);
        } else {
            mask |= CHURN_PROFILE_BIT(prof);
        }
        p += n;
        if (*p == ',') {
            p++;
            if (!*p) die_usage("--profiles: trailing comma in '%s'", s);
        }
    }
    if (!mask) die_usage("--profiles: no profile in '%s'", s);
    return mask;
}

/* ---- finding the process that owns the listening socket --------------------------------- */
/* The pid owning the listening socket of `port`; exits with a clear message when none. */
static long discover_pid(int port) {
    long pid = 0;
    int owners = 0, rc = churn_listener_pid(port, &pid, &owners);
    if (rc == CHURN_E_NOPROC) {
        fprintf(stderr, GATE_NAME ": no local socket is listening on port %d "
                "(is the server running? or pass --pid)\n", port);
        exit(EXIT_USAGE);
    }
    if (rc == CHURN_E_PERM) {
        fprintf(stderr, GATE_NAME ": a socket listens on port %d but no process visible to this user "
                "owns it (another user?); pass --pid\n", port);
        exit(EXIT_USAGE);
    }
    if (rc != CHURN_OK) {
        fprintf(stderr, GATE_NAME ": cannot find the owner of port %d: %s; pass --pid\n", port, churn_strerror(rc));
        exit(EXIT_USAGE);
    }
    if (owners > 1)
        fprintf(stderr, GATE_NAME ": note: %d processes share the listener on port %d; "
                "watching pid %ld (pass --pid to choose)\n", owners, port, pid);
    return pid;
}

/* ---- progress ---------------------------------------------------------------------------- */
static int on_progress(void *user, long long done, long long total) {
    gate *g = (gate *)user;
    double now, rate;
    churn_snapshot s;
    char counts[96];
    if (g_interrupted) return 1;   /* cancel: churn_run returns CHURN_E_CANCELED, inconclusive */
    if (g->quiet) return 0;
    now = mono_s();
    if (done < total && now - g->last_print < (g->tty ? 0.1 : 1.0)) return 0;
    g->last_print = now;
    rate = now > g->started ? (double)done / (now - g->started) : 0.0;
    counts[0] = '\0';
    if (churn_snapshot_take_some(g->pid, CHURN_METRIC_BIT(CHURN_METRIC_HANDLES) |
                                         CHURN_METRIC_BIT(CHURN_METRIC_THREADS), &s) == CHURN_OK)
        snprintf(counts, sizeof counts, g->tty ? "  handles %lld  threads %lld" : ", handles %lld, threads %lld",
                 s.value[CHURN_METRIC_HANDLES], s.value[CHURN_METRIC_THREADS]);
    if (g->tty) {
        char bar[31];
        int width = 30, fill = total > 0 ? (int)(done * width / total) : 0, i;
        if (fill > width) fill = width;
        for (i = 0; i < width; i++) bar[i] = i < fill ? '#' : '-';
        bar[width] = '\0';
        fprintf(stderr, "\r[%s] %lld/%lld cycles  %.0f/s%s\033[K", bar, done, total, rate, counts);
        g->drew_bar = 1;
    } else {
        fprintf(stderr, GATE_NAME ": %lld/%lld cycles, %.0f/s%s\n", done, total, rate, counts);
    }
    fflush(stderr);
    return 0;
}

/* ---- main -------------------------------------------------------------------------------- */
int main(int argc, char **argv) {
    churn_config cfg;
    churn_result res;
    gate g;
    char host[256] = "", target_text[300];
    const char *target = NULL, *report = NULL, *label = NULL, *path = NULL, *limits = "release";
    const char *profiles = NULL;
    churn_budget budget = CHURN_BUDGET_SMOKE;
    long long cycles = 0, warmup = -1, concurrency = 0, drain_ms = 0, timeout_ms = 0, idle_ms = 0;
    long pid = 0;
    int port = 0, allow_remote = 0, quiet = 0, i, rc, code;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = NULL;
        char opt[64];
        const char *eq;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return EXIT_PASS; }
        if (!strcmp(a, "--version")) {
            printf(GATE_NAME " (churn.h %s)\n", churn_version_string());
            return EXIT_PASS;
        }
        if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) { quiet = 1; continue; }
        if (!strcmp(a, "--allow-remote")) { allow_remote = 1; continue; }
        if (strncmp(a, "--", 2) != 0) die_usage("unexpected argument '%s'", a);
        /* --opt VALUE or --opt=VALUE */
        eq = strchr(a, '=');
        if (eq) {
            size_t n = (size_t)(eq - a);
            if (n >= sizeof opt) n = sizeof opt - 1;
            memcpy(opt, a, n);
            opt[n] = '\0';
            v = eq + 1;
        } else {
            snprintf(opt, sizeof opt, "%s", a);
        }
        if (strcmp(opt, "--target") && strcmp(opt, "--pid") && strcmp(opt, "--budget") &&
            strcmp(opt, "--cycles") && strcmp(opt, "--warmup") && strcmp(opt, "--profiles") &&
            strcmp(opt, "--concurrency") && strcmp(opt, "--limits") && strcmp(opt, "--drain-ms") &&
            strcmp(opt, "--timeout-ms") && strcmp(opt, "--idle-ms") && strcmp(opt, "--path") &&
            strcmp(opt, "--report") && strcmp(opt, "--label"))
            die_usage("unknown option '%s'", a);
        if (!v) {
            if (i + 1 >= argc) die_usage("%s: missing value", opt);
            v = argv[++i];
        }
        if (!strcmp(opt, "--target")) target = v;
        else if (!strcmp(opt, "--pid")) pid = (long)parse_int(opt, v, 1, LONG_MAX);
        else if (!strcmp(opt, "--budget")) {
            if (!strcmp(v, "smoke")) budget = CHURN_BUDGET_SMOKE;
            else if (!strcmp(v, "soak")) budget = CHURN_BUDGET_SOAK;
            else die_usage("--budget: expected smoke or soak, got '%s'", v);
        }
        else if (!strcmp(opt, "--cycles")) cycles = parse_int(opt, v, 1, 1000000000000LL);
        else if (!strcmp(opt, "--warmup")) warmup = parse_int(opt, v, 0, 1000000000000LL);
        else if (!strcmp(opt, "--profiles")) profiles = v;
        else if (!strcmp(opt, "--concurrency")) concurrency = parse_int(opt, v, 1, GATE_MAX_CONCURRENCY);
        else if (!strcmp(opt, "--limits")) {
            if (strcmp(v, "release") && strcmp(v, "strict") && strcmp(v, "none"))
                die_usage("--limits: expected release, strict or none, got '%s'", v);
            limits = v;
        }
        else if (!strcmp(opt, "--drain-ms")) drain_ms = parse_int(opt, v, 1, INT_MAX);
        else if (!strcmp(opt, "--timeout-ms")) timeout_ms = parse_int(opt, v, 1, INT_MAX);
        else if (!strcmp(opt, "--idle-ms")) idle_ms = parse_int(opt, v, 1, INT_MAX);
        else if (!strcmp(opt, "--path")) {
            if (v[0] != '/' || strpbrk(v, " \r\n\t"))
                die_usage("--path: expected an absolute path without spaces (e.g. /health), got '%s'", v);
            path = v;
        }
        else if (!strcmp(opt, "--report")) {
            if (!*v) die_usage("--report: expected a file name");
            report = v;
        }
        else if (!strcmp(opt, "--label")) label = v;
    }
    if (!target) die_usage("--target HOST:PORT is required");
    parse_target(target, host, sizeof host, &port);

    churn_config_init(&cfg, budget);
    cfg.host = host;
    cfg.port = port;
    if (cycles) cfg.cycles = cycles;
    if (warmup >= 0) cfg.warmup_cycles = warmup;
    if (concurrency) cfg.concurrency = (int)concurrency;
    if (profiles) cfg.profiles = parse_profiles(profiles);
    if (!strcmp(limits, "strict")) churn_limits_strict(&cfg.limits);
    else if (!strcmp(limits, "none")) churn_limits_none(&cfg.limits);
    else churn_limits_release(&cfg.limits);
    if (drain_ms) cfg.drain_timeout_ms = (int)drain_ms;
    if (timeout_ms) cfg.timeout_ms = (int)timeout_ms;
    if (idle_ms) cfg.idle_ms = (int)idle_ms;
    if (path) cfg.http_path = path;
    cfg.allow_remote = allow_remote;
    snprintf(target_text, sizeof target_text, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
    cfg.label = label ? label : target_text;

    /* the process to watch */
    if (pid) {
        churn_snapshot probe; /* the portable existence check: one cheap metric */
        int rc = churn_snapshot_take_some(pid, CHURN_METRIC_BIT(CHURN_METRIC_THREADS), &probe);
        if (rc != CHURN_OK) {
            fprintf(stderr, GATE_NAME ": --pid %ld: %s\n", pid,
                    rc == CHURN_E_NOPROC ? "no such process" : churn_strerror(rc));
            return EXIT_USAGE;
        }
    } else {
        pid = discover_pid(port);
        if (!quiet) fprintf(stderr, GATE_NAME ": watching pid %ld (owner of the listener on port %d)\n", pid, port);
    }
    cfg.watch_pid = pid;

    memset(&g, 0, sizeof g);
    g.pid = pid;
    g.quiet = quiet;
    g.tty = isatty(fileno(stderr));
    cfg.progress = on_progress;
    cfg.user = &g;
    signal(SIGINT, on_interrupt);
    signal(SIGTERM, on_interrupt);

    memset(&res, 0, sizeof res);
    g.started = mono_s();
    rc = churn_run(&cfg, &res);
    if (g.drew_bar) { fputc('\n', stderr); fflush(stderr); }
    if (rc != CHURN_OK && rc != CHURN_E_CANCELED) {
        switch (rc) {
        case CHURN_E_CONNECT:
            fprintf(stderr, GATE_NAME ": cannot connect to %s (is the server listening?)\n", target_text);
            break;
        case CHURN_E_REMOTE:
            fprintf(stderr, GATE_NAME ": %s is not a loopback address; pass --allow-remote to churn it\n", host);
            break;
        case CHURN_E_NOPROC:
            fprintf(stderr, GATE_NAME ": pid %ld: no such process\n", pid);
            break;
        case CHURN_E_PERM:
            fprintf(stderr, GATE_NAME ": pid %ld: not allowed to inspect it (another user?)\n", pid);
            break;
        default:   /* CHURN_E_INVAL (a value churn.h rejects), a host name that does not resolve, ... */
            fprintf(stderr, GATE_NAME ": %s: %s\n", target_text, churn_strerror(rc));
            break;
        }
        churn_result_free(&res);
        return EXIT_USAGE;
    }

    if (!quiet) churn_summary_fprint(&res, stdout);
    fflush(stdout);
    code = res.verdict.status == CHURN_PASS ? EXIT_PASS
         : res.verdict.status == CHURN_FAIL ? EXIT_GATE_FAILED : EXIT_INCONCLUSIVE;
    if (rc == CHURN_E_CANCELED) {
        fprintf(stderr, GATE_NAME ": interrupted after %lld cycles: inconclusive\n", res.cycles_done);
        code = EXIT_INCONCLUSIVE;
    }
    if (report) {
        int wrc = churn_report_write(&cfg, &res, report);
        if (wrc != CHURN_OK) {
            fprintf(stderr, GATE_NAME ": --report %s: %s\n", report, churn_strerror(wrc));
            code = EXIT_USAGE;
        } else if (!quiet) {
            fprintf(stderr, GATE_NAME ": report written to %s\n", report);
        }
    }
    churn_result_free(&res);
    return code;
}
