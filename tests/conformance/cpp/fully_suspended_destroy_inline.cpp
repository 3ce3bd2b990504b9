// await_suspend runs only once the coroutine is fully suspended: here it
// destroys the coroutine inline. The live locals, the promise and the
// parameters are destroyed and the frame freed while await_suspend runs;
// then it returns and control goes back to the resumer.
#include "trace.hpp"

struct DestroyInline {
    const char* tag;
    bool await_ready() {
        ev("await_ready %s -> false", tag);
        return false;
    }
    void await_suspend(std::coroutine_handle<> h) {
        const char* t = tag;
        ev("await_suspend %s: destroy inline", t);
        h.destroy();
        ev("await_suspend %s -> void (after inline destroy)", t);
    }
    void await_resume() { ev("await_resume %s", tag); }
};

Co<ValuePromise> destroyed(Param p) {
    Local a("a");
    co_await DestroyInline{"x"};
    Local never("never");
    co_return p.value;
}

int main() {
    Co<ValuePromise> co = destroyed(Param("p", 1));
    co.resume();
    ev("caller: end");
}
