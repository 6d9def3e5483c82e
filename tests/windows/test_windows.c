/* test_windows.c - churn.h's Windows behaviour, run under wine (make test-windows) or on
   Windows. Real objects only: files opened with CreateFile, threads blocked on an event,
   a Winsock loopback server on a thread of this process. Linked with churn_impl_win.c. */
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "churn.h"
#include "../churn_test.h"

static int under_wine(void) {
    HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
    return ntdll && GetProcAddress(ntdll, "wine_get_version") != NULL;
}

/* ---- snapshots ------------------------------------------------------------------------ */
CT_TEST(snapshot_self_basics) {
    churn_snapshot s;
    CT_REQUIRE(churn_snapshot_take(0, &s) == CHURN_OK);
    CT_EQ_LL(s.pid, (long long)GetCurrentProcessId());
    CT_GE_LL(s.value[CHURN_METRIC_HANDLES], 3);
    CT_GE_LL(s.value[CHURN_METRIC_THREADS], 1);
    CT_GE_LL(s.value[CHURN_METRIC_RSS_BYTES], 1);
    CT_GE_LL(s.value[CHURN_METRIC_PRIVATE_BYTES], 1);
    CT_GE_LL(s.value[CHURN_METRIC_VIRTUAL_BYTES], s.value[CHURN_METRIC_RSS_BYTES]);
    CT_EQ_LL(s.value[CHURN_METRIC_SOCKETS], 0);
    CT_EQ_LL(s.value[CHURN_METRIC_CLOSE_WAIT], 0);
    CT_EQ_LL(s.value[CHURN_METRIC_CHILDREN], 0);
    CT_EQ_LL(s.value[CHURN_METRIC_ZOMBIES], 0);
    CT_EQ_LL(s.value[CHURN_METRIC_SEND_QUEUE_BYTES], CHURN_UNKNOWN);
    CT_EQ_STR(churn_platform_name(), "windows");
}

CT_TEST(snapshot_gui_unknown_not_zero) {
    churn_snapshot s;
    CT_REQUIRE(churn_snapshot_take(0, &s) == CHURN_OK);
    if (under_wine()) {
        /* wine does not implement GetGuiResources: unknown, never a fake 0 */
        CT_EQ_LL(s.value[CHURN_METRIC_GDI_OBJECTS], CHURN_UNKNOWN);
        CT_EQ_LL(s.value[CHURN_METRIC_USER_OBJECTS], CHURN_UNKNOWN);
    } else {
        CT_GE_LL(s.value[CHURN_METRIC_GDI_OBJECTS], 0);
        CT_GE_LL(s.value[CHURN_METRIC_USER_OBJECTS], 0);
    }
}

CT_TEST(snapshot_is_stable) {
    /* the snapshot's own handles are closed and never counted: repeated snapshots agree */
    churn_snapshot a, b, c;
    CT_REQUIRE(churn_snapshot_take(0, &a) == CHURN_OK);
    CT_REQUIRE(churn_snapshot_take(0, &b) == CHURN_OK);
    CT_REQUIRE(churn_snapshot_take(0, &c) == CHURN_OK);
    CT_EQ_LL(b.value[CHURN_METRIC_HANDLES], a.value[CHURN_METRIC_HANDLES]);
    CT_EQ_LL(c.value[CHURN_METRIC_HANDLES], a.value[CHURN_METRIC_HANDLES]);
    CT_EQ_LL(c.value[CHURN_METRIC_THREADS], a.value[CHURN_METRIC_THREADS]);
}

CT_TEST(snapshot_handles_rise_and_fall) {
    enum { N = 100 };
    HANDLE files[N];
    char dir[MAX_PATH], path[MAX_PATH + 64];
    churn_snapshot before, during, after;
    int i, opened = 0;
    DWORD n = GetTempPathA(sizeof dir, dir);
    CT_REQUIRE(n > 0 && n < sizeof dir);
    CT_REQUIRE(churn_snapshot_take(0, &before) == CHURN_OK);
    for (i = 0; i < N; i++) {
        snprintf(path, sizeof path, "%schurn-win-%lu-%d.tmp", dir, (unsigned long)GetCurrentProcessId(), i);
        files[i] = CreateFileA(path, GENERIC_READ | GENERIC_WRITE, 0, NULL, CREATE_ALWAYS,
                               FILE_ATTRIBUTE_TEMPORARY | FILE_FLAG_DELETE_ON_CLOSE, NULL);
        if (files[i] != INVALID_HANDLE_VALUE) opened++;
    }
    CT_EQ_LL(opened, N);
    CT_REQUIRE(churn_snapshot_take(0, &during) == CHURN_OK);
    for (i = 0; i < N; i++) if (files[i] != INVALID_HANDLE_VALUE) CloseHandle(files[i]);
    CT_REQUIRE(churn_snapshot_take(0, &after) == CHURN_OK);
    CT_GE_LL(during.value[CHURN_METRIC_HANDLES] - before.value[CHURN_METRIC_HANDLES], N);
    CT_EQ_LL(after.value[CHURN_METRIC_HANDLES], before.value[CHURN_METRIC_HANDLES]);
}

static HANDLE g_release;
typedef HRESULT (WINAPI *set_desc_fn)(HANDLE, PCWSTR);
static set_desc_fn set_thread_description(void) {
    union { FARPROC f; set_desc_fn p; } u;
    u.f = GetProcAddress(GetModuleHandleW(L"kernel32.dll"), "SetThreadDescription");
    return u.p;
}
static DWORD WINAPI blocked_thread(LPVOID arg) {
    DWORD *tid = (DWORD *)arg;
    set_desc_fn set = set_thread_description();
    if (set) set(GetCurrentThread(), L"churn-w\u00e9rker"); /* non-ASCII: UTF-8 in the inventory */
    *tid = GetCurrentThreadId();
    WaitForSingleObject(g_release, INFINITE);
    return 0;
}

CT_TEST(snapshot_and_inventory_threads) {
    enum { N = 8 };
    HANDLE th[N];
    volatile DWORD tids[N];
    churn_snapshot before, during, after;
    churn_inventory inv_before, inv_during, added;
    int i, k, found = 0;
    g_release = CreateEventW(NULL, TRUE, FALSE, NULL);
    CT_REQUIRE(g_release != NULL);
    CT_REQUIRE(churn_inventory_take(0, &inv_before) == CHURN_OK);
    CT_REQUIRE(churn_snapshot_take(0, &before) == CHURN_OK);
    for (i = 0; i < N; i++) {
        tids[i] = 0;
        th[i] = CreateThread(NULL, 0, blocked_thread, (LPVOID)&tids[i], 0, NULL);
        CT_REQUIRE(th[i] != NULL);
    }
    for (i = 0; i < N; i++) while (tids[i] == 0) Sleep(1);
    CT_REQUIRE(churn_snapshot_take(0, &during) == CHURN_OK);
    CT_EQ_LL(during.value[CHURN_METRIC_THREADS] - before.value[CHURN_METRIC_THREADS], N);
    /* the thread handles we hold are handles too */
    CT_GE_LL(during.value[CHURN_METRIC_HANDLES] - before.value[CHURN_METRIC_HANDLES], N);

    CT_REQUIRE(churn_inventory_take(0, &inv_during) == CHURN_OK);
    CT_REQUIRE(churn_inventory_diff(&inv_before, &inv_during, &added) == CHURN_OK);
    for (i = 0; i < N; i++) {
        for (k = 0; k < added.thread_count; k++)
            if (added.threads[k].tid == (long long)tids[i]) { found++; break; }
    }
    CT_EQ_LL(found, N);
    CT_EQ_LL(added.thread_count, N);
    printf("    thread names: SetThreadDescription %s\n", set_thread_description() ? "present, names checked" : "absent");
    if (set_thread_description()) {
        int named = 0;
        for (k = 0; k < added.thread_count; k++)
            if (strcmp(added.threads[k].name, "churn-w\xc3\xa9rker") == 0) named++;
        CT_EQ_LL(named, N);
    }
    {
        /* our thread handles show up as "thread" handles naming the tid */
        int thread_handles = 0;
        char want[32];
        for (k = 0; k < added.handle_count; k++) {
            if (strcmp(added.handles[k].kind, "thread") != 0) continue;
            for (i = 0; i < N; i++) {
                snprintf(want, sizeof want, "tid %lu", (unsigned long)tids[i]);
                if (strstr(added.handles[k].detail, want)) { thread_handles++; break; }
            }
        }
        CT_EQ_LL(thread_handles, N);
    }
    churn_inventory_free(&added);
    churn_inventory_free(&inv_during);

    SetEvent(g_release);
    for (i = 0; i < N; i++) { WaitForSingleObject(th[i], 5000); CloseHandle(th[i]); }
    CT_REQUIRE(churn_snapshot_take(0, &after) == CHURN_OK);
    CT_EQ_LL(after.value[CHURN_METRIC_THREADS], before.value[CHURN_METRIC_THREADS]);
    CloseHandle(g_release);
    churn_inventory_free(&inv_before);
}

CT_TEST(inventory_kinds) {
    churn_inventory before, after, added;
    HANDLE ev, file, rd, wr, dirh;
    char dir[MAX_PATH], path[MAX_PATH + 64];
    int k, saw_event = 0, saw_file = 0, saw_pipe = 0, saw_dir = 0;
    GetTempPathA(sizeof dir, dir);
    snprintf(path, sizeof path, "%schurn-win-kinds-%lu.tmp", dir, (unsigned long)GetCurrentProcessId());
    CT_REQUIRE(churn_inventory_take(0, &before) == CHURN_OK);
    ev = CreateEventW(NULL, FALSE, FALSE, L"churn-test-event");
    file = CreateFileA(path, GENERIC_WRITE, 0, NULL, CREATE_ALWAYS, FILE_FLAG_DELETE_ON_CLOSE, NULL);
    CT_REQUIRE(CreatePipe(&rd, &wr, NULL, 0));
    dirh = CreateFileA(dir, FILE_LIST_DIRECTORY, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE, NULL,
                       OPEN_EXISTING, FILE_FLAG_BACKUP_SEMANTICS, NULL);
    CT_REQUIRE(dirh != INVALID_HANDLE_VALUE);
    CT_REQUIRE(churn_inventory_take(0, &after) == CHURN_OK);
    CT_REQUIRE(churn_inventory_diff(&before, &after, &added) == CHURN_OK);
    for (k = 0; k < added.handle_count; k++) {
        const churn_handle_info *h = &added.handles[k];
        if (h->id == (long long)(size_t)ev) {
            CT_EQ_STR(h->kind, "event");
            CT_CHECK(strstr(h->detail, "churn-test-event") != NULL);
            saw_event = 1;
        } else if (h->id == (long long)(size_t)file) {
            CT_EQ_STR(h->kind, "file");
            CT_CHECK(strstr(h->detail, "churn-win-kinds") != NULL);
            saw_file = 1;
        } else if (h->id == (long long)(size_t)dirh) {
            CT_EQ_STR(h->kind, "dir");
            saw_dir = 1;
        } else if (h->id == (long long)(size_t)rd || h->id == (long long)(size_t)wr) {
            CT_EQ_STR(h->kind, "pipe");
            saw_pipe++;
        }
    }
    CT_CHECK(saw_event);
    CT_CHECK(saw_file);
    CT_EQ_LL(saw_pipe, 2);
    CT_CHECK(saw_dir);
    if (!saw_event || !saw_file || saw_pipe != 2 || !saw_dir) churn_inventory_fprint(&added, stdout, 40);
    churn_inventory_free(&added);
    churn_inventory_free(&after);
    churn_inventory_free(&before);
    CloseHandle(ev);
    CloseHandle(file);
    CloseHandle(rd);
    CloseHandle(wr);
    CloseHandle(dirh);
}

CT_TEST(errors) {
    churn_snapshot s;
    churn_inventory inv;
    /* pids are multiples of 4 on Windows; this one is far beyond any real table */
    CT_EQ_LL(churn_snapshot_take(0x7ffffff0L, &s), CHURN_E_NOPROC);
    CT_EQ_LL(churn_inventory_take(0x7ffffff0L, &inv), CHURN_E_NOPROC);
    CT_EQ_LL(churn_snapshot_take(-1, &s), CHURN_E_INVAL);
    CT_EQ_LL(churn_snapshot_take(0, NULL), CHURN_E_INVAL);
}

/* A Windows sampler is a plain snapshot of the pid checked at open: same counts, no handle
   of its own, the same errors. */
CT_TEST(sampler_plain_snapshots) {
    churn_sampler sm, zero;
    churn_snapshot a, b;
    memset(&zero, 0, sizeof zero);
    CT_REQUIRE(churn_sampler_open(0, &sm) == CHURN_OK);
    CT_EQ_LL(sm.own_fds, 0);
    CT_EQ_LL(sm.pid, (long long)GetCurrentProcessId());
    CT_REQUIRE(churn_sampler_take(&sm, CHURN_METRICS_CHEAP, &a) == CHURN_OK);
    CT_REQUIRE(churn_snapshot_take_some(0, CHURN_METRICS_CHEAP, &b) == CHURN_OK);
    CT_GE_LL(a.value[CHURN_METRIC_HANDLES], 3);
    CT_CHECK(a.value[CHURN_METRIC_HANDLES] >= b.value[CHURN_METRIC_HANDLES] - 2 &&
             a.value[CHURN_METRIC_HANDLES] <= b.value[CHURN_METRIC_HANDLES] + 2);
    CT_EQ_LL(a.value[CHURN_METRIC_THREADS], b.value[CHURN_METRIC_THREADS]);
    churn_sampler_close(&sm);
    churn_sampler_close(&sm);
    CT_EQ_LL(churn_sampler_take(&sm, CHURN_METRICS_CHEAP, &a), CHURN_E_INVAL);
    CT_EQ_LL(churn_sampler_take(&zero, CHURN_METRICS_CHEAP, &a), CHURN_E_INVAL);
    CT_EQ_LL(churn_sampler_open(0x7ffffff0L, &sm), CHURN_E_NOPROC);
    CT_EQ_LL(churn_sampler_open(-1, &sm), CHURN_E_INVAL);
    CT_EQ_LL(churn_sampler_open(0, NULL), CHURN_E_INVAL);
}

CT_TEST(snapshot_other_process) {
    /* a child process: measurable by pid, counted in our children, gone after exit */
    STARTUPINFOW si;
    PROCESS_INFORMATION pi;
    WCHAR cmd[] = L"cmd.exe /c ping -n 30 127.0.0.1 >nul";
    churn_snapshot s, me;
    memset(&si, 0, sizeof si);
    si.cb = sizeof si;
    if (!CreateProcessW(NULL, cmd, NULL, NULL, FALSE, CREATE_NO_WINDOW, NULL, NULL, &si, &pi))
        CT_SKIP("cannot start cmd.exe");
    Sleep(200);
    CT_CHECK(churn_snapshot_take((long)pi.dwProcessId, &s) == CHURN_OK);
    CT_GE_LL(s.value[CHURN_METRIC_THREADS], 1);
    CT_GE_LL(s.value[CHURN_METRIC_RSS_BYTES], 1);
    CT_GE_LL(s.value[CHURN_METRIC_HANDLES], 1);
    CT_GE_LL(s.value[CHURN_METRIC_PRIVATE_BYTES], 1);
    CT_GE_LL(s.value[CHURN_METRIC_VIRTUAL_BYTES], s.value[CHURN_METRIC_RSS_BYTES]);
    if (under_wine()) CT_EQ_LL(s.value[CHURN_METRIC_SOCKETS], CHURN_UNKNOWN); /* rows without owner pids */
    CT_EQ_LL(s.value[CHURN_METRIC_ZOMBIES], 0);
    CT_REQUIRE(churn_snapshot_take(0, &me) == CHURN_OK);
    CT_EQ_LL(me.value[CHURN_METRIC_CHILDREN], 1);
    {
        /* another process's inventory: its threads and typed handles */
        churn_inventory inv;
        int k, typed = 0;
        CT_CHECK(churn_inventory_take((long)pi.dwProcessId, &inv) == CHURN_OK);
        CT_GE_LL(inv.thread_count, 1);
        CT_GE_LL(inv.handle_count, 1);
        for (k = 0; k < inv.handle_count; k++) if (strcmp(inv.handles[k].kind, "other") != 0) typed++;
        CT_GE_LL(typed, 1);
        printf("    child pid %lu: %d handles (%d typed), %d threads; snapshot: handles %lld threads %lld rss %lld "
               "private %lld virtual %lld sockets %lld\n", (unsigned long)pi.dwProcessId, inv.handle_count, typed,
               inv.thread_count, s.value[CHURN_METRIC_HANDLES], s.value[CHURN_METRIC_THREADS],
               s.value[CHURN_METRIC_RSS_BYTES], s.value[CHURN_METRIC_PRIVATE_BYTES], s.value[CHURN_METRIC_VIRTUAL_BYTES],
               s.value[CHURN_METRIC_SOCKETS]);
        churn_inventory_free(&inv);
    }
    CT_EQ_LL(me.value[CHURN_METRIC_ZOMBIES], 0);
    {
        /* a sampler holds the child's process handle: counts while it runs, NOPROC after */
        churn_sampler sm;
        churn_snapshot a;
        CT_REQUIRE(churn_sampler_open((long)pi.dwProcessId, &sm) == CHURN_OK);
        CT_EQ_LL(sm.own_fds, 1);
        CT_REQUIRE(churn_sampler_take(&sm, CHURN_METRICS_CHEAP, &a) == CHURN_OK);
        CT_GE_LL(a.value[CHURN_METRIC_THREADS], 1);
        CT_GE_LL(a.value[CHURN_METRIC_HANDLES], 1);
        CT_GE_LL(a.value[CHURN_METRIC_RSS_BYTES], 1);
        TerminateProcess(pi.hProcess, 3);
        WaitForSingleObject(pi.hProcess, 5000);
        CT_EQ_LL(churn_sampler_take(&sm, CHURN_METRICS_CHEAP, &a), CHURN_E_NOPROC);
        churn_sampler_close(&sm);
        CT_EQ_LL(sm.own_fds, 0);
    }
    CT_EQ_LL(churn_snapshot_take((long)pi.dwProcessId, &s), CHURN_E_NOPROC);
    /* exited, but we still hold its handles: Windows' zombie (not a live child) */
    CT_REQUIRE(churn_snapshot_take(0, &me) == CHURN_OK);
    CT_EQ_LL(me.value[CHURN_METRIC_CHILDREN], 0);
    CT_EQ_LL(me.value[CHURN_METRIC_ZOMBIES], 1);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    CT_REQUIRE(churn_snapshot_take(0, &me) == CHURN_OK);
    CT_EQ_LL(me.value[CHURN_METRIC_CHILDREN], 0);
    CT_EQ_LL(me.value[CHURN_METRIC_ZOMBIES], 0);
}

/* ---- churn loop against a loopback server thread ---------------------------------------- */
typedef struct server {
    SOCKET listener;
    int port;
    volatile LONG stop;
    volatile LONG served;
    HANDLE thread;
} server;

static DWORD WINAPI server_main(LPVOID arg) {
    server *sv = (server *)arg;
    static const char resp[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
    while (!sv->stop) {
        WSAPOLLFD p;
        SOCKET c;
        p.fd = sv->listener; p.events = POLLIN; p.revents = 0;
        if (WSAPoll(&p, 1, 50) <= 0) continue;
        c = accept(sv->listener, NULL, NULL);
        if (c == INVALID_SOCKET) continue;
        {
            /* read what the client sends (bounded), answer GETs, close */
            char buf[4096];
            int len = 0, n;
            u_long nb = 0;
            DWORD tmo = 300;
            ioctlsocket(c, FIONBIO, &nb);
            setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, (const char *)&tmo, sizeof tmo);
            while (len < (int)sizeof buf - 1 && (n = recv(c, buf + len, (int)sizeof buf - 1 - len, 0)) > 0) {
                len += n;
                buf[len] = '\0';
                if (strstr(buf, "\r\n\r\n")) break;
            }
            if (len > 0 && strncmp(buf, "GET", 3) == 0 && strstr(buf, "\r\n\r\n"))
                send(c, resp, (int)sizeof resp - 1, 0);
            closesocket(c);
            InterlockedIncrement(&sv->served);
        }
    }
    return 0;
}

static int server_start(server *sv) {
    struct sockaddr_in a;
    int alen = sizeof a;
    WSADATA wd;
    memset(sv, 0, sizeof *sv);
    if (WSAStartup(MAKEWORD(2, 2), &wd) != 0) return -1;
    sv->listener = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    if (sv->listener == INVALID_SOCKET) return -1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    if (bind(sv->listener, (struct sockaddr *)&a, sizeof a) != 0 || listen(sv->listener, 128) != 0 ||
        getsockname(sv->listener, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    sv->port = ntohs(a.sin_port);
    sv->thread = CreateThread(NULL, 0, server_main, sv, 0, NULL);
    return sv->thread ? 0 : -1;
}

static void server_stop(server *sv) {
    InterlockedExchange(&sv->stop, 1);
    WaitForSingleObject(sv->thread, 5000);
    CloseHandle(sv->thread);
    closesocket(sv->listener);
    WSACleanup();
}

static long long class_sum(const churn_outcomes *o) {
    return o->completed + o->refused + o->timed_out + o->reset_by_peer + o->closed_by_peer + o->failed;
}

/* The owner of a listener: this process. wine's TCP table carries no owning pids, so there
   the answer is CHURN_E_UNSUPPORTED, never a wrong pid. */
CT_TEST(listener_pid_self) {
    server sv;
    long pid = -1;
    int owners = -1, rc;
    CT_REQUIRE(server_start(&sv) == 0);
    rc = churn_listener_pid(sv.port, &pid, &owners);
    printf("    churn_listener_pid(%d): %d (%s), pid %ld, owners %d\n", sv.port, rc, churn_strerror(rc), pid, owners);
    if (rc == CHURN_E_UNSUPPORTED && under_wine()) {
        CT_EQ_LL(pid, 0);
    } else {
        CT_EQ_LL(rc, CHURN_OK);
        CT_EQ_LL(pid, (long long)GetCurrentProcessId());
        CT_EQ_LL(owners, 1);
    }
    server_stop(&sv);
    CT_EQ_LL(churn_listener_pid(sv.port, &pid, &owners), CHURN_E_NOPROC);
    CT_EQ_LL(churn_listener_pid(0, &pid, &owners), CHURN_E_INVAL);
}

CT_TEST(churn_run_winsock) {
    server sv;
    churn_config cfg;
    churn_result res;
    char dir[MAX_PATH], path[MAX_PATH + 64];
    int rc, p;
    CT_REQUIRE(server_start(&sv) == 0);
    churn_config_init(&cfg, CHURN_BUDGET_SMOKE);
    cfg.port = sv.port;
    cfg.cycles = 300;
    cfg.concurrency = 4;
    cfg.timeout_ms = 2000;
    cfg.profiles = CHURN_PROFILE_BIT(CHURN_PROFILE_RESET) | CHURN_PROFILE_BIT(CHURN_PROFILE_CLOSE) |
                   CHURN_PROFILE_BIT(CHURN_PROFILE_REQUEST);
    cfg.label = "windows-loopback";
    rc = churn_run(&cfg, &res);
    CT_EQ_LL(rc, CHURN_OK);
    CT_EQ_LL(res.cycles_done, 300);
    CT_EQ_LL(res.outcomes.attempted, 300);
    CT_EQ_LL(res.outcomes.attempted, class_sum(&res.outcomes));
    CT_GE_LL(res.outcomes.completed, 1);
    CT_GE_LL(res.outcomes.connected, 1);
    for (p = 0; p < CHURN_PROFILE_COUNT; p++)
        CT_EQ_LL(res.by_profile[p].attempted, class_sum(&res.by_profile[p]));
    CT_EQ_LL(res.by_profile[CHURN_PROFILE_RESET].attempted, 100);
    CT_EQ_LL(res.by_profile[CHURN_PROFILE_REQUEST].attempted, 100);
    CT_GE_LL(res.by_profile[CHURN_PROFILE_REQUEST].completed, 1);
    CT_GE_LL(res.by_profile[CHURN_PROFILE_REQUEST].bytes_received, 5);
    /* wine does not reliably show an abortive close to a wine peer: reset_by_peer is not asserted */
    CT_CHECK(res.baseline.value[CHURN_METRIC_SOCKETS] >= 1); /* the listener */
    CT_CHECK(res.series_count >= 2);
    CT_CHECK(strncmp(res.os, "Windows", 7) == 0);
    printf("    %s: %lld cycles in %.2f s, connected %lld completed %lld refused %lld timed_out %lld "
           "reset_by_peer %lld closed_by_peer %lld failed %lld\n", res.os, res.cycles_done, res.elapsed_s,
           res.outcomes.connected, res.outcomes.completed, res.outcomes.refused, res.outcomes.timed_out,
           res.outcomes.reset_by_peer, res.outcomes.closed_by_peer, res.outcomes.failed);
    if (res.verdict.status != CHURN_PASS) churn_summary_fprint(&res, stdout);
    CT_CHECK(res.verdict.status == CHURN_PASS);

    /* report: written atomically, re-read, holds the platform and the label */
    GetTempPathA(sizeof dir, dir);
    snprintf(path, sizeof path, "%schurn-win-report-%lu.json", dir, (unsigned long)GetCurrentProcessId());
    CT_EQ_LL(churn_report_write(&cfg, &res, path), CHURN_OK);
    CT_EQ_LL(churn_report_write(&cfg, &res, path), CHURN_OK); /* replaces an existing file */
    {
        FILE *f = fopen(path, "rb");
        char *buf = (char *)malloc(1 << 20);
        size_t n = 0;
        CT_REQUIRE(f != NULL && buf != NULL);
        n = fread(buf, 1, (1 << 20) - 1, f);
        buf[n] = '\0';
        fclose(f);
        CT_CHECK(n > 100);
        CT_CHECK(strstr(buf, "\"platform\": \"windows\"") != NULL || strstr(buf, "\"platform\":\"windows\"") != NULL);
        CT_CHECK(strstr(buf, "windows-loopback") != NULL);
        CT_CHECK(strstr(buf, "\"gdi_objects\"") != NULL);
        CT_CHECK(buf[0] == '{');
        free(buf);
    }
    {
        /* no temp file left beside it */
        char pattern[MAX_PATH + 64];
        WIN32_FIND_DATAA fd;
        HANDLE fh;
        snprintf(pattern, sizeof pattern, "%s.churn-win-report-%lu.json.tmp-*", dir, (unsigned long)GetCurrentProcessId());
        fh = FindFirstFileA(pattern, &fd);
        CT_CHECK(fh == INVALID_HANDLE_VALUE);
        if (fh != INVALID_HANDLE_VALUE) FindClose(fh);
    }
    DeleteFileA(path);
    /* an unwritable path: error, nothing created */
    CT_CHECK(churn_report_write(&cfg, &res, "Z:\\no\\such\\dir\\r.json") != CHURN_OK);
    churn_result_free(&res);
    server_stop(&sv);
}

CT_TEST(churn_run_all_profiles) {
    /* every profile once per rotation, two in flight: all outcomes counted, none failed */
    server sv;
    churn_config cfg;
    churn_result res;
    int p;
    CT_REQUIRE(server_start(&sv) == 0);
    churn_config_init(&cfg, CHURN_BUDGET_SMOKE);
    cfg.port = sv.port;
    cfg.cycles = 100;
    cfg.concurrency = 2;
    cfg.idle_ms = 10;
    cfg.timeout_ms = 2000;
    cfg.profiles = CHURN_PROFILES_ALL;
    cfg.no_inventory = 1;
    CT_EQ_LL(churn_run(&cfg, &res), CHURN_OK);
    CT_EQ_LL(res.outcomes.attempted, 100);
    CT_EQ_LL(res.outcomes.attempted, class_sum(&res.outcomes));
    CT_EQ_LL(res.outcomes.failed, 0);
    for (p = 0; p < CHURN_PROFILE_COUNT; p++) {
        CT_EQ_LL(res.by_profile[p].attempted, 10);
        CT_EQ_LL(res.by_profile[p].attempted, class_sum(&res.by_profile[p]));
        CT_GE_LL(res.by_profile[p].connected, 1);
    }
    CT_GE_LL(res.by_profile[CHURN_PROFILE_REQUEST].completed, 1);
    CT_GE_LL(res.by_profile[CHURN_PROFILE_IDLE].completed, 1);
    printf("    all profiles: completed %lld refused %lld timed_out %lld reset_by_peer %lld closed_by_peer %lld failed %lld\n",
           res.outcomes.completed, res.outcomes.refused, res.outcomes.timed_out, res.outcomes.reset_by_peer,
           res.outcomes.closed_by_peer, res.outcomes.failed);
    churn_result_free(&res);
    server_stop(&sv);
}

CT_TEST(churn_run_refused) {
    /* nothing listens: CHURN_E_CONNECT before any cycle */
    churn_config cfg;
    churn_result res;
    SOCKET s;
    struct sockaddr_in a;
    int alen = sizeof a, port;
    WSADATA wd;
    WSAStartup(MAKEWORD(2, 2), &wd);
    s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CT_REQUIRE(bind(s, (struct sockaddr *)&a, sizeof a) == 0);
    getsockname(s, (struct sockaddr *)&a, &alen);
    port = ntohs(a.sin_port);
    closesocket(s); /* bound, never listened, now closed: connects are refused */
    WSACleanup();
    churn_config_init(&cfg, CHURN_BUDGET_SMOKE);
    cfg.port = port;
    cfg.cycles = 10;
    cfg.timeout_ms = 3000;
    CT_EQ_LL(churn_run(&cfg, &res), CHURN_E_CONNECT);
    churn_result_free(&res);
    cfg.host = "192.0.2.1"; /* TEST-NET: non-loopback is refused without allow_remote */
    CT_EQ_LL(churn_run(&cfg, &res), CHURN_E_REMOTE);
    churn_result_free(&res);
}

CT_TEST(describe_and_write_atomic_utf8) {
    /* a UTF-8 path with non-ASCII characters round-trips through MultiByteToWideChar */
    churn_config cfg;
    churn_result res;
    char dir[MAX_PATH], path[MAX_PATH + 64];
    WCHAR wpath[MAX_PATH + 64];
    HANDLE f;
    memset(&res, 0, sizeof res);
    churn_snapshot_init(&res.baseline);
    churn_snapshot_init(&res.peak);
    churn_snapshot_init(&res.post_drain);
    churn_config_init(&cfg, CHURN_BUDGET_SMOKE);
    GetTempPathA(sizeof dir, dir);
    snprintf(path, sizeof path, "%schurn-\xc3\xa9t\xc3\xa9-%lu.json", dir, (unsigned long)GetCurrentProcessId());
    CT_EQ_LL(churn_report_write(&cfg, &res, path), CHURN_OK);
    MultiByteToWideChar(CP_UTF8, 0, path, -1, wpath, MAX_PATH + 64);
    f = CreateFileW(wpath, GENERIC_READ, FILE_SHARE_READ, NULL, OPEN_EXISTING, 0, NULL);
    CT_CHECK(f != INVALID_HANDLE_VALUE);
    if (f != INVALID_HANDLE_VALUE) {
        CT_CHECK(GetFileSize(f, NULL) > 100);
        CloseHandle(f);
    }
    DeleteFileW(wpath);
    CT_EQ_LL(churn_report_write(&cfg, &res, "bad\xff\xfe.json"), CHURN_E_INVAL); /* not UTF-8 */
}

CT_TEST(snapshot_sockets_and_close_wait) {
    /* a connected pair where the peer closed: one CLOSE_WAIT in our TCP rows */
    SOCKET l, c, a2;
    struct sockaddr_in a;
    int alen = sizeof a, i;
    WSADATA wd;
    churn_snapshot before, during, after;
    churn_inventory inv;
    int saw_close_wait = 0;
    WSAStartup(MAKEWORD(2, 2), &wd);
    CT_REQUIRE(churn_snapshot_take(0, &before) == CHURN_OK);
    l = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CT_REQUIRE(bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 4) == 0);
    getsockname(l, (struct sockaddr *)&a, &alen);
    c = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP);
    CT_REQUIRE(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    a2 = accept(l, NULL, NULL);
    CT_REQUIRE(a2 != INVALID_SOCKET);
    closesocket(a2); /* FIN to c: c is in CLOSE_WAIT */
    for (i = 0; i < 10; i++) { /* the TCP table costs about a second under wine */
        CT_REQUIRE(churn_snapshot_take_some(0, CHURN_METRIC_BIT(CHURN_METRIC_CLOSE_WAIT) |
                                                CHURN_METRIC_BIT(CHURN_METRIC_SOCKETS), &during) == CHURN_OK);
        if (during.value[CHURN_METRIC_CLOSE_WAIT] >= 1) break;
        Sleep(50);
    }
    CT_EQ_LL(during.value[CHURN_METRIC_CLOSE_WAIT] - before.value[CHURN_METRIC_CLOSE_WAIT], 1);
    CT_GE_LL(during.value[CHURN_METRIC_SOCKETS] - before.value[CHURN_METRIC_SOCKETS], 2);
    CT_REQUIRE(churn_inventory_take(0, &inv) == CHURN_OK);
    for (i = 0; i < inv.handle_count; i++) {
        if (strcmp(inv.handles[i].kind, "socket") == 0 && strstr(inv.handles[i].detail, "CLOSE_WAIT")) saw_close_wait++;
    }
    CT_EQ_LL(saw_close_wait, 1);
    if (saw_close_wait != 1) churn_inventory_fprint(&inv, stdout, 80);
    churn_inventory_free(&inv);
    closesocket(c);
    closesocket(l);
    CT_REQUIRE(churn_snapshot_take_some(0, CHURN_METRIC_BIT(CHURN_METRIC_CLOSE_WAIT), &after) == CHURN_OK);
    CT_EQ_LL(after.value[CHURN_METRIC_CLOSE_WAIT], before.value[CHURN_METRIC_CLOSE_WAIT]);
    WSACleanup();
}

/* CT_RUN plus the test's wall time (the wine run must stay short) */
#define RUN(fn) do { DWORD t0_ = GetTickCount(); CT_RUN(fn); printf("    (%lu ms)\n", (unsigned long)(GetTickCount() - t0_)); } while (0)

int main(void) {
    setvbuf(stdout, NULL, _IONBF, 0);
    printf("churn.h Windows tests (%s), platform %s\n", under_wine() ? "wine" : "windows", churn_platform_name());
    RUN(snapshot_self_basics);
    RUN(snapshot_gui_unknown_not_zero);
    RUN(snapshot_is_stable);
    RUN(snapshot_handles_rise_and_fall);
    RUN(snapshot_and_inventory_threads);
    RUN(inventory_kinds);
    RUN(errors);
    RUN(sampler_plain_snapshots);
    RUN(snapshot_other_process);
    RUN(snapshot_sockets_and_close_wait);
    RUN(listener_pid_self);
    RUN(churn_run_winsock);
    RUN(churn_run_all_profiles);
    RUN(churn_run_refused);
    RUN(describe_and_write_atomic_utf8);
    return ct_finish();
}
