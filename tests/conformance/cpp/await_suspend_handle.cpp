// await_suspend returning another coroutine's handle: symmetric transfer.
// That coroutine runs in place of this one; when it suspends, control goes
// back to whoever resumed the first one.
#include "trace.hpp"

Co<VoidPromise> other() {
    ev("body: other runs");
    co_return;
}

Co<ValuePromise> first(std::coroutine_handle<> target) {
    ev("body: first runs");
    int v = co_await AwHandle{"x", 3, target, "other"};
    ev("body: first got %d", v);
    co_return v;
}

int main() {
    Co<VoidPromise> o = other();
    Co<ValuePromise> f = first(o.h);
    f.resume();
    o.done();
    f.done();
    f.resume();
    f.done();
    f.destroy();
    o.destroy();
}
