//! Helpers shared by the integration tests: an event log, a `Counted` value
//! that proves every construction is matched by exactly one drop, panic
//! helpers, `Send`/`Sync` probes, bounded waits for other threads
//! (`eventually`, `wait_for`), a counting waker (`WakeCount`), one poll
//! with a no-op waker (`poll_once`), a `Task` polled by hand (`Driven`), a
//! hand-driven coroutine type (`Job`) and a few small awaiters.
#![allow(dead_code)]

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::panic::resume_unwind;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use coro::handle::SuspendPoint;
use coro::promise::{AwaitDirect, Payload, ReturnValue, ReturnsValue, ThreadAffinity};
use coro::{
    AwaitSuspend, Awaiter, CoroutineHandle, CoroutineTraits, Promise, SuspendAlways, Task, UniqueCoroutineHandle,
};

// ---------------------------------------------------------------------------
// Event log and Counted
// ---------------------------------------------------------------------------

#[derive(Default)]
struct LogInner {
    events: Vec<String>,
    /// Name of each `Counted`, by id.
    created: Vec<String>,
    /// How many times each id was dropped.
    drops: HashMap<usize, usize>,
}

/// A shared, thread-safe event log. Cloning gives another handle to the same log.
#[derive(Clone, Default)]
pub struct Log(Arc<Mutex<LogInner>>);

impl fmt::Debug for Log {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.events()).finish()
    }
}

impl Log {
    pub fn new() -> Log {
        Log::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LogInner> {
        // A test that panics while holding the lock must not poison the
        // log for the assertions that follow.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends an event.
    pub fn push(&self, event: impl Into<String>) {
        self.lock().events.push(event.into());
    }

    /// All events so far.
    pub fn events(&self) -> Vec<String> {
        self.lock().events.clone()
    }

    /// All events so far, clearing the list (the drop accounting is kept).
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().events)
    }

    /// A new `Counted` that reports to this log.
    pub fn counted(&self, name: impl Into<String>) -> Counted {
        let name = name.into();
        let id = {
            let mut inner = self.lock();
            inner.created.push(name.clone());
            inner.created.len() - 1
        };
        Counted { id, name, log: self.clone() }
    }

    /// How many `Counted` values were made.
    pub fn created(&self) -> usize {
        self.lock().created.len()
    }

    /// How many `Counted` drops happened (counting a double drop twice).
    pub fn dropped(&self) -> usize {
        self.lock().drops.values().sum()
    }

    /// Counted values made and not yet dropped.
    pub fn live(&self) -> Vec<String> {
        let inner = self.lock();
        inner
            .created
            .iter()
            .enumerate()
            .filter(|(id, _)| !inner.drops.contains_key(id))
            .map(|(_, n)| n.clone())
            .collect()
    }

    /// Panics unless every `Counted` made so far was dropped exactly once.
    #[track_caller]
    pub fn assert_each_dropped_once(&self) {
        let inner = self.lock();
        let mut problems = Vec::new();
        for (id, name) in inner.created.iter().enumerate() {
            let n = inner.drops.get(&id).copied().unwrap_or(0);
            if n != 1 {
                problems.push(format!("{name} (#{id}) dropped {n} times"));
            }
        }
        assert!(problems.is_empty(), "drop accounting failed: {problems:?}; events: {:?}", inner.events);
    }

    /// The events that are drops of `Counted` values, as their names, in order.
    pub fn drop_order(&self) -> Vec<String> {
        self.events().into_iter().filter_map(|e| e.strip_prefix("drop ").map(str::to_owned)).collect()
    }

    /// The events starting at the first one equal to `from`.
    #[track_caller]
    pub fn events_from(&self, from: &str) -> Vec<String> {
        let ev = self.events();
        let at = ev.iter().position(|e| e == from).unwrap_or_else(|| panic!("no event {from:?} in {ev:?}"));
        ev[at..].to_vec()
    }

    /// Index of the first event equal to `e`.
    #[track_caller]
    pub fn index_of(&self, e: &str) -> usize {
        let ev = self.events();
        ev.iter().position(|x| x == e).unwrap_or_else(|| panic!("no event {e:?} in {ev:?}"))
    }

    /// How many events equal `e`.
    pub fn count(&self, e: &str) -> usize {
        self.lock().events.iter().filter(|x| *x == e).count()
    }
}

/// A value whose drop is recorded in a `Log` as `drop NAME`; the log checks
/// that each one is dropped exactly once.
pub struct Counted {
    id: usize,
    name: String,
    log: Log,
}

impl Counted {
    pub fn name(&self) -> &str {
        &self.name
    }
    pub fn log(&self) -> Log {
        self.log.clone()
    }
}

impl fmt::Debug for Counted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Counted({})", self.name)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut inner = self.log.lock();
        *inner.drops.entry(self.id).or_insert(0) += 1;
        inner.events.push(format!("drop {}", self.name));
    }
}

// ---------------------------------------------------------------------------
// Panics
// ---------------------------------------------------------------------------

/// The message of a panic payload.
pub fn panic_message(p: &(dyn Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&'static str>() {
        (*s).to_owned()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "<non-string panic payload>".to_owned()
    }
}

/// Marker put in the message of every panic a test provokes on purpose.
pub const PLANNED: &str = "[planned]";

/// Installs (once) a panic hook that keeps planned panics (whose message
/// contains [`PLANNED`]) out of the test output, and reports all others.
pub fn quiet_planned_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !panic_message(info.payload()).contains(PLANNED) {
                default(info);
            }
        }));
    });
}

/// Runs `f`, which must panic, and returns its panic message.
#[track_caller]
pub fn expect_panic<R>(f: impl FnOnce() -> R) -> String {
    quiet_planned_panics();
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(_) => panic!("expected a panic"),
        Err(p) => panic_message(&*p),
    }
}

/// Runs `f` on a thread with a 256 KiB stack; propagates its panic.
pub fn on_small_stack<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let t = std::thread::Builder::new()
        .name("small-stack".into())
        .stack_size(256 * 1024)
        .spawn(f)
        .expect("spawn a small-stack thread");
    match t.join() {
        Ok(r) => r,
        Err(p) => resume_unwind(p),
    }
}

// ---------------------------------------------------------------------------
// Send and Sync probes
// ---------------------------------------------------------------------------

/// `is_send!(T)` / `is_sync!(T)` / `value_is_send!(expr)`: whether a type is
/// `Send` / `Sync`, decided at compile time and reported at run time
/// (autoref specialisation), so that a wrong answer is a test failure rather
/// than a compile error.
pub mod probe {
    use std::marker::PhantomData;

    pub struct Probe<T: ?Sized>(pub PhantomData<T>);

    /// The probe of `value`'s type.
    pub fn of<T>(_: &T) -> Probe<T> {
        Probe(PhantomData)
    }

    pub trait ViaSend {
        fn is_send(&self) -> bool {
            true
        }
    }
    impl<T: Send + ?Sized> ViaSend for Probe<T> {}
    pub trait ViaAnySend {
        fn is_send(&self) -> bool {
            false
        }
    }
    impl<T: ?Sized> ViaAnySend for &Probe<T> {}
    pub trait ViaSync {
        fn is_sync(&self) -> bool {
            true
        }
    }
    impl<T: Sync + ?Sized> ViaSync for Probe<T> {}
    pub trait ViaAnySync {
        fn is_sync(&self) -> bool {
            false
        }
    }
    impl<T: ?Sized> ViaAnySync for &Probe<T> {}
}

/// Whether the type `T` is `Send` (see [`probe`]).
#[allow(unused_macros)]
macro_rules! is_send {
    ($t:ty) => {{
        #[allow(unused_imports)]
        use $crate::common::probe::{ViaAnySend as _, ViaSend as _};
        (&$crate::common::probe::Probe::<$t>(::std::marker::PhantomData)).is_send()
    }};
}
/// Whether the type `T` is `Sync` (see [`probe`]).
#[allow(unused_macros)]
macro_rules! is_sync {
    ($t:ty) => {{
        #[allow(unused_imports)]
        use $crate::common::probe::{ViaAnySync as _, ViaSync as _};
        (&$crate::common::probe::Probe::<$t>(::std::marker::PhantomData)).is_sync()
    }};
}
/// Whether the type of the expression is `Send` (see [`probe`]).
#[allow(unused_macros)]
macro_rules! value_is_send {
    ($e:expr) => {{
        #[allow(unused_imports)]
        use $crate::common::probe::{ViaAnySend as _, ViaSend as _};
        (&$crate::common::probe::of(&$e)).is_send()
    }};
}
#[allow(unused_imports)]
pub(crate) use {is_send, is_sync, value_is_send};

// ---------------------------------------------------------------------------
// Waiting for other threads
// ---------------------------------------------------------------------------

/// Waits (bounded: 10 s) until `f` holds.
#[track_caller]
pub fn eventually(what: &str, f: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Waits (bounded) until `log` holds `n` events equal to `event`.
#[track_caller]
pub fn wait_for(log: &Log, event: &str, n: usize) {
    eventually(&format!("{n} × {event:?}"), || log.count(event) >= n);
}

// ---------------------------------------------------------------------------
// Wakers
// ---------------------------------------------------------------------------

/// A waker that counts its wake-ups.
#[derive(Debug, Default)]
pub struct WakeCount(AtomicUsize);

impl WakeCount {
    pub fn new() -> Arc<WakeCount> {
        Arc::default()
    }
    /// A `Waker` that wakes this counter.
    pub fn waker(self: &Arc<Self>) -> Waker {
        Waker::from(self.clone())
    }
    /// How many wake-ups so far.
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
    /// Whether it was woken at all.
    pub fn woken(&self) -> bool {
        self.count() > 0
    }
}

impl Wake for WakeCount {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Polls `f` once with a no-op waker; whether it is ready.
pub fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>) -> bool {
    f.poll(&mut Context::from_waker(Waker::noop())).is_ready()
}

/// A `Task` driven by hand as a future on this thread, with a no-op waker.
pub struct Driven<T>(Pin<Box<<Task<T> as IntoFuture>::IntoFuture>>);

impl<T> Driven<T> {
    /// Starts `task`; it must suspend.
    #[track_caller]
    pub fn start(task: Task<T>) -> Driven<T> {
        let mut d = Driven(Box::pin(task.into_future()));
        assert!(d.poll().is_none(), "the task should wait");
        d
    }
    pub fn poll(&mut self) -> Option<T> {
        match self.0.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        }
    }
}

// ---------------------------------------------------------------------------
// Awaiters
// ---------------------------------------------------------------------------

/// Never suspends; `co_await!` gives the value back.
#[derive(Debug)]
pub struct Ready<T>(pub T);

impl<T> Awaiter for Ready<T> {
    type Output = T;
    fn await_ready(&mut self) -> bool {
        true
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        if true {
            unreachable!("await_suspend called on a ready awaiter")
        }
    }
    fn await_resume(self) -> T {
        self.0
    }
}

/// Suspends (await_suspend returns `()`) until someone resumes the
/// coroutine; `co_await!` then gives the value back.
#[derive(Debug)]
pub struct Pause<T>(pub T);

impl<T> Awaiter for Pause<T> {
    type Output = T;
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {}
    fn await_resume(self) -> T {
        self.0
    }
}

/// `Pause(())`.
pub fn pause() -> Pause<()> {
    Pause(())
}

/// Symmetric transfer to the given coroutine.
#[derive(Debug)]
pub struct TransferTo(pub CoroutineHandle);

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

/// Suspends, then resumes at once (`await_suspend` returns `false`).
#[derive(Debug)]
pub struct SuspendFalse<T>(pub T);

impl<T> Awaiter for SuspendFalse<T> {
    type Output = T;
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, _: CoroutineHandle) -> impl AwaitSuspend {
        false
    }
    fn await_resume(self) -> T {
        self.0
    }
}

/// Suspends, then transfers to itself (`await_suspend` returns its own handle).
#[derive(Debug)]
pub struct TransferToSelf<T>(pub T);

impl<T> Awaiter for TransferToSelf<T> {
    type Output = T;
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, me: CoroutineHandle) -> impl AwaitSuspend {
        me
    }
    fn await_resume(self) -> T {
        self.0
    }
}

// ---------------------------------------------------------------------------
// Job: a lazily started coroutine driven by hand
// ---------------------------------------------------------------------------

/// Where a [`Job`] may be resumed by wake-ups from other threads.
pub trait JobKind {
    const AFFINITY: ThreadAffinity;
}

/// A [`Job`] that stays on its thread (the promise default).
pub enum Bound {}
impl JobKind for Bound {
    const AFFINITY: ThreadAffinity = ThreadAffinity::THREAD_BOUND;
}

/// A [`SendJob`]: resumed wherever a wake-up happens.
pub enum AnyThread {}
impl JobKind for AnyThread {
    // SAFETY: test helper; `SendJob` is only used for coroutines whose
    // frames hold `Send` values only (`Arc`s, channels, `Counted`).
    const AFFINITY: ThreadAffinity = unsafe { ThreadAffinity::any_thread() };
}

/// Promise of [`Job`]: lazy start, keeps the frame at the final suspend
/// point, stores the result or the panic.
pub struct JobPromise<T, K = Bound> {
    value: Option<T>,
    panic: Option<Payload>,
    _kind: PhantomData<K>,
}

impl<T, K> Default for JobPromise<T, K> {
    fn default() -> Self {
        JobPromise { value: None, panic: None, _kind: PhantomData }
    }
}

impl<T, K: JobKind> Promise for JobPromise<T, K> {
    type ReturnObject = Job<T, K>;
    type InitialSuspend = SuspendAlways;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsValue;
    type Await = AwaitDirect;

    const AFFINITY: ThreadAffinity = K::AFFINITY;

    unsafe fn get_return_object(&mut self) -> Job<T, K> {
        Job {
            // SAFETY: the job is the frame's only owner.
            h: unsafe { UniqueCoroutineHandle::from_raw(CoroutineHandle::from_promise(self)) },
        }
    }
    fn initial_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn final_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn unhandled_exception(&mut self, payload: Payload) {
        self.panic = Some(payload);
    }
}

impl<T, K: JobKind> ReturnValue<T> for JobPromise<T, K> {
    fn return_value(&mut self, value: T) {
        self.value = Some(value);
    }
}

/// A coroutine the test resumes by hand.
pub struct Job<T, K = Bound> {
    h: UniqueCoroutineHandle<JobPromise<T, K>>,
}

/// A [`Job`] whose coroutine a release or waker on another thread resumes
/// there.
pub type SendJob<T> = Job<T, AnyThread>;

impl<T, K: JobKind> CoroutineTraits for Job<T, K> {
    type Promise = JobPromise<T, K>;
}

impl<T, K> fmt::Debug for Job<T, K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job").field("h", &self.h).finish()
    }
}

impl<T, K: JobKind> Job<T, K> {
    /// Resumes the job. Test helper: the caller knows nobody else resumes it.
    pub fn resume(&self) {
        // SAFETY: the frame is alive (owned); tests only call this while
        // no awaiter has handed the handle to anyone else.
        unsafe { self.h.resume() }
    }
    pub fn done(&self) -> bool {
        self.h.done()
    }
    pub fn suspend_point(&self) -> Option<&'static SuspendPoint> {
        self.h.suspend_point()
    }
    pub fn handle(&self) -> CoroutineHandle {
        self.h.handle().erase()
    }
    /// Gives up ownership: whoever holds the handle must destroy the frame.
    pub fn into_handle(self) -> CoroutineHandle {
        self.h.into_raw().erase()
    }
    /// Resumes until done; returns the result (rethrowing a stored panic)
    /// and the number of resumes it took.
    pub fn run_counting(self) -> (T, usize) {
        let mut n = 0;
        while !self.done() {
            self.resume();
            n += 1;
        }
        (self.into_result(), n)
    }
    /// Resumes until done; returns the result (rethrowing a stored panic).
    pub fn run(self) -> T {
        self.run_counting().0
    }
    /// The result of a finished job; rethrows its panic.
    pub fn into_result(mut self) -> T {
        assert!(self.done(), "job is not finished");
        // SAFETY: done, so not running; only reference.
        let p = unsafe { self.h.promise_mut() };
        if let Some(payload) = p.panic.take() {
            resume_unwind(payload);
        }
        p.value.take().expect("job finished without a value")
    }
    /// The stored panic's message, if the job finished by panicking.
    pub fn panic_message(&self) -> Option<String> {
        // SAFETY: not running; only reference.
        let p = unsafe { self.h.promise() };
        p.panic.as_deref().map(panic_message)
    }
}
