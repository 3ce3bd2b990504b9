// A throw in the body: the live locals are destroyed by the unwinding, then
// unhandled_exception() runs, then the final suspend point.
#include "trace.hpp"

Co<ValuePromise> f(Param p) {
    Local a("a");
    co_await AwVoid{"x", 0};
    Local b("b");
    throw_boom("body");
    co_return p.value;
}

int main() {
    Co<ValuePromise> co = f(Param("p", 1));
    co.resume();
    co.resume();
    co.done();
    ev("caller: promise holds %s", what_of(co.h.promise().error));
    co.destroy();
}
