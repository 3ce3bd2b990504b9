// await_suspend returning void: the coroutine stays suspended and control
// returns to the resumer.
#include "trace.hpp"

Co<ValuePromise> waits() {
    int v = co_await AwVoid{"x", 5};
    ev("body: got %d", v);
    co_return v;
}

int main() {
    Co<ValuePromise> co = waits();
    co.resume();
    co.done();
    co.resume();
    co.done();
    co.destroy();
}
