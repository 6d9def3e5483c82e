/* Compile coverage: the Windows implementation as C (CHURN_NO_NET / CHURN_NO_STDIO /
   CHURN_STATIC through -D), then the compile-matrix smoke body. */
#define CHURN_IMPLEMENTATION
#include "churn.h"
#include "../compile/smoke.h"

int main(void) { return matrix_smoke(); }
