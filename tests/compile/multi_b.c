/* Compile matrix: declarations only; the implementation lives in multi_a.c. */
#include "../../churn.h"

int multi_b(void);

int multi_b(void) {
    churn_snapshot s;
    churn_limits l;
    if (churn_snapshot_take(0, &s) != CHURN_OK) return 70;
    churn_limits_release(&l);
    if (l.post_drain[CHURN_METRIC_HANDLES] != 64) return 71;
    return churn_strerror(CHURN_E_NOPROC) ? 0 : 72;
}
