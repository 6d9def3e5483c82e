/* test_json.c - the public streaming JSON writer (churn_json_*) and churn_json_escape.

   Compact output is compared byte for byte. Strings are checked against a reference UTF-8
   decoder (Unicode's "maximal subpart" rule): valid text passes unchanged, every invalid
   sequence becomes at least one U+FFFD and no valid character after it is swallowed. A few
   hundred deterministic random byte strings are also written into one document that a
   strict checker (json_check.h, shared with fuzz/fuzz_json.c) and Python's json module
   (strict UTF-8 decode, no NaN/Infinity) must both accept. */
#include "churn_test.h"
#include "json_check.h"
#include "../churn.h"

#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- memory sink -------------------------------------------------------------------------- */

typedef struct sink {
    char *buf;
    size_t len, cap;
    int calls;            /* write callback invocations */
    int fail_at;          /* 1-based call that fails; 0: never */
    int calls_after_fail; /* invocations after the failing one */
} sink;

static int sink_write(void *user, const void *bytes, size_t n) {
    sink *s = (sink *)user;
    s->calls++;
    if (s->fail_at && s->calls > s->fail_at) s->calls_after_fail++;
    if (s->fail_at && s->calls == s->fail_at) return -1;
    if (s->len + n + 1 > s->cap) {
        size_t nc = s->cap ? s->cap : 256;
        char *nb;
        while (s->len + n + 1 > nc) nc *= 2;
        nb = (char *)realloc(s->buf, nc);
        if (!nb) return -1;
        s->buf = nb;
        s->cap = nc;
    }
    if (n) memcpy(s->buf + s->len, bytes, n);
    s->len += n;
    s->buf[s->len] = 0;
    return 0;
}

static void sink_reset(sink *s) {
    free(s->buf);
    memset(s, 0, sizeof *s);
}

static const char *sink_str(sink *s) { return s->buf ? s->buf : ""; }

/* ---- reference text (jc_buf, jc_u8_next, ... : json_check.h) ---------------------------- */

/* the text a correct writer represents: valid characters kept, each maximal subpart -> U+FFFD */
static void reference_text(const unsigned char *s, size_t n, jc_buf *out, int *bad_parts) {
    size_t i = 0;
    *bad_parts = 0;
    while (i < n) {
        int ok;
        unsigned cp;
        size_t k = jc_u8_next(s + i, n - i, &ok, &cp);
        if (ok) jc_put(out, s + i, k);
        else { jc_put_utf8(out, 0xFFFD); (*bad_parts)++; }
        i += k;
    }
}

static size_t count_fffd(const jc_buf *b) {
    size_t i, c = 0;
    for (i = 0; i + 3 <= b->n; i++)
        if (b->p[i] == 0xEF && b->p[i + 1] == 0xBF && b->p[i + 2] == 0xBD) c++;
    return c;
}

/* ---- strict JSON checker (json_check.h) -------------------------------------------------- */

#define JSON_MAX_DEPTH 1000 /* nesting json_valid accepts */

static int json_valid(const char *s, size_t n) { return jc_json_valid(s, n, JSON_MAX_DEPTH); }

/* decode the contents of escape() output (no quotes) as a JSON string; 0 when malformed */
static int decode_escaped(const char *esc, size_t n, jc_buf *text) {
    jc_buf q = {0, 0, 0};
    jc_parser j;
    int ok;
    jc_byte(&q, '"');
    jc_put(&q, esc, n);
    jc_byte(&q, '"');
    jc_parser_init(&j, q.p, q.n, JSON_MAX_DEPTH);
    ok = jc_string(&j, text) && j.p == j.end;
    jc_free(&q);
    return ok;
}

/* whitespace outside strings removed */
static void strip_ws(const char *s, jc_buf *out) {
    int in_str = 0;
    for (; *s; s++) {
        if (in_str) {
            jc_byte(out, (unsigned char)*s);
            if (*s == '\\' && s[1]) { jc_byte(out, (unsigned char)s[1]); s++; }
            else if (*s == '"') in_str = 0;
        } else if (*s == '"') { in_str = 1; jc_byte(out, '"'); }
        else if (*s != ' ' && *s != '\n' && *s != '\t' && *s != '\r') jc_byte(out, (unsigned char)*s);
    }
}

/* \uXXXX hex digits lower-cased (RFC 8259 allows either case) */
static void norm_hex(const char *s, jc_buf *out) {
    while (*s) {
        if (*s == '\\' && s[1]) {
            jc_byte(out, '\\');
            jc_byte(out, (unsigned char)s[1]);
            if (s[1] == 'u') {
                int i;
                s += 2;
                for (i = 0; i < 4 && *s; i++, s++)
                    jc_byte(out, (unsigned char)((*s >= 'A' && *s <= 'F') ? *s - 'A' + 'a' : *s));
                continue;
            }
            s += 2;
            continue;
        }
        jc_byte(out, (unsigned char)*s++);
    }
}

/* escape() into a fresh heap buffer of exactly the needed size */
static char *escape_alloc(const char *s, size_t n, size_t *len) {
    size_t need = churn_json_escape(s, n, NULL, 0);
    char *out = (char *)malloc(need + 1);
    if (!out) abort();
    memset(out, 'Z', need + 1);
    *len = churn_json_escape(s, n, out, need + 1);
    return out;
}

/* escape(s) written exactly as `want` (hex case-insensitive) */
static void check_escape_exact(const char *s, size_t n, const char *want, const char *file, int line) {
    size_t len;
    char *got = escape_alloc(s, n, &len);
    jc_buf a = {0, 0, 0}, b = {0, 0, 0};
    norm_hex(got, &a);
    norm_hex(want, &b);
    if (len != strlen(want) || len != strlen(got) || !jc_eq(&a, &b)) {
        char msg[512], vis[200];
        size_t i, k = 0;
        for (i = 0; i < len && k + 5 < sizeof vis; i++) {
            unsigned char c = (unsigned char)got[i];
            if (c >= 0x20 && c < 0x7f) vis[k++] = (char)c;
            else k += (size_t)snprintf(vis + k, sizeof vis - k, "<%02X>", c);
        }
        vis[k] = 0;
        snprintf(msg, sizeof msg, "escape: got \"%s\" (len %zu), want \"%s\"", vis, len, want);
        ct_fail_at(file, line, msg);
    }
    jc_free(&a);
    jc_free(&b);
    free(got);
}
#define CHECK_ESCAPE(s, n, want) check_escape_exact((s), (n), (want), __FILE__, __LINE__)

/* the lenient rule: the output decodes (as a JSON string) to the reference text, up to the
   number of U+FFFD per bad run; returns the number of U+FFFD in the output */
static long check_escape_semantic(const char *s, size_t n, const char *file, int line) {
    size_t len;
    char *got = escape_alloc(s, n, &len);
    jc_buf text = {0, 0, 0}, ref = {0, 0, 0}, c1 = {0, 0, 0}, c2 = {0, 0, 0};
    int bad_parts;
    long fffd = -1;
    if (strlen(got) != len) ct_fail_at(file, line, "escape: length differs from strlen of the output");
    if (!decode_escaped(got, len, &text)) {
        ct_fail_at(file, line, "escape: output is not a valid JSON string body");
    } else {
        reference_text((const unsigned char *)s, n, &ref, &bad_parts);
        jc_collapse_fffd(&text, &c1);
        jc_collapse_fffd(&ref, &c2);
        if (!jc_eq(&c1, &c2))
            ct_fail_at(file, line, "escape: decoded text differs from the input's valid characters "
                                   "(a character swallowed, or a bad sequence not replaced)");
        fffd = (long)count_fffd(&text);
    }
    jc_free(&text);
    jc_free(&ref);
    jc_free(&c1);
    jc_free(&c2);
    free(got);
    return fffd;
}
#define CHECK_SEMANTIC(s, n) check_escape_semantic((s), (n), __FILE__, __LINE__)

static const char *python_path(void) {
    if (access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
    return "python3";
}

/* ---- writer: structure -------------------------------------------------------------------- */

CT_TEST(compact_document_exact) {
    churn_json j;
    sink s;
    memset(&s, 0, sizeof s);
    churn_json_init(&j, sink_write, &s, 0);
    churn_json_object_begin(&j);
    churn_json_key(&j, "a");
    churn_json_int(&j, 1);
    churn_json_key(&j, "b");
    churn_json_array_begin(&j);
    churn_json_int(&j, 1);
    churn_json_string(&j, "x");
    churn_json_null(&j);
    churn_json_bool(&j, 1);
    churn_json_bool(&j, 0);
    churn_json_bool(&j, 42);
    churn_json_double(&j, 0.5);
    churn_json_string(&j, NULL);
    churn_json_array_end(&j);
    churn_json_key(&j, "c");
    churn_json_object_begin(&j);
    churn_json_object_end(&j);
    churn_json_key(&j, "d");
    churn_json_array_begin(&j);
    churn_json_array_end(&j);
    churn_json_key(&j, "e");
    churn_json_object_begin(&j);
    churn_json_key(&j, "f");
    churn_json_array_begin(&j);
    churn_json_array_begin(&j);
    churn_json_array_end(&j);
    churn_json_object_begin(&j);
    churn_json_key(&j, "g");
    churn_json_string(&j, "");
    churn_json_object_end(&j);
    churn_json_array_end(&j);
    churn_json_object_end(&j);
    churn_json_object_end(&j);
    CT_EQ_LL(churn_json_finish(&j), CHURN_OK);
    CT_EQ_STR(sink_str(&s), "{\"a\":1,\"b\":[1,\"x\",null,true,false,true,0.5,null],\"c\":{},\"d\":[],"
                            "\"e\":{\"f\":[[],{\"g\":\"\"}]}}");
    CT_CHECK(json_valid(s.buf, s.len));
    sink_reset(&s);

    /* top-level scalars and arrays of objects */
    churn_json_init(&j, sink_write, &s, 0);
    churn_json_int(&j, 5);
    CT_EQ_LL(churn_json_finish(&j), CHURN_OK);
    CT_EQ_STR(sink_str(&s), "5");
    sink_reset(&s);
    churn_json_init(&j, sink_write, &s, 0);
    churn_json_array_begin(&j);
    churn_json_object_begin(&j);
    churn_json_object_end(&j);
    churn_json_object_begin(&j);
    churn_json_key(&j, "x");
    churn_json_int(&j, -1);
    churn_json_key(&j, "y");
    churn_json_array_begin(&j);
    churn_json_object_begin(&j);
    churn_json_object_end(&j);
    churn_json_array_end(&j);
    churn_json_object_end(&j);
    churn_json_array_end(&j);
    CT_EQ_LL(churn_json_finish(&j), CHURN_OK);
    CT_EQ_STR(sink_str(&s), "[{},{\"x\":-1,\"y\":[{}]}]");
    sink_reset(&s);
}

CT_TEST(integers_exact) {
    churn_json j;
    sink s;
    memset(&s, 0, sizeof s);
    churn_json_init(&j, sink_write, &s, 0);
    churn_json_array_begin(&j);
    churn_json_int(&j, 0);
    churn_json_int(&j, -1);
    churn_json_int(&j, 1234567890123LL);
    churn_json_int(&j, LLONG_MAX);
    churn_json_int(&j, LLONG_MIN);
    churn_json_array_end(&j);
    CT_EQ_LL(churn_json_finish(&j), CHURN_OK);
    CT_EQ_STR(sink_str(&s), "[0,-1,1234567890123,9223372036854775807,-9223372036854775808]");
    sink_reset(&s);
}

CT_TEST(doubles_round_trip) {
    static const double vals[] = {0.1, 1e300, -0.0, 0.0, 1.0 / 3.0, 5e-324, 1e-300, DBL_MAX, -DBL_MAX, DBL_MIN,
                                  -2.5, 123456.789, 1e21, 100.0, 9007199254740993.0, 0.30000000000000004};
    const int nv = (int)(sizeof vals / sizeof vals[0]);
    churn_json j;
    sink s;
    const char *p;
    int i;
    memset(&s, 0, sizeof s);
    churn_json_init(&j, sink_write, &s, 0);
    churn_json_array_begin(&j);
    for (i = 0; i < nv; i++) churn_json_double(&j, vals[i]);
    churn_json_array_end(&j);
    CT_EQ_LL(churn_json_finish(&j), CHURN_OK);
    CT_REQUIRE(s.buf != NULL);
    CT_CHECK(json_valid(s.buf, s.len));
    CT_REQUIRE(s.buf[0] == '[');
    p = s.buf + 1;
    for (i = 0; i < nv; i++) {
        char *end;
        double d = strtod(p, &end);
        /* -0.0 may be written "0" (the value round-trips; only the sign of zero is lost) */
        int same = vals[i] == 0 ? d == 0 : memcmp(&d, &vals[i], sizeof d) == 0;
        if (end == p || !same) {
            char msg[256];
            snprintf(msg, sizeof msg, "double %.17g written as \"%.*s\" reads back as %.17g", vals[i],
                     (int)strcspn(p, ",]"), p, d);
            ct_fail_at(__FILE__, __LINE__, msg);
        }
        p += strcspn(p, ",]");
        if (*p == ',') p++;
    }
    CT_CHECK(strchr(s.buf, 'n') == NULL && strchr(s.buf, 'N') == NULL); /* no nan/inf spelled */
    sink_reset(&s);
}

CT_TEST(non_finite_doubles_are_null) {
    churn_json j;
    sink s;
    memset(&s, 0, sizeof s);
    churn_json_init(&j, sink_write, &s, 0);
    churn_json_array_begin(&j);
    churn_json_double(&j, NAN);
    churn_json_double(&j, INFINITY);
    churn_json_double(&j, -INFINITY);
    churn_json_double(&j, -NAN);
    churn_json_array_end(&j);
    CT_EQ_LL(churn_json_finish(&j), CHURN_OK);
    CT_EQ_STR(sink_str(&s), "[null,null,null,null]");
    sink_reset(&s);

    churn_json_init(&j, sink_write, &s, 0);
    churn_json_object_begin(&j);
    churn_json_key(&j, "nan");
    churn_json_double(&j, NAN);
    churn_json_key(&j, "inf");
    churn_json_array_begin(&j);
    churn_json_double(&j, INFINITY);
    churn_json_double(&j, -INFINITY);
    churn_json_double(&j, 1.5);
    churn_json_array_end(&j);
    churn_json_object_end(&j);
    CT_EQ_LL(churn_json_finish(&j), CHURN_OK);
    CT_EQ_STR(sink_str(&s), "{\"nan\":null,\"inf\":[null,null,1.5]}");
    sink_reset(&s);
}

/* a comma decimal separator in the caller's locale must not leak into JSON */
CT_TEST(doubles_ignore_locale) {
    static const char *const names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8",
                                        "ru_RU.UTF-8", "nl_NL.UTF-8", "de_DE"};
    churn_json j;
    sink s;
    size_t i;
    const char *got = NULL;
    for (i = 0; i < sizeof names / sizeof names[0] && !got; i++) got = setlocale(LC_NUMERIC, names[i]);
    if (!got) CT_SKIP("no locale with a comma decimal separator installed");
    memset(&s, 0, sizeof s);
    churn_json_init(&j, sink_write, &s, 0);
    churn_json_array_begin(&j);
    churn_json_double(&j, 0.5);
    churn_json_double(&j, 1e-7);
    churn_json_array_end(&j);
    setlocale(LC_NUMERIC, "C");
    CT_EQ_LL(churn_json_finish(&j), CHURN_OK);
    CT_CHECK(s.buf && json_valid(s.buf, s.len));
    CT_CHECK(s.buf && strncmp(s.buf, "[0.5,", 5) == 0);
    sink_reset(&s);
}

CT_TEST(nesting_depth) {
    churn_json j;
    sink s;
    char want[100];
    int i;
    memset(&s, 0, sizeof s);
    churn_json_init(&j, sink_write, &s, 0);
    for (i = 0; i < 40; i++) churn_json_array_begin(&j);
    for (i = 0; i < 40; i++) churn_json_array_end(&j);
    CT_EQ_LL(churn_json_finish(&j), CHURN_OK);
    for (i = 0; i < 40; i++) { want[i] = '['; want[40 + i] = ']'; }
    want[80] = 0;
    CT_EQ_STR(sink_str(&s), want);
    sink_reset(&s);
    /* objects nested 30 deep with a key each */
    churn_json_init(&j, sink_write, &s, 0);
    for (i = 0; i < 30; i++) { churn_json_object_begin(&j); churn_json_key(&j, "k"); }
    churn_json_int(&j, 1);
    for (i = 0; i < 30; i++) churn_json_object_end(&j);
    CT_EQ_LL(churn_json_finish(&j), CHURN_OK);
    CT_CHECK(s.buf && json_valid(s.buf, s.len));
    sink_reset(&s);
    /* far deeper than the writer tracks: an error, never memory corruption */
    churn_json_init(&j, sink_write, &s, 0);
    for (i = 0; i < 300; i++) { churn_json_array_begin(&j); churn_json_int(&j, i); }
    for (i = 0; i < 300; i++) churn_json_array_end(&j);
    CT_CHECK(churn_json_finish(&j) != CHURN_OK);
    sink_reset(&s);
}

CT_TEST(indented_equals_compact) {
    churn_json j;
    sink a, b;
    jc_buf sa = {0, 0, 0}, sb = {0, 0, 0};
    int pass, indent;
    for (indent = 2; indent <= 4; indent += 2) {
        memset(&a, 0, sizeof a);
        memset(&b, 0, sizeof b);
        for (pass = 0; pass < 2; pass++) {
            churn_json_init(&j, sink_write, pass ? (void *)&b : (void *)&a, pass ? indent : 0);
            churn_json_object_begin(&j);
            churn_json_key(&j, "schema");
            churn_json_string(&j, "x y  z\n");
            churn_json_key(&j, "list");
            churn_json_array_begin(&j);
            churn_json_int(&j, 1);
            churn_json_object_begin(&j);
            churn_json_key(&j, "k v");
            churn_json_array_begin(&j);
            churn_json_array_end(&j);
            churn_json_key(&j, "o");
            churn_json_object_begin(&j);
            churn_json_object_end(&j);
            churn_json_object_end(&j);
            churn_json_double(&j, 2.5);
            churn_json_array_end(&j);
            churn_json_key(&j, "t");
            churn_json_bool(&j, 1);
            churn_json_object_end(&j);
            CT_EQ_LL(churn_json_finish(&j), CHURN_OK);
        }
        CT_REQUIRE(a.buf && b.buf);
        CT_CHECK(strchr(b.buf, '\n') != NULL);
        CT_CHECK(json_valid(b.buf, b.len));
        strip_ws(a.buf, &sa);
        strip_ws(b.buf, &sb);
        CT_CHECK(sa.n == a.len); /* compact has no whitespace outside strings */
        CT_CHECK(jc_eq(&sa, &sb));
        jc_free(&sa);
        jc_free(&sb);
        sink_reset(&a);
        sink_reset(&b);
    }
}

CT_TEST(keys_are_escaped) {
    churn_json j;
    sink s;
    memset(&s, 0, sizeof s);
    churn_json_init(&j, sink_write, &s, 0);
    churn_json_object_begin(&j);
    churn_json_key(&j, "a\"b\\c\n");
    churn_json_int(&j, 1);
    churn_json_key(&j, "\xC3\xA9\xFF");
    churn_json_int(&j, 2);
    churn_json_object_end(&j);
    CT_EQ_LL(churn_json_finish(&j), CHURN_OK);
    CT_EQ_STR(sink_str(&s), "{\"a\\\"b\\\\c\\n\":1,\"\xC3\xA9\xEF\xBF\xBD\":2}");
    sink_reset(&s);
}

/* ---- escaping ----------------------------------------------------------------------------- */

CT_TEST(escape_controls) {
    int c;
    CHECK_ESCAPE("\b\f\n\r\t", 5, "\\b\\f\\n\\r\\t");
    CHECK_ESCAPE("", 0, "");
    CHECK_ESCAPE("\0", 1, "\\u0000");
    for (c = 1; c < 0x20; c++) {
        char in[1], want[8];
        in[0] = (char)c;
        switch (c) {
        case '\b': strcpy(want, "\\b"); break;
        case '\f': strcpy(want, "\\f"); break;
        case '\n': strcpy(want, "\\n"); break;
        case '\r': strcpy(want, "\\r"); break;
        case '\t': strcpy(want, "\\t"); break;
        default: snprintf(want, sizeof want, "\\u%04x", c);
        }
        CHECK_ESCAPE(in, 1, want);
    }
    CHECK_ESCAPE("a\x01z\x1f", 4, "a\\u0001z\\u001f");
}

CT_TEST(escape_quote_backslash_del) {
    size_t len;
    char *got;
    CHECK_ESCAPE("say \"hi\"", 8, "say \\\"hi\\\"");
    CHECK_ESCAPE("C:\\dir\\", 7, "C:\\\\dir\\\\");
    CHECK_ESCAPE("\x7f", 1, "\x7f");
    CHECK_ESCAPE(" ~!#$%&'()*+,-.:;<=>?@[]^_`{|}", 30, " ~!#$%&'()*+,-.:;<=>?@[]^_`{|}");
    got = escape_alloc("a/b", 3, &len); /* RFC 8259 allows "/" or "\/" */
    CT_CHECK(strcmp(got, "a/b") == 0 || strcmp(got, "a\\/b") == 0);
    free(got);
}

CT_TEST(escape_valid_utf8_unchanged) {
    static const char *const ok[] = {
        "\xC3\xA9",                 /* e acute, 2 bytes */
        "\xC2\x80",                 /* U+0080, the smallest 2-byte */
        "\xDF\xBF",                 /* U+07FF */
        "\xE0\xA0\x80",             /* U+0800 */
        "\xE2\x82\xAC",             /* euro sign */
        "\xED\x9F\xBF",             /* U+D7FF, just below the surrogates */
        "\xEE\x80\x80",             /* U+E000, just above */
        "\xEF\xBF\xBD",             /* U+FFFD itself */
        "\xEF\xBF\xBF",             /* U+FFFF */
        "\xF0\x90\x80\x80",         /* U+10000 */
        "\xF0\x9F\x98\x80",         /* emoji */
        "\xF4\x8F\xBF\xBF",         /* U+10FFFF */
        "x\xC3\xA9y\xE2\x82\xACz\xF0\x9F\x98\x80!",
    };
    size_t i;
    for (i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        CHECK_ESCAPE(ok[i], strlen(ok[i]), ok[i]);
        CT_EQ_LL(CHECK_SEMANTIC(ok[i], strlen(ok[i])), i == 7 ? 1 : 0);
    }
}

typedef struct bad_case {
    const char *in;
    size_t n;
    int maximal_parts; /* U+FFFD count under the maximal-subpart rule */
} bad_case;

CT_TEST(escape_invalid_utf8) {
    static const bad_case cases[] = {
        {"\x80", 1, 1},                     /* stray continuation */
        {"a\x80z", 3, 1},
        {"\xBF\x80", 2, 2},                 /* two stray continuations */
        {"\xC0\x80", 2, 2},                 /* overlong NUL */
        {"\xC1\xBF", 2, 2},                 /* overlong */
        {"\xE0\x80\x80", 3, 3},             /* overlong 3-byte */
        {"\xE0\x9F\xBF", 3, 3},
        {"\xF0\x80\x80\x80", 4, 4},         /* overlong 4-byte */
        {"\xF0\x8F\xBF\xBF", 4, 4},
        {"\xED\xA0\x80", 3, 3},             /* high surrogate D800 */
        {"\xED\xBF\xBF", 3, 3},             /* low surrogate DFFF */
        {"\xED\xA0\xBD\xED\xB8\x80", 6, 6}, /* CESU-8 surrogate pair */
        {"\xF4\x90\x80\x80", 4, 4},         /* U+110000 */
        {"\xF5\x80\x80\x80", 4, 4},
        {"\xF8\x88\x80\x80\x80", 5, 5},     /* old 5-byte form */
        {"\xFE", 1, 1},
        {"\xFF", 1, 1},
        {"\xC3", 1, 1},                     /* truncated at the end */
        {"\xE2\x82", 2, 1},
        {"\xF0\x9F\x98", 3, 1},
        {"\xE2\x82" "A", 3, 1},             /* truncated, followed by ASCII */
        {"\xF0\x9F\x98" "x", 4, 1},
        {"\xE2" "AB", 3, 1},
        {"\xC3" "\"", 2, 1},                /* truncated, followed by a quote */
        {"\xE2\xC3\xA9", 3, 1},             /* truncated, followed by a 2-byte char */
        {"\xF0\x9F\xE2\x82\xAC", 5, 1},     /* truncated 4-byte, then euro */
        {"\xF0\x9F\x98\xF0\x9F\x98\x80", 7, 1}, /* truncated emoji, then a whole one */
        {"\xE2\x82\x0A", 3, 1},             /* truncated, followed by a control */
        {"ok\xC3\xA9\x80\xC3\xA9", 7, 1},
    };
    size_t i;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        long fffd = CHECK_SEMANTIC(cases[i].in, cases[i].n);
        if (fffd < 1 || fffd > cases[i].maximal_parts) {
            char msg[160];
            snprintf(msg, sizeof msg, "case %zu: %ld U+FFFD, want 1..%d", i, fffd, cases[i].maximal_parts);
            ct_fail_at(__FILE__, __LINE__, msg);
        }
    }
    /* where every replacement practice agrees, the output is exact */
    CHECK_ESCAPE("a\x80z", 3, "a\xEF\xBF\xBDz");
    CHECK_ESCAPE("\xFF", 1, "\xEF\xBF\xBD");
    CHECK_ESCAPE("\xE2\x82" "A", 3, "\xEF\xBF\xBD" "A");
    CHECK_ESCAPE("\xC3\"", 2, "\xEF\xBF\xBD\\\"");
    CHECK_ESCAPE("\xE2\xC3\xA9", 3, "\xEF\xBF\xBD\xC3\xA9");
    CHECK_ESCAPE("\xF0\x9F\x98\xF0\x9F\x98\x80", 7, "\xEF\xBF\xBD\xF0\x9F\x98\x80");
    CHECK_ESCAPE("\xE2\x82\x0A", 3, "\xEF\xBF\xBD\\n");
}

/* cap semantics: the full length always returned; output a NUL-terminated prefix */
CT_TEST(escape_capacity) {
    const char *in = "a\"\x01\xC3\xA9\xFF-end";
    size_t n = strlen(in), full, cap;
    char ref[64], buf[64];
    full = churn_json_escape(in, n, ref, sizeof ref);
    CT_EQ_LL(full, strlen(ref));
    CT_EQ_LL(churn_json_escape(in, n, NULL, 0), full);
    memset(buf, '#', sizeof buf);
    CT_EQ_LL(churn_json_escape(in, n, buf, 0), full);
    CT_CHECK(buf[0] == '#'); /* cap 0: nothing written */
    for (cap = 1; cap <= full + 1; cap++) {
        size_t got;
        memset(buf, '#', sizeof buf);
        CT_EQ_LL(churn_json_escape(in, n, buf, cap), full);
        got = strnlen(buf, sizeof buf);
        CT_CHECK(got < cap);                   /* NUL-terminated within cap */
        CT_CHECK(memcmp(buf, ref, got) == 0);  /* a prefix of the full output */
        CT_CHECK(buf[cap] == '#');             /* nothing past cap */
    }
    /* n bounds the input: bytes after it are not read */
    CT_EQ_LL(churn_json_escape("ab\"\xFF", 2, buf, sizeof buf), 2);
    CT_EQ_STR(buf, "ab");
    CT_EQ_LL(churn_json_escape("\0\0", 2, buf, sizeof buf), 12);
}

CT_TEST(string_n_embedded_nul) {
    churn_json j;
    sink s;
    size_t len;
    char *esc;
    const char in[] = "a\0b\0";
    memset(&s, 0, sizeof s);
    churn_json_init(&j, sink_write, &s, 0);
    churn_json_array_begin(&j);
    churn_json_string_n(&j, in, 4);
    churn_json_string_n(&j, in, 0);
    churn_json_string(&j, in); /* stops at the first NUL */
    churn_json_array_end(&j);
    CT_EQ_LL(churn_json_finish(&j), CHURN_OK);
    CT_REQUIRE(s.buf != NULL);
    {
        jc_buf norm = {0, 0, 0};
        norm_hex(s.buf, &norm);
        CT_EQ_STR((const char *)norm.p, "[\"a\\u0000b\\u0000\",\"\",\"a\"]");
        jc_free(&norm);
    }
    /* the writer's strings are exactly escape() in quotes */
    esc = escape_alloc(in, 4, &len);
    CT_CHECK(s.len > len + 2 && memcmp(s.buf + 2, esc, len) == 0 && s.buf[2 + len] == '"');
    free(esc);
    sink_reset(&s);
}

/* strings longer than any internal slice: the writer's output is escape() of the whole
   string, whatever falls at the slice boundaries (valid multi-byte characters followed by
   stray continuation bytes, truncated sequences, escapes) */
CT_TEST(long_strings_match_escape) {
    static const char *const tails[] = {
        "\xF0\x9F\x98\x80\x80\x80\x80", /* emoji, then stray continuations */
        "\xE2\x82\xAC\x80\x80\x80",
        "\xC3\xA9\x80\x80\x80\x80",
        "\xF0\x9F\x98\x80\xF0\x9F\x98\x80",
        ("\xF0\x9F\x98" "abc"),               /* truncated */
        "\x01\"\\\x1f",
        "\xED\xA0\x80\xC0\x80",
    };
    char in[400];
    size_t t;
    int lead, fails = 0;
    for (t = 0; t < sizeof tails / sizeof tails[0]; t++) {
        for (lead = 0; lead < 330; lead++) {
            churn_json j;
            sink s;
            size_t n = (size_t)lead, k = strlen(tails[t]), elen;
            char *esc;
            memset(in, 'a', (size_t)lead);
            memcpy(in + n, tails[t], k);
            n += k;
            memset(in + n, 'z', 3);
            n += 3;
            memset(&s, 0, sizeof s);
            churn_json_init(&j, sink_write, &s, 0);
            churn_json_string_n(&j, in, n);
            if (churn_json_finish(&j) != CHURN_OK) fails++;
            esc = escape_alloc(in, n, &elen);
            if (!s.buf || s.len != elen + 2 || s.buf[0] != '"' || memcmp(s.buf + 1, esc, elen) != 0 ||
                s.buf[elen + 1] != '"') {
                if (fails++ < 3) {
                    char msg[160];
                    snprintf(msg, sizeof msg, "tail %zu after %d bytes: churn_json_string_n differs from escape()",
                             t, lead);
                    ct_fail_at(__FILE__, __LINE__, msg);
                }
            }
            if (fails < 3) CHECK_SEMANTIC(in, n);
            /* and as a key */
            if (!memchr(in, 0, n)) {
                in[n] = 0;
                sink_reset(&s);
                churn_json_init(&j, sink_write, &s, 0);
                churn_json_object_begin(&j);
                churn_json_key(&j, in);
                churn_json_int(&j, 1);
                churn_json_object_end(&j);
                CT_EQ_LL(churn_json_finish(&j), CHURN_OK);
                if (!s.buf || s.len != elen + 6 || memcmp(s.buf + 2, esc, elen) != 0) {
                    if (fails++ < 3) {
                        char msg[160];
                        snprintf(msg, sizeof msg, "tail %zu after %d bytes: churn_json_key differs from escape()",
                                 t, lead);
                        ct_fail_at(__FILE__, __LINE__, msg);
                    }
                }
            }
            free(esc);
            sink_reset(&s);
        }
    }
    CT_EQ_LL(fails, 0);
}

/* ---- errors ------------------------------------------------------------------------------- */

static void write_sample_doc(churn_json *j) {
    churn_json_array_begin(j);
    churn_json_int(j, 1);
    churn_json_int(j, 2);
    churn_json_string(j, "abc");
    churn_json_object_begin(j);
    churn_json_key(j, "k");
    churn_json_null(j);
    churn_json_object_end(j);
    churn_json_double(j, 0.25);
    churn_json_array_end(j);
}

CT_TEST(write_error_is_sticky) {
    churn_json j;
    sink s;
    int fail_at;
    for (fail_at = 1; fail_at <= 3; fail_at++) {
        memset(&s, 0, sizeof s);
        s.fail_at = fail_at;
        churn_json_init(&j, sink_write, &s, 0);
        write_sample_doc(&j);
        CT_EQ_LL(j.error, CHURN_E_IO);
        CT_EQ_LL(churn_json_finish(&j), CHURN_E_IO);
        CT_EQ_LL(churn_json_finish(&j), CHURN_E_IO); /* still */
        CT_EQ_LL(s.calls_after_fail, 0);             /* nothing written after the hole */
        sink_reset(&s);
    }
    /* no failure: all fine and the callback saw the whole document */
    memset(&s, 0, sizeof s);
    churn_json_init(&j, sink_write, &s, 0);
    write_sample_doc(&j);
    CT_EQ_LL(j.error, CHURN_OK);
    CT_EQ_LL(churn_json_finish(&j), CHURN_OK);
    CT_EQ_STR(sink_str(&s), "[1,2,\"abc\",{\"k\":null},0.25]");
    sink_reset(&s);
}

CT_TEST(misuse_is_an_error) {
    churn_json j;
    sink s;
    memset(&s, 0, sizeof s);
    churn_json_init(&j, sink_write, &s, 0);
    churn_json_array_end(&j); /* nothing open */
    CT_EQ_LL(churn_json_finish(&j), CHURN_E_INVAL);
    sink_reset(&s);
    churn_json_init(&j, sink_write, &s, 0);
    churn_json_object_begin(&j);
    churn_json_object_end(&j);
    churn_json_object_end(&j); /* one too many */
    CT_EQ_LL(churn_json_finish(&j), CHURN_E_INVAL);
    sink_reset(&s);
}

/* a key with no value would produce {"k":} or {"a":"b":1}: the writer can see both */
CT_TEST(key_without_value_is_error) {
    churn_json j;
    sink s;
    memset(&s, 0, sizeof s);
    churn_json_init(&j, sink_write, &s, 0);
    churn_json_object_begin(&j);
    churn_json_key(&j, "k");
    churn_json_object_end(&j);
    CT_EQ_LL(churn_json_finish(&j), CHURN_E_INVAL);
    sink_reset(&s);
    churn_json_init(&j, sink_write, &s, 0);
    churn_json_object_begin(&j);
    churn_json_key(&j, "a");
    churn_json_key(&j, "b");
    churn_json_int(&j, 1);
    churn_json_object_end(&j);
    CT_EQ_LL(churn_json_finish(&j), CHURN_E_INVAL);
    sink_reset(&s);
}

/* a document still open at finish is not a complete document */
CT_TEST(finish_unbalanced_is_error) {
    churn_json j;
    sink s;
    memset(&s, 0, sizeof s);
    churn_json_init(&j, sink_write, &s, 0);
    churn_json_array_begin(&j);
    churn_json_int(&j, 1);
    CT_CHECK(churn_json_finish(&j) != CHURN_OK);
    sink_reset(&s);
}

CT_TEST(write_file_sink) {
    churn_json j;
    FILE *f = tmpfile();
    char buf[256];
    size_t n;
    CT_REQUIRE(f != NULL);
    churn_json_init(&j, churn_json_write_file, f, 0);
    write_sample_doc(&j);
    CT_EQ_LL(churn_json_finish(&j), CHURN_OK);
    CT_REQUIRE(fflush(f) == 0);
    rewind(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    CT_EQ_STR(buf, "[1,2,\"abc\",{\"k\":null},0.25]");
    fclose(f);
    /* a stream that cannot be written: the error comes back from finish */
    f = fopen("/dev/null", "r");
    CT_REQUIRE(f != NULL);
    churn_json_init(&j, churn_json_write_file, f, 0);
    write_sample_doc(&j);
    CT_EQ_LL(churn_json_finish(&j), CHURN_E_IO);
    fclose(f);
    /* the sink itself reports 0 / non-zero */
    f = tmpfile();
    CT_REQUIRE(f != NULL);
    CT_EQ_LL(churn_json_write_file(f, "xy", 2), 0);
    fclose(f);
}

/* ---- random strings, checked here and by Python ------------------------------------------- */

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static unsigned rnd(unsigned n) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state % n);
}

static size_t random_bytes(char *out, size_t cap) {
    static const char *const pieces[] = {
        "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF", "\xEF\xBF\xBD", "\xED\x9F\xBF",
        "\x80", "\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xE2\x82", "\xF0\x9F\x98", "\xFF", "\xC3",
        "\"", "\\", "\\u0000", "\x7f", "/", "\xE2\x80\xA8",
    };
    size_t len = rnd(48), n = 0;
    while (n < len) {
        unsigned kind = rnd(6);
        if (kind == 0) out[n++] = (char)(0x20 + rnd(0x5f));
        else if (kind == 1) out[n++] = (char)rnd(0x20);
        else if (kind == 2) out[n++] = (char)rnd(256);
        else {
            const char *p = pieces[rnd(sizeof pieces / sizeof pieces[0])];
            size_t k = strlen(p);
            if (n + k > cap) break;
            memcpy(out + n, p, k);
            n += k;
        }
        if (n >= cap) break;
    }
    return n;
}

#define NRANDOM 400

CT_TEST(random_strings_valid_json) {
    churn_json j;
    sink s;
    char in[128];
    size_t lens[NRANDOM];
    static char ins[NRANDOM][128];
    int i;
    char path[] = "/tmp/churn_json_XXXXXX";
    int fd, rc;
    char cmd[1024];
    memset(&s, 0, sizeof s);
    for (i = 0; i < NRANDOM; i++) {
        lens[i] = random_bytes(ins[i], sizeof ins[i]);
        CHECK_SEMANTIC(ins[i], lens[i]);
    }
    churn_json_init(&j, sink_write, &s, 0);
    churn_json_object_begin(&j);
    churn_json_key(&j, "strings");
    churn_json_array_begin(&j);
    for (i = 0; i < NRANDOM; i++) churn_json_string_n(&j, ins[i], lens[i]);
    churn_json_array_end(&j);
    churn_json_key(&j, "keys");
    churn_json_object_begin(&j);
    for (i = 0; i < NRANDOM; i++) {
        memcpy(in, ins[i], lens[i]);
        in[lens[i]] = 0; /* a key stops at its first NUL */
        churn_json_key(&j, in);
        churn_json_int(&j, i);
    }
    churn_json_object_end(&j);
    churn_json_key(&j, "numbers");
    churn_json_array_begin(&j);
    churn_json_int(&j, LLONG_MIN);
    churn_json_int(&j, LLONG_MAX);
    churn_json_double(&j, 0.1);
    churn_json_double(&j, 1e300);
    churn_json_double(&j, -0.0);
    churn_json_double(&j, NAN);
    churn_json_double(&j, -INFINITY);
    churn_json_double(&j, 5e-324);
    churn_json_array_end(&j);
    churn_json_object_end(&j);
    CT_EQ_LL(churn_json_finish(&j), CHURN_OK);
    CT_REQUIRE(s.buf != NULL);
    CT_CHECK(json_valid(s.buf, s.len));

    fd = mkstemp(path);
    CT_REQUIRE(fd >= 0);
    CT_REQUIRE(write(fd, s.buf, s.len) == (ssize_t)s.len);
    close(fd);
    snprintf(cmd, sizeof cmd,
             "%s -c 'import json,sys; d=json.loads(sys.stdin.buffer.read().decode(\"utf-8\"), "
             "parse_constant=lambda c: 1/0); sys.exit(0 if len(d[\"strings\"])==%d and "
             "len(d[\"numbers\"])==8 and d[\"numbers\"][5] is None and d[\"numbers\"][0]==-2**63 else 3)' < %s",
             python_path(), NRANDOM, path);
    rc = system(cmd);
    unlink(path);
    if (rc == -1 || !WIFEXITED(rc) || WEXITSTATUS(rc) == 127) {
        sink_reset(&s);
        CT_SKIP("python3 not runnable");
    }
    CT_EQ_LL(WEXITSTATUS(rc), 0);
    sink_reset(&s);
}

int main(void) {
    CT_RUN(compact_document_exact);
    CT_RUN(integers_exact);
    CT_RUN(doubles_round_trip);
    CT_RUN(non_finite_doubles_are_null);
    CT_RUN(doubles_ignore_locale);
    CT_RUN(nesting_depth);
    CT_RUN(indented_equals_compact);
    CT_RUN(keys_are_escaped);
    CT_RUN(escape_controls);
    CT_RUN(escape_quote_backslash_del);
    CT_RUN(escape_valid_utf8_unchanged);
    CT_RUN(escape_invalid_utf8);
    CT_RUN(escape_capacity);
    CT_RUN(string_n_embedded_nul);
    CT_RUN(long_strings_match_escape);
    CT_RUN(write_error_is_sticky);
    CT_RUN(misuse_is_an_error);
    CT_RUN(key_without_value_is_error);
    CT_RUN(finish_unbalanced_is_error);
    CT_RUN(write_file_sink);
    CT_RUN(random_strings_valid_json);
    return ct_finish();
}
