//! The coroutine lifecycle against C++ [dcl.fct.def.coroutine] and
//! design.md section 3: ramp order, lazy and eager start, final suspend,
//! panics at every step, destroy at every kind of suspension point,
//! suspension-point records, the awaiter protocol's three `await_suspend`
//! results, and symmetric transfer in constant stack.

mod common;

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};

use common::{
    expect_panic, on_small_stack, pause, quiet_planned_panics, Counted, Job, Log, Pause, Ready, TransferTo, PLANNED,
};
use coro::handle::SuspendKind;
use coro::promise::{AwaitDirect, FromParams, Payload, ReturnVoid, ReturnsVoid, YieldValue};
use coro::{
    co_await, co_return, co_yield, noop_coroutine, sync_wait, AwaitSuspend, Awaiter, CoroutineHandle, CoroutineTraits,
    IntoAwaiter, Promise, SuspendAlways, Task,
};

// ===========================================================================
// The probe: a promise whose every step logs, and can be told to panic
// ===========================================================================

/// A step of the coroutine machinery the probe can make panic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Hook {
    Allocate,
    Construct,
    GetReturnObject,
    InitialSuspend,
    InitialReady,
    InitialAwaitSuspend,
    InitialAwaitResume,
    FinalSuspend,
}

#[derive(Clone, Copy, Debug)]
struct Plan {
    /// The initial awaiter is ready (eager start).
    eager: bool,
    /// The initial awaiter's await_suspend returns this (true = stay suspended).
    initial_suspend_result: bool,
    /// The final awaiter suspends (the owner destroys) or not (self-destroy).
    final_suspends: bool,
    /// unhandled_exception rethrows.
    rethrow: bool,
    /// The return object destroys the frame in its Drop.
    owning: bool,
    panic_at: Option<Hook>,
}

impl Default for Plan {
    fn default() -> Self {
        Plan {
            eager: false,
            initial_suspend_result: true,
            final_suspends: true,
            rethrow: false,
            owning: true,
            panic_at: None,
        }
    }
}

thread_local! {
    static PLAN: Cell<Plan> = Cell::new(Plan::default());
    static LOG: RefCell<Log> = RefCell::new(Log::new());
    static FRAMES_ALLOCATED: Cell<usize> = const { Cell::new(0) };
    static FRAMES_FREED: Cell<usize> = const { Cell::new(0) };
}

/// Starts a probe scenario on this thread: sets the plan, returns a fresh log.
fn scenario(plan: Plan) -> Log {
    quiet_planned_panics();
    PLAN.set(plan);
    FRAMES_ALLOCATED.set(0);
    FRAMES_FREED.set(0);
    let log = Log::new();
    LOG.with(|l| *l.borrow_mut() = log.clone());
    log
}

fn ev(e: impl Into<String>) {
    LOG.with(|l| l.borrow().push(e));
}

fn plan() -> Plan {
    PLAN.get()
}

fn maybe_panic(at: Hook) {
    if plan().panic_at == Some(at) {
        ev(format!("panic in {at:?}"));
        panic!("{PLANNED} panic in {at:?}");
    }
}

fn frames() -> (usize, usize) {
    (FRAMES_ALLOCATED.get(), FRAMES_FREED.get())
}

struct Probe {
    _marker: (),
}

impl Drop for Probe {
    fn drop(&mut self) {
        ev("drop promise");
    }
}

impl Default for Probe {
    fn default() -> Self {
        ev("construct promise (Default)");
        maybe_panic(Hook::Construct);
        Probe { _marker: () }
    }
}

/// C++ `promise_type(Counted&)`: chosen for coroutines whose only parameter
/// is a `Counted`.
impl FromParams<(&mut Counted,)> for Probe {
    fn from_params((c,): (&mut Counted,)) -> Self {
        ev(format!("construct promise (FromParams {})", c.name()));
        maybe_panic(Hook::Construct);
        Probe { _marker: () }
    }
}

/// The probe's return object; with `owning`, it destroys the frame on drop.
struct ProbeRo {
    h: CoroutineHandle<Probe>,
    owning: bool,
}

impl CoroutineTraits for ProbeRo {
    type Promise = Probe;
}

impl ProbeRo {
    fn resume(&self) {
        // SAFETY: tests resume only frames that are alive and idle.
        unsafe { self.h.resume() }
    }
    fn done(&self) -> bool {
        // SAFETY: tests ask only while the frame is alive.
        unsafe { self.h.done() }
    }
    fn point(&self) -> Option<&'static coro::handle::SuspendPoint> {
        // SAFETY: as above.
        unsafe { self.h.suspend_point() }
    }
    fn destroy(self) {
        assert!(!self.owning, "use drop() for an owning return object");
        // SAFETY: the frame is alive and idle, and not used again.
        unsafe { self.h.destroy() }
    }
}

impl Drop for ProbeRo {
    fn drop(&mut self) {
        ev("drop return object");
        if self.owning {
            // SAFETY: an owning probe return object is the frame's owner.
            unsafe { self.h.destroy() }
        }
    }
}

struct ProbeInitial {
    ready: bool,
    _c: Counted,
}

impl Awaiter for ProbeInitial {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        ev("initial await_ready");
        maybe_panic(Hook::InitialReady);
        self.ready
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        ev("initial await_suspend");
        maybe_panic(Hook::InitialAwaitSuspend);
        plan().initial_suspend_result
    }
    fn await_resume(self) {
        ev("initial await_resume");
        maybe_panic(Hook::InitialAwaitResume);
    }
}

struct ProbeFinal {
    suspends: bool,
}

impl Awaiter for ProbeFinal {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        ev("final await_ready");
        !self.suspends
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        ev("final await_suspend");
    }
    fn await_resume(self) {
        ev("final await_resume");
    }
}

impl Promise for Probe {
    type ReturnObject = ProbeRo;
    type InitialSuspend = ProbeInitial;
    type FinalSuspend = ProbeFinal;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;

    unsafe fn get_return_object(&mut self) -> ProbeRo {
        ev("get_return_object");
        maybe_panic(Hook::GetReturnObject);
        ProbeRo { h: CoroutineHandle::from_promise(self), owning: plan().owning }
    }
    fn initial_suspend(&mut self) -> ProbeInitial {
        ev("initial_suspend");
        maybe_panic(Hook::InitialSuspend);
        ProbeInitial { ready: plan().eager, _c: LOG.with(|l| l.borrow().counted("initial awaiter")) }
    }
    fn final_suspend(&mut self) -> ProbeFinal {
        ev("final_suspend");
        maybe_panic(Hook::FinalSuspend);
        ProbeFinal { suspends: plan().final_suspends }
    }
    fn unhandled_exception(&mut self, payload: Payload) {
        ev(format!("unhandled_exception: {}", common::panic_message(&*payload)));
        if plan().rethrow {
            std::panic::resume_unwind(payload);
        }
    }
    fn allocate_frame(layout: std::alloc::Layout) -> Option<::coro::promise::FrameMemory> {
        ev("allocate");
        maybe_panic(Hook::Allocate);
        FRAMES_ALLOCATED.set(FRAMES_ALLOCATED.get() + 1);
        ::coro::promise::FrameMemory::global(layout)
    }
    unsafe fn deallocate_frame(ptr: std::ptr::NonNull<u8>, layout: std::alloc::Layout) {
        ev("free");
        FRAMES_FREED.set(FRAMES_FREED.get() + 1);
        // SAFETY: allocated above with this layout.
        unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
    }
}

impl ReturnVoid for Probe {
    fn return_void(&mut self) {
        ev("return_void");
    }
}

impl YieldValue<u32> for Probe {
    type Awaitable = SuspendAlways;
    fn yield_value(&mut self, v: u32) -> SuspendAlways {
        ev(format!("yield_value {v}"));
        SuspendAlways
    }
}

/// Logs `e` from a coroutine body.
fn body(e: &str) {
    ev(format!("body: {e}"));
}

// --- coroutines under test -------------------------------------------------

/// One parameter (promise built with FromParams), two locals, one await.
#[coro::coroutine]
fn simple(p: Counted) -> ProbeRo {
    let log = p.log();
    body("start");
    let _a = log.counted("a");
    let _b = log.counted("b");
    co_await!(pause());
    body("end");
    co_return!();
}

/// Two parameters: the promise is built with Default.
#[coro::coroutine]
fn two_params(p: Counted, q: Counted) -> ProbeRo {
    body(&format!("start {} {}", p.name(), q.name()));
    let _a = p.log().counted("a");
    co_await!(pause());
    body("end");
}

/// Panics in the body with two locals alive.
#[coro::coroutine]
fn panicking(p: Counted) -> ProbeRo {
    let log = p.log();
    let _a = log.counted("a");
    co_await!(pause());
    let _b = log.counted("b");
    body("panicking");
    panic!("{PLANNED} body panic");
}

/// Finishes without suspending (in the body).
#[coro::coroutine]
fn straight(p: Counted) -> ProbeRo {
    let _a = p.log().counted("a");
    body("runs");
    co_return!();
}

fn counted(log: &Log, name: &str) -> Counted {
    log.counted(name)
}

// ===========================================================================
// Lazy and eager start; final suspend
// ===========================================================================

#[test]
fn lazy_start_runs_ramp_steps_in_cxx_order_and_no_body_until_resumed() {
    let log = scenario(Plan::default());
    let ro = simple(counted(&log, "p"));
    assert_eq!(
        log.take(),
        [
            "allocate",
            "construct promise (FromParams p)",
            "get_return_object",
            "initial_suspend",
            "initial await_ready",
            "initial await_suspend",
        ]
    );
    assert!(!ro.done());
    let at = ro.point().expect("suspended at the initial point");
    assert_eq!((at.kind(), at.index()), (SuspendKind::Initial, 0));

    ro.resume();
    assert_eq!(log.take(), ["initial await_resume", "drop initial awaiter", "body: start"]);
    ro.resume();
    assert_eq!(
        log.take(),
        [
            "body: end",
            "return_void",
            "drop b",
            "drop a",
            "drop p",
            "final_suspend",
            "final await_ready",
            "final await_suspend",
        ]
    );
    assert!(ro.done());
    drop(ro);
    assert_eq!(log.take(), ["drop return object", "drop promise", "free"]);
    log.assert_each_dropped_once();
    assert_eq!(frames(), (1, 1));
}

#[test]
fn eager_start_runs_the_body_before_the_ramp_returns() {
    let log = scenario(Plan { eager: true, ..Plan::default() });
    let ro = simple(counted(&log, "p"));
    let ev = log.take();
    assert_eq!(
        ev,
        [
            "allocate",
            "construct promise (FromParams p)",
            "get_return_object",
            "initial_suspend",
            "initial await_ready",
            "initial await_resume",
            "drop initial awaiter",
            "body: start",
        ],
        "await_suspend must not be called when await_ready is true"
    );
    let at = ro.point().unwrap();
    assert_eq!((at.kind(), at.index()), (SuspendKind::Await, 1));
    drop(ro);
    log.assert_each_dropped_once();
    assert_eq!(frames(), (1, 1));
}

#[test]
fn initial_await_suspend_returning_false_resumes_the_body_inside_the_ramp() {
    let log = scenario(Plan { initial_suspend_result: false, ..Plan::default() });
    let ro = simple(counted(&log, "p"));
    let ev = log.take();
    let i = ev.iter().position(|e| e == "initial await_suspend").unwrap();
    assert_eq!(ev[i + 1..i + 3], ["initial await_resume", "drop initial awaiter"]);
    assert!(ev.contains(&"body: start".to_owned()));
    assert_eq!(ro.point().unwrap().kind(), SuspendKind::Await);
    drop(ro);
    log.assert_each_dropped_once();
}

#[test]
fn promise_is_built_with_default_when_no_from_params_matches_the_parameters() {
    let log = scenario(Plan::default());
    let ro = two_params(counted(&log, "p"), counted(&log, "q"));
    assert_eq!(log.events()[1], "construct promise (Default)");
    ro.resume();
    assert!(log.events().contains(&"body: start p q".to_owned()));
    drop(ro);
    log.assert_each_dropped_once();
    assert_eq!(frames(), (1, 1));
}

#[test]
fn final_suspend_always_leaves_the_frame_to_the_owner() {
    let log = scenario(Plan::default());
    let ro = straight(counted(&log, "p"));
    ro.resume();
    assert!(ro.done());
    assert_eq!(frames(), (1, 0), "the frame waits for its owner");
    assert_eq!(ro.point().unwrap().kind(), SuspendKind::Final);
    drop(ro);
    assert_eq!(frames(), (1, 1));
    log.assert_each_dropped_once();
}

#[test]
fn final_suspend_never_makes_a_lazy_frame_destroy_itself_when_it_finishes() {
    let log = scenario(Plan { final_suspends: false, owning: false, ..Plan::default() });
    let ro = straight(counted(&log, "p"));
    ro.resume();
    assert_eq!(frames(), (1, 1), "the frame freed itself");
    assert_eq!(
        log.events_from("return_void"),
        [
            "return_void",
            "drop a",
            "drop p",
            "final_suspend",
            "final await_ready",
            "final await_resume",
            "drop promise",
            "free",
        ]
    );
    drop(ro); // non-owning: does nothing to the (freed) frame
    log.assert_each_dropped_once();
}

#[test]
fn final_suspend_never_with_eager_start_frees_the_frame_before_the_ramp_returns() {
    let log = scenario(Plan { eager: true, final_suspends: false, owning: false, ..Plan::default() });
    let ro = straight(counted(&log, "p"));
    assert_eq!(frames(), (1, 1));
    let ev = log.take();
    assert_eq!(ev.last().unwrap(), "free");
    assert!(ev.contains(&"body: runs".to_owned()));
    drop(ro);
    assert_eq!(log.take(), ["drop return object"]);
    log.assert_each_dropped_once();
}

// ===========================================================================
// co_return and falling off the end: the promise hears first, then locals go
// ===========================================================================

/// A value-returning promise that logs `return_value`.
#[derive(Default)]
struct Valued;
impl Promise for Valued {
    type ReturnObject = coro::UniqueCoroutineHandle<Valued>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = coro::promise::ReturnsValue;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        // SAFETY: sole owner.
        unsafe { coro::UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) }
    }
    fn initial_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn final_suspend(&mut self) -> SuspendAlways {
        ev("final_suspend");
        SuspendAlways
    }
    fn unhandled_exception(&mut self, p: Payload) {
        std::panic::resume_unwind(p)
    }
}
impl coro::promise::ReturnValue<u32> for Valued {
    fn return_value(&mut self, v: u32) {
        ev(format!("return_value {v}"));
    }
}

#[test]
fn co_return_value_calls_return_value_before_dropping_locals_and_parameters() {
    let log = scenario(Plan::default());
    #[coro::coroutine(promise = Valued)]
    fn valued(p: Counted) -> coro::UniqueCoroutineHandle<Valued> {
        let _a = p.log().counted("a");
        let _b = p.log().counted("b");
        co_return!(7)
    }
    let h = valued(counted(&log, "p"));
    // SAFETY: owned, idle.
    unsafe { h.resume() };
    assert_eq!(log.events(), ["return_value 7", "drop b", "drop a", "drop p", "final_suspend"]);
    drop(h);
    log.assert_each_dropped_once();
}

#[test]
fn co_return_void_calls_return_void_before_dropping_locals_and_parameters() {
    let log = scenario(Plan::default());
    #[coro::coroutine]
    fn explicit(p: Counted) -> ProbeRo {
        let _a = p.log().counted("a");
        {
            let _b = p.log().counted("b");
            co_return!();
        }
    }
    let ro = explicit(counted(&log, "p"));
    ro.resume();
    assert_eq!(log.events_from("drop initial awaiter")[1..5], ["return_void", "drop b", "drop a", "drop p"]);
    drop(ro);
    log.assert_each_dropped_once();
}

#[test]
fn falling_off_the_end_calls_return_void_before_dropping_locals() {
    let log = scenario(Plan::default());
    #[coro::coroutine]
    fn falls_off(p: Counted) -> ProbeRo {
        let _a = p.log().counted("a");
        body("end");
    }
    let ro = falls_off(counted(&log, "p"));
    ro.resume();
    assert_eq!(
        log.events_from("body: end"),
        ["body: end", "return_void", "drop a", "drop p", "final_suspend", "final await_ready", "final await_suspend"]
    );
    drop(ro);
    log.assert_each_dropped_once();
}

#[test]
fn falling_off_the_end_calls_return_void_once_and_drops_everything_once() {
    let log = scenario(Plan::default());
    #[coro::coroutine]
    fn falls_off(p: Counted) -> ProbeRo {
        let _a = p.log().counted("a");
        co_await!(pause());
        body("end");
    }
    let ro = falls_off(counted(&log, "p"));
    ro.resume();
    ro.resume();
    assert!(ro.done());
    assert_eq!(log.count("return_void"), 1);
    assert!(log.index_of("return_void") < log.index_of("final_suspend"));
    assert!(log.index_of("drop a") < log.index_of("final_suspend"));
    drop(ro);
    log.assert_each_dropped_once();
}

// ===========================================================================
// Panics up to and including the initial suspend: reach the caller
// ===========================================================================

/// Calls `simple` with a plan that panics at `hook`; checks that the panic
/// reached the caller, that the frame was freed exactly once (or never
/// allocated), and that every Counted was dropped once.
fn ramp_panic_case(hook: Hook, owning: bool) -> Log {
    let log = scenario(Plan { panic_at: Some(hook), owning, ..Plan::default() });
    let p = counted(&log, "p");
    let msg = expect_panic(|| simple(p));
    assert!(msg.contains(&format!("panic in {hook:?}")), "{hook:?}: the caller got {msg:?}");
    let (alloc, freed) = frames();
    assert_eq!(alloc, freed, "{hook:?}: frames allocated vs freed");
    assert!(!log.events().iter().any(|e| e.starts_with("body")));
    assert!(!log.events().iter().any(|e| e.starts_with("unhandled")));
    log.assert_each_dropped_once();
    log
}

#[test]
fn panic_in_allocate_frame_reaches_the_caller_and_drops_the_parameters_once() {
    let log = ramp_panic_case(Hook::Allocate, true);
    assert_eq!(frames(), (0, 0));
    assert_eq!(log.events(), ["allocate", "panic in Allocate", "drop p"]);
}

#[test]
fn panic_in_from_params_promise_constructor_frees_the_frame_and_drops_parameters_once() {
    let log = ramp_panic_case(Hook::Construct, true);
    assert_eq!(frames(), (1, 1));
    assert!(!log.events().contains(&"drop promise".to_owned()));
    assert_eq!(log.count("free"), 1);
}

#[test]
fn panic_in_default_promise_constructor_frees_the_frame_and_drops_parameters_once() {
    let log = scenario(Plan { panic_at: Some(Hook::Construct), ..Plan::default() });
    let (p, q) = (counted(&log, "p"), counted(&log, "q"));
    let msg = expect_panic(|| two_params(p, q));
    assert!(msg.contains("panic in Construct"), "{msg}");
    assert_eq!(frames(), (1, 1));
    assert!(log.events().contains(&"construct promise (Default)".to_owned()));
    assert!(!log.events().contains(&"drop promise".to_owned()));
    log.assert_each_dropped_once();
}

#[test]
fn panic_in_get_return_object_drops_promise_then_parameters_and_frees_the_frame() {
    let log = ramp_panic_case(Hook::GetReturnObject, true);
    assert_eq!(frames(), (1, 1));
    assert_eq!(
        log.events_from("panic in GetReturnObject"),
        ["panic in GetReturnObject", "drop promise", "drop p", "free"]
    );
}

#[test]
fn panic_in_initial_suspend_call_reaches_caller_even_with_an_owning_return_object() {
    let log = ramp_panic_case(Hook::InitialSuspend, true);
    assert_eq!(frames(), (1, 1));
    assert_eq!(log.count("drop return object"), 1);
    assert_eq!(log.count("free"), 1);
}

#[test]
fn panic_in_initial_await_ready_reaches_caller_and_frees_once_with_owning_return_object() {
    let log = ramp_panic_case(Hook::InitialReady, true);
    assert_eq!(frames(), (1, 1));
    assert_eq!(log.count("drop initial awaiter"), 1);
    assert_eq!(log.count("drop return object"), 1);
}

#[test]
fn panic_in_initial_await_suspend_reaches_caller_and_frees_once_with_owning_return_object() {
    let log = ramp_panic_case(Hook::InitialAwaitSuspend, true);
    assert_eq!(frames(), (1, 1));
    assert_eq!(log.count("drop initial awaiter"), 1);
    assert_eq!(log.count("drop return object"), 1);
    assert_eq!(log.events().last().unwrap(), "free");
}

#[test]
fn panic_in_initial_steps_with_a_non_owning_return_object_also_frees_once() {
    for hook in [Hook::GetReturnObject, Hook::InitialSuspend, Hook::InitialReady, Hook::InitialAwaitSuspend] {
        ramp_panic_case(hook, false);
        assert_eq!(frames(), (1, 1), "{hook:?}");
    }
}

#[test]
fn panic_in_initial_await_resume_goes_to_unhandled_exception_not_the_caller() {
    // C++: initial-await-resume-called is set before await_resume runs.
    let log = scenario(Plan { panic_at: Some(Hook::InitialAwaitResume), ..Plan::default() });
    let ro = simple(counted(&log, "p"));
    ro.resume(); // does not panic
    assert!(ro.done());
    let ev = log.events_from("initial await_resume");
    assert_eq!(ev[1], "panic in InitialAwaitResume");
    assert!(ev.contains(&"unhandled_exception: [planned] panic in InitialAwaitResume".to_owned()));
    assert!(!ev.iter().any(|e| e.starts_with("body")));
    assert!(log.index_of("final_suspend") > log.index_of("unhandled_exception: [planned] panic in InitialAwaitResume"));
    drop(ro);
    assert_eq!(frames(), (1, 1));
    log.assert_each_dropped_once();
}

#[test]
fn eager_panic_in_initial_await_resume_goes_to_unhandled_exception_and_ramp_returns() {
    let log = scenario(Plan { eager: true, panic_at: Some(Hook::InitialAwaitResume), ..Plan::default() });
    let ro = simple(counted(&log, "p"));
    assert!(ro.done());
    drop(ro);
    assert_eq!(frames(), (1, 1));
    log.assert_each_dropped_once();
}

// ===========================================================================
// Panics in the body and in unhandled_exception
// ===========================================================================

#[test]
fn panic_in_body_drops_locals_then_calls_unhandled_exception_then_final_suspend() {
    let log = scenario(Plan::default());
    let ro = panicking(counted(&log, "p"));
    ro.resume();
    ro.resume(); // panics inside; caught by the frame
    assert!(ro.done());
    assert_eq!(
        log.events_from("body: panicking"),
        [
            "body: panicking",
            "drop b",
            "drop a",
            "drop p",
            "unhandled_exception: [planned] body panic",
            "final_suspend",
            "final await_ready",
            "final await_suspend",
        ]
    );
    drop(ro);
    assert_eq!(frames(), (1, 1));
    log.assert_each_dropped_once();
}

#[test]
fn rethrowing_unhandled_exception_leaves_coroutine_done_without_final_suspend_and_panics_in_resume() {
    let log = scenario(Plan { rethrow: true, ..Plan::default() });
    let ro = panicking(counted(&log, "p"));
    ro.resume();
    let msg = expect_panic(|| ro.resume());
    assert_eq!(msg, "[planned] body panic", "the original payload");
    assert!(ro.done(), "counts as suspended at the final point");
    assert_eq!(ro.point().unwrap().kind(), SuspendKind::Final);
    assert_eq!(log.count("final_suspend"), 0, "final_suspend not evaluated");
    assert_eq!(log.live(), Vec::<String>::new(), "locals and parameters gone");
    drop(ro);
    assert_eq!(frames(), (1, 1));
    assert_eq!(log.events_from("drop return object"), ["drop return object", "drop promise", "free"]);
    log.assert_each_dropped_once();
}

#[test]
fn rethrowing_unhandled_exception_in_an_eager_coroutine_reaches_the_caller_of_the_ramp() {
    let log = scenario(Plan { eager: true, rethrow: true, ..Plan::default() });

    #[coro::coroutine]
    fn eager_panics(p: Counted) -> ProbeRo {
        let _a = p.log().counted("a");
        panic!("{PLANNED} eager body panic");
    }

    let p = counted(&log, "p");
    let msg = expect_panic(|| eager_panics(p));
    assert_eq!(msg, "[planned] eager body panic");
    // The return object the ramp held was dropped while unwinding, and it
    // destroyed the (done) frame.
    assert_eq!(log.count("final_suspend"), 0);
    assert_eq!(frames(), (1, 1));
    log.assert_each_dropped_once();
}

#[test]
fn panic_in_final_suspend_call_reaches_the_resumer_and_leaves_the_coroutine_done() {
    let log = scenario(Plan { panic_at: Some(Hook::FinalSuspend), ..Plan::default() });
    let ro = straight(counted(&log, "p"));
    let msg = expect_panic(|| ro.resume());
    assert!(msg.contains("panic in FinalSuspend"), "{msg}");
    assert!(ro.done());
    drop(ro);
    assert_eq!(frames(), (1, 1));
    log.assert_each_dropped_once();
}

/// An awaiter whose await_suspend panics, holding a Counted.
struct PanickyAwaiter {
    _c: Counted,
}

impl Awaiter for PanickyAwaiter {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        ev("await_suspend panics");
        if true {
            panic!("{PLANNED} await_suspend panic");
        }
    }
    fn await_resume(self) {
        unreachable!("await_resume after a panicking await_suspend");
    }
}

#[test]
fn panic_in_await_suspend_is_rethrown_at_the_co_await_and_goes_to_unhandled_exception() {
    let log = scenario(Plan::default());

    #[coro::coroutine]
    fn awaits_panicky(p: Counted) -> ProbeRo {
        let log = p.log();
        let _a = log.counted("a");
        co_await!(PanickyAwaiter { _c: log.counted("awaiter") });
        body("after the co_await (must not run)");
    }

    let ro = awaits_panicky(counted(&log, "p"));
    ro.resume(); // does not panic: the frame catches it
    assert!(ro.done());
    assert_eq!(
        log.events_from("await_suspend panics"),
        [
            "await_suspend panics",
            "drop awaiter",
            "drop a",
            "drop p",
            "unhandled_exception: [planned] await_suspend panic",
            "final_suspend",
            "final await_ready",
            "final await_suspend",
        ]
    );
    drop(ro);
    assert_eq!(frames(), (1, 1));
    log.assert_each_dropped_once();
}

#[test]
fn panic_in_await_suspend_of_a_task_reaches_sync_wait_with_the_original_payload() {
    quiet_planned_panics();
    struct Boom;
    impl Awaiter for Boom {
        type Output = u32;
        fn await_ready(&mut self) -> bool {
            false
        }
        unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
            if true {
                panic!("{PLANNED} boom in await_suspend");
            }
        }
        fn await_resume(self) -> u32 {
            0
        }
    }
    #[coro::coroutine]
    fn t() -> Task<u32> {
        let v = co_await!(Boom);
        co_return!(v)
    }
    let msg = expect_panic(|| sync_wait(t()));
    assert_eq!(msg, "[planned] boom in await_suspend");
}

// ===========================================================================
// Resuming a finished coroutine; running coroutine
// ===========================================================================

#[test]
fn resuming_a_done_coroutine_panics_clearly_and_leaves_it_intact_for_destroy() {
    let log = scenario(Plan::default());
    let ro = straight(counted(&log, "p"));
    ro.resume();
    assert!(ro.done());
    let before = log.events();
    let msg = expect_panic(|| ro.resume());
    assert!(msg.contains("final suspend point") && msg.contains("done()"), "unclear message: {msg}");
    assert_eq!(log.events(), before, "the frame was not touched");
    assert!(ro.done());
    drop(ro);
    assert_eq!(frames(), (1, 1));
    log.assert_each_dropped_once();
}

#[test]
fn resuming_a_done_task_job_twice_panics_each_time_without_side_effects() {
    #[coro::coroutine]
    fn one() -> Job<u32> {
        co_return!(1)
    }
    let j = one();
    j.resume();
    assert!(j.done());
    for _ in 0..2 {
        let msg = expect_panic(|| j.resume());
        assert!(msg.contains("final suspend point"), "{msg}");
    }
    assert_eq!(j.into_result(), 1);
}

thread_local! {
    static SELF_HANDLE: Cell<Option<CoroutineHandle>> = const { Cell::new(None) };
}

/// Hands the coroutine its own handle, resuming it at once.
struct GetHandle;
impl Awaiter for GetHandle {
    type Output = CoroutineHandle;
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        SELF_HANDLE.set(Some(h));
        false
    }
    fn await_resume(self) -> CoroutineHandle {
        SELF_HANDLE.take().unwrap()
    }
}

#[test]
fn a_running_coroutine_has_no_suspend_point_and_resuming_it_from_inside_panics() {
    quiet_planned_panics();
    #[coro::coroutine]
    fn introspect() -> Job<String> {
        let me = co_await!(GetHandle);
        // SAFETY: the frame is alive (we are running in it).
        let (point, done) = unsafe { (me.suspend_point(), me.done()) };
        assert!(point.is_none(), "running: no suspend point");
        assert!(!done);
        // SAFETY: the frame is alive; resume checks that it is running.
        unsafe { me.resume() };
        co_return!("unreachable".to_owned())
    }
    let j = introspect();
    j.resume();
    assert!(j.done());
    let msg = j.panic_message().expect("the resume panicked inside the body");
    assert!(msg.contains("running"), "{msg}");
}

// ===========================================================================
// Destroy at every kind of suspension point
// ===========================================================================

/// Resumes `ro` `n` times, clears the log, destroys it, returns the events.
fn destroy_after(ro: ProbeRo, n: usize, log: &Log) -> Vec<String> {
    for _ in 0..n {
        ro.resume();
    }
    assert!(!ro.done());
    log.take();
    drop(ro);
    log.take()
}

#[test]
fn destroy_at_initial_suspend_drops_initial_awaiter_then_promise_then_parameters() {
    let log = scenario(Plan::default());
    let ro = two_params(counted(&log, "p"), counted(&log, "q"));
    let ev = destroy_after(ro, 0, &log);
    // C++: at the initial point the promise is destroyed before the
    // parameter copies (whose relative order C++ leaves open).
    assert_eq!(ev[..3], ["drop return object", "drop initial awaiter", "drop promise"]);
    let mut params = ev[3..5].to_vec();
    params.sort();
    assert_eq!(params, ["drop p", "drop q"]);
    assert_eq!(ev[5..], ["free"]);
    assert!(!log.events().iter().any(|e| e.starts_with("body")));
    log.assert_each_dropped_once();
    assert_eq!(frames(), (1, 1));
}

#[test]
fn destroy_while_suspended_in_loop_drops_live_locals_once() {
    let log = scenario(Plan::default());
    #[coro::coroutine]
    fn looping(p: Counted) -> ProbeRo {
        let log = p.log();
        let _outer = log.counted("outer");
        for i in 0..10 {
            let _iter = log.counted(format!("iter{i}"));
            co_await!(pause());
        }
    }
    let ro = looping(counted(&log, "p"));
    // initial -> iteration 0 -> iteration 1 -> iteration 2
    let ev = destroy_after(ro, 3, &log);
    assert_eq!(ev, ["drop return object", "drop iter2", "drop outer", "drop p", "drop promise", "free"]);
    assert_eq!(log.created(), 6); // p, initial awaiter, outer, iter0..iter2
    log.assert_each_dropped_once();
}

#[test]
fn destroy_inside_nested_blocks_drops_only_locals_already_created_in_reverse_order() {
    let log = scenario(Plan::default());
    #[coro::coroutine]
    fn nested(p: Counted) -> ProbeRo {
        let log = p.log();
        let _a = log.counted("a");
        {
            let _b = log.counted("b");
            {
                let _c = log.counted("c");
                co_await!(pause());
                let _d = log.counted("d");
                co_await!(pause());
            }
            let _e = log.counted("e");
            co_await!(pause());
        }
        let _f = log.counted("f");
        co_await!(pause());
    }
    for (resumes, expect) in [
        (1, vec!["c", "b", "a", "p"]),
        (2, vec!["d", "c", "b", "a", "p"]),
        (3, vec!["e", "b", "a", "p"]),
        (4, vec!["f", "a", "p"]),
    ] {
        let log = scenario(Plan::default());
        let ro = nested(counted(&log, "p"));
        let ev = destroy_after(ro, resumes, &log);
        let mut want: Vec<String> = vec!["drop return object".into()];
        want.extend(expect.iter().map(|n| format!("drop {n}")));
        want.extend(["drop promise".into(), "free".into()]);
        assert_eq!(ev, want, "after {resumes} resumes");
        log.assert_each_dropped_once();
    }
    drop(log);
}

#[test]
fn destroy_inside_a_match_arm_drops_the_arm_locals_and_the_scrutinee_temporary() {
    #[coro::coroutine]
    fn matching(p: Counted, which: u32) -> ProbeRo {
        let log = p.log();
        // The temporary `Counted` lives until the end of the match.
        match (log.counted("scrutinee"), which).1 {
            0 => {
                let _x = log.counted("x");
                co_await!(pause());
            }
            _ => {
                let _y = log.counted("y");
                co_await!(pause());
                let _z = log.counted("z");
                co_await!(pause());
            }
        }
    }
    for (which, resumes, expect) in [
        (0, 1, vec!["x", "scrutinee", "p"]),
        (1, 1, vec!["y", "scrutinee", "p"]),
        (1, 2, vec!["z", "y", "scrutinee", "p"]),
    ] {
        let log = scenario(Plan::default());
        let ro = matching(counted(&log, "p"), which);
        let ev = destroy_after(ro, resumes, &log);
        let mut want: Vec<String> = vec!["drop return object".into()];
        want.extend(expect.iter().map(|n| format!("drop {n}")));
        want.extend(["drop promise".into(), "free".into()]);
        assert_eq!(ev, want, "arm {which}, {resumes} resumes");
        log.assert_each_dropped_once();
    }
}

#[test]
fn destroy_with_borrowed_locals_and_a_parked_awaiter_drops_each_once() {
    let log = scenario(Plan::default());
    #[coro::coroutine]
    fn borrowing(p: Counted) -> ProbeRo {
        let log = p.log();
        let v = [log.counted("v0"), log.counted("v1"), log.counted("v2")];
        let tail = &v[1..];
        let first = &v[0];
        // The awaiter itself holds a Counted and a borrow of a local.
        co_await!(Pause((log.counted("awaiter"), tail)));
        body(first.name());
    }
    let ro = borrowing(counted(&log, "p"));
    let ev = destroy_after(ro, 1, &log);
    assert_eq!(
        ev,
        ["drop return object", "drop awaiter", "drop v0", "drop v1", "drop v2", "drop p", "drop promise", "free"]
    );
    log.assert_each_dropped_once();
}

#[test]
fn destroy_with_temporaries_of_the_suspended_statement_drops_them_once() {
    let log = scenario(Plan::default());
    fn keep(_: &Counted, v: u32) -> u32 {
        v
    }
    #[coro::coroutine]
    fn temporaries(p: Counted) -> ProbeRo {
        let log = p.log();
        let _a = log.counted("a");
        let _sum = keep(&log.counted("temporary"), co_await!(Pause(1)));
        body("unreachable");
    }
    let ro = temporaries(counted(&log, "p"));
    let ev = destroy_after(ro, 1, &log);
    assert_eq!(ev, ["drop return object", "drop temporary", "drop a", "drop p", "drop promise", "free"]);
    log.assert_each_dropped_once();
}

#[test]
fn destroy_at_final_suspend_drops_only_the_promise() {
    let log = scenario(Plan::default());
    let ro = simple(counted(&log, "p"));
    ro.resume();
    ro.resume();
    assert!(ro.done());
    log.take();
    drop(ro);
    assert_eq!(log.take(), ["drop return object", "drop promise", "free"]);
    log.assert_each_dropped_once();
}

#[test]
fn destroy_through_a_raw_handle_of_a_non_owning_return_object_frees_once() {
    let log = scenario(Plan { owning: false, ..Plan::default() });
    let ro = simple(counted(&log, "p"));
    ro.resume();
    log.take();
    ro.destroy();
    assert_eq!(log.take(), ["drop b", "drop a", "drop p", "drop promise", "free", "drop return object"]);
    log.assert_each_dropped_once();
}

// ===========================================================================
// Suspension-point records
// ===========================================================================

const POINTS_FN_LINE: u32 = line!() + 2;
#[coro::coroutine]
fn points(p: Counted) -> ProbeRo {
    co_yield!(line!());
    let _x = co_await!(Pause(line!()));
    for _ in 0..2 {
        co_yield!(line!());
    }
    drop(p);
} // the final point's line
const POINTS_END_LINE: u32 = line!() - 1;

#[test]
fn suspend_point_reports_kind_index_line_and_function_at_every_point() {
    let log = scenario(Plan::default());
    let ro = points(counted(&log, "p"));
    let at = ro.point().unwrap();
    assert_eq!((at.kind(), at.index(), at.line(), at.function()), (SuspendKind::Initial, 0, POINTS_FN_LINE, "points"));
    assert_eq!(at.file(), file!());

    let mut seen = Vec::new();
    loop {
        ro.resume();
        let at = ro.point().unwrap();
        seen.push((at.kind(), at.index(), at.line()));
        assert_eq!(at.function(), "points");
        assert_eq!(at.file(), file!());
        assert!(at.column() > 0);
        if ro.done() {
            break;
        }
    }
    let l = POINTS_FN_LINE;
    assert_eq!(
        seen,
        [
            (SuspendKind::Yield, 1, l + 1),
            (SuspendKind::Await, 2, l + 2),
            (SuspendKind::Yield, 3, l + 4),
            (SuspendKind::Yield, 3, l + 4),
            (SuspendKind::Final, 4, POINTS_END_LINE),
        ]
    );
    // The yielded values were the lines too.
    let yields: Vec<String> = log.events().into_iter().filter(|e| e.starts_with("yield_value")).collect();
    assert_eq!(
        yields,
        [format!("yield_value {}", l + 1), format!("yield_value {}", l + 4), format!("yield_value {}", l + 4)]
    );
    drop(ro);
    log.assert_each_dropped_once();
}

#[test]
fn suspend_point_display_names_kind_index_function_and_location() {
    let log = scenario(Plan::default());
    let ro = points(counted(&log, "p"));
    ro.resume();
    let s = ro.point().unwrap().to_string();
    assert!(s.starts_with("co_yield #1 in points at "), "{s}");
    assert!(s.contains(&format!("{}:{}:", file!(), POINTS_FN_LINE + 1)), "{s}");
    drop(ro);
}

#[test]
fn nested_co_awaits_number_outer_before_inner_in_source_order() {
    #[coro::coroutine]
    fn nested_points() -> Job<u32> {
        let v = co_await!(Pause(co_await!(Pause(5))));
        co_return!(v)
    }
    let j = nested_points();
    j.resume();
    // The inner co_await runs (and suspends) first.
    let inner = j.suspend_point().unwrap();
    j.resume();
    let outer = j.suspend_point().unwrap();
    assert_eq!((outer.index(), inner.index()), (1, 2));
    assert_eq!(j.run(), 5);
}

// ===========================================================================
// noop_coroutine and the three await_suspend results
// ===========================================================================

#[test]
fn noop_coroutine_is_never_done_and_resume_and_destroy_do_nothing() {
    let a = noop_coroutine();
    let b = noop_coroutine();
    assert_eq!(a, b);
    assert_eq!(a.address(), b.address());
    // SAFETY: the no-op coroutine may be resumed and destroyed any number of times.
    unsafe {
        assert!(!a.done());
        a.resume();
        a.destroy();
        a.resume();
        assert!(!a.done());
    }
}

/// Logs each step; `await_suspend` returns what `result` gives.
struct Step<S: FnMut(CoroutineHandle) -> R, R: AwaitSuspend> {
    ready: bool,
    result: S,
    log: Log,
    name: &'static str,
}

impl<S: FnMut(CoroutineHandle) -> R, R: AwaitSuspend> Awaiter for Step<S, R> {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        self.log.push(format!("{} await_ready", self.name));
        self.ready
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        self.log.push(format!("{} await_suspend", self.name));
        (self.result)(h)
    }
    fn await_resume(self) {
        self.log.push(format!("{} await_resume", self.name));
    }
}

fn step<S: FnMut(CoroutineHandle) -> R, R: AwaitSuspend>(
    log: &Log,
    name: &'static str,
    ready: bool,
    result: S,
) -> Step<S, R> {
    Step { ready, result, log: log.clone(), name }
}

#[test]
fn await_ready_true_skips_await_suspend_and_does_not_suspend() {
    #[coro::coroutine]
    fn ready_one(log: Log) -> Job<()> {
        co_await!(step(&log, "a", true, |_| ()));
        log.push("after");
        co_return!(())
    }
    let log = Log::new();
    let (_, resumes) = ready_one(log.clone()).run_counting();
    assert_eq!(resumes, 1);
    assert_eq!(log.events(), ["a await_ready", "a await_resume", "after"]);
}

#[test]
fn await_suspend_returning_false_resumes_immediately_and_true_stays_suspended() {
    #[coro::coroutine]
    fn bools(log: Log) -> Job<()> {
        co_await!(step(&log, "false", false, |_| false));
        log.push("after false");
        co_await!(step(&log, "true", false, |_| true));
        log.push("after true");
        co_await!(step(&log, "void", false, |_| ()));
        log.push("after void");
        co_return!(())
    }
    let log = Log::new();
    let j = bools(log.clone());
    j.resume();
    assert_eq!(
        log.take(),
        [
            "false await_ready",
            "false await_suspend",
            "false await_resume",
            "after false",
            "true await_ready",
            "true await_suspend",
        ]
    );
    assert_eq!(j.suspend_point().unwrap().index(), 2);
    j.resume();
    assert_eq!(log.take(), ["true await_resume", "after true", "void await_ready", "void await_suspend"]);
    j.resume();
    assert_eq!(log.take(), ["void await_resume", "after void"]);
    assert!(j.done());
}

#[test]
fn symmetric_transfer_to_self_resumes_the_coroutine_without_returning_to_the_resumer() {
    #[coro::coroutine]
    fn to_self(log: Log) -> Job<u32> {
        let mut n = 0;
        for _ in 0..100 {
            co_await!(step(&log, "self", false, |me| me));
            n += 1;
        }
        co_return!(n)
    }
    let log = Log::new();
    let (n, resumes) = to_self(log.clone()).run_counting();
    assert_eq!((n, resumes), (100, 1));
    assert_eq!(log.count("self await_resume"), 100);
}

#[test]
fn symmetric_transfer_to_noop_coroutine_returns_to_the_resumer() {
    #[coro::coroutine]
    fn to_noop(log: Log) -> Job<()> {
        co_await!(step(&log, "noop", false, |_| noop_coroutine()));
        log.push("after");
        co_return!(())
    }
    let log = Log::new();
    let j = to_noop(log.clone());
    j.resume();
    assert!(!j.done());
    assert_eq!(j.suspend_point().unwrap().kind(), SuspendKind::Await);
    assert_eq!(log.take(), ["noop await_ready", "noop await_suspend"]);
    j.resume();
    assert_eq!(log.take(), ["noop await_resume", "after"]);
    assert!(j.done());
}

#[test]
fn symmetric_transfer_to_another_coroutine_runs_it_until_it_suspends_then_returns_to_the_resumer() {
    #[coro::coroutine]
    fn other(log: Log) -> Job<()> {
        log.push("other runs");
        co_await!(pause());
        log.push("other resumed");
        co_return!(())
    }
    #[coro::coroutine]
    fn hands_off(log: Log, to: CoroutineHandle) -> Job<()> {
        log.push("A before");
        co_await!(TransferTo(to));
        log.push("A after");
        co_return!(())
    }
    let log = Log::new();
    let b = other(log.clone());
    let a = hands_off(log.clone(), b.handle());
    a.resume();
    assert_eq!(log.take(), ["A before", "other runs"]);
    assert!(!a.done() && !b.done());
    a.resume();
    assert_eq!(log.take(), ["A after"]);
    b.resume();
    assert_eq!(log.take(), ["other resumed"]);
    assert!(a.done() && b.done());
}

// ===========================================================================
// await_transform, IntoAwaiter at the initial/final points are covered in
// lowering.rs; here: the initial awaiter may be any IntoAwaiter.
// ===========================================================================

#[derive(Default)]
struct LazyVia;
/// Not an awaiter itself: an `operator co_await` turns it into one.
struct Start;
impl IntoAwaiter for Start {
    type Awaiter = SuspendAlways;
    fn into_awaiter(self) -> SuspendAlways {
        SuspendAlways
    }
}
impl Promise for LazyVia {
    type ReturnObject = coro::UniqueCoroutineHandle<LazyVia>;
    type InitialSuspend = Start;
    type FinalSuspend = Start;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        // SAFETY: sole owner.
        unsafe { coro::UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) }
    }
    fn initial_suspend(&mut self) -> Start {
        Start
    }
    fn final_suspend(&mut self) -> Start {
        Start
    }
    fn unhandled_exception(&mut self, p: Payload) {
        std::panic::resume_unwind(p)
    }
}
impl ReturnVoid for LazyVia {
    fn return_void(&mut self) {}
}

#[test]
fn initial_and_final_suspend_may_return_an_into_awaiter_rather_than_an_awaiter() {
    #[coro::coroutine(promise = LazyVia)]
    fn via(log: Log) -> coro::UniqueCoroutineHandle<LazyVia> {
        log.push("ran");
    }
    let log = Log::new();
    let h = via(log.clone());
    assert!(log.events().is_empty());
    // SAFETY: owned, idle.
    unsafe { h.resume() };
    assert!(h.done());
    assert_eq!(log.events(), ["ran"]);
}

// ===========================================================================
// Symmetric transfer in constant stack
// ===========================================================================

#[coro::coroutine]
fn ping(n: u32, partner: &'static std::sync::OnceLock<CoroutineHandle>) -> Job<u32> {
    let mut count = 0;
    for _ in 0..n {
        co_await!(TransferTo(*partner.get().unwrap()));
        count += 1;
    }
    co_return!(count)
}

#[test]
fn a_million_symmetric_transfers_between_two_coroutines_run_in_constant_stack() {
    on_small_stack(|| {
        const N: u32 = 500_000; // each side transfers N times: 1,000,000 in all
                                // Statics rather than leaked boxes, so memcheck sees no leak.
        static TO_B: std::sync::OnceLock<CoroutineHandle> = std::sync::OnceLock::new();
        static TO_A: std::sync::OnceLock<CoroutineHandle> = std::sync::OnceLock::new();
        let (to_b, to_a) = (&TO_B, &TO_A);
        let a = ping(N, to_b);
        let b = ping(N, to_a);
        to_b.set(b.handle()).unwrap();
        to_a.set(a.handle()).unwrap();
        a.resume(); // a -> b -> a -> ... until a finishes
        assert!(a.done());
        assert_eq!(a.into_result(), N);
        // b made N - 1 full rounds and is parked in its N-th transfer.
        assert!(!b.done());
        b.resume();
        assert!(b.done());
        assert_eq!(b.into_result(), N);
    });
}

// A minimal task built from scratch (not coro's Task): awaiting it transfers
// to it, and its final awaiter transfers back to the awaiting coroutine.
struct Chain {
    h: coro::UniqueCoroutineHandle<ChainPromise>,
}
#[derive(Default)]
struct ChainPromise {
    value: u64,
    continuation: Option<CoroutineHandle>,
}
struct ChainFinal(Option<CoroutineHandle>);
impl Awaiter for ChainFinal {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        self.0.unwrap_or_else(noop_coroutine)
    }
    fn await_resume(self) {}
}
impl Promise for ChainPromise {
    type ReturnObject = Chain;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = ChainFinal;
    type Return = coro::promise::ReturnsValue;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> Chain {
        Chain {
            // SAFETY: sole owner.
            h: unsafe { coro::UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) },
        }
    }
    fn initial_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn final_suspend(&mut self) -> ChainFinal {
        ChainFinal(self.continuation.take())
    }
    fn unhandled_exception(&mut self, p: Payload) {
        std::panic::resume_unwind(p)
    }
}
impl coro::promise::ReturnValue<u64> for ChainPromise {
    fn return_value(&mut self, v: u64) {
        self.value = v;
    }
}
impl CoroutineTraits for Chain {
    type Promise = ChainPromise;
}
struct ChainAwaiter(Chain);
impl IntoAwaiter for Chain {
    type Awaiter = ChainAwaiter;
    fn into_awaiter(self) -> ChainAwaiter {
        ChainAwaiter(self)
    }
}
impl Awaiter for ChainAwaiter {
    type Output = u64;
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, me: CoroutineHandle) -> impl AwaitSuspend {
        let child = self.0.h.handle();
        // SAFETY: the child is suspended at its initial point, owned here.
        unsafe { child.promise() }.continuation = Some(me);
        child
    }
    fn await_resume(self) -> u64 {
        assert!(self.0.h.done());
        // SAFETY: done and owned.
        unsafe { self.0.h.promise() }.value
    }
}

#[coro::coroutine]
fn chain_depth(n: u64) -> Chain {
    if n == 0 {
        co_return!(0)
    }
    let below = co_await!(chain_depth(n - 1));
    co_return!(below + 1)
}

#[test]
fn recursion_100_000_deep_through_custom_transferring_awaiters_runs_in_constant_stack() {
    on_small_stack(|| {
        let root = chain_depth(100_000);
        // SAFETY: owned and idle.
        unsafe { root.h.resume() };
        assert!(root.h.done());
        // SAFETY: done.
        assert_eq!(unsafe { root.h.promise() }.value, 100_000);
    });
}

#[test]
fn recursion_100_000_deep_of_library_tasks_runs_in_constant_stack() {
    #[coro::coroutine]
    fn depth(n: u64) -> Task<u64> {
        if n == 0 {
            co_return!(0)
        }
        let below = co_await!(depth(n - 1));
        co_return!(below + 1)
    }
    on_small_stack(|| assert_eq!(sync_wait(depth(100_000)), 100_000));
}

#[test]
fn a_million_awaits_of_transferring_awaiters_in_one_task_run_in_constant_stack() {
    #[coro::coroutine]
    fn many() -> Task<u64> {
        let mut n = 0u64;
        for i in 0..1_000_000u64 {
            n += match i % 3 {
                0 => co_await!(common::TransferToSelf(1)),
                1 => co_await!(common::SuspendFalse(1)),
                _ => co_await!(Ready(1)),
            };
        }
        co_return!(n)
    }
    on_small_stack(|| assert_eq!(sync_wait(many()), 1_000_000));
}

#[test]
fn a_panic_unwinding_through_run_does_not_corrupt_other_coroutines() {
    // After a rethrown panic, other coroutines on the thread keep working.
    let log = scenario(Plan { rethrow: true, ..Plan::default() });
    let bad = panicking(counted(&log, "p"));
    bad.resume();
    let r = catch_unwind(AssertUnwindSafe(|| bad.resume()));
    assert!(r.is_err());
    #[coro::coroutine]
    fn fine2() -> Task<u32> {
        co_return!(co_await!(common::SuspendFalse(7)))
    }
    assert_eq!(sync_wait(fine2()), 7);
    drop(bad);
    log.assert_each_dropped_once();
}

// ===========================================================================
// More lifecycle corners
// ===========================================================================

#[test]
fn a_panicking_generator_propagates_from_next_and_is_finished_afterwards() {
    quiet_planned_panics();
    #[coro::coroutine]
    fn gen(c: Counted) -> coro::Generator<u32> {
        let _l = c.log().counted("local");
        co_yield!(1);
        panic!("{PLANNED} generator failed");
    }
    let log = Log::new();
    let mut g = gen(log.counted("param"));
    assert_eq!(g.next(), Some(1));
    let msg = expect_panic(|| g.next());
    assert_eq!(msg, "[planned] generator failed");
    assert!(g.done());
    assert_eq!(g.next(), None, "a finished generator yields nothing more");
    drop(g);
    log.assert_each_dropped_once();
}

#[test]
fn destroying_a_parent_suspended_inside_an_awaited_child_task_destroys_both_once() {
    #[coro::coroutine]
    fn child(c: Counted) -> Task<u32> {
        let _l = c.log().counted("child local");
        co_await!(pause());
        co_return!(1)
    }
    #[coro::coroutine]
    fn parent(c: Counted) -> Job<u32> {
        let log = c.log();
        let _l = log.counted("parent local");
        let v = co_await!(child(log.counted("child param")));
        co_return!(v)
    }
    let log = Log::new();
    let j = parent(log.counted("parent param"));
    j.resume(); // parent -> child (transfer) -> child pauses
    assert!(!j.done());
    assert_eq!(log.live().len(), 4);
    drop(j);
    assert_eq!(log.drop_order(), ["child local", "child param", "parent local", "parent param"]);
    log.assert_each_dropped_once();
}

/// Panics when dropped.
struct PanicOnDrop(#[allow(dead_code)] Counted);
impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        panic!("{PLANNED} destructor panic");
    }
}

#[test]
fn a_panicking_local_destructor_during_destroy_still_drops_the_rest_and_frees_once() {
    let log = scenario(Plan::default());
    #[coro::coroutine]
    fn fragile_local(p: Counted) -> ProbeRo {
        let log = p.log();
        let _a = log.counted("a");
        let _bomb = PanicOnDrop(log.counted("bomb"));
        let _c = log.counted("c");
        co_await!(pause());
    }
    let ro = fragile_local(counted(&log, "p"));
    ro.resume();
    let msg = expect_panic(|| drop(ro));
    assert_eq!(msg, "[planned] destructor panic");
    assert_eq!(frames(), (1, 1), "the frame is freed anyway");
    assert_eq!(log.count("drop promise"), 1);
    log.assert_each_dropped_once();
}

thread_local! {
    static INSIDE: Cell<bool> = const { Cell::new(false) };
}

/// Resumes (or destroys) the coroutine from inside `await_suspend`, then
/// returns "stay suspended" — legal in C++, since the coroutine is already
/// suspended when `await_suspend` runs.
struct ActInside {
    destroy: bool,
}
impl Awaiter for ActInside {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        let destroy = self.destroy;
        INSIDE.set(true);
        // SAFETY: the coroutine is suspended; nobody else resumes or
        // destroys it. `self` is not used after this call.
        unsafe {
            if destroy {
                h.destroy()
            } else {
                h.resume()
            }
        }
        INSIDE.set(false);
    }
    fn await_resume(self) {
        ev(format!("resumed inside await_suspend: {}", INSIDE.get()));
    }
}

#[test]
fn await_suspend_may_resume_the_coroutine_to_completion_before_returning() {
    let log = scenario(Plan { final_suspends: false, owning: false, ..Plan::default() });
    #[coro::coroutine]
    fn resumed_inside(p: Counted) -> ProbeRo {
        let _a = p.log().counted("a");
        co_await!(ActInside { destroy: false });
        body("after");
        co_return!();
    }
    let ro = resumed_inside(counted(&log, "p"));
    ro.resume();
    assert!(log.events().contains(&"resumed inside await_suspend: true".to_owned()));
    assert_eq!(frames(), (1, 1), "finished and freed itself inside await_suspend");
    drop(ro);
    log.assert_each_dropped_once();
}

#[test]
fn await_suspend_may_destroy_the_coroutine_before_returning() {
    let log = scenario(Plan { owning: false, ..Plan::default() });
    #[coro::coroutine]
    fn destroyed_inside(p: Counted) -> ProbeRo {
        let _a = p.log().counted("a");
        co_await!(ActInside { destroy: true });
        body("unreachable");
    }
    let ro = destroyed_inside(counted(&log, "p"));
    ro.resume();
    assert_eq!(frames(), (1, 1));
    assert!(!log.events().contains(&"body: unreachable".to_owned()));
    drop(ro);
    log.assert_each_dropped_once();
}

#[test]
fn awaiters_are_dropped_exactly_once_on_the_normal_path() {
    #[coro::coroutine]
    fn awaits_counted(c: Counted) -> Job<usize> {
        let log = c.log();
        let mut n = 0;
        for i in 0..3 {
            let got = co_await!(Pause(log.counted(format!("awaited {i}"))));
            n += got.name().len();
            let _ = co_await!(Ready(log.counted(format!("ready {i}"))));
            co_await!(common::SuspendFalse(()));
        }
        co_return!(n)
    }
    let log = Log::new();
    assert_eq!(awaits_counted(log.counted("p")).run(), 3 * "awaited 0".len());
    assert_eq!(log.created(), 7);
    log.assert_each_dropped_once();
}

// ===========================================================================
// Frame layout: alignment, and the ramp's stack use
// ===========================================================================

#[repr(align(4096))]
struct Page([u8; 4096]);

#[repr(C, align(256))]
#[derive(Default)]
struct AlignedPromise {
    value: u64,
}

impl Promise for AlignedPromise {
    type ReturnObject = coro::UniqueCoroutineHandle<AlignedPromise>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = coro::promise::ReturnsValue;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        assert_eq!(self as *mut Self as usize % 256, 0, "promise misaligned");
        // SAFETY: sole owner.
        unsafe { coro::UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) }
    }
    fn initial_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn final_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn unhandled_exception(&mut self, p: Payload) {
        std::panic::resume_unwind(p)
    }
}

impl coro::promise::ReturnValue<u64> for AlignedPromise {
    fn return_value(&mut self, v: u64) {
        self.value = v;
    }
}

#[test]
fn over_aligned_promises_and_locals_are_aligned_in_the_frame() {
    #[coro::coroutine(promise = AlignedPromise)]
    fn aligned() -> coro::UniqueCoroutineHandle<AlignedPromise> {
        let mut page = Page([0; 4096]);
        co_await!(pause());
        let addr = &page as *const Page as usize;
        page.0[1] = 1;
        co_return!((addr % 4096) as u64 + page.0[1] as u64)
    }
    for _ in 0..4 {
        let mut h = aligned();
        assert_eq!(h.handle().address() as usize % 256, 0);
        // SAFETY: owned, idle.
        unsafe {
            h.resume();
            h.resume();
        }
        assert!(h.done());
        // SAFETY: done, owned.
        assert_eq!(unsafe { h.promise_mut() }.value, 1, "local misaligned");
    }
}

/// Env var that turns the helper below into the real probe (in a child process).
const BIG_FRAME_PROBE: &str = "CORO_TEST_BIG_FRAME_PROBE";

#[coro::coroutine]
fn big_frame() -> Task<u32> {
    let mut buffer = [0u8; 1 << 20];
    buffer[7] = co_await!(common::SuspendFalse(3)) as u8;
    co_return!(buffer.iter().map(|&b| b as u32).sum())
}

/// Helper for the test below: only does something when run as a child
/// process with the probe variable set (a stack overflow aborts the process,
/// so it cannot be caught in-process).
#[test]
fn helper_creates_a_coroutine_with_a_1_mib_frame_on_a_256_kib_stack() {
    if std::env::var_os(BIG_FRAME_PROBE).is_none() {
        return;
    }
    on_small_stack(|| assert_eq!(sync_wait(big_frame()), 3));
}

#[test]
#[ignore = "known limitation (README): Rust has no placement construction, so in debug builds \
            the body is built on the caller's stack before it moves into the frame"]
fn calling_a_coroutine_with_a_large_frame_does_not_need_that_much_stack() {
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "helper_creates_a_coroutine_with_a_1_mib_frame_on_a_256_kib_stack", "--test-threads=1"])
        .env(BIG_FRAME_PROBE, "1")
        .output()
        .expect("re-run this test binary");
    assert!(out.status.success(), "child failed ({}): {}", out.status, String::from_utf8_lossy(&out.stderr));
}

/// Panics in `await_ready` or `await_resume`, per `which`.
struct PanicsIn {
    which: &'static str,
    _c: Counted,
}

impl Awaiter for PanicsIn {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        if self.which == "await_ready" {
            panic!("{PLANNED} in await_ready");
        }
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {}
    fn await_resume(self) {
        if self.which == "await_resume" {
            panic!("{PLANNED} in await_resume");
        }
    }
}

#[test]
fn panics_in_await_ready_and_await_resume_in_the_body_go_to_unhandled_exception() {
    #[coro::coroutine]
    fn body_awaits(p: Counted, which: &'static str) -> ProbeRo {
        let log = p.log();
        let _a = log.counted("a");
        co_await!(PanicsIn { which, _c: log.counted("awaiter") });
        body("unreachable");
    }
    for which in ["await_ready", "await_resume"] {
        let log = scenario(Plan::default());
        let ro = body_awaits(counted(&log, "p"), which);
        ro.resume();
        if which == "await_resume" {
            assert!(!ro.done());
            ro.resume();
        }
        assert!(ro.done());
        let handled = format!("unhandled_exception: [planned] in {which}");
        assert!(log.index_of("drop awaiter") < log.index_of(&handled), "{which}: {:?}", log.events());
        assert!(log.index_of("drop a") < log.index_of(&handled));
        assert!(!log.events().contains(&"body: unreachable".to_owned()));
        drop(ro);
        assert_eq!(frames(), (1, 1));
        log.assert_each_dropped_once();
    }
}

// ---------------------------------------------------------------------------
// Async backtraces
// ---------------------------------------------------------------------------

#[coro::coroutine]
fn bt_leaf() -> Task<coro::handle::AsyncBacktrace> {
    let bt = co_await!(coro::handle::CurrentBacktrace);
    co_return!(bt)
}

#[coro::coroutine]
fn bt_middle(depth: u32) -> Task<coro::handle::AsyncBacktrace> {
    let bt = if depth == 0 { co_await!(bt_leaf()) } else { co_await!(bt_middle(depth - 1)) };
    co_return!(bt)
}

#[test]
fn an_async_backtrace_lists_every_awaiting_task_innermost_first_with_its_line() {
    let bt = sync_wait(bt_middle(2));
    let frames: Vec<(&str, coro::handle::SuspendKind, u32)> =
        bt.frames().iter().map(|p| (p.function(), p.kind(), p.index())).collect();
    assert_eq!(
        frames,
        [
            ("bt_leaf", coro::handle::SuspendKind::Await, 1),
            ("bt_middle", coro::handle::SuspendKind::Await, 1),
            ("bt_middle", coro::handle::SuspendKind::Await, 2),
            ("bt_middle", coro::handle::SuspendKind::Await, 2),
        ]
    );
    assert!(bt.frames().iter().all(|p| p.file().ends_with("lifecycle.rs") && p.line() > 0));
    let text = bt.to_string();
    assert!(text.starts_with("#0 co_await #1 in bt_leaf at "), "{text}");
    assert_eq!(text.lines().count(), 4, "{text}");
}

// ---------------------------------------------------------------------------
// An owner dropped while the ramp unwinds
// ---------------------------------------------------------------------------

thread_local! {
    static OWNER_FRAMES: std::cell::Cell<(u32, u32)> = const { std::cell::Cell::new((0, 0)) };
}

/// Builds an owning handle in `get_return_object`, then panics: the owner is
/// dropped while the ramp unwinds and must not free the frame under it.
#[derive(Default)]
struct OwnsThenPanics;

impl Promise for OwnsThenPanics {
    type ReturnObject = coro::UniqueCoroutineHandle<OwnsThenPanics>;
    type InitialSuspend = coro::SuspendAlways;
    type FinalSuspend = coro::SuspendAlways;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
        // SAFETY: the wrapper owns the frame (until the panic below drops it).
        let owner = unsafe { coro::UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) };
        if OWNER_FRAMES.get().0 > 0 {
            std::panic::resume_unwind(Box::new("get_return_object gives up"));
        }
        owner
    }
    fn initial_suspend(&mut self) -> coro::SuspendAlways {
        coro::SuspendAlways
    }
    fn final_suspend(&mut self) -> coro::SuspendAlways {
        coro::SuspendAlways
    }
    fn unhandled_exception(&mut self, p: coro::promise::Payload) {
        std::panic::resume_unwind(p)
    }
    fn allocate_frame(layout: std::alloc::Layout) -> Option<coro::promise::FrameMemory> {
        let (a, f) = OWNER_FRAMES.get();
        OWNER_FRAMES.set((a + 1, f));
        coro::promise::FrameMemory::global(layout)
    }
    unsafe fn deallocate_frame(ptr: std::ptr::NonNull<u8>, layout: std::alloc::Layout) {
        let (a, f) = OWNER_FRAMES.get();
        OWNER_FRAMES.set((a, f + 1));
        // SAFETY: allocated by `FrameMemory::global` with this layout.
        unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
    }
}

impl coro::promise::ReturnVoid for OwnsThenPanics {
    fn return_void(&mut self) {}
}

#[coro::coroutine(promise = OwnsThenPanics)]
fn owned_then_panics(_c: Counted) -> coro::UniqueCoroutineHandle<OwnsThenPanics> {}

#[test]
fn an_owner_dropped_while_get_return_object_unwinds_does_not_free_the_frame_under_the_ramp() {
    let log = Log::new();
    let r = std::panic::catch_unwind(AssertUnwindSafe(|| owned_then_panics(log.counted("param"))));
    assert!(r.is_err(), "the panic reaches the caller");
    assert_eq!(OWNER_FRAMES.get(), (1, 1), "one frame, freed exactly once");
    log.assert_each_dropped_once();
    assert!(log.live().is_empty());
}
