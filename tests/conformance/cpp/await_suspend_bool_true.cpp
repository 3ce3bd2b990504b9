// await_suspend returning true: the coroutine stays suspended.
#include "trace.hpp"

Co<ValuePromise> waits() {
    int v = co_await AwBool{"x", 5, true};
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
