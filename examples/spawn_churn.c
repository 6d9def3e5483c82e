/* spawn_churn.c - the process-supervisor pattern, gated with churn.h's custom cycle.

   A supervisor that starts and stops workers must leave no children, no zombies and no
   fds behind. Here every cycle (cfg.cycle) spawns a child with fork+exec, stops it and
   reaps it:
       even cycles: /bin/true, which exits by itself;
       odd cycles:  a child that ignores SIGTERM and sleeps, so the supervisor's polite
                    SIGTERM is not enough: after a short grace it sends SIGKILL.
   This process is both the supervisor and the watched process (watch_pid 0), judged with
   churn_limits_strict (post-drain handles, sockets, zombies 0) plus post-drain children 0.

   --leak forgets to reap every 10th child: the gate fails on zombies.

   usage: spawn_churn [--leak] [--cycles N] [--report FILE] [--quiet]
   Exit status: 0 pass, 1 fail (or inconclusive), 2 usage or setup error. */
#define CHURN_IMPLEMENTATION
#include "../churn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define GRACE_MS 20          /* between SIGTERM and SIGKILL */
#define MAX_FORGOTTEN 4096

typedef struct supervisor {
    int leak;
    long long spawned, exited, killed, forgotten_count;
    pid_t forgotten[MAX_FORGOTTEN];   /* children the buggy path never reaped */
} supervisor;

static void sleep_ms(int ms) {
    struct timespec ts;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (long)(ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/* fork + exec; returns the child's pid once exec succeeded (a CLOEXEC pipe reports exec
   failure: EOF means the exec went through), or -1. */
static pid_t spawn_child(int stubborn) {
    int pfd[2], child_errno = 0;
    ssize_t n;
    pid_t pid;
    if (pipe2(pfd, O_CLOEXEC) != 0) return -1;
    pid = fork();
    if (pid < 0) { close(pfd[0]); close(pfd[1]); return -1; }
    if (pid == 0) {
        int e;
        close(pfd[0]);
        if (stubborn) {
            signal(SIGTERM, SIG_IGN);   /* an ignored signal stays ignored across exec */
            execl("/bin/sleep", "sleep", "30", (char *)NULL);
        } else {
            execl("/bin/true", "true", (char *)NULL);
        }
        e = errno;
        if (write(pfd[1], &e, sizeof e) < 0) { /* nothing more to do */ }
        _exit(127);
    }
    close(pfd[1]);
    do n = read(pfd[0], &child_errno, sizeof child_errno); while (n < 0 && errno == EINTR);
    close(pfd[0]);
    if (n > 0) {   /* exec failed */
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {}
        errno = child_errno;
        return -1;
    }
    return pid;
}

/* SIGTERM, wait up to grace_ms, then SIGKILL. With reap 0 the child is left unreaped (a
   zombie). Returns 1 when SIGKILL was needed, 0 otherwise, -1 on error. */
static int stop_child(pid_t pid, int grace_ms, int reap) {
    int waited = 0, status;
    kill(pid, SIGTERM);
    for (;;) {
        siginfo_t si;
        memset(&si, 0, sizeof si);
        /* WNOWAIT: look without reaping, so the caller decides whether it reaps */
        if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0 && errno != EINTR) return -1;
        if (si.si_pid == pid) break;   /* exited */
        if (waited >= grace_ms) {
            kill(pid, SIGKILL);
            if (!reap) {   /* wait until it is a zombie, without reaping it */
                while (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT) != 0 && errno == EINTR) {}
                return 1;
            }
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
            return 1;
        }
        sleep_ms(1);
        waited++;
    }
    if (reap) while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    return 0;
}

/* One supervisor cycle: start a worker, stop it, reap it. 0 = ok. */
static int supervise_cycle(void *user, long long index) {
    supervisor *s = (supervisor *)user;
    int stubborn = (int)(index % 2), reap = 1, r;
    pid_t pid = spawn_child(stubborn);
    if (pid < 0) return -1;
    s->spawned++;
    if (s->leak && index % 10 == 9 && s->forgotten_count < MAX_FORGOTTEN) {
        reap = 0;   /* the bug: an early return on some path skips waitpid() */
        s->forgotten[s->forgotten_count++] = pid;
    }
    r = stop_child(pid, GRACE_MS, reap);
    if (r < 0) return -1;
    if (r == 1) s->killed++; else s->exited++;
    return 0;
}

int main(int argc, char **argv) {
    static supervisor sup;
    churn_config cfg;
    churn_result res;
    const char *report = NULL;
    long long cycles = 0;
    int quiet = 0, i, rc, code;
    long long k;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--leak")) sup.leak = 1;
        else if (!strcmp(argv[i], "--quiet")) quiet = 1;
        else if (!strcmp(argv[i], "--cycles") && i + 1 < argc) {
            char *end;
            cycles = strtoll(argv[++i], &end, 10);
            if (*end || cycles < 1) {
                fprintf(stderr, "spawn_churn: --cycles: expected a positive integer, got '%s'\n", argv[i]);
                return 2;
            }
        }
        else if (!strcmp(argv[i], "--report") && i + 1 < argc) report = argv[++i];
        else {
            fprintf(stderr, "usage: spawn_churn [--leak] [--cycles N] [--report FILE] [--quiet]\n");
            return 2;
        }
    }

    churn_config_init(&cfg, CHURN_BUDGET_SMOKE);     /* 100 cycles */
    if (cycles) cfg.cycles = cycles;
    cfg.cycle = supervise_cycle;                      /* host, port, profiles unused */
    cfg.user = &sup;
    cfg.watch_pid = 0;                                /* the supervisor is this process */
    cfg.label = sup.leak ? "spawn-churn (leaky)" : "spawn-churn";
    cfg.drain_timeout_ms = 1000;                      /* reaped children vanish at once */
    /* Every metric in every in-run sample: the growth limits of children and zombies (and
       of everything else strict limits) are judged from the samples, and at this pace
       (fork+exec, tens of ms per cycle) a full snapshot's cost does not matter. */
    cfg.sample_metrics = CHURN_METRICS_ALL;
    churn_limits_strict(&cfg.limits);                 /* handles, sockets, zombies: 0 after drain */
    cfg.limits.post_drain[CHURN_METRIC_CHILDREN] = 0; /* and no worker left running */

    memset(&res, 0, sizeof res);
    rc = churn_run(&cfg, &res);
    if (rc != CHURN_OK) {
        fprintf(stderr, "spawn_churn: churn_run: %s\n", churn_strerror(rc));
        churn_result_free(&res);
        return 2;
    }
    if (!quiet) {
        printf("spawn_churn: %lld children spawned (%lld exited after SIGTERM, %lld needed SIGKILL), "
               "%lld never reaped\n", sup.spawned, sup.exited, sup.killed, sup.forgotten_count);
        churn_summary_fprint(&res, stdout);
    }
    if (report && churn_report_write(&cfg, &res, report) != CHURN_OK)
        fprintf(stderr, "spawn_churn: could not write %s\n", report);
    code = res.verdict.ok ? 0 : 1;
    printf("spawn_churn: %s%s%s\n", code == 0 ? "PASS" : "FAIL",
           res.verdict.reason[0] ? ": " : "", res.verdict.reason);
    churn_result_free(&res);

    for (k = 0; k < sup.forgotten_count; k++)   /* clean up after the demonstration */
        while (waitpid(sup.forgotten[k], NULL, 0) < 0 && errno == EINTR) {}
    return code;
}
