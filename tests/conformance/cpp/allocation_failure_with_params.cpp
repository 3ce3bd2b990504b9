// Allocation failure with a by-value parameter: the call returns
// get_return_object_on_allocation_failure() ([dcl.fct.def.coroutine]), and
// the argument is destroyed only after the call has produced that result
// ([expr.call]/7: at the end of the call or of the full-expression). A Rust
// function likewise drops its parameters after computing its return value.
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

Co<FailPromise> f(Param p) {
    ev("body: never runs");
    co_return;
}

int main() {
    ev("caller: call");
    Co<FailPromise> co = f(Param("p", 1));
    ev("caller: got return object, empty -> %s", b(!co.h));
}
