/* Namespace check: the declarations part of churn.h (no implementation). The Makefile compares
   the macros this defines with those of namespace_base.c; every new one must start with CHURN_. */
#include "../../churn.h"
