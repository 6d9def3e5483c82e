/* Namespace check baseline: what the declarations part is allowed to include. */
#include <stddef.h>
#include <stdio.h>
