// await_suspend runs only once the coroutine is fully suspended: here it
// resumes the coroutine itself, inline, before returning. The body continues
// past the co_await to its next suspension; only then does await_suspend
// return (and must not touch the awaiter, which is gone).
#include "trace.hpp"

struct ResumeInline {
    const char* tag;
    bool await_ready() {
        ev("await_ready %s -> false", tag);
        return false;
    }
    void await_suspend(std::coroutine_handle<> h) {
        const char* t = tag;
        ev("await_suspend %s: resume inline", t);
        h.resume();
        ev("await_suspend %s -> void (after inline resume)", t);
    }
    int await_resume() {
        ev("await_resume %s -> 1", tag);
        return 1;
    }
};

Co<ValuePromise> inline_resumed() {
    Local a("a");
    int v = co_await ResumeInline{"x"};
    ev("body: after x, got %d", v);
    int w = co_await AwVoid{"y", 2};
    ev("body: after y, got %d", w);
    co_return v + w;
}

int main() {
    Co<ValuePromise> co = inline_resumed();
    co.resume();
    co.done();
    co.resume();
    co.done();
    ev("caller: value %d", co.h.promise().value);
    co.destroy();
}
