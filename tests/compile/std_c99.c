/* Compile matrix: several language standards in one binary. This C99 file holds the
   implementation and main; std_c11.c and std_cpp11.cpp use the declarations. */
#define CHURN_IMPLEMENTATION
#include "../../churn.h"
#include "smoke.h"

int part_c11(void);
int part_cpp11(void);

int main(void) {
    int rc = matrix_smoke();
    if (rc != 0) return rc;
    rc = part_c11();
    if (rc != 0) return rc;
    return part_cpp11();
}
