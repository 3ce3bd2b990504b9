// await_suspend returning false: the coroutine is resumed at once, without
// returning to the resumer.
#include "trace.hpp"

Co<ValuePromise> no_wait() {
    int v = co_await AwBool{"x", 5, false};
    ev("body: got %d", v);
    int w = co_await AwBool{"y", 6, false};
    ev("body: got %d", w);
    co_return v + w;
}

int main() {
    Co<ValuePromise> co = no_wait();
    co.resume();
    co.done();
    ev("caller: value %d", co.h.promise().value);
    co.destroy();
}
