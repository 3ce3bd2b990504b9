// Eager start: initial_suspend does not suspend, so the body runs inside the
// call until its first real suspension; only then does the caller get the
// return object.
#include "trace.hpp"

Co<ValuePromise> eager() {
    ev("body: start");
    int v = co_await AwVoid{"x", 7};
    ev("body: got %d", v);
    co_return v;
}

int main() {
    cfg.initial_ready = true;
    ev("caller: call");
    Co<ValuePromise> co = eager();
    ev("caller: got return object");
    co.done();
    co.resume();
    co.done();
    co.destroy();
}
