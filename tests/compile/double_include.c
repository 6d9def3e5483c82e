/* Compile matrix: declarations first, then the implementation, then the header twice more.
   The inner guard must make the later instantiations harmless. */
#include "../../churn.h"
#define CHURN_IMPLEMENTATION
#include "../../churn.h"
#include "../../churn.h"
#include "../../churn.h"
#include "smoke.h"

int main(void) { return matrix_smoke(); }
