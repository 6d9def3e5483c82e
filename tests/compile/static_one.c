/* Compile matrix: CHURN_STATIC, calling a single function. Every other function is static and
   unused, and the build must stay warning-free under -Wall -Wextra -Wpedantic -Werror. */
#define CHURN_STATIC
#define CHURN_IMPLEMENTATION
#include "../../churn.h"

int main(void) {
    churn_snapshot s;
    return churn_snapshot_take(0, &s) == CHURN_OK ? 0 : 1;
}
