// A by-reference parameter: only the reference goes into the coroutine
// state; the referenced object belongs to the caller (and must outlive the
// coroutine: coro makes that a borrow-checker rule).
#include "trace.hpp"

Co<ValuePromise> read(const Param& p) {
    ev("body: p=%d", p.value);
    co_await AwVoid{"x", 0};
    ev("body: p=%d", p.value);
    co_return p.value;
}

int main() {
    Param p("p", 5);
    ev("caller: call");
    Co<ValuePromise> co = read(p);
    ev("caller: got return object");
    co.resume();
    p.value = 6;
    ev("caller: set p=6");
    co.resume();
    ev("caller: value %d", co.h.promise().value);
    co.destroy();
    ev("caller: end of scope");
}
