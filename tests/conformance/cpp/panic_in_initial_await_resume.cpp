// A throw from the initial awaiter's await_resume: initial-await-resume-called
// is already true ([dcl.fct.def.coroutine]/5), so it goes to
// unhandled_exception and then to the final suspend point, like a throw in
// the body.
#include "trace.hpp"

Co<ValuePromise> f(Param p) {
    ev("body: never runs %d", p.value);
    co_return 0;
}

int main() {
    cfg.fail = Fail::InitialAwaitResume;
    Co<ValuePromise> co = f(Param("p", 1));
    co.resume();
    co.done();
    ev("caller: promise holds %s", what_of(co.h.promise().error));
    co.destroy();
}
