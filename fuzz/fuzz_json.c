/* fuzz_json.c - libFuzzer target for churn.h's JSON writer and escaper.

   Build and run:
       clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_json.c -o build/fuzz_json
       ./build/fuzz_json -max_total_time=20

   The input bytes are written as a string value (churn_json_string_n), as an object key
   (churn_json_key, up to the first NUL) and through churn_json_escape, compact and indented,
   into memory. The checker in tests/json_check.h (no third-party code) then requires:
     - the document is well-formed JSON (RFC 8259 grammar, strings with no raw controls,
       valid escapes, no lone surrogate escapes) and valid UTF-8 (no overlongs, surrogates,
       or code points above U+10FFFF);
     - the string decodes to the input's text: valid characters unchanged and in order, each
       invalid sequence replaced by U+FFFD (runs of U+FFFD compared as one, so both the
       maximal-subpart and one-per-sequence practices pass, but a swallowed valid character
       does not);
     - churn_json_escape returns the full length, NUL-terminates within cap and writes a
       prefix of the full output when cap is short; the writer's string is that output quoted.
   Any failure aborts. */
#define CHURN_IMPLEMENTATION
#include "churn.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tests/json_check.h" /* jc_buf, UTF-8 decoder, strict JSON checker */

#define FZ_MAX_DEPTH 200 /* nesting the checker accepts */

#define FZ_CHECK(cond, what)                                                  \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_json: %s (%s:%d)\n", what, __FILE__, __LINE__); \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* ---- the writer's sink: a jc_buf ----------------------------------------------------------- */

static int fz_sink(void *user, const void *bytes, size_t n) {
    jc_put((jc_buf *)user, bytes, n);
    return 0;
}

/* ---- the input's text --------------------------------------------------------------------- */

/* the input's text with runs of U+FFFD (replacements or literal) collapsed to one */
static void fz_reference(const unsigned char *s, size_t n, jc_buf *out) {
    size_t i = 0;
    int last_bad = 0;
    while (i < n) {
        int ok;
        unsigned cp;
        size_t k = jc_u8_next(s + i, n - i, &ok, &cp);
        if (!ok || cp == 0xFFFD) {
            if (!last_bad) jc_put_utf8(out, 0xFFFD);
            last_bad = 1;
        } else {
            jc_put(out, s + i, k);
            last_bad = 0;
        }
        i += k;
    }
}

/* a quoted JSON string (exactly) decodes to the input's text, modulo U+FFFD run lengths */
static void fz_check_text(const unsigned char *quoted, size_t qn, const unsigned char *in, size_t n) {
    jc_parser j;
    jc_buf text = {0, 0, 0}, got = {0, 0, 0}, want = {0, 0, 0};
    jc_parser_init(&j, quoted, qn, FZ_MAX_DEPTH);
    FZ_CHECK(jc_string(&j, &text) && j.p == j.end, "escaped string is not one well-formed JSON string");
    jc_collapse_fffd(&text, &got);
    fz_reference(in, n, &want);
    FZ_CHECK(jc_eq(&got, &want),
             "decoded string differs from the input's text (swallowed character or missing U+FFFD)");
    jc_free(&text);
    jc_free(&got);
    jc_free(&want);
}

static void fz_write_doc(const uint8_t *data, size_t size, const char *key, int indent, jc_buf *out) {
    churn_json j;
    double d = 0;
    long long ll = 0;
    churn_json_init(&j, fz_sink, out, indent);
    churn_json_object_begin(&j);
    churn_json_key(&j, key);
    churn_json_string_n(&j, (const char *)data, size);
    churn_json_key(&j, "v");
    churn_json_array_begin(&j);
    churn_json_string_n(&j, (const char *)data, size);
    churn_json_string(&j, key);
    if (size >= sizeof d) memcpy(&d, data, sizeof d);
    if (size >= sizeof ll) memcpy(&ll, data + size - sizeof ll, sizeof ll);
    churn_json_double(&j, d);
    churn_json_int(&j, ll);
    churn_json_bool(&j, size & 1);
    churn_json_null(&j);
    churn_json_object_begin(&j);
    churn_json_key(&j, key);
    churn_json_array_begin(&j);
    churn_json_array_end(&j);
    churn_json_object_end(&j);
    churn_json_array_end(&j);
    churn_json_object_end(&j);
    FZ_CHECK(churn_json_finish(&j) == CHURN_OK, "churn_json_finish failed on a well-formed document");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *in = (const char *)data;
    size_t full, got, cap, keylen;
    char *esc, *pre, *key;
    jc_buf doc = {0, 0, 0}, one = {0, 0, 0}, q = {0, 0, 0};
    churn_json j;

    /* escape: full length, exact capacity, then a short capacity */
    full = churn_json_escape(in, size, NULL, 0);
    FZ_CHECK(full <= size * 12 + 16, "escape length out of proportion to the input");
    esc = (char *)malloc(full + 1);
    FZ_CHECK(esc != NULL, "out of memory");
    got = churn_json_escape(in, size, esc, full + 1);
    FZ_CHECK(got == full, "escape returns different lengths for NULL/0 and a big enough buffer");
    FZ_CHECK(strlen(esc) == full, "escape output length differs from its return value");
    cap = size ? (size_t)data[0] % (full + 2) : 1;
    if (cap) {
        pre = (char *)malloc(cap);
        FZ_CHECK(pre != NULL, "out of memory");
        FZ_CHECK(churn_json_escape(in, size, pre, cap) == full, "escape return value depends on cap");
        FZ_CHECK(memchr(pre, 0, cap) != NULL, "escape output not NUL-terminated within cap");
        FZ_CHECK(memcmp(pre, esc, strlen(pre)) == 0, "short-cap escape output is not a prefix");
        free(pre);
    }
    jc_byte(&q, '"');
    jc_put(&q, esc, full);
    jc_byte(&q, '"');
    fz_check_text(q.p, q.n, data, size);

    /* the writer's string is escape() quoted */
    churn_json_init(&j, fz_sink, &one, 0);
    churn_json_string_n(&j, in, size);
    FZ_CHECK(churn_json_finish(&j) == CHURN_OK, "churn_json_finish failed");
    FZ_CHECK(one.n == q.n && memcmp(one.p, q.p, q.n) == 0, "churn_json_string_n differs from escape() quoted");

    /* the input as a key (up to its first NUL) */
    {
        const void *nul = size ? memchr(in, 0, size) : NULL;
        keylen = nul ? (size_t)((const char *)nul - in) : size;
    }
    key = (char *)malloc(keylen + 1);
    FZ_CHECK(key != NULL, "out of memory");
    memcpy(key, in, keylen);
    key[keylen] = 0;

    /* whole documents, compact and indented */
    fz_write_doc(data, size, key, 0, &doc);
    FZ_CHECK(jc_json_valid(doc.p, doc.n, FZ_MAX_DEPTH), "compact document is not well-formed JSON");
    FZ_CHECK(jc_utf8_valid(doc.p, doc.n), "compact document is not valid UTF-8");
    {
        /* {"<key>":... : the key decodes to the key's text */
        jc_parser k;
        jc_buf kt = {0, 0, 0}, a = {0, 0, 0}, b = {0, 0, 0};
        FZ_CHECK(doc.n > 1 && doc.p[0] == '{', "document does not start with {");
        jc_parser_init(&k, doc.p + 1, doc.n - 1, FZ_MAX_DEPTH);
        FZ_CHECK(jc_string(&k, &kt), "key is not a well-formed string");
        jc_collapse_fffd(&kt, &a);
        fz_reference((const unsigned char *)key, keylen, &b);
        FZ_CHECK(jc_eq(&a, &b), "key text differs from the input");
        jc_free(&kt);
        jc_free(&a);
        jc_free(&b);
    }
    doc.n = 0;
    fz_write_doc(data, size, key, 2, &doc);
    FZ_CHECK(jc_json_valid(doc.p, doc.n, FZ_MAX_DEPTH), "indented document is not well-formed JSON");
    FZ_CHECK(jc_utf8_valid(doc.p, doc.n), "indented document is not valid UTF-8");

    free(key);
    free(esc);
    jc_free(&doc);
    jc_free(&one);
    jc_free(&q);
    return 0;
}
