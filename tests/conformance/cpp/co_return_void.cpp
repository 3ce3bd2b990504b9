// co_return; : return_void() first, then the locals are destroyed, then the
// final suspend point ([stmt.return.coroutine]).
#include "trace.hpp"

Co<VoidPromise> nothing() {
    Local a("a");
    Local b("b");
    co_return;
}

int main() {
    Co<VoidPromise> co = nothing();
    co.resume();
    co.destroy();
}
