/* Compile matrix: two translation units, the implementation in this one only. */
#define CHURN_IMPLEMENTATION
#include "../../churn.h"
#include "smoke.h"

int multi_b(void);

int main(void) {
    int rc = matrix_smoke();
    if (rc != 0) return rc;
    return multi_b();
}
