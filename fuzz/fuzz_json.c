/* fuzz_json.c - libFuzzer target for churn.h's JSON writer and escaper.

   Build and run:
       clang -g -O1 -fsanitize=fuzzer,address,undefined -I. fuzz/fuzz_json.c -o build/fuzz_json
       ./build/fuzz_json -max_total_time=20

   The input bytes are written as a string value (churn_json_string_n), as an object key
   (churn_json_key, up to the first NUL) and through churn_json_escape, compact and indented,
   into memory. A small checker below (no third-party code) then requires:
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

#define FZ_CHECK(cond, what)                                                  \
    do {                                                                      \
        if (!(cond)) {                                                        \
            fprintf(stderr, "fuzz_json: %s (%s:%d)\n", what, __FILE__, __LINE__); \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* ---- growable byte buffer, also the writer's sink ---------------------------------------- */

typedef struct fz_buf {
    unsigned char *p;
    size_t n, cap;
} fz_buf;

static void fz_put(fz_buf *b, const void *d, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (b->n + n + 1 > nc) nc *= 2;
        b->p = (unsigned char *)realloc(b->p, nc);
        FZ_CHECK(b->p != NULL, "out of memory");
        b->cap = nc;
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = 0;
}

static void fz_byte(fz_buf *b, unsigned c) {
    unsigned char x = (unsigned char)c;
    fz_put(b, &x, 1);
}

static void fz_free(fz_buf *b) {
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

static int fz_sink(void *user, const void *bytes, size_t n) {
    fz_put((fz_buf *)user, bytes, n);
    return 0;
}

/* ---- UTF-8 (Unicode Table 3-7; invalid input consumed by maximal subparts) ---------------- */

static size_t fz_u8_next(const unsigned char *s, size_t n, int *ok, unsigned *cp) {
    unsigned c = s[0], v, lo = 0x80, hi = 0xBF;
    size_t need, i;
    *ok = 0;
    *cp = 0xFFFD;
    if (c < 0x80) { *ok = 1; *cp = c; return 1; }
    if (c >= 0xC2 && c <= 0xDF) { need = 1; v = c & 0x1F; }
    else if (c == 0xE0) { need = 2; lo = 0xA0; v = c & 0x0F; }
    else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) { need = 2; v = c & 0x0F; }
    else if (c == 0xED) { need = 2; hi = 0x9F; v = c & 0x0F; }
    else if (c == 0xF0) { need = 3; lo = 0x90; v = c & 0x07; }
    else if (c >= 0xF1 && c <= 0xF3) { need = 3; v = c & 0x07; }
    else if (c == 0xF4) { need = 3; hi = 0x8F; v = c & 0x07; }
    else return 1;
    for (i = 1; i <= need; i++) {
        unsigned b, l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
        if (i >= n) return i;
        b = s[i];
        if (b < l || b > h) return i;
        v = (v << 6) | (b & 0x3F);
    }
    *ok = 1;
    *cp = v;
    return need + 1;
}

static void fz_put_utf8(fz_buf *b, unsigned cp) {
    if (cp < 0x80) fz_byte(b, cp);
    else if (cp < 0x800) { fz_byte(b, 0xC0 | (cp >> 6)); fz_byte(b, 0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) {
        fz_byte(b, 0xE0 | (cp >> 12)); fz_byte(b, 0x80 | ((cp >> 6) & 0x3F)); fz_byte(b, 0x80 | (cp & 0x3F));
    } else {
        fz_byte(b, 0xF0 | (cp >> 18)); fz_byte(b, 0x80 | ((cp >> 12) & 0x3F));
        fz_byte(b, 0x80 | ((cp >> 6) & 0x3F)); fz_byte(b, 0x80 | (cp & 0x3F));
    }
}

/* the input's text with runs of U+FFFD (replacements or literal) collapsed to one */
static void fz_reference(const unsigned char *s, size_t n, fz_buf *out) {
    size_t i = 0;
    int last_bad = 0;
    while (i < n) {
        int ok;
        unsigned cp;
        size_t k = fz_u8_next(s + i, n - i, &ok, &cp);
        if (!ok || cp == 0xFFFD) {
            if (!last_bad) fz_put_utf8(out, 0xFFFD);
            last_bad = 1;
        } else {
            fz_put(out, s + i, k);
            last_bad = 0;
        }
        i += k;
    }
}

static void fz_collapse(const fz_buf *in, fz_buf *out) {
    size_t i = 0;
    int last = 0;
    while (i < in->n) {
        if (i + 3 <= in->n && in->p[i] == 0xEF && in->p[i + 1] == 0xBF && in->p[i + 2] == 0xBD) {
            if (!last) fz_put(out, in->p + i, 3);
            last = 1;
            i += 3;
        } else {
            fz_byte(out, in->p[i++]);
            last = 0;
        }
    }
}

/* ---- strict JSON checker ------------------------------------------------------------------ */

typedef struct fz_jp {
    const unsigned char *p, *end;
    int depth;
} fz_jp;

static void fz_ws(fz_jp *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int fz_hex4(fz_jp *j, unsigned *v) {
    int i;
    *v = 0;
    if (j->end - j->p < 4) return 0;
    for (i = 0; i < 4; i++) {
        unsigned c = j->p[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return 0;
        *v = (*v << 4) | d;
    }
    j->p += 4;
    return 1;
}

/* one string; its decoded text appended to out when out != NULL */
static int fz_string(fz_jp *j, fz_buf *out) {
    if (j->p >= j->end || *j->p != '"') return 0;
    j->p++;
    for (;;) {
        unsigned c;
        if (j->p >= j->end) return 0;
        c = *j->p;
        if (c == '"') { j->p++; return 1; }
        if (c < 0x20) return 0;
        if (c == '\\') {
            unsigned e, cp;
            if (j->end - j->p < 2) return 0;
            e = j->p[1];
            j->p += 2;
            switch (e) {
            case '"': cp = '"'; break;
            case '\\': cp = '\\'; break;
            case '/': cp = '/'; break;
            case 'b': cp = 8; break;
            case 'f': cp = 12; break;
            case 'n': cp = 10; break;
            case 'r': cp = 13; break;
            case 't': cp = 9; break;
            case 'u':
                if (!fz_hex4(j, &cp)) return 0;
                if (cp >= 0xDC00 && cp <= 0xDFFF) return 0;
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u') return 0;
                    j->p += 2;
                    if (!fz_hex4(j, &lo) || lo < 0xDC00 || lo > 0xDFFF) return 0;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                break;
            default: return 0;
            }
            if (out) fz_put_utf8(out, cp);
        } else {
            int ok;
            unsigned cp;
            size_t k = fz_u8_next(j->p, (size_t)(j->end - j->p), &ok, &cp);
            if (!ok) return 0;
            if (out) fz_put(out, j->p, k);
            j->p += k;
        }
    }
}

static int fz_digit(unsigned c) { return c >= '0' && c <= '9'; }

static int fz_number(fz_jp *j) {
    if (j->p < j->end && *j->p == '-') j->p++;
    if (j->p >= j->end) return 0;
    if (*j->p == '0') j->p++;
    else if (*j->p >= '1' && *j->p <= '9') { while (j->p < j->end && fz_digit(*j->p)) j->p++; }
    else return 0;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (j->p >= j->end || !fz_digit(*j->p)) return 0;
        while (j->p < j->end && fz_digit(*j->p)) j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
        if (j->p >= j->end || !fz_digit(*j->p)) return 0;
        while (j->p < j->end && fz_digit(*j->p)) j->p++;
    }
    return 1;
}

static int fz_lit(fz_jp *j, const char *w) {
    size_t n = strlen(w);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0) return 0;
    j->p += n;
    return 1;
}

static int fz_value(fz_jp *j) {
    fz_ws(j);
    if (j->p >= j->end) return 0;
    switch (*j->p) {
    case '{':
        if (++j->depth > 200) return 0;
        j->p++;
        fz_ws(j);
        if (j->p < j->end && *j->p == '}') { j->p++; j->depth--; return 1; }
        for (;;) {
            fz_ws(j);
            if (!fz_string(j, NULL)) return 0;
            fz_ws(j);
            if (j->p >= j->end || *j->p != ':') return 0;
            j->p++;
            if (!fz_value(j)) return 0;
            fz_ws(j);
            if (j->p < j->end && *j->p == ',') { j->p++; continue; }
            if (j->p < j->end && *j->p == '}') { j->p++; j->depth--; return 1; }
            return 0;
        }
    case '[':
        if (++j->depth > 200) return 0;
        j->p++;
        fz_ws(j);
        if (j->p < j->end && *j->p == ']') { j->p++; j->depth--; return 1; }
        for (;;) {
            if (!fz_value(j)) return 0;
            fz_ws(j);
            if (j->p < j->end && *j->p == ',') { j->p++; continue; }
            if (j->p < j->end && *j->p == ']') { j->p++; j->depth--; return 1; }
            return 0;
        }
    case '"': return fz_string(j, NULL);
    case 't': return fz_lit(j, "true");
    case 'f': return fz_lit(j, "false");
    case 'n': return fz_lit(j, "null");
    default: return fz_number(j);
    }
}

static int fz_json_valid(const unsigned char *s, size_t n) {
    fz_jp j;
    j.p = s;
    j.end = s + n;
    j.depth = 0;
    if (!fz_value(&j)) return 0;
    fz_ws(&j);
    return j.p == j.end;
}

/* the whole document must also be valid UTF-8 on its own */
static int fz_utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        int ok;
        unsigned cp;
        size_t k = fz_u8_next(s + i, n - i, &ok, &cp);
        if (!ok) return 0;
        i += k;
    }
    return 1;
}

/* a quoted JSON string (exactly) decodes to the input's text, modulo U+FFFD run lengths */
static void fz_check_text(const unsigned char *quoted, size_t qn, const unsigned char *in, size_t n) {
    fz_jp j;
    fz_buf text = {0, 0, 0}, got = {0, 0, 0}, want = {0, 0, 0};
    j.p = quoted;
    j.end = quoted + qn;
    j.depth = 0;
    FZ_CHECK(fz_string(&j, &text) && j.p == j.end, "escaped string is not one well-formed JSON string");
    fz_collapse(&text, &got);
    fz_reference(in, n, &want);
    FZ_CHECK(got.n == want.n && (got.n == 0 || memcmp(got.p, want.p, got.n) == 0),
             "decoded string differs from the input's text (swallowed character or missing U+FFFD)");
    fz_free(&text);
    fz_free(&got);
    fz_free(&want);
}

static void fz_write_doc(const uint8_t *data, size_t size, const char *key, int indent, fz_buf *out) {
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
    fz_buf doc = {0, 0, 0}, one = {0, 0, 0}, q = {0, 0, 0};
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
    fz_byte(&q, '"');
    fz_put(&q, esc, full);
    fz_byte(&q, '"');
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
    FZ_CHECK(fz_json_valid(doc.p, doc.n), "compact document is not well-formed JSON");
    FZ_CHECK(fz_utf8_valid(doc.p, doc.n), "compact document is not valid UTF-8");
    {
        /* {"<key>":... : the key decodes to the key's text */
        fz_jp k;
        fz_buf kt = {0, 0, 0}, a = {0, 0, 0}, b = {0, 0, 0};
        FZ_CHECK(doc.n > 1 && doc.p[0] == '{', "document does not start with {");
        k.p = doc.p + 1;
        k.end = doc.p + doc.n;
        k.depth = 0;
        FZ_CHECK(fz_string(&k, &kt), "key is not a well-formed string");
        fz_collapse(&kt, &a);
        fz_reference((const unsigned char *)key, keylen, &b);
        FZ_CHECK(a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0), "key text differs from the input");
        fz_free(&kt);
        fz_free(&a);
        fz_free(&b);
    }
    doc.n = 0;
    fz_write_doc(data, size, key, 2, &doc);
    FZ_CHECK(fz_json_valid(doc.p, doc.n), "indented document is not well-formed JSON");
    FZ_CHECK(fz_utf8_valid(doc.p, doc.n), "indented document is not valid UTF-8");

    free(key);
    free(esc);
    fz_free(&doc);
    fz_free(&one);
    fz_free(&q);
    return 0;
}
