// The promise's operator new taking the coroutine's parameters (lvalues,
// after the size) is chosen over operator new(size_t) because the call with
// them is well-formed ([dcl.fct.def.coroutine], lookup of the allocation
// function). coro: AllocateFrameWith<(&A, &B)>. The frame is freed with the
// promise's operator delete (coro: Promise::deallocate_frame).
#include "trace.hpp"

struct ArenaPromise : PromiseBase<ArenaPromise> {
    static void* operator new(std::size_t n, int arena, const Param& p) {
        ev("alloc with params (arena=%d, p=%d)", arena, p.value);
        return std::malloc(n);
    }
    using PromiseBase<ArenaPromise>::operator new;
    int value = 0;
    void return_value(int v) {
        ev("return_value %d", v);
        value = v;
    }
};

Co<ArenaPromise> f(int arena, Param p) {
    ev("body: arena=%d p=%d", arena, p.value);
    co_return arena + p.value;
}

int main() {
    Co<ArenaPromise> co = f(7, Param("p", 2));
    co.resume();
    ev("caller: value %d", co.h.promise().value);
    co.destroy();
}
