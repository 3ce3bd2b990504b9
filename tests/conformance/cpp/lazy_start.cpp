// Lazy start: initial_suspend suspends, so nothing of the body runs until the
// caller resumes; final suspend keeps the result for the caller.
#include "trace.hpp"

Co<ValuePromise> answer() {
    ev("body: start");
    co_return 42;
}

int main() {
    ev("caller: call");
    Co<ValuePromise> co = answer();
    ev("caller: got return object");
    co.done();
    co.resume();
    co.done();
    ev("caller: value %d", co.h.promise().value);
    co.destroy();
}
