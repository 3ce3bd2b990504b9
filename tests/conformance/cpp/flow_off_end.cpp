// Flowing off the end of the body is `co_return;` ([stmt.return.coroutine]/3):
// return_void() first, then the locals are destroyed (the goto to the final
// suspend label leaves their scope). g++ 12 destroys the locals first.
#include "trace.hpp"

Co<VoidPromise> falls_off() {
    Local a("a");
    co_await AwVoid{"x", 0, true};  // makes this a coroutine; does not suspend
    Local b("b");
    ev("body: end");
}

int main() {
    Co<VoidPromise> co = falls_off();
    co.resume();
    co.destroy();
}
