/* json_check.h - the strict JSON and UTF-8 checker shared by tests/test_json.c and
   fuzz/fuzz_json.c (no third-party code, no dependency on churn.h).

     jc_buf                 growable byte buffer (always NUL-terminated; aborts on OOM)
     jc_u8_next             reference UTF-8 decoder (Unicode Table 3-7, maximal subparts)
     jc_put_utf8            append a code point as UTF-8
     jc_collapse_fffd       copy with runs of U+FFFD collapsed to one
     jc_utf8_valid          the whole buffer is valid UTF-8
     jc_parser, jc_string   one JSON string (decoded text appended to out when out != NULL)
     jc_json_valid          one well-formed JSON value (RFC 8259: strings with no raw controls,
                            valid escapes, no lone surrogate escapes), nesting <= max_depth

   Every function is `static inline`, so a file that uses only some stays -Wunused clean. */
#ifndef CHURN_JSON_CHECK_H
#define CHURN_JSON_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- byte buffer -------------------------------------------------------------------------- */

typedef struct jc_buf {
    unsigned char *p;
    size_t n, cap;
} jc_buf;

static inline void jc_put(jc_buf *b, const void *d, size_t n) {
    if (b->n + n + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        unsigned char *np;
        while (b->n + n + 1 > nc) nc *= 2;
        np = (unsigned char *)realloc(b->p, nc);
        if (!np) {
            fprintf(stderr, "json_check: out of memory\n");
            abort();
        }
        b->p = np;
        b->cap = nc;
    }
    if (n) memcpy(b->p + b->n, d, n);
    b->n += n;
    b->p[b->n] = 0;
}

static inline void jc_byte(jc_buf *b, unsigned c) {
    unsigned char x = (unsigned char)c;
    jc_put(b, &x, 1);
}

static inline int jc_eq(const jc_buf *a, const jc_buf *b) {
    return a->n == b->n && (a->n == 0 || memcmp(a->p, b->p, a->n) == 0);
}

static inline void jc_free(jc_buf *b) {
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- reference UTF-8 decoder (Unicode Table 3-7; invalid input consumed by maximal subparts) */

/* the length of the next character or maximal invalid subpart at s (n >= 1 bytes); *ok says
   which, *cp is the code point (U+FFFD when invalid) */
static inline size_t jc_u8_next(const unsigned char *s, size_t n, int *ok, unsigned *cp) {
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

static inline void jc_put_utf8(jc_buf *b, unsigned cp) {
    if (cp < 0x80) jc_byte(b, cp);
    else if (cp < 0x800) { jc_byte(b, 0xC0 | (cp >> 6)); jc_byte(b, 0x80 | (cp & 0x3F)); }
    else if (cp < 0x10000) {
        jc_byte(b, 0xE0 | (cp >> 12)); jc_byte(b, 0x80 | ((cp >> 6) & 0x3F)); jc_byte(b, 0x80 | (cp & 0x3F));
    } else {
        jc_byte(b, 0xF0 | (cp >> 18)); jc_byte(b, 0x80 | ((cp >> 12) & 0x3F));
        jc_byte(b, 0x80 | ((cp >> 6) & 0x3F)); jc_byte(b, 0x80 | (cp & 0x3F));
    }
}

/* runs of U+FFFD collapse to one: "at least one U+FFFD per bad sequence" compares equal */
static inline void jc_collapse_fffd(const jc_buf *in, jc_buf *out) {
    size_t i = 0;
    int last_fffd = 0;
    while (i < in->n) {
        if (i + 3 <= in->n && in->p[i] == 0xEF && in->p[i + 1] == 0xBF && in->p[i + 2] == 0xBD) {
            if (!last_fffd) jc_put(out, in->p + i, 3);
            last_fffd = 1;
            i += 3;
        } else {
            jc_byte(out, in->p[i]);
            last_fffd = 0;
            i++;
        }
    }
}

/* the whole buffer is valid UTF-8 on its own */
static inline int jc_utf8_valid(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        int ok;
        unsigned cp;
        size_t k = jc_u8_next(s + i, n - i, &ok, &cp);
        if (!ok) return 0;
        i += k;
    }
    return 1;
}

/* ---- strict JSON checker ------------------------------------------------------------------ */

typedef struct jc_parser {
    const unsigned char *p, *end;
    int depth, max_depth;
} jc_parser;

static inline void jc_parser_init(jc_parser *j, const void *s, size_t n, int max_depth) {
    j->p = (const unsigned char *)s;
    j->end = j->p + n;
    j->depth = 0;
    j->max_depth = max_depth;
}

static inline void jc_ws(jc_parser *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static inline int jc_hex4(jc_parser *j, unsigned *v) {
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
static inline int jc_string(jc_parser *j, jc_buf *out) {
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
                if (!jc_hex4(j, &cp)) return 0;
                if (cp >= 0xDC00 && cp <= 0xDFFF) return 0; /* lone low surrogate */
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    if (j->end - j->p < 6 || j->p[0] != '\\' || j->p[1] != 'u') return 0;
                    j->p += 2;
                    if (!jc_hex4(j, &lo) || lo < 0xDC00 || lo > 0xDFFF) return 0;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                break;
            default: return 0;
            }
            if (out) jc_put_utf8(out, cp);
        } else {
            int ok;
            unsigned cp;
            size_t k = jc_u8_next(j->p, (size_t)(j->end - j->p), &ok, &cp);
            if (!ok) return 0;
            if (out) jc_put(out, j->p, k);
            j->p += k;
        }
    }
}

static inline int jc_digit(unsigned c) { return c >= '0' && c <= '9'; }

/* a run of at least one digit */
static inline int jc_digits(jc_parser *j) {
    if (j->p >= j->end || !jc_digit(*j->p)) return 0;
    while (j->p < j->end && jc_digit(*j->p)) j->p++;
    return 1;
}

static inline int jc_number(jc_parser *j) {
    if (j->p < j->end && *j->p == '-') j->p++;
    if (j->p >= j->end) return 0;
    if (*j->p == '0') j->p++;
    else if (*j->p >= '1' && *j->p <= '9') jc_digits(j);
    else return 0;
    if (j->p < j->end && *j->p == '.') {
        j->p++;
        if (!jc_digits(j)) return 0;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-')) j->p++;
        if (!jc_digits(j)) return 0;
    }
    return 1;
}

static inline int jc_lit(jc_parser *j, const char *w) {
    size_t n = strlen(w);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, w, n) != 0) return 0;
    j->p += n;
    return 1;
}

/* after an element of an object or array: ',' (1, another follows), the closing bracket
   (2, done) or anything else (0, malformed) */
static inline int jc_next_or_close(jc_parser *j, unsigned char close) {
    jc_ws(j);
    if (j->p < j->end && *j->p == ',') { j->p++; return 1; }
    if (j->p < j->end && *j->p == close) { j->p++; j->depth--; return 2; }
    return 0;
}

static inline int jc_value(jc_parser *j) {
    jc_ws(j);
    if (j->p >= j->end) return 0;
    switch (*j->p) {
    case '{':
    case '[': {
        unsigned char close = *j->p == '{' ? '}' : ']';
        int r;
        if (++j->depth > j->max_depth) return 0;
        j->p++;
        jc_ws(j);
        if (j->p < j->end && *j->p == close) { j->p++; j->depth--; return 1; }
        do {
            if (close == '}') {
                jc_ws(j);
                if (!jc_string(j, NULL)) return 0;
                jc_ws(j);
                if (j->p >= j->end || *j->p != ':') return 0;
                j->p++;
            }
            if (!jc_value(j)) return 0;
        } while ((r = jc_next_or_close(j, close)) == 1);
        return r == 2;
    }
    case '"': return jc_string(j, NULL);
    case 't': return jc_lit(j, "true");
    case 'f': return jc_lit(j, "false");
    case 'n': return jc_lit(j, "null");
    default: return jc_number(j);
    }
}

/* s[0..n) is exactly one JSON value (surrounding whitespace allowed), nested <= max_depth */
static inline int jc_json_valid(const void *s, size_t n, int max_depth) {
    jc_parser j;
    jc_parser_init(&j, s, n, max_depth);
    if (!jc_value(&j)) return 0;
    jc_ws(&j);
    return j.p == j.end;
}

#endif
