// A promise constructor taking the parameters (lvalues of the parameter
// copies, [dcl.fct.def.coroutine]/5): it sees, and here changes, what the
// body will see (seed 002's promise_type(int& i)). The caller's own objects
// are untouched.
#include "trace.hpp"

struct ParamsPromise : PromiseBase<ParamsPromise> {
    ParamsPromise(int& n, Param& p) {
        ev("promise ctor sees n=%d p=%d, sets n=%d p=%d", n, p.value, n + 1, p.value * 10);
        n += 1;
        p.value *= 10;
    }
    int value = 0;
    void return_value(int v) {
        ev("return_value %d", v);
        value = v;
    }
};

Co<ParamsPromise> f(int n, Param p) {
    ev("body: n=%d p=%d", n, p.value);
    co_return n + p.value;
}

int main() {
    int n = 1;
    Co<ParamsPromise> co = f(n, Param("p", 2));
    ev("caller: n=%d", n);
    co.resume();
    ev("caller: value %d", co.h.promise().value);
    co.destroy();
}
