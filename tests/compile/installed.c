/* Install check: built with only `pkg-config --cflags --libs churn` of the staged install. */
#define CHURN_IMPLEMENTATION
#include <churn.h>

int main(void) {
    churn_snapshot s;
    return churn_snapshot_take(0, &s) == CHURN_OK ? 0 : 1;
}
