// Final suspend never: the final awaiter is ready, so the coroutine state is
// destroyed as soon as the body finishes; the caller must not touch it.
#include "trace.hpp"

Co<ValuePromise> once() {
    Local a("a");
    ev("body: start");
    co_return 1;
}

int main() {
    cfg.final_ready = true;
    ev("caller: call");
    Co<ValuePromise> co = once();
    ev("caller: got return object");
    co.resume();
    ev("caller: end");
}
