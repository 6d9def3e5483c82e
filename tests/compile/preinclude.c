/* Compile matrix: the user's file has already included system headers before churn.h. */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <pthread.h>

#define CHURN_IMPLEMENTATION
#include "../../churn.h"
#include "smoke.h"

int main(void) {
    char buf[8];
    memset(buf, 0, sizeof buf);
    (void)pthread_self();
    (void)AF_INET;
    (void)getenv("HOME");
    fflush(stdout);
    return matrix_smoke() + buf[0];
}
