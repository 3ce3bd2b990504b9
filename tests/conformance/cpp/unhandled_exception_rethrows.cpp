// unhandled_exception() rethrows: the coroutine is considered suspended at its
// final suspend point (done() is true, final_suspend() is not evaluated) and
// the exception reaches whoever resumed it ([dcl.fct.def.coroutine]: "if the
// evaluation of promise.unhandled_exception() exits via an exception, the
// coroutine is considered suspended at the final suspend point").
#include "trace.hpp"

Co<ValuePromise> f(Param p) {
    Local a("a");
    co_await AwVoid{"x", 0};
    Local b("b");
    throw_boom("body");
    co_return p.value;
}

int main() {
    cfg.rethrow = true;
    Co<ValuePromise> co = f(Param("p", 1));
    co.resume();
    catching([&] { co.resume(); });
    co.done();
    co.destroy();
}
