// The range generator of the generator scenarios (seed 004's `range`).
#pragma once
#include "trace.hpp"

struct GenPromise : PromiseBase<GenPromise> {
    int current = 0;
    Sus yield_value(int v) {
        ev("yield_value %d", v);
        current = v;
        return Sus{"yield", false};
    }
    void return_void() { ev("return_void"); }
};
using Gen = Co<GenPromise>;

// Ends with an explicit co_return: flowing off the end is scenario
// flow_off_end.
inline Gen range(int n) {
    Local guard("guard");
    for (int i = 0; i < n; i++) {
        co_yield i;
    }
    co_return;
}

// The consumer's `next()`: resume, then either done or a value.
inline bool next(Gen& g, int& out) {
    g.resume();
    if (g.done()) return false;
    out = g.h.promise().current;
    ev("caller: got %d", out);
    return true;
}
