// The g++ column of the coro benchmark harness (benches/compare.rs).
//
// Built by the harness with `g++ -std=c++20 -O2` into target/bench-cpp/ and
// run as a co-process. Each case mirrors a Rust row of the harness: the same
// loop, the same consumer (`s += black_box(x)`), the same checksum. The
// coroutine types are the usual hand-written C++20 ones (g++ 12 has no
// std::generator): a lazily started generator, a cppcoro-style task with
// symmetric transfer, and a minimal lazily started coroutine.
//
//   bench serve            answers, one per line:
//     run CASE N           -> NS CHECKSUM ALLOCS   (one timed run)
//     size CASE            -> the frame's allocation request in bytes
//     version              -> g++ version
//   bench once CASE N      -> one run, for valgrind --tool=callgrind
//   bench mem VARIANT N    -> ALLOC_BYTES RSS_BYTES CHECKSUM, N suspended coroutines

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <new>
#include <span>
#include <string>
#include <utility>

// --- counting operator new ----------------------------------------------------
// Out of line, like the Rust side's counting allocator; plain (non-atomic)
// counters, as the Rust side's are single-thread loads and stores.

static uint64_t g_allocs = 0;
static uint64_t g_bytes = 0;
static uint64_t g_last_size = 0;

__attribute__((noinline)) void* operator new(std::size_t n) {
    ++g_allocs;
    g_bytes += n;
    g_last_size = n;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
__attribute__((noinline)) void operator delete(void* p) noexcept { std::free(p); }
__attribute__((noinline)) void operator delete(void* p, std::size_t) noexcept { std::free(p); }

// The same contract as Rust's std::hint::black_box: the value goes through
// memory whose address escapes into an opaque asm statement that may read
// and write any memory. (A register-only `asm("" : "+r"(x))` would be cheaper
// than what the Rust columns pay, and leave the frame's locals in registers.)
template <class T>
inline __attribute__((always_inline)) T black_box(T x) {
    asm volatile("" : : "r"(&x) : "memory");
    return x;
}

// --- generator<T> -------------------------------------------------------------

template <class T>
struct generator {
    struct promise_type {
        T value;
        generator get_return_object() { return generator{handle::from_promise(*this)}; }
        std::suspend_always initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        std::suspend_always yield_value(T v) noexcept {
            value = v;
            return {};
        }
        void return_void() noexcept {}
        void unhandled_exception() { throw; }
    };
    using handle = std::coroutine_handle<promise_type>;
    handle h;
    explicit generator(handle h) : h(h) {}
    generator(generator&& o) noexcept : h(std::exchange(o.h, {})) {}
    ~generator() {
        if (h) h.destroy();
    }
    // Advances; false at the end.
    bool next() {
        h.resume();
        return !h.done();
    }
    T value() const { return h.promise().value; }
};

generator<uint64_t> range(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) co_yield i;
}

static uint64_t case_generator(uint64_t n) {
    uint64_t s = 0;
    auto g = range(n);
    while (g.next()) s += black_box(g.value());
    return s;
}

generator<uint64_t> fib(uint64_t n) {
    uint64_t a = 0, b = 1;
    for (uint64_t i = 0; i < n; ++i) {
        co_yield a;
        uint64_t next = a + b;  // unsigned: wraps mod 2^64
        a = b;
        b = next;
    }
}

static uint64_t case_fibonacci(uint64_t n) {
    uint64_t s = 0;
    auto g = fib(n);
    while (g.next()) s += black_box(g.value());
    return s;
}

// --- task<T>: lazy, symmetric transfer both ways (cppcoro's task) -------------

template <class T>
struct task {
    struct promise_type {
        std::coroutine_handle<> continuation;
        T value{};
        std::exception_ptr error;
        task get_return_object() { return task{handle::from_promise(*this)}; }
        std::suspend_always initial_suspend() noexcept { return {}; }
        struct final_awaiter {
            bool await_ready() noexcept { return false; }
            std::coroutine_handle<> await_suspend(std::coroutine_handle<promise_type> h) noexcept {
                auto c = h.promise().continuation;
                return c ? c : std::noop_coroutine();
            }
            void await_resume() noexcept {}
        };
        final_awaiter final_suspend() noexcept { return {}; }
        void return_value(T v) { value = v; }
        void unhandled_exception() { error = std::current_exception(); }
    };
    using handle = std::coroutine_handle<promise_type>;
    handle h;
    explicit task(handle h) : h(h) {}
    task(task&& o) noexcept : h(std::exchange(o.h, {})) {}
    ~task() {
        if (h) h.destroy();
    }
    bool await_ready() { return h.done(); }
    std::coroutine_handle<> await_suspend(std::coroutine_handle<> awaiting) {
        h.promise().continuation = awaiting;
        return h;
    }
    T await_resume() {
        if (h.promise().error) std::rethrow_exception(h.promise().error);
        return h.promise().value;
    }
    // sync_wait for a task that completes synchronously.
    T run() {
        h.resume();
        if (!h.done()) std::abort();
        return await_resume();
    }
};

// co_await of an awaiter that is always ready.
struct ready {
    uint64_t v;
    bool await_ready() noexcept { return true; }
    void await_suspend(std::coroutine_handle<>) noexcept {}
    uint64_t await_resume() noexcept { return v; }
};

task<uint64_t> ready_loop(uint64_t n) {
    uint64_t s = 0;
    for (uint64_t i = 0; i < n; ++i) s += black_box(co_await ready{i});
    co_return s;
}

task<uint64_t> child(uint64_t i) { co_return i; }

task<uint64_t> chain(uint64_t n) {
    uint64_t s = 0;
    for (uint64_t i = 0; i < n; ++i) s += black_box(co_await child(i));
    co_return s;
}

task<uint64_t> depth(uint64_t n) {
    if (n == 0) co_return 0;
    uint64_t r = co_await depth(n - 1);
    co_return r + 1;
}

// --- minimal coroutines: lazy, final suspend, owner destroys ------------------

// A promise-provided recycling allocator: freed frames of up to 64 bytes go
// on a thread-local free list and are handed out again.
struct recycling {
    struct block {
        block* next;
    };
    static constexpr std::size_t BLOCK = 64;
    static inline thread_local block* free_list = nullptr;
    static void* allocate(std::size_t n) {
        if (n > BLOCK) return ::operator new(n);
        if (block* b = free_list) {
            free_list = b->next;
            return b;
        }
        return ::operator new(BLOCK);
    }
    static void deallocate(void* p, std::size_t n) {
        if (n > BLOCK) return ::operator delete(p, n);
        auto* b = static_cast<block*>(p);
        b->next = free_list;
        free_list = b;
    }
};

struct lazy_promise_base {
    std::suspend_always initial_suspend() noexcept { return {}; }
    std::suspend_always final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() { throw; }
};

template <bool Recycle>
struct lazy {
    struct promise_type : lazy_promise_base {
        lazy get_return_object() { return lazy{handle::from_promise(*this)}; }
        static void* operator new(std::size_t n) {
            if constexpr (Recycle) return recycling::allocate(n);
            else return ::operator new(n);
        }
        static void operator delete(void* p, std::size_t n) {
            if constexpr (Recycle) recycling::deallocate(p, n);
            else ::operator delete(p, n);
        }
    };
    using handle = std::coroutine_handle<promise_type>;
    handle h;
    explicit lazy(handle h) : h(h) {}
    lazy(lazy&& o) noexcept : h(std::exchange(o.h, {})) {}
    ~lazy() {
        if (h) h.destroy();
    }
};

lazy<false> minimal() { co_return; }
lazy<true> minimal_recycled() { co_return; }

// Suspended at a co_await in its body on every resume.
lazy<false> ticker(uint64_t* c) {
    for (;;) {
        ++*c;
        co_await std::suspend_always{};
    }
}

static uint64_t case_resume(uint64_t n) {
    uint64_t c = 0;
    auto t = ticker(&c);
    std::coroutine_handle<> h = black_box(std::coroutine_handle<>(t.h));
    for (uint64_t i = 0; i < n; ++i) h.resume();
    return c;
}

template <class F>
static uint64_t create_run_destroy(uint64_t n, F make) {
    uint64_t s = 0;
    for (uint64_t i = 0; i < n; ++i) {
        auto c = make();
        c.h.resume();
        s += c.h.done();
    }
    return s;
}

// --- the seed examples, for their frame sizes -------------------------------

// seed 000: an eager job whose awaiter borrows a 16-byte buffer in the frame.
struct job {
    struct promise_type {
        std::size_t total = 0;
        job get_return_object() { return job{handle::from_promise(*this)}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        void return_value(std::size_t t) { total = t; }
        void unhandled_exception() { throw; }
    };
    using handle = std::coroutine_handle<promise_type>;
    handle h;
    ~job() {
        if (h) h.destroy();
    }
};

struct read_awaiter {
    std::span<uint8_t> buf;
    std::size_t filled;
    bool await_ready() noexcept { return false; }
    void await_suspend(std::coroutine_handle<>) noexcept {}
    std::size_t await_resume() noexcept { return filled; }
};

job read_all() {
    uint8_t buffer[16] = {};
    std::size_t total = 0;
    for (;;) {
        std::size_t n = co_await read_awaiter{buffer, 0};
        if (n == 0) co_return total;
        total += n;
    }
}

// seed 002: the promise constructor sees the parameters; eager, self-destroying.
static int g_seen = 0;
struct task_t {
    struct promise_type {
        promise_type(int& i) { i = 1; }
        task_t get_return_object() { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() { throw; }
    };
};

task_t foo(int i) {
    g_seen = black_box(i);
    co_return;
}

// g++ -O2 can remove foo's frame allocation altogether (eager and
// self-destroying, the frame need not escape its ramp); then its request size
// is read from this twin, whose promise declares its own operator new (GCC
// lays out the frame in the front end, before any optimisation, so the twin's
// frame is the same).
struct task_sized {
    struct promise_type : task_t::promise_type {
        using task_t::promise_type::promise_type;
        task_sized get_return_object() { return {}; }
        static void* operator new(std::size_t n) {
            g_last_size = n;
            return ::operator new(n);
        }
        static void operator delete(void* p, std::size_t n) { ::operator delete(p, n); }
    };
};

task_sized foo_sized(int i) {
    g_seen = black_box(i);
    co_return;
}

// seed 004: the seed's eager task<T> that keeps the yielded value.
template <class T>
struct seed_task {
    struct promise_type {
        T val{};
        seed_task get_return_object() { return seed_task{handle::from_promise(*this)}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_always final_suspend() noexcept { return {}; }
        std::suspend_always yield_value(T v) noexcept {
            val = v;
            return {};
        }
        void return_void() noexcept {}
        void unhandled_exception() { throw; }
    };
    using handle = std::coroutine_handle<promise_type>;
    handle h;
    ~seed_task() {
        if (h) h.destroy();
    }
};

seed_task<int> seed_range(int n) {
    for (int i = 0; i < n; ++i) co_yield i;
}

generator<uint32_t> range32(uint32_t n) {
    for (uint32_t i = 0; i < n; ++i) co_yield i;
}

static long frame_size(const std::string& c) {
    g_last_size = 0;
    if (c == "minimal") {
        auto m = minimal();
    } else if (c == "seed000_read_all") {
        auto j = read_all();
    } else if (c == "seed002_foo") {
        foo(0);
        if (g_last_size == 0) foo_sized(0);  // g++ removed foo's allocation
    } else if (c == "seed004_seed_range") {
        auto t = seed_range(10);
    } else if (c == "seed004_range") {
        auto g = range32(10);
    } else {
        return -1;
    }
    return (long)g_last_size;
}

// --- dispatch -----------------------------------------------------------------

static bool run_case(const std::string& c, uint64_t n, uint64_t& checksum) {
    if (c == "generator") checksum = case_generator(n);
    else if (c == "fibonacci") checksum = case_fibonacci(n);
    else if (c == "ready") checksum = ready_loop(n).run();
    else if (c == "resume") checksum = case_resume(n);
    else if (c == "chain") checksum = chain(n).run();
    else if (c == "recursion") checksum = depth(n).run();
    else if (c == "create") checksum = create_run_destroy(n, minimal);
    else if (c == "create_recycling") checksum = create_run_destroy(n, minimal_recycled);
    else return false;
    return true;
}

static uint64_t rss_bytes() {
    FILE* f = std::fopen("/proc/self/statm", "r");
    unsigned long size = 0, resident = 0;
    if (!f || std::fscanf(f, "%lu %lu", &size, &resident) != 2) std::abort();
    std::fclose(f);
    return (uint64_t)resident * 4096;
}

// N suspended minimal coroutines: bytes from operator new and from RSS.
template <class F>
static int mem(uint64_t n, F make) {
    // The handles' array is faulted in before the first reading.
    auto* hs = static_cast<std::coroutine_handle<>*>(std::malloc(n * sizeof(std::coroutine_handle<>)));
    std::memset(static_cast<void*>(hs), 1, n * sizeof(std::coroutine_handle<>));
    uint64_t b0 = g_bytes, r0 = rss_bytes();
    for (uint64_t i = 0; i < n; ++i) {
        auto c = make();
        hs[i] = std::exchange(c.h, {});
    }
    uint64_t b1 = g_bytes, r1 = rss_bytes();
    uint64_t done = 0;
    for (uint64_t i = 0; i < n; ++i) {
        hs[i].resume();
        done += hs[i].done();
        hs[i].destroy();
    }
    std::free(hs);
    std::printf("%llu %llu %llu\n", (unsigned long long)(b1 - b0), (unsigned long long)(r1 - r0),
                (unsigned long long)done);
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 4 && std::string(argv[1]) == "mem") {
        std::string v = argv[2];
        uint64_t n = std::strtoull(argv[3], nullptr, 10);
        if (v == "minimal") return mem(n, minimal);
        if (v == "minimal_recycling") return mem(n, minimal_recycled);
        std::fprintf(stderr, "unknown variant %s\n", v.c_str());
        return 2;
    }
    if (argc == 4 && std::string(argv[1]) == "once") {
        uint64_t checksum = 0;
        if (!run_case(argv[2], std::strtoull(argv[3], nullptr, 10), checksum)) return 2;
        std::printf("%llu\n", (unsigned long long)checksum);
        return 0;
    }
    if (argc != 2 || std::string(argv[1]) != "serve") {
        std::fprintf(stderr, "usage: %s serve | once CASE N | mem VARIANT N\n", argv[0]);
        return 2;
    }
    std::string cmd;
    while (std::cin >> cmd) {
        if (cmd == "quit") break;
        if (cmd == "version") {
            std::printf("g++ %s\n", __VERSION__);
        } else if (cmd == "run") {
            std::string c;
            uint64_t n;
            std::cin >> c >> n;
            uint64_t checksum = 0;
            uint64_t a0 = g_allocs;
            auto t0 = std::chrono::steady_clock::now();
            bool ok = run_case(c, n, checksum);
            auto t1 = std::chrono::steady_clock::now();
            uint64_t allocs = g_allocs - a0;
            if (!ok) {
                std::printf("error: unknown case %s\n", c.c_str());
            } else {
                auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t1 - t0).count();
                std::printf("%lld %llu %llu\n", (long long)ns, (unsigned long long)checksum,
                            (unsigned long long)allocs);
            }
        } else if (cmd == "size") {
            std::string c;
            std::cin >> c;
            long s = frame_size(c);
            if (s < 0) std::printf("error: unknown frame %s\n", c.c_str());
            else std::printf("%ld\n", s);
        } else {
            std::printf("error: unknown command %s\n", cmd.c_str());
        }
        std::fflush(stdout);
    }
    return 0;
}
