// A task awaiting a child task: symmetric transfer into the child (its
// awaiter returns the child's handle) and back (the child's final awaiter
// returns the continuation).
#include "trace.hpp"

struct TaskPromise;
using Task = Co<TaskPromise>;

struct FinalTransfer {
    std::coroutine_handle<> continuation;
    bool await_ready() noexcept {
        ev("await_ready final -> false");
        return false;
    }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<>) noexcept {
        ev("await_suspend final -> handle %s", continuation ? "continuation" : "noop");
        return continuation ? continuation : std::noop_coroutine();
    }
    void await_resume() noexcept { ev("await_resume final"); }
};

struct TaskPromise : PromiseBase<TaskPromise> {
    int value = 0;
    std::coroutine_handle<> continuation;
    void return_value(int v) {
        ev("return_value %d", v);
        value = v;
    }
    FinalTransfer final_suspend() noexcept {
        ev("final_suspend");
        return {continuation};
    }
};

struct Join {
    Task child;
    bool await_ready() {
        ev("await_ready child -> false");
        return false;
    }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> parent) {
        ev("await_suspend child -> handle child");
        child.h.promise().continuation = parent;
        return child.h;
    }
    int await_resume() {
        int v = child.h.promise().value;
        ev("await_resume child -> %d", v);
        ev("body: destroy child");
        child.h.destroy();
        return v;
    }
};

Task child() {
    ev("body: child runs");
    co_return 42;
}

Task parent() {
    ev("body: parent starts");
    int v = co_await Join{child()};
    ev("body: parent got %d", v);
    co_return v + 1;
}

int main() {
    Task t = parent();
    t.resume();
    t.done();
    ev("caller: value %d", t.h.promise().value);
    t.destroy();
}
