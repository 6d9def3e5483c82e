// Compile matrix: the implementation alone as C++, for the exported-symbols check (nm -g).
#define CHURN_IMPLEMENTATION
#include "../../churn.h"
