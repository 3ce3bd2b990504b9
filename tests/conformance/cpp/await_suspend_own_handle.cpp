// await_suspend returning the awaiting coroutine's own handle: it is resumed
// at once (like returning false).
#include "trace.hpp"

Co<ValuePromise> self_transfer() {
    int v = co_await AwHandle{"x", 4, nullptr, "self"};
    ev("body: got %d", v);
    co_return v;
}

int main() {
    Co<ValuePromise> co = self_transfer();
    co.resume();
    co.done();
    co.destroy();
}
