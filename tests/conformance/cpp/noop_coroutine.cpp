// std::noop_coroutine(): returning it from await_suspend means "stay
// suspended and return to the resumer"; resuming or destroying it does
// nothing, and it is never done.
#include "trace.hpp"

Co<ValuePromise> to_noop() {
    int v = co_await AwHandle{"x", 8, std::noop_coroutine(), "noop"};
    ev("body: got %d", v);
    co_return v;
}

int main() {
    std::coroutine_handle<> n = std::noop_coroutine();
    n.resume();
    ev("caller: noop resumed, done() -> %s", b(n.done()));
    n.destroy();
    ev("caller: noop destroyed, done() -> %s", b(n.done()));
    Co<ValuePromise> co = to_noop();
    co.resume();
    co.done();
    co.resume();
    co.done();
    co.destroy();
}
