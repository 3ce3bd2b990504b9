//! What every socket shares: its registration with the loops it is
//! awaited on, and the awaiter core that tries an operation, waits for
//! readiness and retries.
//!
//! A socket registers with a loop lazily, at its first wait there: the
//! loop adds a source entry and registers the descriptor with its
//! `mio::Poll` (edge-triggered, readable and writable), under a token that
//! names the entry. A socket remembers its *homes*, `(loop, source key,
//! waiters)`; it is awaited on one loop as a rule, but may be on several
//! at once (the two owned halves of a stream on two loops, a listener
//! shared by every loop), each loop with its own registration of the same
//! descriptor. When a socket waits on a loop where it has no home, its
//! homes with no waiter left are dropped first (it moved: a stream
//! accepted on one loop and served on another), so it stays registered
//! only where it is used.
//!
//! The protocol of one operation ([`Pending`]):
//!
//! 1. `await_ready` withdraws what an earlier wait registered, then tries
//!    the operation (a non-blocking system call). Done, or failed with
//!    anything but `WouldBlock`: the `co_await!` completes without
//!    suspending.
//! 2. `WouldBlock`: `await_suspend` records the coroutine in the socket's
//!    source entry on this thread's loop, `(waiter id, handle)`, as a
//!    waiter for the direction it needs. No wake-up can be lost between
//!    the attempt and the registration: both run on the loop's thread
//!    with no poll between them, so an edge that comes after the attempt
//!    is reported by the loop's next poll, which finds the waiter (and a
//!    first registration reports the current readiness).
//! 3. A readiness event for that direction takes the waiter out of the
//!    list and resumes it (or queues its id behind queued work, taken out
//!    when its turn comes if still there); resumed, the coroutine asks
//!    `await_ready` again (`RECHECK_READY_ON_RESUME`): step 1. A spurious
//!    wake-up (another waiter took the data, a stale event) finds
//!    `WouldBlock` and suspends again.
//!
//! The waiter's state (the waiter id, the source key) lives in the
//! awaiter, in the coroutine's frame: an operation allocates nothing. Its
//! drop withdraws the waiter — takes it out of the list, if an event did
//! not — before the frame is freed (on the loop's thread at once; from
//! another thread by a message, the id naming that wait only), and its
//! cancel step does the same or asks the loop to resume it early.
//!
//! Each home counts the waiters registered on it, so that a socket moving
//! to another loop drops only homes nobody waits on. A wait on the loop
//! of the socket's only home counts itself without the registration's
//! mutex, through the socket's [`FastHome`] (`fast.rs`: the protocol and
//! its loom model); other waits, and every change of the homes, take the
//! mutex.

use core::fmt;
use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use coro_core::awaiter::CancelOutcome;
use coro_core::{AwaitSuspend, Awaiter, CoroutineHandle};

use super::fast::FastHome;
use crate::event_loop::{self, Message, Shared};
use crate::registration::{Direction, Key, SourceKey, WaiterId};

/// A socket's registration with one loop.
struct Home {
    shared: Arc<Shared>,
    source: SourceKey,
    /// Waiters of this socket suspended on that loop.
    waiting: usize,
}

/// The loops a socket is registered with: the first inline (the usual
/// case: no allocation), more in a boxed vector (allocated the first time
/// a socket has two homes).
#[derive(Default)]
struct Homes {
    first: Option<Home>,
    // A box: one word in every socket instead of a vector's three (most
    // sockets never have a second home).
    #[allow(clippy::box_collection)]
    more: Option<Box<Vec<Home>>>,
}

impl Home {
    /// Whether this is the registration with the loop `loop_id` names.
    fn on(&self, loop_id: usize) -> bool {
        Arc::as_ptr(&self.shared) as usize == loop_id
    }
}

impl Homes {
    fn find(&mut self, mut pred: impl FnMut(&Home) -> bool) -> Option<&mut Home> {
        if self.first.as_ref().is_some_and(&mut pred) {
            return self.first.as_mut();
        }
        self.more.as_mut()?.iter_mut().find(|h| pred(h))
    }

    /// The homes after the first.
    fn more(&self) -> &[Home] {
        self.more.as_deref().map_or(&[], Vec::as_slice)
    }

    /// Whether the socket has one home (or none) at most.
    fn single(&self) -> bool {
        self.more().is_empty()
    }

    fn push(&mut self, home: Home) {
        if self.first.is_none() {
            self.first = Some(home);
        } else {
            self.more.get_or_insert_with(Box::default).push(home);
        }
    }

    /// Takes out every home for which `drop_it` says so.
    fn remove_where(&mut self, mut drop_it: impl FnMut(&Home) -> bool, mut removed: impl FnMut(Home)) {
        if let Some(more) = self.more.as_mut() {
            let mut i = 0;
            while i < more.len() {
                if drop_it(&more[i]) {
                    removed(more.swap_remove(i));
                } else {
                    i += 1;
                }
            }
        }
        if self.first.as_ref().is_some_and(&mut drop_it) {
            removed(self.first.take().expect("checked"));
            self.first = self.more.as_mut().and_then(|m| m.pop());
        }
    }
}

/// Forgets a socket's registration with one loop: deregisters `fd` from
/// that loop's poller (any thread may), then removes the loop's source
/// entry (on its thread at once, from another by a message).
fn forget(home: Home, fd: RawFd) {
    // An error means the poller is gone or never had it: nothing to undo.
    let _ = home.shared.registry.deregister(&mut mio::unix::SourceFd(&fd));
    if event_loop::loop_id() != Arc::as_ptr(&home.shared) as usize
        || event_loop::with_loop(|lp| lp.remove_source(home.source)).is_none()
    {
        // Refused: the loop is gone, and its source entries with it.
        drop(home.shared.post(Message::DropSource(home.source)));
    }
}

/// A socket's registrations with the loops it waits on (see the module
/// docs). `Sync`: the halves of a stream share it.
#[derive(Default)]
pub(crate) struct Registration {
    /// The one-loop fast path (`fast.rs`): waits on the loop of the
    /// socket's only home skip the mutex.
    fast: FastHome,
    homes: Mutex<Homes>,
}

/// One waiter: what an awaiter keeps while its coroutine is suspended.
pub(crate) struct IoWait {
    /// The loop's [`event_loop::loop_id`]: its home (which holds the
    /// loop's `Shared`, so the address names no other loop) stays while
    /// this waiter counts in its `waiting`.
    loop_id: usize,
    source: SourceKey,
    direction: Direction,
    id: WaiterId,
    /// Counted on the fast home (`FastHome::enter`), not in its home's
    /// `waiting`.
    fast: bool,
}

impl Registration {
    fn lock(&self) -> MutexGuard<'_, Homes> {
        // Nothing panics under this lock but an allocation failure.
        self.homes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Registers `handle` as waiting for `direction` on `fd`, with this
    /// thread's loop (registering `fd` there first if need be).
    ///
    /// # Errors
    /// If the poller refuses the descriptor.
    ///
    /// # Panics
    /// If this thread has no [`EventLoop`](crate::EventLoop).
    fn wait(&self, fd: RawFd, direction: Direction, handle: CoroutineHandle) -> io::Result<IoWait> {
        let loop_id = event_loop::loop_id();
        let (source, fast) = match self.fast.enter(event_loop::loop_number()) {
            Some(bits) => (SourceKey::from_bits(bits), true),
            None => (self.wait_slow(fd, loop_id)?, false),
        };
        match event_loop::with_loop(|lp| lp.wait_io(source, direction, handle)).flatten() {
            Some(id) => Ok(IoWait { loop_id, source, direction, id, fast }),
            None => {
                self.unwait(loop_id, source, fast);
                Err(io::Error::other("coro_io: the socket's registration with this loop is gone"))
            }
        }
    }

    /// A wait under the mutex: counts the waiter in this loop's home
    /// (registering `fd` with the loop first if it has none), and opens
    /// the fast path if that home is the socket's only one.
    #[inline(never)]
    fn wait_slow(&self, fd: RawFd, loop_id: usize) -> io::Result<SourceKey> {
        let mut homes = self.lock();
        let source = match homes.find(|h| h.on(loop_id)) {
            Some(home) => {
                home.waiting += 1;
                home.source
            }
            None => {
                let lp = event_loop::current_for("co_await! of a socket operation");
                // The homes change: the fast path closes first; its home
                // (the first) is idle only if no fast waiter is counted.
                let first_busy = self.fast.close();
                let first = homes.first.as_ref().map(|h| (h.source, Arc::as_ptr(&h.shared) as usize));
                // The socket moved here: its idle registrations elsewhere go.
                homes.remove_where(
                    |h| h.waiting == 0 && !(first_busy && first == Some((h.source, Arc::as_ptr(&h.shared) as usize))),
                    |h| forget(h, fd),
                );
                let source = lp.add_source(fd)?;
                homes.push(Home { shared: lp.shared.clone(), source, waiting: 1 });
                source
            }
        };
        let number = event_loop::loop_number();
        if number != 0
            && self.fast.owner() != number
            && homes.single()
            && homes.first.as_ref().is_some_and(|h| h.on(loop_id))
        {
            self.fast.open(number, source.to_bits());
        }
        Ok(source)
    }

    /// A waiter of `source` on the loop `loop_id` is gone.
    fn unwait(&self, loop_id: usize, source: SourceKey, fast: bool) {
        if fast {
            self.fast.exit();
            return;
        }
        let mut homes = self.lock();
        if let Some(home) = homes.find(|h| h.source == source && h.on(loop_id)) {
            home.waiting -= 1;
        }
    }

    /// Withdraws a waiter (its awaiter resumed, or is dropped): at once on
    /// its loop's thread, by a message from any other.
    #[inline]
    fn finish(&self, wait: &IoWait) {
        if event_loop::loop_id() == wait.loop_id {
            event_loop::with_loop(|lp| lp.withdraw_io(wait.source, wait.direction, wait.id));
            if wait.fast {
                self.fast.exit();
            } else {
                self.unwait(wait.loop_id, wait.source, false);
            }
            return;
        }
        self.finish_elsewhere(wait);
    }

    /// [`finish`](Self::finish) off the waiter's loop thread.
    #[inline(never)]
    fn finish_elsewhere(&self, wait: &IoWait) {
        let mut homes = self.lock();
        if let Some(home) = homes.find(|h| h.source == wait.source && h.on(wait.loop_id)) {
            // Refused: the loop is gone, and the waiter with it.
            drop(home.shared.post(Message::WithdrawIo(wait.source, wait.direction, wait.id)));
            if !wait.fast {
                home.waiting -= 1;
            }
        }
        drop(homes);
        if wait.fast {
            self.fast.exit();
        }
    }

    /// The cancel step of a suspended waiter (see
    /// [`Awaiter::await_cancel`]): withdrawn on its loop's thread; from
    /// another, the loop is asked to resume the coroutine early.
    fn cancel(&self, slot: &mut Option<IoWait>) -> CancelOutcome {
        let Some(wait) = slot else { return CancelOutcome::ResumeComing };
        if event_loop::loop_id() != wait.loop_id {
            let homes = self.lock();
            let home = homes.first.iter().chain(homes.more()).find(|h| h.source == wait.source && h.on(wait.loop_id));
            if home.is_some_and(|h| h.shared.post(Message::ResumeIo(wait.source, wait.direction, wait.id)).is_ok()) {
                return CancelOutcome::ResumeComing;
            }
        }
        // On the loop's thread, or the loop is gone: nothing will resume it.
        if let Some(wait) = slot.take() {
            self.finish(&wait);
        }
        CancelOutcome::Withdrawn
    }

    /// The socket is dropped: it leaves every loop's poller.
    fn deregister_all(&self, fd: RawFd) {
        let mut homes = self.lock();
        // No waiter is left: each borrowed the socket.
        self.fast.close();
        homes.remove_where(|_| true, |h| forget(h, fd));
    }
}

/// A mio socket and its registrations. Dropping it deregisters the
/// descriptor from every loop, then closes it.
pub(crate) struct Source<T: AsRawFd> {
    pub(crate) io: T,
    reg: Registration,
}

impl<T: AsRawFd> Source<T> {
    pub(crate) fn new(io: T) -> Source<T> {
        Source { io, reg: Registration::default() }
    }

    fn fd(&self) -> RawFd {
        self.io.as_raw_fd()
    }
}

impl<T: AsRawFd + fmt::Debug> fmt::Debug for Source<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.io.fmt(f)
    }
}

impl<T: AsRawFd> Drop for Source<T> {
    fn drop(&mut self) {
        self.reg.deregister_all(self.fd());
    }
}

/// What one attempt of an operation gave.
pub(crate) enum Attempt<T> {
    /// Finished (successfully or not): the `co_await!`'s value.
    Done(T),
    /// `WouldBlock`: wait until the socket is ready in this direction.
    Wait(Direction),
    /// Out of a resource that readiness will not announce (descriptors,
    /// for `accept`): try again after this long.
    Backoff(Duration),
}

/// One socket operation, as [`Pending`] drives it.
pub(crate) trait Op {
    type Output;
    /// One non-blocking attempt (retrying `Interrupted` itself).
    fn attempt(&mut self) -> Attempt<Self::Output>;
    /// The value for an error that came from elsewhere than the attempt
    /// (the poller refused the socket).
    fn fail(&mut self, error: io::Error) -> Self::Output;
    /// The socket waited on: its registration and descriptor.
    fn source(&self) -> Option<(&Registration, RawFd)>;
}

impl<T: AsRawFd> Source<T> {
    /// `(registration, fd)` for [`Op::source`].
    pub(crate) fn parts(&self) -> (&Registration, RawFd) {
        (&self.reg, self.fd())
    }
}

/// Runs `f` until it does not fail with `Interrupted`; `WouldBlock` asks to
/// wait for `direction`.
pub(crate) fn attempt_io<T>(direction: Direction, mut f: impl FnMut() -> io::Result<T>) -> Attempt<io::Result<T>> {
    loop {
        match f() {
            Err(e) => match e.raw_os_error() {
                // The two outcomes that are no result, told by their codes
                // (`kind()` maps every code).
                Some(libc::EINTR) => continue,
                Some(code) if code == libc::EAGAIN || code == libc::EWOULDBLOCK => return Attempt::Wait(direction),
                Some(_) => return Attempt::Done(Err(e)),
                None => match e.kind() {
                    io::ErrorKind::Interrupted => continue,
                    io::ErrorKind::WouldBlock => return Attempt::Wait(direction),
                    _ => return Attempt::Done(Err(e)),
                },
            },
            result => return Attempt::Done(result),
        }
    }
}

/// Where an operation stands between its attempts.
enum State {
    /// Not waiting.
    Idle,
    /// `await_ready` found `WouldBlock`: `await_suspend` waits for this.
    WillWait(Direction),
    /// `await_ready` found the process out of a resource: `await_suspend`
    /// sleeps this long.
    WillBackOff(Duration),
    /// Suspended waiting for readiness.
    Waiting(IoWait),
    /// Suspended in a back-off (a timer registration).
    BackingOff(Arc<Shared>, Key),
}

/// The awaiter core of every socket operation (see the module docs).
pub(crate) struct Pending<O: Op> {
    pub(crate) op: O,
    done: Option<O::Output>,
    state: State,
}

impl<O: Op> Pending<O> {
    pub(crate) fn new(op: O) -> Pending<O> {
        Pending { op, done: None, state: State::Idle }
    }

    /// Whether a waiter is registered (for `Debug`).
    pub(crate) fn is_waiting(&self) -> bool {
        matches!(self.state, State::Waiting(_) | State::BackingOff(..))
    }

    /// Withdraws what the last suspension registered.
    #[inline]
    fn withdraw(&mut self) {
        if !matches!(self.state, State::Idle) {
            self.withdraw_slow();
        }
    }

    #[inline(never)]
    fn withdraw_slow(&mut self) {
        match &self.state {
            State::Waiting(wait) => {
                if let Some((reg, _)) = self.op.source() {
                    reg.finish(wait);
                }
            }
            State::BackingOff(shared, key) => event_loop::withdraw(shared, *key),
            State::Idle | State::WillWait(_) | State::WillBackOff(_) => {}
        }
        self.state = State::Idle;
    }
}

impl<O: Op> Awaiter for Pending<O> {
    type Output = O::Output;

    /// Withdraws the last wait, then tries the operation (also on every
    /// resume: `RECHECK_READY_ON_RESUME`).
    fn await_ready(&mut self) -> bool {
        self.withdraw();
        if self.done.is_some() {
            return true;
        }
        match self.op.attempt() {
            Attempt::Done(v) => {
                self.done = Some(v);
                true
            }
            Attempt::Wait(direction) => {
                self.state = State::WillWait(direction);
                false
            }
            Attempt::Backoff(d) => {
                self.state = State::WillBackOff(d);
                false
            }
        }
    }

    unsafe fn await_suspend(&mut self, awaiting: CoroutineHandle) -> impl AwaitSuspend {
        match self.state {
            State::WillWait(direction) => {
                let registered = match self.op.source() {
                    Some((reg, fd)) => reg.wait(fd, direction, awaiting),
                    None => Err(io::Error::other("coro_io: a socket operation has no socket to wait on")),
                };
                match registered {
                    Ok(wait) => {
                        self.state = State::Waiting(wait);
                        true
                    }
                    Err(e) => {
                        // Not registered: resume at once with the error.
                        self.state = State::Idle;
                        self.done = Some(self.op.fail(e));
                        false
                    }
                }
            }
            State::WillBackOff(d) => {
                let lp = event_loop::current_for("co_await! of a socket operation");
                let key = lp.register_timer(awaiting, Instant::now() + d);
                self.state = State::BackingOff(lp.shared.clone(), key);
                true
            }
            // The frame calls `await_suspend` only after `await_ready`
            // said `false`, which plans a wait.
            State::Idle | State::Waiting(_) | State::BackingOff(..) => false,
        }
    }

    fn await_resume(mut self) -> O::Output {
        self.withdraw();
        match self.done.take() {
            Some(v) => v,
            // Only reached if a driver resumed it without asking
            // `await_ready` again: one more attempt, no wait.
            None => match self.op.attempt() {
                Attempt::Done(v) => v,
                _ => self.op.fail(io::ErrorKind::WouldBlock.into()),
            },
        }
    }

    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        match core::mem::replace(&mut self.state, State::Idle) {
            State::Waiting(wait) => {
                let Some((reg, _)) = self.op.source() else {
                    self.state = State::Waiting(wait);
                    return CancelOutcome::ResumeComing;
                };
                let mut slot = Some(wait);
                let outcome = reg.cancel(&mut slot);
                if let Some(wait) = slot {
                    self.state = State::Waiting(wait);
                }
                outcome
            }
            State::BackingOff(shared, key) => {
                let mut slot = Some((shared, key));
                let outcome = event_loop::cancel(&mut slot);
                if let Some((shared, key)) = slot {
                    self.state = State::BackingOff(shared, key);
                }
                outcome
            }
            other => {
                self.state = other;
                CancelOutcome::ResumeComing
            }
        }
    }

    const RECHECK_READY_ON_RESUME: bool = true;
}

/// The cancel step: a waiter still registered is withdrawn.
impl<O: Op> Drop for Pending<O> {
    fn drop(&mut self) {
        self.withdraw();
    }
}
