// Compile matrix: the C++11 part of the mixed-standard binary (declarations only).
#include "../../churn.h"

extern "C" int part_cpp11(void);

static_assert(CHURN_METRIC_COUNT > 0, "metrics");

extern "C" int part_cpp11(void) {
    churn_snapshot s;
    churn_limits l;
    churn_verdict v;
    if (churn_snapshot_take(0, &s) != CHURN_OK) return 90;
    churn_limits_release(&l);
    if (churn_evaluate(&s, &s, &s, &l, &v) != CHURN_OK) return 91;
    return v.ok ? 0 : 92;
}
