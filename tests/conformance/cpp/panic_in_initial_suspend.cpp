// A throw at the initial suspend point before initial-await-resume-called
// (InitialSuspend): the implicit handler rethrows it ([dcl.fct.def.coroutine]/5), so it
// reaches the caller of the coroutine; the return object, the promise and
// the parameters are destroyed and the frame is freed exactly once.
#include "trace.hpp"

TracedRo<TracedRoPromise> f(Param p) {
    ev("body: never runs %d", p.value);
    co_return;
}

int main() {
    cfg.fail = Fail::InitialSuspend;
    catching([] {
        ev("caller: call");
        TracedRo<TracedRoPromise> ro = f(Param("p", 1));
        ev("caller: got return object");
    });
    ev("caller: end");
}
