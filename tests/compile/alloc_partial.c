/* Compile matrix, expected to FAIL to compile: CHURN_MALLOC alone, without CHURN_REALLOC and
   CHURN_FREE, must be an #error (define all three or none). */
#include <stdlib.h>
#define CHURN_MALLOC(sz) malloc(sz)
#define CHURN_IMPLEMENTATION
#include "../../churn.h"

int main(void) { return 0; }
