// A range generator, consumed to the end: each co_yield calls yield_value and
// suspends; after the last value the body returns and the generator is done.
#include "gen.hpp"

int main() {
    Gen g = range(3);
    int v = 0, sum = 0;
    while (next(g, v)) sum += v;
    ev("caller: sum %d", sum);
    g.destroy();
}
