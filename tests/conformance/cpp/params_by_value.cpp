// By-value parameters are copied (moved) into the coroutine state before the
// promise is constructed, and live as long as the state.
#include "trace.hpp"

Co<ValuePromise> sum(Param a, Param b) {
    ev("body: a=%d b=%d", a.value, b.value);
    co_await AwVoid{"x", 0};
    co_return a.value + b.value;
}

int main() {
    ev("caller: call");
    Co<ValuePromise> co = sum(Param("a", 1), Param("b", 2));
    ev("caller: got return object");
    co.resume();
    co.resume();
    ev("caller: value %d", co.h.promise().value);
    co.destroy();
}
