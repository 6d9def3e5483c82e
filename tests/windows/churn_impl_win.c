/* The translation unit holding churn.h's implementation for the Windows test binary
   (built against the assembled build/win/churn.h). */
#define CHURN_IMPLEMENTATION
#include "churn.h"
