// Allocation failure with get_return_object_on_allocation_failure: the
// allocation function is noexcept and returns null, and the coroutine call
// returns get_return_object_on_allocation_failure() without constructing a
// promise or running anything else ([dcl.fct.def.coroutine]).
// coro: Promise::allocate_frame returns None.
#include "trace.hpp"

struct FailPromise : PromiseBase<FailPromise> {
    static void* operator new(std::size_t) noexcept {
        ev("alloc -> null");
        return nullptr;
    }
    static Co<FailPromise> get_return_object_on_allocation_failure() {
        ev("get_return_object_on_allocation_failure");
        return Co<FailPromise>{nullptr};
    }
    void return_void() { ev("return_void"); }
};

Co<FailPromise> f() {
    ev("body: never runs");
    co_return;
}

int main() {
    ev("caller: call");
    Co<FailPromise> co = f();
    ev("caller: got return object, empty -> %s", b(!co.h));
}
