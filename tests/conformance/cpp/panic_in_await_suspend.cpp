// await_suspend throws: the exception is caught, the coroutine is resumed and
// the exception rethrown at the co_await ([expr.await]/5), so it unwinds
// the body's locals and goes to unhandled_exception.
#include "trace.hpp"

struct ThrowingSuspend {
    const char* tag;
    bool await_ready() {
        ev("await_ready %s -> false", tag);
        return false;
    }
    void await_suspend(std::coroutine_handle<>) {
        ev("await_suspend %s", tag);
        throw_boom("await_suspend");
    }
    void await_resume() { ev("await_resume %s", tag); }
};

Co<ValuePromise> f() {
    Local a("a");
    co_await ThrowingSuspend{"x"};
    ev("body: never printed");
    co_return 1;
}

int main() {
    Co<ValuePromise> co = f();
    co.resume();
    co.done();
    ev("caller: promise holds %s", what_of(co.h.promise().error));
    co.destroy();
}
