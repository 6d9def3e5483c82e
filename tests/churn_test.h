/* churn_test.h - the tiny test harness of churn.h's own tests (no third-party code).

   CT_TEST(name) { ... CT_CHECK(expr); CT_EQ_LL(a, b); CT_EQ_STR(a, b); ... }
   int main(void) { CT_RUN(name); ...; return ct_finish(); }

   Each test binary prints one line per test ("ok name" or "FAIL name: file:line: what")
   and a last line "N passed, N failed"; tests/run.sh adds up every binary's counts.
   A failed check does not stop the test (so one run shows every broken expectation);
   CT_REQUIRE stops it. Tests skip only with a printed reason (CT_SKIP), counted apart.
*/
#ifndef CHURN_TEST_H
#define CHURN_TEST_H

#include <stdio.h>
#include <string.h>
#include <stdlib.h>

static int ct_passed, ct_failed, ct_skipped;
static int ct_cur_failed, ct_cur_skipped;
static const char *ct_cur_name;

#define CT_TEST(name) static void name(void)

static void ct_fail_at(const char *file, int line, const char *what) {
    if (!ct_cur_failed) printf("FAIL %s\n", ct_cur_name ? ct_cur_name : "?");
    printf("    %s:%d: %s\n", file, line, what);
    fflush(stdout);
    ct_cur_failed = 1;
}

#define CT_CHECK(expr) \
    do { if (!(expr)) ct_fail_at(__FILE__, __LINE__, "check failed: " #expr); } while (0)
#define CT_REQUIRE(expr) \
    do { if (!(expr)) { ct_fail_at(__FILE__, __LINE__, "required: " #expr); return; } } while (0)
#define CT_EQ_LL(a, b) \
    do { long long ct_a_ = (long long)(a), ct_b_ = (long long)(b); \
         if (ct_a_ != ct_b_) { char ct_m_[512]; \
             snprintf(ct_m_, sizeof ct_m_, "%s == %s: %lld != %lld", #a, #b, ct_a_, ct_b_); \
             ct_fail_at(__FILE__, __LINE__, ct_m_); } } while (0)
#define CT_GE_LL(a, b) \
    do { long long ct_a_ = (long long)(a), ct_b_ = (long long)(b); \
         if (!(ct_a_ >= ct_b_)) { char ct_m_[512]; \
             snprintf(ct_m_, sizeof ct_m_, "%s >= %s: %lld < %lld", #a, #b, ct_a_, ct_b_); \
             ct_fail_at(__FILE__, __LINE__, ct_m_); } } while (0)
#define CT_LE_LL(a, b) \
    do { long long ct_a_ = (long long)(a), ct_b_ = (long long)(b); \
         if (!(ct_a_ <= ct_b_)) { char ct_m_[512]; \
             snprintf(ct_m_, sizeof ct_m_, "%s <= %s: %lld > %lld", #a, #b, ct_a_, ct_b_); \
             ct_fail_at(__FILE__, __LINE__, ct_m_); } } while (0)
#define CT_EQ_STR(a, b) \
    do { const char *ct_a_ = (a), *ct_b_ = (b); \
         if (!ct_a_ || !ct_b_ || strcmp(ct_a_, ct_b_) != 0) { char ct_m_[1024]; \
             snprintf(ct_m_, sizeof ct_m_, "%s == %s: \"%s\" != \"%s\"", #a, #b, \
                      ct_a_ ? ct_a_ : "(null)", ct_b_ ? ct_b_ : "(null)"); \
             ct_fail_at(__FILE__, __LINE__, ct_m_); } } while (0)
#define CT_SKIP(reason) \
    do { printf("skip %s: %s\n", ct_cur_name, reason); ct_cur_skipped = 1; return; } while (0)

#define CT_RUN(fn) ct_run_one(#fn, fn)

static void ct_run_one(const char *name, void (*fn)(void)) {
    ct_cur_name = name;
    ct_cur_failed = 0;
    ct_cur_skipped = 0;
    fn();
    if (ct_cur_failed) ct_failed++;
    else if (ct_cur_skipped) ct_skipped++;
    else { ct_passed++; printf("ok %s\n", name); }
    fflush(stdout);
}

static int ct_finish(void) {
    if (ct_skipped) printf("%d passed, %d failed, %d skipped\n", ct_passed, ct_failed, ct_skipped);
    else printf("%d passed, %d failed\n", ct_passed, ct_failed);
    fflush(stdout);
    return ct_failed ? 1 : 0;
}

#endif
