//! A guided tour of `coro` for C++ programmers: C++20 coroutine semantics,
//! step by step, with a numbered trace of who does what.
//!
//! Run it with `cargo run --release --example tour`. Sections:
//!
//! - (a) the lifecycle of one coroutine under a hand-written, tracing
//!   `promise_type`: ramp, lazy start, `co_await`, `co_return`, destroy;
//! - (b) `Generator<T>` (C++23 `std::generator`), including one that borrows;
//! - (c) the three results of `await_suspend` (`void`, `bool`, a handle) and
//!   `std::noop_coroutine()`;
//! - (d) `Task<T>` awaiting `Task<T>` (cppcoro's `task` / `sync_wait`), and a
//!   panic (exception) travelling from a child to its parent's `co_await`;
//! - (e) `suspend_point()`: where a suspended coroutine is;
//! - (f) a 100,000-deep chain of awaiting tasks in constant stack;
//! - (g) threads and Rust futures: a `SendTask` hops onto a `ThreadPool`, a
//!   thread-bound `Task` awaits a future completed on another thread and is
//!   resumed back on its own thread.
//!
//! Every claim the trace makes is also asserted, so `cargo test` (which builds
//! the examples) and a plain run both check it.

use std::alloc::Layout;
use std::cell::{Cell, RefCell};
use std::fmt::Display;
use std::panic::{self, AssertUnwindSafe};
use std::ptr::NonNull;

use coro::handle::{SuspendKind, SuspendPoint};
use coro::promise::{AwaitDirect, FromParams, Payload, ReturnValue, ReturnVoid, ReturnsValue, ReturnsVoid};
use coro::{
    co_await, co_return, co_yield, noop_coroutine, sync_wait, AwaitSuspend, Awaiter, CoroutineHandle, Generator,
    Promise, SuspendAlways, Task, UniqueCoroutineHandle,
};

// ---------------------------------------------------------------------------
// Trace output: `  n. who      what`, numbered per section and also logged
// so that each section can assert the order of events.

thread_local! {
    static STEP: Cell<u32> = const { Cell::new(0) };
    static LOG: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

fn section(title: &str, rule: &str) {
    STEP.set(0);
    LOG.with_borrow_mut(Vec::clear);
    println!("\n== {title} ==\n   C++: {rule}");
}

fn say(who: &str, what: impl Display) {
    let n = STEP.get() + 1;
    STEP.set(n);
    let line = format!("{who:<8} {what}");
    println!("  {n:>2}. {line}");
    LOG.with_borrow_mut(|log| log.push(line));
}

/// `call` padded to a column, then why it matters.
fn why(call: impl Display, note: impl Display) -> String {
    format!("{:<24} {note}", call.to_string())
}

/// Asserts that the section's log so far starts with `who what-prefix`
/// entries in this order.
fn assert_log(expected: &[(&str, &str)]) {
    LOG.with_borrow(|log| {
        assert_eq!(log.len(), expected.len(), "trace: {log:#?}");
        for (line, (who, what)) in log.iter().zip(expected) {
            let (w, rest) = line.split_once(' ').unwrap();
            assert!(w == *who && rest.trim_start().starts_with(what), "{line:?} is not {who} {what}…");
        }
    });
}

/// `co_await #1`, `initial suspend #0`, ...: a point without its file and line.
fn short(p: Option<&SuspendPoint>) -> String {
    match p.map(|p| (p.kind(), p.index())) {
        None => "running".into(),
        Some((SuspendKind::Initial, i)) => format!("initial suspend #{i}"),
        Some((SuspendKind::Await, i)) => format!("co_await #{i}"),
        Some((SuspendKind::Yield, i)) => format!("co_yield #{i}"),
        Some((SuspendKind::Final, i)) => format!("final suspend #{i}"),
    }
}

/// A local that says when it is dropped.
struct Noisy(&'static str);
impl Drop for Noisy {
    fn drop(&mut self) {
        say("body", format_args!("drop local `{}`", self.0));
    }
}

// ---------------------------------------------------------------------------
// (a) A hand-written promise_type that traces every call the compiler (here:
// the `#[coro::coroutine]` ramp and frame) makes on it.

struct Traced {
    result: Option<u32>,
}

/// C++ `promise_type(unsigned& x)`: the promise constructor sees the frame's
/// copy of the parameter.
impl FromParams<(&mut u32,)> for Traced {
    fn from_params((x,): (&mut u32,)) -> Self {
        say("promise", why(format_args!("promise_type(x = {x})"), "the constructor sees the parameter copy"));
        Traced { result: None }
    }
}

impl Promise for Traced {
    type ReturnObject = UniqueCoroutineHandle<Traced>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsValue;
    type Await = AwaitDirect;

    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        say("promise", why("get_return_object()", "what the call will return"));
        // SAFETY: the returned owner is the frame's only owner, and only the
        // caller in `lifecycle` resumes it, never concurrently.
        unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) }
    }
    fn initial_suspend(&mut self) -> SuspendAlways {
        say("promise", why("initial_suspend()", "-> suspend_always: lazy start"));
        SuspendAlways
    }
    fn final_suspend(&mut self) -> SuspendAlways {
        say("promise", why("final_suspend()", "-> suspend_always: the frame stays for the result"));
        SuspendAlways
    }
    fn unhandled_exception(&mut self, payload: Payload) {
        panic::resume_unwind(payload)
    }
    fn allocate_frame(layout: Layout) -> Option<::coro::promise::FrameMemory> {
        say(
            "frame",
            why(format_args!("operator new({} bytes)", layout.size()), "one allocation: the whole coroutine state"),
        );
        ::coro::promise::FrameMemory::global(layout)
    }
    unsafe fn deallocate_frame(ptr: NonNull<u8>, layout: Layout) {
        say("frame", "operator delete()");
        // SAFETY: `ptr` came from `allocate_frame` above with this `layout`,
        // and the frame calls this once.
        unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
    }
}

impl ReturnValue<u32> for Traced {
    fn return_value(&mut self, v: u32) {
        say("promise", why(format_args!("return_value({v})"), "then the locals die, in reverse order"));
        self.result = Some(v);
    }
}

impl Drop for Traced {
    fn drop(&mut self) {
        say("promise", "~promise_type()");
    }
}

/// An awaiter that traces its three calls; resumes with 22.
struct TracedAwaiter;

impl Awaiter for TracedAwaiter {
    type Output = u32;
    fn await_ready(&mut self) -> bool {
        say("awaiter", why("await_ready()", "-> false: must suspend"));
        false
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        // SAFETY: the frame is alive: its body is parked at this co_await.
        let at = unsafe { h.suspend_point() };
        assert_eq!(at.map(|p| p.kind()), Some(SuspendKind::Await));
        say("awaiter", why("await_suspend(h)", format_args!("h is already suspended at {}; returns void", short(at))));
    }
    fn await_resume(self) -> u32 {
        say("awaiter", why("await_resume()", "-> 22, the value of the co_await"));
        22
    }
}

#[coro::coroutine(promise = Traced)]
fn traced(x: u32) -> UniqueCoroutineHandle<Traced> {
    say("body", format_args!("body starts, x = {x}"));
    let _first = Noisy("first");
    let _second = Noisy("second");
    let v = co_await!(TracedAwaiter);
    co_return!(v + x)
}

fn lifecycle() {
    section(
        "(a) lifecycle of a coroutine, under a tracing promise_type",
        "[dcl.fct.def.coroutine]: new, params, promise, get_return_object, initial_suspend; co_return; final_suspend; destroy",
    );
    say("caller", "let h = traced(20);");
    let h = traced(20);
    say(
        "caller",
        format_args!("got h: done() = {}, at {} -- nothing of the body ran", h.done(), short(h.suspend_point())),
    );
    say("caller", "h.resume()");
    // SAFETY: `h` owns the frame, which is suspended; nothing else resumes it.
    unsafe { h.resume() };
    say("caller", format_args!("resume() returned: suspended at {}; h.resume() again", short(h.suspend_point())));
    // SAFETY: as above.
    unsafe { h.resume() };
    // SAFETY: the coroutine is done, so not running: nothing changes the promise while we read it.
    let result = unsafe { h.promise() }.result;
    say("caller", format_args!("done() = {}, promise().result = {result:?}; drop(h) destroys", h.done()));
    assert!(h.done());
    assert_eq!(result, Some(42));
    drop(h);
    assert_log(&[
        ("caller", "let h"),
        ("frame", "operator new"),
        ("promise", "promise_type(x = 20)"),
        ("promise", "get_return_object"),
        ("promise", "initial_suspend"),
        ("caller", "got h: done() = false, at initial suspend #0"),
        ("caller", "h.resume"),
        ("body", "body starts, x = 20"),
        ("awaiter", "await_ready"),
        ("awaiter", "await_suspend"),
        ("caller", "resume() returned: suspended at co_await #1"),
        ("awaiter", "await_resume"),
        ("promise", "return_value(42)"),
        ("body", "drop local `second`"),
        ("body", "drop local `first`"),
        ("promise", "final_suspend"),
        ("caller", "done() = true"),
        ("promise", "~promise_type"),
        ("frame", "operator delete"),
    ]);
}

// ---------------------------------------------------------------------------
// (b) Generators.

#[coro::coroutine]
fn range(n: u32) -> Generator<u32> {
    for i in 0..n {
        say("gen", format_args!("co_yield!({i})"));
        co_yield!(i);
    }
    say("gen", "falls off the end: return_void(), final suspend");
}

/// Borrows its argument: the generator cannot outlive `text`.
#[coro::coroutine]
fn words<'a>(text: &'a str) -> Generator<&'a str> {
    for w in text.split_whitespace() {
        co_yield!(w);
    }
}

fn generators() {
    section(
        "(b) Generator<T>: co_yield suspends; the body runs only when next() asks",
        "co_yield v == co_await promise.yield_value(v) (C++23 std::generator)",
    );
    let g = range(2);
    say("caller", "let g = range(2);  -- lazy, the body has not run");
    for i in g {
        // `for` calls next(): each call resumes the body until its next co_yield
        say("caller", format_args!("next() -> Some({i})"));
    }
    say("caller", "next() -> None");
    let text = String::from("borrowed from the caller");
    let w: Vec<&str> = words(&text).collect();
    // `drop(text)` before this line would not compile: the generator borrows it.
    say("caller", format_args!("words(&text).collect() = {w:?}"));
    assert_eq!(w, ["borrowed", "from", "the", "caller"]);
    assert_log(&[
        ("caller", "let g"),
        ("gen", "co_yield!(0)"),
        ("caller", "next() -> Some(0)"),
        ("gen", "co_yield!(1)"),
        ("caller", "next() -> Some(1)"),
        ("gen", "falls off"),
        ("caller", "next() -> None"),
        ("caller", "words"),
    ]);
}

// ---------------------------------------------------------------------------
// (c) The three await_suspend results, with a minimal hand-driven promise.

/// A lazily started coroutine with no result, resumed by hand.
#[derive(Default)]
struct Manual;

impl Promise for Manual {
    type ReturnObject = UniqueCoroutineHandle<Manual>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        // SAFETY: the returned owner is the frame's only owner; resumptions
        // (by the caller, or by a transfer the caller set up) never overlap.
        unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) }
    }
    fn initial_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn final_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn unhandled_exception(&mut self, payload: Payload) {
        panic::resume_unwind(payload)
    }
}
impl ReturnVoid for Manual {
    fn return_void(&mut self) {}
}

/// `void await_suspend(h)`: stay suspended, return to the resumer.
struct StaySuspended;
/// `bool await_suspend(h)` returning `false`: do not suspend after all.
struct ResumeNow;
/// `coroutine_handle<> await_suspend(h)`: resume that coroutine instead.
struct TransferTo(CoroutineHandle);

impl Awaiter for StaySuspended {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {}
    fn await_resume(self) {}
}
impl Awaiter for ResumeNow {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        false
    }
    fn await_resume(self) {}
}
impl Awaiter for TransferTo {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        self.0
    }
    fn await_resume(self) {}
}

thread_local! {
    /// How many times `three_ways` has been (re)entered since the caller's last resume().
    static RESUMES: Cell<u32> = const { Cell::new(0) };
}

#[coro::coroutine(promise = Manual)]
fn three_ways(other: CoroutineHandle) -> UniqueCoroutineHandle<Manual> {
    say("body", "co_await StaySuspended   await_suspend -> void");
    co_await!(StaySuspended);
    say("body", "co_await ResumeNow       await_suspend -> false");
    co_await!(ResumeNow);
    RESUMES.set(RESUMES.get() + 1);
    say("body", "...not suspended: still inside the same resume() call");
    say("body", "co_await TransferTo(other)  await_suspend -> other's handle");
    co_await!(TransferTo(other));
    say("body", "co_await TransferTo(noop_coroutine())  == return to the resumer");
    co_await!(TransferTo(noop_coroutine()));
    say("body", "finished");
}

#[coro::coroutine(promise = Manual)]
fn other_side() -> UniqueCoroutineHandle<Manual> {
    say("other", "running: resumed by symmetric transfer, as a tail call");
    co_await!(SuspendAlways);
}

fn await_suspend_results() {
    section(
        "(c) what await_suspend returns decides what happens next",
        "[expr.await]/5: void = suspend, bool false = resume now, handle = symmetric transfer",
    );
    let other = other_side();
    let h = three_ways(other.handle().erase());
    // Every resume below goes through this closure.
    let resume = || {
        // SAFETY: `h` owns its frame, which is suspended, and nothing else
        // resumes it; `other` is resumed only by the transfer.
        unsafe { h.resume() }
    };
    for _ in 0..3 {
        say("caller", "h.resume()");
        resume();
        say(
            "caller",
            format_args!(
                "resume() returned: h at {}, other at {}",
                short(h.suspend_point()),
                short(other.suspend_point())
            ),
        );
    }
    assert_eq!(RESUMES.get(), 1);
    assert_eq!(other.suspend_point().map(|p| p.kind()), Some(SuspendKind::Await));
    say("caller", "h.resume()");
    resume();
    assert!(h.done() && !other.done());
    assert_log(&[
        ("caller", "h.resume()"),
        ("body", "co_await StaySuspended"),
        ("caller", "resume() returned: h at co_await #1, other at initial suspend #0"),
        ("caller", "h.resume()"),
        ("body", "co_await ResumeNow"),
        ("body", "...not suspended"),
        ("body", "co_await TransferTo(other)"),
        ("other", "running"),
        ("caller", "resume() returned: h at co_await #3, other at co_await #1"),
        ("caller", "h.resume()"),
        ("body", "co_await TransferTo(noop"),
        ("caller", "resume() returned: h at co_await #4"),
        ("caller", "h.resume()"),
        ("body", "finished"),
    ]);
}

// ---------------------------------------------------------------------------
// (d) Task awaiting Task; a panic crossing a co_await.

#[coro::coroutine]
fn child(x: u32) -> Task<u32> {
    say("child", format_args!("child({x}) runs only now that it is awaited; co_return {}", 2 * x));
    co_return!(2 * x)
}

#[coro::coroutine]
fn parent() -> Task<u32> {
    say("parent", "co_await child(10)");
    let a = co_await!(child(10));
    say("parent", format_args!("got {a}; co_await child(11)"));
    let b = co_await!(child(11));
    say("parent", format_args!("got {b}; co_return {}", a + b));
    co_return!(a + b)
}

#[coro::coroutine]
fn failing_child() -> Task<u32> {
    say("child", "panic!(\"disk on fire\")");
    panic!("disk on fire")
}

#[coro::coroutine]
fn careful_parent() -> Task<u32> {
    let _guard = Noisy("guard in parent");
    say("parent", "co_await failing_child()");
    let v = co_await!(failing_child());
    unreachable!("the panic comes out of the co_await, got {v}")
}

fn tasks() {
    section(
        "(d) Task<T> awaiting Task<T>, sync_wait, and a panic crossing co_await",
        "lazy task + symmetric transfer both ways; unhandled_exception stores, await_resume rethrows",
    );
    say("caller", "sync_wait(parent())");
    let v = sync_wait(parent());
    say("caller", format_args!("sync_wait returned {v}"));
    assert_eq!(v, 42);

    say("caller", "sync_wait(careful_parent())");
    let hook = panic::take_hook();
    panic::set_hook(Box::new(|_| {})); // keep the trace clean: no panic message
    let r = panic::catch_unwind(AssertUnwindSafe(|| sync_wait(careful_parent())));
    panic::set_hook(hook);
    let msg = *r.expect_err("the child's panic reaches the caller").downcast::<&str>().unwrap();
    say("caller", format_args!("sync_wait panicked with {msg:?}: the child's own payload"));
    assert_eq!(msg, "disk on fire");
    assert_log(&[
        ("caller", "sync_wait(parent())"),
        ("parent", "co_await child(10)"),
        ("child", "child(10)"),
        ("parent", "got 20"),
        ("child", "child(11)"),
        ("parent", "got 22; co_return 42"),
        ("caller", "sync_wait returned 42"),
        ("caller", "sync_wait(careful_parent())"),
        ("parent", "co_await failing_child()"),
        ("child", "panic!"),
        ("body", "drop local `guard in parent`"),
        ("caller", "sync_wait panicked"),
    ]);
}

// ---------------------------------------------------------------------------
// (e) Where is a suspended coroutine?

#[coro::coroutine]
fn two_steps() -> Generator<&'static str> {
    co_yield!("one");
    co_yield!("two");
}

fn suspend_points() {
    section(
        "(e) suspend_point(): every suspension point has a static record",
        "no equivalent in the standard; debuggers reconstruct it from the frame's index",
    );
    let t = parent();
    let p = t.suspend_point().unwrap();
    say("caller", format_args!("parent() not started: {p}"));
    assert_eq!((p.kind(), p.index(), p.function()), (SuspendKind::Initial, 0, "parent"));
    let mut g = two_steps();
    for expected in [1, 2] {
        g.next();
        let p = g.suspend_point().unwrap();
        say("caller", format_args!("after next():          {p}"));
        assert_eq!((p.kind(), p.index()), (SuspendKind::Yield, expected));
        assert!(p.file().ends_with("tour.rs") && p.line() > 0);
    }
    assert_eq!(g.next(), None);
    let p = g.suspend_point().unwrap();
    say("caller", format_args!("exhausted:             {p}"));
    assert_eq!((p.kind(), p.index()), (SuspendKind::Final, 3));

    // A chain of awaiting tasks can say where each of them is.
    let bt = sync_wait(backtrace_outer());
    say("caller", "async backtrace taken inside backtrace_inner(), awaited by backtrace_outer():");
    for line in bt.to_string().lines() {
        say("", line);
    }
    let names: Vec<_> = bt.frames().iter().map(|p| p.function()).collect();
    assert_eq!(names, ["backtrace_inner", "backtrace_outer"]);
}

#[coro::coroutine]
fn backtrace_inner() -> Task<coro::handle::AsyncBacktrace> {
    let bt = co_await!(coro::handle::CurrentBacktrace);
    co_return!(bt)
}

#[coro::coroutine]
fn backtrace_outer() -> Task<coro::handle::AsyncBacktrace> {
    let bt = co_await!(backtrace_inner());
    co_return!(bt)
}

// ---------------------------------------------------------------------------
// (f) Deep recursion through co_await, in constant stack.

#[coro::coroutine]
fn depth(n: u32) -> Task<u32> {
    if n == 0 {
        co_return!(0)
    }
    let below = co_await!(depth(n - 1));
    co_return!(below + 1)
}

fn deep_recursion() {
    section(
        "(f) 100,000 tasks, each awaiting the next, in constant stack",
        "symmetric transfer is a tail call (P0913): resume never nests",
    );
    const N: u32 = 100_000;
    const STACK: usize = 64 * 1024;
    say("caller", format_args!("sync_wait(depth({N})) on a thread with a {} KiB stack", STACK / 1024));
    // Each level's locals live in its own frame on the heap, and every start
    // (parent -> child) and finish (child -> parent) is a symmetric transfer
    // run by one loop, so no level adds a machine-stack frame. Nested calls
    // would need N stack frames; here N levels fit in under one byte each.
    let v = std::thread::Builder::new().stack_size(STACK).spawn(|| sync_wait(depth(N))).unwrap().join().unwrap();
    say("caller", format_args!("result {v}: {N} levels deep, in {STACK} bytes of stack"));
    assert_eq!(v, N);
}

// ---------------------------------------------------------------------------
// (g) Threads and Rust futures.

/// Hops onto the pool (cppcoro's `co_await tp.schedule()`), then works there.
#[coro::coroutine]
fn on_pool(pool: std::sync::Arc<coro::ThreadPool>, x: u64) -> coro::SendTask<(u64, std::thread::ThreadId)> {
    co_await!(pool.schedule());
    co_return!((x * x, std::thread::current().id()))
}

/// Holds an `Rc` (so it can never leave this thread) across the `co_await!`
/// of a future that another thread completes.
#[coro::coroutine]
fn at_home(rx: futures::channel::oneshot::Receiver<u64>, seen: std::rc::Rc<Cell<u64>>) -> Task<std::thread::ThreadId> {
    say("task", "co_await!(rx): a futures oneshot; the sender is another thread");
    let v = co_await!(rx).expect("sent");
    seen.set(v);
    say("task", format_args!("got {v}, on its own thread: a waker firing elsewhere queues it home"));
    co_return!(std::thread::current().id())
}

fn threads_and_futures() {
    section(
        "(g) threads and Rust futures",
        "co_await tp.schedule() moves a coroutine to a pool thread; here any Future can be co_awaited too",
    );
    let pool = std::sync::Arc::new(coro::ThreadPool::new(2));
    say("caller", "sync_wait(on_pool(pool, 12))");
    let (v, ran_on) = sync_wait(on_pool(pool.clone(), 12));
    assert_eq!(v, 144);
    assert_ne!(ran_on, std::thread::current().id());
    say("caller", format_args!("{v}, computed on a pool thread, not the caller's"));

    let (tx, rx) = futures::channel::oneshot::channel();
    let seen = std::rc::Rc::new(Cell::new(0));
    let sender = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1));
        tx.send(7).expect("receiver alive");
    });
    say("caller", "sync_wait(at_home(rx))");
    let ran_on = sync_wait(at_home(rx, seen.clone()));
    sender.join().unwrap();
    assert_eq!((ran_on, seen.get()), (std::thread::current().id(), 7));
    say("caller", "the task ran on the caller's thread before and after the wake-up");
    assert_log(&[
        ("caller", "sync_wait(on_pool"),
        ("caller", "144"),
        ("caller", "sync_wait(at_home"),
        ("task", "co_await!(rx)"),
        ("task", "got 7"),
        ("caller", "the task ran"),
    ]);
}

fn main() {
    println!("coro: C++20 coroutines in Rust -- a guided tour");
    lifecycle();
    generators();
    await_suspend_results();
    tasks();
    suspend_points();
    deep_recursion();
    threads_and_futures();
    println!("\nAll claims checked.");
}
