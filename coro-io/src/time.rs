//! Timers: [`sleep`], [`sleep_until`], [`yield_now`] and [`timeout`].
//!
//! Each awaiter carries its timer entry: the deadline, and once suspended
//! the key of its registration with this thread's loop (see the
//! `registration` module for the invariants). Its drop withdraws the
//! registration, so destroying a coroutine suspended on it leaves only a
//! stale heap entry that will never resume anything; the loop drops it
//! when it reaches the top of the heap, or sooner when stale entries
//! outnumber live ones.
//!
//! A sleep always suspends, even when its deadline has passed: it then
//! resumes at the loop's next turn, after the ready work and in deadline
//! order with the other due timers (so `sleep(Duration::ZERO)` is a
//! `yield_now` that also lets due timers go first).

use core::fmt;
use core::future::IntoFuture;
use std::sync::Arc;
use std::time::{Duration, Instant};

use coro_core::awaiter::CancelOutcome;
use coro_core::{AwaitSuspend, Awaiter, CoroutineHandle};

use crate::event_loop::{self, current, Shared};
use crate::registration::Key;
use crate::task::JoinHandle;

/// `deadline` for `now + d`, saturating far in the future.
fn after(d: Duration) -> Instant {
    let now = Instant::now();
    now.checked_add(d).unwrap_or_else(|| now + Duration::from_secs(86_400 * 365 * 30))
}

/// The awaiter of [`sleep`] and [`sleep_until`]: resumes the coroutine once
/// its deadline has passed, on this thread's [`EventLoop`](crate::EventLoop).
///
/// `Send`: a `SendTask` sleeps on the loop of the thread it runs on (a
/// [`Runtime`](crate::Runtime)'s loop) and is resumed there.
///
/// ```
/// use std::time::{Duration, Instant};
/// let s = coro_io::sleep(Duration::from_secs(1));
/// assert!(s.deadline() > Instant::now());
/// ```
pub struct Sleep {
    deadline: Instant,
    reg: Option<(Arc<Shared>, Key)>,
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep").field("deadline", &self.deadline).field("registered", &self.reg.is_some()).finish()
    }
}

impl Sleep {
    /// When it fires.
    ///
    /// ```
    /// use std::time::Instant;
    /// let t = Instant::now();
    /// assert_eq!(coro_io::sleep_until(t).deadline(), t);
    /// ```
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

/// `co_await!(sleep(d))` suspends the coroutine for at least `d` (the
/// deadline is taken when `sleep` is called).
///
/// # Panics
/// At the `co_await!`, if this thread has no [`EventLoop`](crate::EventLoop).
///
/// ```
/// use std::time::{Duration, Instant};
/// use coro::{co_await, co_return, Task};
///
/// #[coro::coroutine]
/// fn nap() -> Task<Duration> {
///     let t = Instant::now();
///     co_await!(coro_io::sleep(Duration::from_millis(5)));
///     co_return!(t.elapsed())
/// }
///
/// let rt = coro_io::EventLoop::new().unwrap();
/// assert!(rt.block_on(nap()) >= Duration::from_millis(5));
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    sleep_until(after(duration))
}

/// `co_await!(sleep_until(t))` suspends the coroutine until `t` (at least
/// until the loop's next turn, if `t` has passed).
///
/// ```
/// use std::time::{Duration, Instant};
/// use coro::{co_await, co_return, Task};
///
/// #[coro::coroutine]
/// fn until(t: Instant) -> Task<bool> {
///     co_await!(coro_io::sleep_until(t));
///     co_return!(Instant::now() >= t)
/// }
///
/// let rt = coro_io::EventLoop::new().unwrap();
/// assert!(rt.block_on(until(Instant::now() + Duration::from_millis(2))));
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep { deadline, reg: None }
}

impl Awaiter for Sleep {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, awaiting: CoroutineHandle) -> impl AwaitSuspend {
        let lp = current();
        let key = lp.register_timer(awaiting, self.deadline);
        self.reg = Some((lp.shared.clone(), key));
    }
    fn await_resume(self) {}
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        event_loop::cancel(&mut self.reg)
    }
}

/// The cancel step: the registration goes with the awaiter (by a message
/// to its loop if dropped on another thread).
impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some((shared, key)) = self.reg.take() {
            event_loop::withdraw(&shared, key);
        }
    }
}

/// The awaiter of [`yield_now`].
///
/// ```
/// let _awaiter: coro_io::YieldNow = coro_io::yield_now();
/// ```
pub struct YieldNow {
    reg: Option<(Arc<Shared>, Key)>,
}

impl fmt::Debug for YieldNow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("YieldNow").field("registered", &self.reg.is_some()).finish()
    }
}

/// `co_await!(yield_now())` suspends the coroutine and resumes it after
/// what is ready on the loop now has run.
///
/// # Panics
/// At the `co_await!`, if this thread has no [`EventLoop`](crate::EventLoop).
///
/// ```
/// use std::{cell::RefCell, rc::Rc};
/// use coro::{co_await, co_return, Task};
/// use coro_io::{spawn_local, yield_now, EventLoop};
///
/// #[coro::coroutine]
/// fn worker(id: u32, log: Rc<RefCell<Vec<u32>>>) -> Task<()> {
///     for _ in 0..2 {
///         log.borrow_mut().push(id);
///         co_await!(yield_now());
///     }
///     co_return!(())
/// }
///
/// let rt = EventLoop::new().unwrap();
/// let log = Rc::new(RefCell::new(Vec::new()));
/// spawn_local(worker(1, log.clone())).detach();
/// spawn_local(worker(2, log.clone())).detach();
/// rt.run();
/// assert_eq!(*log.borrow(), [1, 2, 1, 2]);
/// ```
pub fn yield_now() -> YieldNow {
    YieldNow { reg: None }
}

impl Awaiter for YieldNow {
    type Output = ();
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, awaiting: CoroutineHandle) -> impl AwaitSuspend {
        let lp = current();
        let key = lp.register(awaiting);
        lp.wake(key);
        self.reg = Some((lp.shared.clone(), key));
    }
    fn await_resume(self) {}
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        event_loop::cancel(&mut self.reg)
    }
}

impl Drop for YieldNow {
    fn drop(&mut self) {
        if let Some((shared, key)) = self.reg.take() {
            event_loop::withdraw(&shared, key);
        }
    }
}

/// The error of a [`timeout`] whose time ran out.
///
/// ```
/// let e = coro_io::Elapsed::default();
/// assert_eq!(e.to_string(), "deadline elapsed");
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Elapsed(());

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("deadline elapsed")
    }
}

impl std::error::Error for Elapsed {}

/// The awaiter of [`timeout`].
///
/// ```
/// use std::time::Duration;
/// use coro::{co_return, Task};
/// #[coro::coroutine]
/// fn one() -> Task<u8> { co_return!(1) }
/// let t: coro_io::Timeout<Task<u8>> = coro_io::timeout(Duration::from_secs(1), one());
/// # drop(t);
/// ```
pub struct Timeout<F: IntoFuture> {
    deadline: Instant,
    /// Until the `co_await!`, which spawns it.
    task: Option<F>,
    join: Option<JoinHandle<F::Output>>,
    reg: Option<(Arc<Shared>, Key)>,
}

impl<F: IntoFuture> fmt::Debug for Timeout<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timeout").field("deadline", &self.deadline).field("started", &self.join.is_some()).finish()
    }
}

/// `co_await!(timeout(d, task))` runs `task` on this thread's loop and
/// gives `Ok(value)` if it finishes within `d`, or `Err(Elapsed)` once `d`
/// has passed, after **destroying the task at once** (its locals and
/// awaiters dropped, on this thread). A task that finishes first withdraws
/// the timer. A panic in the task resumes in the awaiting coroutine.
///
/// `task` is a [`Task`](coro_core::Task) (or any future). A
/// [`SendTask`](coro_core::SendTask) whose time runs out while it is away
/// on another thread (a pool) is detached rather than destroyed: it is
/// destroyed at its next resumption (see `SendTask`'s "Dropping").
///
/// # Panics
/// At the `co_await!`, if this thread has no [`EventLoop`](crate::EventLoop).
///
/// ```
/// use std::time::Duration;
/// use coro::{co_await, co_return, Task};
/// use coro_io::{sleep, timeout, Elapsed};
///
/// #[coro::coroutine]
/// fn slow() -> Task<u32> {
///     co_await!(sleep(Duration::from_secs(3600)));
///     co_return!(1)
/// }
///
/// #[coro::coroutine]
/// fn impatient() -> Task<Result<u32, Elapsed>> {
///     co_return!(co_await!(timeout(Duration::from_millis(1), slow())))
/// }
///
/// let rt = coro_io::EventLoop::new().unwrap();
/// assert_eq!(rt.block_on(impatient()), Err(Elapsed::default()));
/// assert_eq!((rt.tasks(), rt.timers()), (0, 0)); // slow() destroyed, its sleep withdrawn
/// ```
pub fn timeout<F>(duration: Duration, task: F) -> Timeout<F>
where
    F: IntoFuture,
    F::IntoFuture: 'static,
    F::Output: 'static,
{
    Timeout { deadline: after(duration), task: Some(task), join: None, reg: None }
}

impl<F> Awaiter for Timeout<F>
where
    F: IntoFuture,
    F::IntoFuture: 'static,
    F::Output: 'static,
{
    type Output = Result<F::Output, Elapsed>;
    fn await_ready(&mut self) -> bool {
        false
    }
    unsafe fn await_suspend(&mut self, awaiting: CoroutineHandle) -> impl AwaitSuspend {
        let lp = current();
        let task = self.task.take().expect("a Timeout is awaited once");
        let mut join = lp.spawn(task.into_future());
        let key = lp.register_timer(awaiting, self.deadline);
        // The task's end and the timer wake the same registration: the
        // first one resumes the coroutine, the other finds it fired.
        join.set_waiter(key);
        self.join = Some(join);
        self.reg = Some((lp.shared.clone(), key));
    }
    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        let outcome = event_loop::cancel(&mut self.reg);
        if outcome == CancelOutcome::Withdrawn {
            // On the loop's thread: the task goes now, as with the drop.
            drop(self.join.take());
        }
        outcome
    }
    fn await_resume(mut self) -> Result<F::Output, Elapsed> {
        self.withdraw();
        let join = self.join.take().expect("resumed after await_suspend");
        if join.is_finished() {
            Ok(join.into_result())
        } else {
            // Dropping the handle destroys the task, here and now.
            drop(join);
            Err(Elapsed(()))
        }
    }
}

impl<F: IntoFuture> Timeout<F> {
    /// Withdraws the registration: the timer entry goes stale.
    fn withdraw(&mut self) {
        if let Some((shared, key)) = self.reg.take() {
            event_loop::withdraw(&shared, key);
        }
    }
}

/// The cancel step: the timer and the task go with the awaiter.
impl<F: IntoFuture> Drop for Timeout<F> {
    fn drop(&mut self) {
        self.withdraw();
        drop(self.join.take());
    }
}
