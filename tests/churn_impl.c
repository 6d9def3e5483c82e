/* The one translation unit that holds churn.h's implementation for the test binaries. */
#define CHURN_IMPLEMENTATION
#include "../churn.h"
