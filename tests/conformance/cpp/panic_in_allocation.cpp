// A throw in the ramp before the first suspension (Alloc): it reaches the
// caller, and whatever was built is destroyed and the frame freed (if it was
// allocated) exactly once.
#include "trace.hpp"

Co<ValuePromise> f(Param p) {
    ev("body: never runs %d", p.value);
    co_return 0;
}

int main() {
    cfg.fail = Fail::Alloc;
    catching([] {
        ev("caller: call");
        Co<ValuePromise> co = f(Param("p", 1));
        ev("caller: got return object");
    });
    ev("caller: end");
}
