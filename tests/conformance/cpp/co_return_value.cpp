// co_return v: return_value(v) first, then the locals are destroyed (in
// reverse order), then the final suspend point ([stmt.return.coroutine]).
#include "trace.hpp"

Co<ValuePromise> seven() {
    Local a("a");
    Local b("b");
    co_return 7;
}

int main() {
    Co<ValuePromise> co = seven();
    co.resume();
    ev("caller: value %d", co.h.promise().value);
    co.destroy();
}
