// Shared tracing vocabulary for the C++20 reference programs of the coro
// conformance suite. Every program prints one event per line to stdout; the
// Rust side (tests/conformance/rust/trace.rs) prints the same words into a
// trace sink. See tests/conformance/README.md for the vocabulary.
#pragma once

#include <coroutine>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <new>
#include <utility>

// One event, one line.
inline void ev(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    std::vprintf(fmt, ap);
    va_end(ap);
    std::putchar('\n');
    std::fflush(stdout);
}

inline const char* b(bool v) { return v ? "true" : "false"; }

// The exception every scenario throws; coro panics with the same payload
// (std::panic::resume_unwind(Box::new(Boom(..)))).
struct Boom {
    const char* what;
};

[[noreturn]] inline void throw_boom(const char* what) {
    ev("throw %s", what);
    throw Boom{what};
}

inline const char* what_of(std::exception_ptr e) {
    try {
        std::rethrow_exception(e);
    } catch (const Boom& boom) {
        return boom.what;
    } catch (...) {
        return "?";
    }
}

// A by-value coroutine parameter. C++ copies (here: moves) it into the
// frame; Rust moves are bitwise and print nothing, so "param move"/"param
// copy" and the drop of the moved-from original are C++-only lines that the
// Rust test removes, with a stated reason, before comparing.
struct Param {
    const char* name;
    int value;
    bool moved = false;
    Param(const char* n, int v) : name(n), value(v) {}
    Param(const Param& o) : name(o.name), value(o.value) { ev("param copy %s", name); }
    Param(Param&& o) noexcept : name(o.name), value(o.value) {
        o.moved = true;
        ev("param move %s", name);
    }
    ~Param() {
        if (moved)
            ev("param drop moved-from %s", name);
        else
            ev("param drop %s", name);
    }
};

// A local variable of a coroutine body.
struct Local {
    const char* name;
    explicit Local(const char* n) : name(n) { ev("local %s", name); }
    Local(const Local&) = delete;
    ~Local() { ev("local drop %s", name); }
};

// Where a scenario makes the ramp fail (Config::fail).
enum class Fail {
    None,
    Alloc,                // operator new throws
    PromiseCtor,          // the promise constructor throws
    GetReturnObject,      // get_return_object throws
    InitialSuspend,       // initial_suspend() throws
    InitialAwaitReady,    // the initial awaiter's await_ready throws
    InitialAwaitSuspend,  // the initial awaiter's await_suspend throws
    InitialAwaitResume,   // the initial awaiter's await_resume throws
};

// Run-time knobs of the generic promises below.
struct Config {
    bool initial_ready = false;  // false: lazy start (suspend_always)
    bool final_ready = false;    // false: final suspend always
    bool rethrow = false;        // unhandled_exception rethrows
    Fail fail = Fail::None;
};
inline Config cfg;

// The initial awaiter: std::suspend_always / suspend_never that says what it
// does (and may throw, per cfg.fail).
struct Sus {
    const char* tag;
    bool ready;
    bool await_ready() const {
        ev("await_ready %s -> %s", tag, b(ready));
        if (cfg.fail == Fail::InitialAwaitReady) throw_boom("await_ready");
        return ready;
    }
    void await_suspend(std::coroutine_handle<>) const {
        ev("await_suspend %s -> void", tag);
        if (cfg.fail == Fail::InitialAwaitSuspend) throw_boom("await_suspend");
    }
    void await_resume() const {
        ev("await_resume %s", tag);
        if (cfg.fail == Fail::InitialAwaitResume) throw_boom("await_resume");
    }
};

// The final awaiter (C++ requires it not to throw).
struct FinalSus {
    const char* tag;
    bool ready;
    bool await_ready() const noexcept {
        ev("await_ready %s -> %s", tag, b(ready));
        return ready;
    }
    void await_suspend(std::coroutine_handle<>) const noexcept { ev("await_suspend %s -> void", tag); }
    void await_resume() const noexcept { ev("await_resume %s", tag); }
};

// Awaiters for each await_suspend result type.
struct AwVoid {
    const char* tag;
    int value;
    bool ready = false;
    bool await_ready() {
        ev("await_ready %s -> %s", tag, b(ready));
        return ready;
    }
    void await_suspend(std::coroutine_handle<>) { ev("await_suspend %s -> void", tag); }
    int await_resume() {
        ev("await_resume %s -> %d", tag, value);
        return value;
    }
};

struct AwBool {
    const char* tag;
    int value;
    bool result;
    bool await_ready() {
        ev("await_ready %s -> false", tag);
        return false;
    }
    bool await_suspend(std::coroutine_handle<>) {
        ev("await_suspend %s -> %s", tag, b(result));
        return result;
    }
    int await_resume() {
        ev("await_resume %s -> %d", tag, value);
        return value;
    }
};

struct AwHandle {
    const char* tag;
    int value;
    std::coroutine_handle<> target;  // null: the awaiting coroutine itself
    const char* target_name;
    bool await_ready() {
        ev("await_ready %s -> false", tag);
        return false;
    }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> self) {
        ev("await_suspend %s -> handle %s", tag, target_name);
        return target ? target : self;
    }
    int await_resume() {
        ev("await_resume %s -> %d", tag, value);
        return value;
    }
};

// The return object: a non-owning handle with traced caller operations.
template <class P>
struct Co {
    using promise_type = P;
    std::coroutine_handle<P> h;
    void resume() const {
        ev("caller: resume");
        h.resume();
        ev("caller: resumed");
    }
    void destroy() const {
        ev("caller: destroy");
        h.destroy();
    }
    bool done() const {
        bool d = h.done();
        ev("caller: done() -> %s", b(d));
        return d;
    }
};

// What every traced promise does: allocation, construction, the initial and
// final awaiters, unhandled_exception.
template <class Self>
struct PromiseBase {
    std::exception_ptr error;
    PromiseBase() {
        ev("promise ctor");
        if (cfg.fail == Fail::PromiseCtor) throw_boom("promise ctor");
    }
    ~PromiseBase() { ev("promise drop"); }
    PromiseBase(const PromiseBase&) = delete;
    static void* operator new(std::size_t n) {
        ev("alloc");
        if (cfg.fail == Fail::Alloc) throw_boom("alloc");
        return std::malloc(n);
    }
    static void operator delete(void* p) {
        ev("dealloc");
        std::free(p);
    }
    Co<Self> get_return_object() {
        ev("get_return_object");
        if (cfg.fail == Fail::GetReturnObject) throw_boom("get_return_object");
        return Co<Self>{std::coroutine_handle<Self>::from_promise(static_cast<Self&>(*this))};
    }
    Sus initial_suspend() {
        ev("initial_suspend");
        if (cfg.fail == Fail::InitialSuspend) throw_boom("initial_suspend");
        return {"initial", cfg.initial_ready};
    }
    FinalSus final_suspend() noexcept {
        ev("final_suspend");
        return {"final", cfg.final_ready};
    }
    void unhandled_exception() {
        std::exception_ptr e = std::current_exception();
        if (cfg.rethrow) {
            ev("unhandled_exception (%s) -> rethrow", what_of(e));
            throw;
        }
        ev("unhandled_exception (%s)", what_of(e));
        error = e;
    }
};

struct ValuePromise : PromiseBase<ValuePromise> {
    int value = 0;
    void return_value(int v) {
        ev("return_value %d", v);
        value = v;
    }
};

struct VoidPromise : PromiseBase<VoidPromise> {
    void return_void() { ev("return_void"); }
};

// The caller catching what escaped a coroutine call or resume.
template <class F>
void catching(F f) {
    try {
        f();
    } catch (const Boom& boom) {
        ev("caller: caught %s", boom.what);
    }
}

// A return object that says when it is destroyed, for the scenarios where
// the ramp throws after get_return_object. It does not own the frame (g++
// destroys the frame itself when the ramp throws, so an owning destructor
// would free it twice); coro's version owns its frame, which shows that
// coro frees it exactly once.
template <class P>
struct TracedRo {
    using promise_type = P;
    std::coroutine_handle<P> h;
    ~TracedRo() { ev("return object drop"); }
};

struct TracedRoPromise : PromiseBase<TracedRoPromise> {
    TracedRo<TracedRoPromise> get_return_object() {
        ev("get_return_object");
        return {std::coroutine_handle<TracedRoPromise>::from_promise(*this)};
    }
    void return_void() { ev("return_void"); }
};
