// await_ready() true: no suspension, await_suspend is not called.
#include "trace.hpp"

Co<ValuePromise> ready() {
    int v = co_await AwVoid{"x", 5, true};
    ev("body: got %d", v);
    co_return v;
}

int main() {
    Co<ValuePromise> co = ready();
    co.resume();
    co.done();
    co.destroy();
}
