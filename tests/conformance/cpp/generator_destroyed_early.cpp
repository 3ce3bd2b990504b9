// A range generator abandoned after two values: destroying it at the co_yield
// destroys the live locals, the promise, and frees the frame.
#include "gen.hpp"

int main() {
    Gen g = range(5);
    int v = 0;
    next(g, v);
    next(g, v);
    g.destroy();
}
