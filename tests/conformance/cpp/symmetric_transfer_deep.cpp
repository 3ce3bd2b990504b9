// Symmetric transfer is a tail call: a chain of 100000 nested awaits (each
// task awaits the next, every transfer goes through a returned handle) runs
// in constant stack. Untraced promise, to keep the trace short.
#include "trace.hpp"

struct DeepPromise;
struct Deep {
    using promise_type = DeepPromise;
    std::coroutine_handle<DeepPromise> h;
};

struct DeepPromise {
    long value = 0;
    std::coroutine_handle<> continuation;
    Deep get_return_object() { return {std::coroutine_handle<DeepPromise>::from_promise(*this)}; }
    std::suspend_always initial_suspend() noexcept { return {}; }
    struct Final {
        bool await_ready() noexcept { return false; }
        std::coroutine_handle<> await_suspend(std::coroutine_handle<DeepPromise> h) noexcept {
            auto c = h.promise().continuation;
            return c ? c : std::noop_coroutine();
        }
        void await_resume() noexcept {}
    };
    Final final_suspend() noexcept { return {}; }
    void return_value(long v) { value = v; }
    void unhandled_exception() { std::terminate(); }
};

struct DeepAwait {
    Deep child;
    bool await_ready() { return false; }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) {
        child.h.promise().continuation = parent;
        return child.h;
    }
    long await_resume() {
        long v = child.h.promise().value;
        child.h.destroy();
        return v;
    }
};

Deep depth(long n) {
    if (n == 0) co_return 0;
    long below = co_await DeepAwait{depth(n - 1)};
    co_return below + 1;
}

int main() {
    const long n = 100000;
    ev("caller: depth(%ld)", n);
    Deep d = depth(n);
    d.h.resume();
    ev("caller: done() -> %s", b(d.h.done()));
    ev("caller: value %ld", d.h.promise().value);
    d.h.destroy();
}
