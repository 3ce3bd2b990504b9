//! The Rust side of the shared tracing vocabulary (mirror of
//! `../cpp/trace.hpp`): a per-thread trace sink, traced parameters, locals,
//! awaiters, and the generic promises most scenarios use.
//!
//! Every event is one line in the sink, worded exactly as the C++ program
//! prints it. Exceptions are panics carrying a [`Boom`] payload, raised with
//! `std::panic::resume_unwind`, which does not run the panic hook: the test
//! output stays clean without touching the process-wide hook.

use std::alloc::Layout;
use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::ptr::NonNull;

use coro::promise::{AwaitDirect, Payload, ReturnValue, ReturnVoid, ReturnsValue, ReturnsVoid};
use coro::{AwaitSuspend, Awaiter, CoroutineHandle, CoroutineTraits, Promise, UniqueCoroutineHandle};

thread_local! {
    static TRACE: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
    static CFG: Cell<Config> = const { Cell::new(Config::DEFAULT) };
}

/// Records one event.
pub fn ev(line: impl Into<String>) {
    let line = line.into();
    TRACE.with(|t| t.borrow_mut().push(line));
}

/// Runs a scenario on a fresh sink and configuration; returns its trace.
pub fn record(scenario: fn()) -> Vec<String> {
    TRACE.with(|t| t.borrow_mut().clear());
    CFG.with(|c| c.set(Config::DEFAULT));
    scenario();
    TRACE.with(|t| std::mem::take(&mut *t.borrow_mut()))
}

pub fn b(v: bool) -> &'static str {
    if v {
        "true"
    } else {
        "false"
    }
}

/// The payload of every exception a scenario throws.
pub struct Boom(pub &'static str);

/// C++ `throw Boom{what}`.
pub fn throw_boom(what: &'static str) -> ! {
    ev(format!("throw {what}"));
    resume_unwind(Box::new(Boom(what)))
}

/// [`throw_boom`] in a position that needs a `()`.
pub fn raise(what: &'static str) {
    throw_boom(what)
}

pub fn what_of(p: &Payload) -> &'static str {
    p.downcast_ref::<Boom>().map_or("?", |b| b.0)
}

/// The caller catching what escaped a coroutine call or resume.
pub fn catching(f: impl FnOnce()) {
    if let Err(p) = catch_unwind(AssertUnwindSafe(f)) {
        match p.downcast_ref::<Boom>() {
            Some(boom) => ev(format!("caller: caught {}", boom.0)),
            // Not one of ours: a real failure.
            None => resume_unwind(p),
        }
    }
}

/// A by-value coroutine parameter. Moves print nothing (they are bitwise).
pub struct Param {
    pub name: &'static str,
    pub value: i32,
}

impl Param {
    pub fn new(name: &'static str, value: i32) -> Param {
        Param { name, value }
    }
}

impl Drop for Param {
    fn drop(&mut self) {
        ev(format!("param drop {}", self.name));
    }
}

/// A local variable of a coroutine body.
pub struct Local(&'static str);

impl Local {
    pub fn new(name: &'static str) -> Local {
        ev(format!("local {name}"));
        Local(name)
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        ev(format!("local drop {}", self.0));
    }
}

/// Where a scenario makes the ramp fail.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Fail {
    None,
    Alloc,
    PromiseCtor,
    GetReturnObject,
    InitialSuspend,
    InitialAwaitReady,
    InitialAwaitSuspend,
    InitialAwaitResume,
}

/// Run-time knobs of the generic promises.
#[derive(Clone, Copy, Debug)]
pub struct Config {
    /// `false`: lazy start.
    pub initial_ready: bool,
    /// `false`: final suspend always.
    pub final_ready: bool,
    /// `unhandled_exception` rethrows.
    pub rethrow: bool,
    pub fail: Fail,
}

impl Config {
    pub const DEFAULT: Config = Config { initial_ready: false, final_ready: false, rethrow: false, fail: Fail::None };
}

pub fn cfg() -> Config {
    CFG.with(|c| c.get())
}

pub fn set_cfg(f: impl FnOnce(&mut Config)) {
    let mut c = cfg();
    f(&mut c);
    CFG.with(|cell| cell.set(c));
}

fn fails(at: Fail) -> bool {
    cfg().fail == at
}

/// The initial awaiter (and the yield awaiter of the generator).
pub struct Sus {
    pub tag: &'static str,
    pub ready: bool,
}

impl Awaiter for Sus {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        ev(format!("await_ready {} -> {}", self.tag, b(self.ready)));
        if fails(Fail::InitialAwaitReady) {
            throw_boom("await_ready");
        }
        self.ready
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        ev(format!("await_suspend {} -> void", self.tag));
        if fails(Fail::InitialAwaitSuspend) {
            throw_boom("await_suspend");
        }
    }
    fn await_resume(self) {
        ev(format!("await_resume {}", self.tag));
        if fails(Fail::InitialAwaitResume) {
            throw_boom("await_resume");
        }
    }
}

/// The final awaiter.
pub struct FinalSus {
    pub tag: &'static str,
    pub ready: bool,
}

impl Awaiter for FinalSus {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        ev(format!("await_ready {} -> {}", self.tag, b(self.ready)));
        self.ready
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        ev(format!("await_suspend {} -> void", self.tag));
    }
    fn await_resume(self) {
        ev(format!("await_resume {}", self.tag));
    }
}

/// `await_suspend` returns `()`.
pub struct AwVoid {
    pub tag: &'static str,
    pub value: i32,
    pub ready: bool,
}

impl AwVoid {
    pub fn new(tag: &'static str, value: i32) -> AwVoid {
        AwVoid { tag, value, ready: false }
    }
    pub fn ready(tag: &'static str, value: i32) -> AwVoid {
        AwVoid { tag, value, ready: true }
    }
}

impl Awaiter for AwVoid {
    type Output = i32;
    fn await_ready(&mut self) -> bool {
        ev(format!("await_ready {} -> {}", self.tag, b(self.ready)));
        self.ready
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        ev(format!("await_suspend {} -> void", self.tag));
    }
    fn await_resume(self) -> i32 {
        ev(format!("await_resume {} -> {}", self.tag, self.value));
        self.value
    }
}

/// `await_suspend` returns `bool`.
pub struct AwBool {
    pub tag: &'static str,
    pub value: i32,
    pub result: bool,
}

impl Awaiter for AwBool {
    type Output = i32;
    fn await_ready(&mut self) -> bool {
        ev(format!("await_ready {} -> false", self.tag));
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        ev(format!("await_suspend {} -> {}", self.tag, b(self.result)));
        self.result
    }
    fn await_resume(self) -> i32 {
        ev(format!("await_resume {} -> {}", self.tag, self.value));
        self.value
    }
}

/// `await_suspend` returns a coroutine handle (symmetric transfer).
pub struct AwHandle {
    pub tag: &'static str,
    pub value: i32,
    /// `None`: the awaiting coroutine itself.
    pub target: Option<CoroutineHandle>,
    pub target_name: &'static str,
}

impl Awaiter for AwHandle {
    type Output = i32;
    fn await_ready(&mut self) -> bool {
        ev(format!("await_ready {} -> false", self.tag));
        false
    }
    unsafe fn await_suspend(&mut self, me: CoroutineHandle) -> impl AwaitSuspend {
        ev(format!("await_suspend {} -> handle {}", self.tag, self.target_name));
        self.target.unwrap_or(me)
    }
    fn await_resume(self) -> i32 {
        ev(format!("await_resume {} -> {}", self.tag, self.value));
        self.value
    }
}

/// Marks a promise: "promise ctor" when built, "promise drop" when dropped.
pub struct PromiseTrace(());

impl PromiseTrace {
    pub fn new() -> PromiseTrace {
        ev("promise ctor");
        if fails(Fail::PromiseCtor) {
            throw_boom("promise ctor");
        }
        PromiseTrace(())
    }
}

impl Drop for PromiseTrace {
    fn drop(&mut self) {
        ev("promise drop");
    }
}

/// C++ `PromiseBase::operator new`.
pub fn alloc(layout: Layout) -> Option<::coro::promise::FrameMemory> {
    ev("alloc");
    if fails(Fail::Alloc) {
        throw_boom("alloc");
    }
    ::coro::promise::FrameMemory::global(layout)
}

/// C++ `PromiseBase::operator delete`.
///
/// # Safety
/// `ptr` came from [`alloc`] (or the global allocator) with `layout`.
pub unsafe fn dealloc(ptr: NonNull<u8>, layout: Layout) {
    ev("dealloc");
    // SAFETY: forwarded contract.
    unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) }
}

/// `get_return_object`'s trace and failure point.
pub fn get_return_object_event() {
    ev("get_return_object");
    if fails(Fail::GetReturnObject) {
        throw_boom("get_return_object");
    }
}

pub fn initial_suspend() -> Sus {
    ev("initial_suspend");
    if fails(Fail::InitialSuspend) {
        throw_boom("initial_suspend");
    }
    Sus { tag: "initial", ready: cfg().initial_ready }
}

pub fn final_suspend() -> FinalSus {
    ev("final_suspend");
    FinalSus { tag: "final", ready: cfg().final_ready }
}

pub fn unhandled_exception(error: &mut Option<Payload>, payload: Payload) {
    if cfg().rethrow {
        ev(format!("unhandled_exception ({}) -> rethrow", what_of(&payload)));
        resume_unwind(payload);
    }
    ev(format!("unhandled_exception ({})", what_of(&payload)));
    *error = Some(payload);
}

/// The return object: a non-owning handle with traced caller operations.
pub struct Co<P> {
    pub h: CoroutineHandle<P>,
}

impl<P: Promise> CoroutineTraits for Co<P> {
    type Promise = P;
}

impl<P> Co<P> {
    pub fn from_promise(p: &mut P) -> Co<P> {
        Co { h: CoroutineHandle::from_promise(p) }
    }
    pub fn resume(&self) {
        ev("caller: resume");
        // SAFETY: scenarios resume only live, suspended, non-final frames.
        unsafe { self.h.resume() };
        ev("caller: resumed");
    }
    pub fn destroy(&self) {
        ev("caller: destroy");
        // SAFETY: scenarios destroy each frame once, while it is suspended.
        unsafe { self.h.destroy() };
    }
    pub fn done(&self) -> bool {
        // SAFETY: the frame is alive (scenarios ask only before destroying).
        let d = unsafe { self.h.done() };
        ev(format!("caller: done() -> {}", b(d)));
        d
    }
    pub fn promise(&self) -> &P {
        // SAFETY: the frame is alive and suspended.
        unsafe { self.h.promise() }
    }
}

/// A [`Co`] whose coroutine borrows something for `'a` (a by-reference
/// parameter): the borrow checker keeps it from outliving the data.
pub struct CoRef<'a, P> {
    pub co: Co<P>,
    _borrow: PhantomData<&'a ()>,
}

impl<P: Promise> CoroutineTraits for CoRef<'_, P> {
    type Promise = P;
}

impl<P> From<Co<P>> for CoRef<'_, P> {
    fn from(co: Co<P>) -> Self {
        CoRef { co, _borrow: PhantomData }
    }
}

/// The generic promise with `return_value(int)`.
pub struct ValuePromise {
    pub value: i32,
    pub error: Option<Payload>,
    _t: PromiseTrace,
}

impl Default for ValuePromise {
    fn default() -> Self {
        ValuePromise { _t: PromiseTrace::new(), value: 0, error: None }
    }
}

/// The generic promise with `return_void()`.
pub struct VoidPromise {
    pub error: Option<Payload>,
    _t: PromiseTrace,
}

impl Default for VoidPromise {
    fn default() -> Self {
        VoidPromise { _t: PromiseTrace::new(), error: None }
    }
}

/// The parts of `Promise` every traced promise shares with C++
/// `PromiseBase`: allocation, the initial and final awaiters,
/// `unhandled_exception` (into the promise's `error: Option<Payload>`).
macro_rules! traced_promise_base {
    () => {
        type InitialSuspend = $crate::scenarios::trace::Sus;
        type FinalSuspend = $crate::scenarios::trace::FinalSus;
        fn initial_suspend(&mut self) -> $crate::scenarios::trace::Sus {
            $crate::scenarios::trace::initial_suspend()
        }
        fn final_suspend(&mut self) -> $crate::scenarios::trace::FinalSus {
            $crate::scenarios::trace::final_suspend()
        }
        fn unhandled_exception(&mut self, payload: ::coro::promise::Payload) {
            $crate::scenarios::trace::unhandled_exception(&mut self.error, payload)
        }
        fn allocate_frame(layout: ::std::alloc::Layout) -> Option<::coro::promise::FrameMemory> {
            $crate::scenarios::trace::alloc(layout)
        }
        unsafe fn deallocate_frame(ptr: ::std::ptr::NonNull<u8>, layout: ::std::alloc::Layout) {
            // SAFETY: forwarded contract.
            unsafe { $crate::scenarios::trace::dealloc(ptr, layout) }
        }
    };
}

impl Promise for ValuePromise {
    type ReturnObject = Co<ValuePromise>;
    type Return = ReturnsValue;
    type Await = AwaitDirect;
    traced_promise_base!();
    unsafe fn get_return_object(&mut self) -> Co<ValuePromise> {
        get_return_object_event();
        Co::from_promise(self)
    }
}

impl ReturnValue<i32> for ValuePromise {
    fn return_value(&mut self, v: i32) {
        ev(format!("return_value {v}"));
        self.value = v;
    }
}

impl Promise for VoidPromise {
    type ReturnObject = Co<VoidPromise>;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    traced_promise_base!();
    unsafe fn get_return_object(&mut self) -> Co<VoidPromise> {
        get_return_object_event();
        Co::from_promise(self)
    }
}

impl ReturnVoid for VoidPromise {
    fn return_void(&mut self) {
        ev("return_void");
    }
}

/// A return object that says when it is dropped, for the scenarios where
/// the ramp panics after `get_return_object`. Unlike the C++ one it owns
/// its frame: dropping it destroys the coroutine (C++ `TracedRo` cannot,
/// because g++ frees the frame itself), which shows the frame is freed
/// exactly once.
pub struct TracedRo {
    pub h: UniqueCoroutineHandle<TracedRoPromise>,
}

impl Drop for TracedRo {
    fn drop(&mut self) {
        ev("return object drop");
    }
}

impl CoroutineTraits for TracedRo {
    type Promise = TracedRoPromise;
}

pub struct TracedRoPromise {
    pub error: Option<Payload>,
    _t: PromiseTrace,
}

impl Default for TracedRoPromise {
    fn default() -> Self {
        TracedRoPromise { _t: PromiseTrace::new(), error: None }
    }
}

impl Promise for TracedRoPromise {
    type ReturnObject = TracedRo;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    traced_promise_base!();
    unsafe fn get_return_object(&mut self) -> TracedRo {
        ev("get_return_object");
        TracedRo {
            // SAFETY: the return object is the frame's only owner.
            h: unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) },
        }
    }
}

impl ReturnVoid for TracedRoPromise {
    fn return_void(&mut self) {
        ev("return_void");
    }
}
