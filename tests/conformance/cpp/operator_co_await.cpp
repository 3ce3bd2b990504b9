// operator co_await: the awaited value is not an awaiter itself; its
// operator co_await produces one (coro: IntoAwaiter). The promise has no
// await_transform.
#include "trace.hpp"

struct Wrapper {
    const char* tag;
    int value;
    AwVoid operator co_await() && {
        ev("operator co_await %s", tag);
        return AwVoid{tag, value};
    }
};

Co<ValuePromise> f() {
    int v = co_await Wrapper{"w", 3};
    ev("body: got %d", v);
    int r = co_await AwVoid{"x", 4, true};
    ev("body: got %d", r);
    co_return v + r;
}

int main() {
    Co<ValuePromise> co = f();
    co.resume();
    co.resume();
    co.done();
    ev("caller: value %d", co.h.promise().value);
    co.destroy();
}
