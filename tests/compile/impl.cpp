// Compile matrix: the implementation compiled as C++ (g++ -std=c++11, clang++ -std=c++17).
#define CHURN_IMPLEMENTATION
#include "../../churn.h"
#include "smoke.h"

int main() { return matrix_smoke(); }
