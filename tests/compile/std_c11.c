/* Compile matrix: the C11 part of the mixed-standard binary (declarations only). */
#include "../../churn.h"

int part_c11(void);

_Static_assert(CHURN_METRIC_COUNT > 0, "metrics");

int part_c11(void) {
    churn_snapshot s;
    if (churn_snapshot_take(0, &s) != CHURN_OK) return 80;
    return s.value[CHURN_METRIC_THREADS] >= 1 ? 0 : 81;
}
