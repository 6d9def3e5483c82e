/* Compile matrix: one C translation unit holding the implementation (c99/c11, gcc/clang/musl,
   -O0/-O2, CHURN_NO_STDIO / CHURN_NO_NET through -D). */
#define CHURN_IMPLEMENTATION
#include "../../churn.h"
#include "smoke.h"

int main(void) { return matrix_smoke(); }
