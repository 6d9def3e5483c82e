/* Compile matrix: CHURN_MALLOC / CHURN_REALLOC / CHURN_FREE route every allocation through
   the caller's allocator; after the smoke run and the frees, nothing is outstanding. */
#include <stdlib.h>

static long matrix_live;   /* allocations not yet freed */
static long matrix_calls;  /* allocator calls made */

static void *matrix_malloc(size_t n) {
    void *p = malloc(n);
    if (p) { matrix_live++; matrix_calls++; }
    return p;
}
static void *matrix_realloc(void *p, size_t n) {
    void *q = realloc(p, n);
    if (q) { if (!p) matrix_live++; matrix_calls++; }
    return q;
}
static void matrix_free(void *p) {
    if (p) matrix_live--;
    free(p);
}

#define CHURN_MALLOC(sz) matrix_malloc(sz)
#define CHURN_REALLOC(p, sz) matrix_realloc(p, sz)
#define CHURN_FREE(p) matrix_free(p)
#define CHURN_IMPLEMENTATION
#include "../../churn.h"
#include "smoke.h"

int main(void) {
    int rc = matrix_smoke();
    if (rc != 0) return rc;
    if (matrix_calls == 0) return 100;  /* the inventory at least allocates */
    return matrix_live == 0 ? 0 : 101;
}
