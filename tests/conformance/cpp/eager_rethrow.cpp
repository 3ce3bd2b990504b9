// An eager coroutine whose body throws and whose unhandled_exception
// rethrows: the exception leaves the coroutine call itself, after
// get_return_object. The coroutine is then suspended at its final suspend
// point ([dcl.fct.def.coroutine]: "if the evaluation of
// promise.unhandled_exception() exits via an exception, the coroutine is
// considered suspended at the final suspend point"), and the unwinding
// destroys the return object.
//
// g++ 12 additionally destroys the coroutine state itself, so this program
// uses a non-owning return object (an owning one would free the frame twice;
// AddressSanitizer confirms). The Rust scenario's return object owns the
// frame and frees it when dropped. See README: "eager_rethrow".
#include "trace.hpp"

TracedRo<TracedRoPromise> eager(Param p) {
    Local a("a");
    throw_boom("body");
    co_return;
}

int main() {
    cfg.initial_ready = true;
    cfg.rethrow = true;
    catching([] {
        ev("caller: call");
        TracedRo<TracedRoPromise> ro = eager(Param("p", 1));
        ev("caller: got return object");
    });
}
