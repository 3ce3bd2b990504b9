// A promise with await_transform: every co_await operand goes through it
// (then through operator co_await, if the result has one). The initial and
// final suspend points and co_yield do not ([expr.await]/3.2).
#include "trace.hpp"

struct Wrapper {
    const char* tag;
    int value;
    AwVoid operator co_await() && {
        ev("operator co_await %s", tag);
        return AwVoid{tag, value};
    }
};

struct TransformPromise : PromiseBase<TransformPromise> {
    int value = 0;
    void return_value(int v) {
        ev("return_value %d", v);
        value = v;
    }
    AwVoid await_transform(int v) {
        ev("await_transform %d", v);
        return AwVoid{"t", v * 10};
    }
    Wrapper await_transform(Wrapper w) {
        ev("await_transform %s", w.tag);
        return Wrapper{"w2", w.value + 1};
    }
    AwVoid yield_value(int v) {
        ev("yield_value %d", v);
        return AwVoid{"yield", 0};
    }
};

Co<TransformPromise> f() {
    int a = co_await 5;
    ev("body: got %d", a);
    int b = co_await Wrapper{"w", 6};
    ev("body: got %d", b);
    co_yield 7;
    co_return a + b;
}

int main() {
    Co<TransformPromise> co = f();
    co.resume();
    co.resume();
    co.resume();
    co.resume();
    co.done();
    ev("caller: value %d", co.h.promise().value);
    co.destroy();
}
