//! `SharedTask<T>`: a task that several coroutines can await (cppcoro's
//! `shared_task<T>`).

use core::cell::RefCell;
use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;
use std::collections::VecDeque;
use std::panic::resume_unwind;
use std::rc::Rc;

use crate::language::awaiter::{AwaitSuspend, Awaiter, IntoAwaiter};
use crate::language::frame::{no_destroy, Header, VTable};
use crate::language::handle::{CoroutineHandle, UniqueCoroutineHandle};
use crate::language::promise::{CoroutineTraits, FromReturnObject, Payload};
use crate::library::task::send_shared::SendSharedTask;
use crate::library::task::{sync_wait_awaiter, Local, SyncWait, Task, TaskPromise, TaskReturn};
use crate::library::thread_bound::{ThreadBound, Unsent};

/// A lazily started task whose result can be awaited by any number of
/// coroutines (cppcoro's `shared_task<T>`); each gets a clone of the value.
///
/// A `SharedTask` is a cheap, clonable handle (an `Rc`): it is **not
/// `Send`**, and all its awaiters run on one thread.
///
/// - The first `co_await!` starts the task (by symmetric transfer); awaiters
///   that come while it runs are queued.
/// - When the task finishes, its frame is destroyed at once (dropping its
///   captured parameters) and every queued awaiter is resumed, in the order
///   it started waiting, each from a loop in a stand-in frame (the last one
///   by symmetric transfer), so any number of awaiters take bounded stack.
/// - Awaiting a finished `SharedTask` returns a clone of the value at once.
/// - A panic in the task reaches every awaiter: the first awaiter to
///   resume gets the original payload (with `resume_unwind`); every other
///   one, and any later awaiter, panics with a `String` payload
///   `"SharedTask panicked: <message>"` (a payload cannot be cloned).
/// - An awaiting coroutine destroyed while it waits leaves the queue.
/// - Dropping the last handle of a task that never started destroys its
///   frame. A task that has started keeps itself alive until it finishes,
///   even if every handle and awaiter is gone.
///
/// Make one from a [`Task`] ([`Task::shared`], `SharedTask::from(task)`) or
/// return it from a coroutine directly:
///
/// ```
/// use coro::{co_await, co_return, sync_wait, SharedTask, Task};
///
/// #[coro::coroutine]
/// fn config() -> SharedTask<String> { co_return!("debug".to_string()) }
///
/// #[coro::coroutine]
/// fn user(name: &'static str, cfg: SharedTask<String>) -> Task<String> {
///     let c = co_await!(cfg);
///     co_return!(format!("{name}:{c}"))
/// }
///
/// #[coro::coroutine]
/// fn main_task() -> Task<Vec<String>> {
///     let cfg = config();
///     let a = co_await!(user("a", cfg.clone()));
///     let b = co_await!(user("b", cfg));
///     co_return!(vec![a, b])
/// }
///
/// assert_eq!(sync_wait(main_task()), ["a:debug", "b:debug"]);
/// ```
pub struct SharedTask<T> {
    /// First, so that the "cannot be sent between threads" error names it.
    _thread_bound: ThreadBound<SharedTask<T>, SendSharedTask<T>>,
    state: Unsent<Rc<State<T>>>,
}

impl<T> Clone for SharedTask<T> {
    fn clone(&self) -> Self {
        SharedTask { _thread_bound: PhantomData, state: Unsent::new(Rc::clone(&self.state)) }
    }
}

impl<T> fmt::Debug for SharedTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = self.state.inner.borrow();
        let status = match inner.status {
            Status::Unstarted(_) => "unstarted",
            Status::Running(_) => "running",
            Status::Done(_) => "done",
            Status::Taken => "changing",
        };
        f.debug_struct("SharedTask").field("status", &status).field("waiters", &inner.waiters.len()).finish()
    }
}

/// The task's result, once finished.
enum Done<T> {
    Value(T),
    /// The original payload (until the first awaiter takes it) and the message.
    Panicked(Option<Payload>, String),
}

enum Status<T> {
    Unstarted(UniqueCoroutineHandle<TaskPromise<T, Local>>),
    /// Started; the frame is owned by the state until it finishes.
    Running(UniqueCoroutineHandle<TaskPromise<T, Local>>),
    Done(Done<T>),
    /// Momentarily, while the state changes.
    Taken,
}

struct Inner<T> {
    status: Status<T>,
    /// Queued awaiters, by ticket, oldest first.
    waiters: VecDeque<(u64, CoroutineHandle)>,
    next_ticket: u64,
}

/// The shared state. `header` makes it a stand-in frame: the task's final
/// awaiter transfers to it.
#[repr(C)]
struct State<T> {
    header: Header,
    inner: RefCell<Inner<T>>,
}

impl<T> State<T> {
    const VTABLE: VTable = VTable::stand_in(finished::<T>, no_destroy);
}

pub(crate) fn message(p: &Payload) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_string()
    }
}

/// The task finished and transferred here: store its result, destroy its
/// frame, resume the waiters in order (the last by symmetric transfer).
unsafe fn finished<T>(h: NonNull<Header>) -> Option<NonNull<Header>> {
    // SAFETY: only `start` makes this state the task's continuation, after
    // leaking one strong count for it (`Rc::into_raw`); that count is taken
    // back here, once, and keeps the state alive while waiters run.
    let state: Rc<State<T>> = unsafe { Rc::from_raw(h.cast::<State<T>>().as_ptr()) };
    let frame = {
        let mut inner = state.inner.borrow_mut();
        let Status::Running(mut frame) = core::mem::replace(&mut inner.status, Status::Taken) else {
            unreachable!("a shared task finished twice")
        };
        // SAFETY: the task is at its final suspend point (it just
        // transferred here) and owned by the state: nobody else uses it.
        let promise = unsafe { frame.promise_mut() };
        inner.status = Status::Done(match promise.take_outcome() {
            Ok(v) => Done::Value(v),
            Err(p) => {
                let m = message(&p);
                Done::Panicked(Some(p), m)
            }
        });
        frame
    };
    // Destroy the frame (its parameters and locals) before anyone resumes.
    drop(frame);
    loop {
        let next = {
            let mut inner = state.inner.borrow_mut();
            let next = inner.waiters.pop_front();
            next.map(|(_, h)| (h, inner.waiters.is_empty()))
        };
        match next {
            None => return None,
            Some((h, true)) => {
                drop(state);
                return Some(h.header());
            }
            // SAFETY: a queued waiter is a live coroutine suspended in a
            // `SharedTaskAwaiter` (it unlinks itself if destroyed), resumed
            // only from here.
            Some((h, false)) => unsafe { h.resume() },
        }
    }
}

impl<T> SharedTask<T> {
    fn from_handle(handle: UniqueCoroutineHandle<TaskPromise<T, Local>>) -> Self {
        SharedTask {
            _thread_bound: PhantomData,
            state: Unsent::new(Rc::new(State {
                header: Header::stand_in(&State::<T>::VTABLE),
                inner: RefCell::new(Inner {
                    status: Status::Unstarted(handle),
                    waiters: VecDeque::new(),
                    next_ticket: 0,
                }),
            })),
        }
    }

    /// `true` once the task has finished (awaiting it returns at once).
    ///
    /// ```
    /// use coro::{co_return, SharedTask};
    /// #[coro::coroutine]
    /// fn one() -> SharedTask<u8> { co_return!(1) }
    /// assert!(!one().is_ready());
    /// ```
    pub fn is_ready(&self) -> bool {
        matches!(self.state.inner.borrow().status, Status::Done(_))
    }
}

impl<T> From<Task<T>> for SharedTask<T> {
    /// Shares a task (see [`Task::shared`]).
    fn from(task: Task<T>) -> Self {
        SharedTask::from_handle(task.into_handle())
    }
}

impl<T> From<TaskReturn<T, Local>> for SharedTask<T> {
    fn from(ro: TaskReturn<T, Local>) -> Self {
        <Task<T> as FromReturnObject<TaskReturn<T, Local>, ()>>::from_return_object(ro).into()
    }
}

#[diagnostic::do_not_recommend]
impl<T> CoroutineTraits for SharedTask<T> {
    type Promise = TaskPromise<T, Local>;
}

impl<T> Task<T> {
    /// Turns the task into a [`SharedTask`] that several coroutines can await.
    ///
    /// ```
    /// use coro::{co_await, co_return, sync_wait, Task};
    ///
    /// #[coro::coroutine]
    /// fn seven() -> Task<u32> { co_return!(7) }
    ///
    /// #[coro::coroutine]
    /// fn add(a: coro::SharedTask<u32>, b: coro::SharedTask<u32>) -> Task<u32> {
    ///     co_return!(co_await!(a) + co_await!(b))
    /// }
    ///
    /// let s = seven().shared();
    /// assert_eq!(sync_wait(add(s.clone(), s)), 14);
    /// ```
    pub fn shared(self) -> SharedTask<T> {
        self.into()
    }
}

impl<T: Clone> IntoAwaiter for SharedTask<T> {
    type Awaiter = SharedTaskAwaiter<T>;
    fn into_awaiter(self) -> SharedTaskAwaiter<T> {
        SharedTaskAwaiter { state: self.state.into_inner(), ticket: None }
    }
}

impl<T: Clone> IntoAwaiter for &SharedTask<T> {
    type Awaiter = SharedTaskAwaiter<T>;
    fn into_awaiter(self) -> SharedTaskAwaiter<T> {
        SharedTaskAwaiter { state: self.state.clone(), ticket: None }
    }
}

/// Awaiting a [`SharedTask`] (by value or by reference): starts it if
/// needed, waits in line, and gives a clone of its value.
pub struct SharedTaskAwaiter<T> {
    state: Rc<State<T>>,
    /// Set while queued.
    ticket: Option<u64>,
}

impl<T> fmt::Debug for SharedTaskAwaiter<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedTaskAwaiter").field("queued", &self.ticket.is_some()).finish()
    }
}

#[diagnostic::do_not_recommend]
impl<T: Clone> Awaiter for SharedTaskAwaiter<T> {
    type Output = T;
    fn await_ready(&mut self) -> bool {
        matches!(self.state.inner.borrow().status, Status::Done(_))
    }
    unsafe fn await_suspend(&mut self, awaiting: CoroutineHandle) -> impl AwaitSuspend {
        let mut inner = self.state.inner.borrow_mut();
        let ticket = inner.next_ticket;
        inner.next_ticket += 1;
        inner.waiters.push_back((ticket, awaiting));
        self.ticket = Some(ticket);
        let start = match core::mem::replace(&mut inner.status, Status::Taken) {
            Status::Unstarted(mut frame) => {
                // The running task owns one strong count, given back by
                // `finished`: the state outlives every handle and awaiter.
                // The handle is made from the `Rc`'s own pointer, so that
                // `finished` may reach the whole state through it.
                let raw = Rc::into_raw(self.state.clone()) as *mut State<T>;
                let stand_in = CoroutineHandle::from_header(NonNull::new(raw).expect("Rc is non-null").cast());
                // SAFETY: unstarted, owned by the state: nobody else uses it.
                unsafe { frame.promise_mut() }.continuation = Some(stand_in);
                let h = frame.handle().erase();
                inner.status = Status::Running(frame);
                Some(h)
            }
            done @ Status::Done(_) => {
                // Finished already (`await_ready` said no just before, so
                // this is not expected): do not wait, resume at once.
                inner.status = done;
                inner.waiters.pop_back();
                self.ticket = None;
                Some(awaiting)
            }
            other => {
                inner.status = other;
                None
            }
        };
        // Transfer into the task if this awaiter started it; otherwise wait.
        start.unwrap_or_else(crate::language::handle::noop_coroutine)
    }
    fn await_resume(mut self) -> T {
        self.ticket = None;
        let mut inner = self.state.inner.borrow_mut();
        match &mut inner.status {
            Status::Done(Done::Value(v)) => v.clone(),
            Status::Done(Done::Panicked(p, m)) => match p.take() {
                Some(p) => {
                    drop(inner);
                    resume_unwind(p)
                }
                None => {
                    let m = format!("SharedTask panicked: {m}");
                    drop(inner);
                    resume_unwind(Box::new(m))
                }
            },
            _ => unreachable!("a shared task's awaiter resumed before it finished"),
        }
    }
}

impl<T> Drop for SharedTaskAwaiter<T> {
    fn drop(&mut self) {
        if let Some(t) = self.ticket.take() {
            // The awaiting coroutine is destroyed while queued: leave the line.
            self.state.inner.borrow_mut().waiters.retain(|(id, _)| *id != t);
        }
    }
}

impl<T: Clone> SyncWait for SharedTask<T> {
    type Output = T;
    /// Awaits the shared task from this thread (starting it if nobody has)
    /// and returns a clone of its value.
    ///
    /// ```
    /// use coro::{co_return, sync_wait, SharedTask};
    /// #[coro::coroutine]
    /// fn name() -> SharedTask<String> { co_return!("coro".to_string()) }
    /// let s = name();
    /// assert_eq!(sync_wait(&s), "coro");      // runs it
    /// assert_eq!(sync_wait(s), "coro");       // finished: a clone at once
    /// ```
    fn sync_wait(self) -> T {
        sync_wait_awaiter(self.into_awaiter())
    }
}

impl<T: Clone> SyncWait for &SharedTask<T> {
    type Output = T;
    /// As for `SharedTask<T>`, keeping the handle.
    fn sync_wait(self) -> T {
        sync_wait_awaiter(self.into_awaiter())
    }
}
