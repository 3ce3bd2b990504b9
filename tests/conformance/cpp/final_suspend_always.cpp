// Final suspend always: done() is false at every other suspension point and
// true at the final one, where only destroy() is allowed.
#include "trace.hpp"

Co<ValuePromise> twice() {
    Local a("a");
    int v = co_await AwVoid{"x", 1};
    co_return v + 1;
}

int main() {
    Co<ValuePromise> co = twice();
    co.done();
    co.resume();
    co.done();
    co.resume();
    co.done();
    ev("caller: value %d", co.h.promise().value);
    co.destroy();
}
