// Destroying a coroutine suspended in its body: exactly the live locals are
// destroyed, in reverse order (c was never created), then the promise and
// the parameter copies, then the frame is freed.
#include "trace.hpp"

Co<ValuePromise> parked(Param p) {
    Local a("a");
    Local b("b");
    co_await AwVoid{"x", 0};
    Local c("c");
    co_return p.value;
}

int main() {
    Co<ValuePromise> co = parked(Param("p", 1));
    co.resume();
    co.done();
    co.destroy();
}
