// Destroying a coroutine that never started: the promise, then the
// parameter copies, then the frame is freed. No body code runs.
#include "trace.hpp"

Co<ValuePromise> never(Param p) {
    Local a("a");
    ev("body: never printed %d", p.value);
    co_return 0;
}

int main() {
    Co<ValuePromise> co = never(Param("p", 1));
    ev("caller: got return object");
    co.done();
    co.destroy();
}
