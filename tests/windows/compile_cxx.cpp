// Compile coverage: the Windows implementation as C++11 (x86_64-w64-mingw32-g++), with
// <windows.h> included first (no WIN32_LEAN_AND_MEAN), then the compile-matrix smoke body.
#include <windows.h>
#include <stdio.h>
#define CHURN_IMPLEMENTATION
#include "churn.h"
#include "../compile/smoke.h"

int main() { return matrix_smoke(); }
