/* The CMake consumer: churn.h found through the churn::churn target's include directory. */
#include <stdio.h>

#define CHURN_IMPLEMENTATION
#include "churn.h"

int main(void) {
    churn_snapshot s;
    int rc = churn_snapshot_take(0, &s);
    if (rc != CHURN_OK) {
        fprintf(stderr, "churn_consumer: churn_snapshot_take: %s\n", churn_strerror(rc));
        return 1;
    }
    printf("churn_consumer (%s): churn.h %s, %lld handles, %lld threads\n", CHURN_CONSUMER_MODE,
           CHURN_VERSION_STRING, s.value[CHURN_METRIC_HANDLES], s.value[CHURN_METRIC_THREADS]);
    return 0;
}
