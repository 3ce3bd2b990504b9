//! [`Channel`]: a bounded multi-producer multi-consumer channel for
//! coroutines.

use core::cell::UnsafeCell;
use core::fmt;
use std::collections::VecDeque;

use super::flavor::{Flavor, Guarded, Local, ThreadSafe};
use super::ready;
use super::waiter::{abandon_wait, cancel_wait, WaitList, WaitNode};
use crate::language::awaiter::{AwaitSuspend, Awaiter, CancelOutcome};
use crate::language::handle::CoroutineHandle;

/// A bounded FIFO channel that any number of coroutines send to and
/// receive from, suspending when it is full (senders) or empty (receivers).
///
/// `co_await!(ch.send(v))` gives `Ok(())` once `v` is in the channel or in
/// a receiver's hands, or `Err(SendError(v))` if the channel is closed;
/// `co_await!(ch.recv())` gives `Some(v)`, or `None` once the channel is
/// closed and empty. [`try_send`](Self::try_send) and
/// [`try_recv`](Self::try_recv) never suspend. There are no sender or
/// receiver handles: share the channel itself (in an `Arc`, an `Rc`, or by
/// reference) and [`close`](Self::close) it explicitly.
///
/// **Storage.** The buffer of `capacity` values is allocated once, by
/// `new`; sending, receiving and waiting
/// allocate nothing (a waiting coroutine's value and list node live in its
/// awaiter, in its frame). Capacity 0 makes a rendezvous channel: each send
/// waits for a receiver.
///
/// **Fair (FIFO).** Waiting senders and receivers are served in the order
/// they arrived. A send to a channel with a waiting receiver hands the value
/// directly to the longest-waiting one; a receive from a full channel
/// moves the longest-waiting sender's value into the freed place. The
/// coroutine so released is resumed on the releasing thread before the
/// releasing `co_await!` completes (see the [module docs](super#waking)).
///
/// **Closing** comes in two forms; both make later sends fail and wake
/// every waiter: receivers get `None` (the channel is empty whenever
/// receivers wait), senders blocked on a full channel get their value back
/// in the `SendError` (their values were never in the channel, so neither
/// form drops them).
///
/// - [`close`](Self::close) keeps the buffered values: receivers drain them
///   in order, then get `None`.
/// - [`close_and_discard`](Self::close_and_discard) drops the buffered
///   values before it returns (each exactly once), so receivers get `None`
///   at once; a value already handed to a receiver that is destroyed
///   before it ran is dropped too, rather than coming back.
///
/// **Destroyed waiters.** A waiting sender or receiver whose coroutine is
/// destroyed leaves the queue; a sender's value is dropped with it. If a
/// receiver had already been handed a value but is destroyed before it ran,
/// the value goes to the next waiting receiver, or back to the front of
/// the buffer — the one case in which the buffer can briefly hold more than
/// `capacity` values (and so allocate).
///
/// Name it [`coro::sync::Channel`](super::Channel) or
/// [`coro::sync::local::Channel`](super::local::Channel).
///
/// ```
/// use std::sync::Arc;
/// use coro::{co_await, co_return, sync_wait, SendTask};
/// use coro::sync::Channel;
///
/// #[coro::coroutine]
/// fn produce(ch: Arc<Channel<u32>>, from: u32) -> SendTask<()> {
///     for i in from..from + 100 {
///         co_await!(ch.send(i)).unwrap();
///     }
///     co_return!(())
/// }
///
/// #[coro::coroutine]
/// fn consume(ch: Arc<Channel<u32>>) -> SendTask<u32> {
///     let mut sum = 0;
///     while let Some(v) = co_await!(ch.recv()) {
///         sum += v;
///     }
///     co_return!(sum)
/// }
///
/// let ch = Arc::new(Channel::new(4));
/// let producers: Vec<_> = [0, 100]
///     .into_iter()
///     .map(|from| {
///         let ch = ch.clone();
///         std::thread::spawn(move || sync_wait(produce(ch, from)))
///     })
///     .collect();
/// let consumer = std::thread::spawn({
///     let ch = ch.clone();
///     move || sync_wait(consume(ch))
/// });
/// for p in producers {
///     p.join().unwrap();
/// }
/// ch.close();
/// assert_eq!(consumer.join().unwrap(), (0..200).sum::<u32>());
/// ```
pub struct Channel<T, F: Flavor = ThreadSafe> {
    state: Guarded<F::Lock, State<T>>,
}

struct State<T> {
    buf: VecDeque<T>,
    capacity: usize,
    closed: bool,
    /// Set by `close_and_discard`: a value handed back by a destroyed
    /// receiver is dropped, not buffered again.
    discarded: bool,
    /// Non-empty only while `buf` is empty and the channel open.
    receivers: WaitList,
    /// Non-empty only while `buf.len() >= capacity` and the channel open.
    senders: WaitList,
}

/// What a channel's wait lists link: the node, and the value slot beside it
/// (a sender's value waiting to go, or a receiver's value arriving).
#[repr(C)]
struct ChanNode<T> {
    node: WaitNode,
    slot: UnsafeCell<Option<T>>,
}

impl<T> ChanNode<T> {
    const fn new(value: Option<T>) -> Self {
        ChanNode { node: WaitNode::new(), slot: UnsafeCell::new(value) }
    }

    /// The list node, as a pointer that may be cast back to the whole
    /// `ChanNode` (its provenance covers the slot).
    fn as_node(&self) -> *const WaitNode {
        (self as *const ChanNode<T>).cast()
    }
}

/// The value slot of a node in one of a channel's lists.
///
/// # Safety
/// `node` is in (or was just taken out of) the list of a `Channel<T, _>`,
/// whose lock is held; so it is the first field of a live `ChanNode<T>`.
#[allow(clippy::mut_from_ref)]
unsafe fn slot<'a, T>(node: *const WaitNode) -> &'a mut Option<T> {
    // SAFETY: `ChanNode` is `repr(C)` with the node first, and the pointer
    // came from `as_node`; the lock makes this the only access.
    unsafe { &mut *(*node.cast::<ChanNode<T>>()).slot.get() }
}

// SAFETY: the wait lists are only followed under the lock; moving the
// channel moves no waiter (waiters borrow it); the values move with it.
unsafe impl<T: Send, F: Flavor> Send for Channel<T, F> {}
// SAFETY: the state is only reached under a spin lock; values cross
// threads through it (so `T: Send`), never shared.
unsafe impl<T: Send> Sync for Channel<T, ThreadSafe> {}

impl<T> Channel<T, ThreadSafe> {
    /// A thread-safe channel holding up to `capacity` values (0: each send
    /// waits for a receiver). Allocates the buffer.
    ///
    /// ```
    /// let ch = coro::sync::Channel::<String>::new(8);
    /// assert_eq!(ch.capacity(), 8);
    /// ```
    pub fn new(capacity: usize) -> Self {
        Channel { state: Guarded::new(State::new(capacity)) }
    }
}

impl<T> Channel<T, Local> {
    /// A single-threaded channel holding up to `capacity` values.
    ///
    /// ```
    /// let ch = coro::sync::local::Channel::new(2);
    /// ch.try_send(1).unwrap();
    /// assert_eq!(ch.len(), 1);
    /// ```
    pub fn new(capacity: usize) -> Self {
        Channel { state: Guarded::new(State::new(capacity)) }
    }
}

impl<T> State<T> {
    fn new(capacity: usize) -> Self {
        State {
            buf: VecDeque::with_capacity(capacity),
            capacity,
            closed: false,
            discarded: false,
            receivers: WaitList::new(),
            senders: WaitList::new(),
        }
    }

    /// Sends without waiting: `Ok(woke)` if the value went to a waiting
    /// receiver (`woke`, scheduled) or into the buffer; `Err` gives the
    /// value back, with whether the channel is closed.
    fn try_send(&mut self, value: T) -> Result<bool, (T, bool)> {
        if self.closed {
            return Err((value, true));
        }
        if let Some(r) = self.receivers.pop_front() {
            // SAFETY: taken out of this channel's receiver list under its
            // lock; its slot is empty (receivers wait for a value).
            unsafe {
                *slot::<T>(r) = Some(value);
                ready::schedule(r);
            }
            return Ok(true);
        }
        if self.buf.len() < self.capacity {
            self.buf.push_back(value);
            return Ok(false);
        }
        Err((value, false))
    }

    /// Receives without waiting: `Ok((value, woke))` where `woke` says a
    /// sender was scheduled; `Err(closed)` if there is nothing.
    fn try_recv(&mut self) -> Result<(T, bool), bool> {
        if let Some(v) = self.buf.pop_front() {
            let mut woke = false;
            // A place is free: the longest-waiting sender's value takes it.
            if self.buf.len() < self.capacity {
                if let Some(s) = self.senders.pop_front() {
                    // SAFETY: taken out of this channel's sender list under
                    // its lock; a waiting sender's slot holds its value.
                    unsafe {
                        let v = slot::<T>(s).take().expect("a waiting sender without a value");
                        self.buf.push_back(v);
                        ready::schedule(s);
                    }
                    woke = true;
                }
            }
            return Ok((v, woke));
        }
        // Empty buffer with a waiting sender: a rendezvous channel.
        if let Some(s) = self.senders.pop_front() {
            // SAFETY: as above.
            let v = unsafe {
                let v = slot::<T>(s).take().expect("a waiting sender without a value");
                ready::schedule(s);
                v
            };
            return Ok((v, true));
        }
        Err(self.closed)
    }

    /// A value handed to a receiver that was destroyed before it ran comes
    /// back: to the next waiting receiver, else to the front of the buffer.
    /// Returns whether a receiver was scheduled; after `close_and_discard`
    /// the value is returned instead, for the caller to drop outside the
    /// lock.
    fn give_back(&mut self, value: T) -> Result<bool, T> {
        if self.discarded {
            // Closed, so no receiver waits: the value would only be buffered.
            return Err(value);
        }
        if let Some(r) = self.receivers.pop_front() {
            // SAFETY: as in `try_send`.
            unsafe {
                *slot::<T>(r) = Some(value);
                ready::schedule(r);
            }
            return Ok(true);
        }
        self.buf.push_front(value);
        Ok(false)
    }
}

impl<T, F: Flavor> Channel<T, F> {
    /// An awaiter that sends `value`: `Ok(())` once the value is in the
    /// channel or handed to a receiver, `Err(SendError(value))` if the
    /// channel is (or gets) closed first.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use coro::schedule::{spawn_detached, LocalScheduler};
    /// use coro::{co_await, co_return, Task};
    /// use coro::sync::local::Channel;
    ///
    /// #[coro::coroutine]
    /// fn producer(ch: Rc<Channel<u32>>) -> Task<()> {
    ///     for i in 1..=3 {
    ///         co_await!(ch.send(i)).unwrap(); // suspends while the channel is full
    ///     }
    ///     co_return!(())
    /// }
    ///
    /// let ch = Rc::new(Channel::new(1));
    /// let s = LocalScheduler::new();
    /// spawn_detached(producer(ch.clone()), &s);
    /// s.run_until_idle();
    /// assert_eq!(ch.len(), 1);          // 1 is buffered; the producer waits with 2
    /// assert_eq!(ch.try_recv(), Ok(1)); // 2 moves in; the producer goes on, waits with 3
    /// assert_eq!(ch.try_recv(), Ok(2));
    /// assert_eq!(ch.try_recv(), Ok(3));
    /// ```
    pub fn send(&self, value: T) -> Sending<'_, T, F> {
        Sending { channel: self, node: ChanNode::new(Some(value)) }
    }

    /// An awaiter that receives a value: `Some(v)`, or `None` once the
    /// channel is closed and empty.
    ///
    /// ```
    /// use std::rc::Rc;
    /// use coro::{co_await, co_return, sync_wait, Task};
    /// use coro::sync::local::Channel;
    ///
    /// #[coro::coroutine]
    /// fn sum(ch: Rc<Channel<u32>>) -> Task<u32> {
    ///     let mut total = 0;
    ///     while let Some(v) = co_await!(ch.recv()) {
    ///         total += v;
    ///     }
    ///     co_return!(total)
    /// }
    ///
    /// let ch = Rc::new(Channel::new(4));
    /// for v in [1, 2, 3] {
    ///     ch.try_send(v).unwrap();
    /// }
    /// ch.close(); // `recv` drains the buffer, then gives `None`
    /// assert_eq!(sync_wait(sum(ch)), 6);
    /// ```
    pub fn recv(&self) -> Receiving<'_, T, F> {
        Receiving { channel: self, node: ChanNode::new(None) }
    }

    /// Sends without waiting. A waiting receiver is resumed on this thread
    /// before this returns.
    ///
    /// ```
    /// use coro::sync::{local::Channel, TrySendError};
    ///
    /// let ch = Channel::new(1);
    /// assert_eq!(ch.try_send(1), Ok(()));
    /// assert_eq!(ch.try_send(2), Err(TrySendError::Full(2)));
    /// ch.close();
    /// assert_eq!(ch.try_send(3), Err(TrySendError::Closed(3)));
    /// ```
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        match self.state.with(|s| s.try_send(value)) {
            Ok(woke) => {
                if woke {
                    ready::run();
                }
                Ok(())
            }
            Err((v, true)) => Err(TrySendError::Closed(v)),
            Err((v, false)) => Err(TrySendError::Full(v)),
        }
    }

    /// Receives without waiting. A sender waiting for room is resumed on
    /// this thread before this returns.
    ///
    /// ```
    /// use coro::sync::{local::Channel, TryRecvError};
    ///
    /// let ch = Channel::new(1);
    /// assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
    /// ch.try_send('a').unwrap();
    /// ch.close();
    /// assert_eq!(ch.try_recv(), Ok('a'));
    /// assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.state.with(State::try_recv) {
            Ok((v, woke)) => {
                if woke {
                    ready::run();
                }
                Ok(v)
            }
            Err(true) => Err(TryRecvError::Closed),
            Err(false) => Err(TryRecvError::Empty),
        }
    }

    /// Closes the channel, keeping what is buffered: later sends fail,
    /// receives drain the buffer in order, then give `None`. Every waiting
    /// coroutine is resumed on this thread before this returns (receivers
    /// with `None`, senders blocked on the full buffer with their value in
    /// the `SendError`). Closing twice does nothing. To drop the buffered
    /// values instead, use [`close_and_discard`](Self::close_and_discard).
    ///
    /// A receiver waiting on an empty channel gets `None`:
    /// ```
    /// use std::{cell::Cell, rc::Rc};
    /// use coro::schedule::{spawn_detached, LocalScheduler};
    /// use coro::{co_await, co_return, Task};
    /// use coro::sync::local::Channel;
    ///
    /// #[coro::coroutine]
    /// fn receiver(ch: Rc<Channel<u32>>, got: Rc<Cell<Option<Option<u32>>>>) -> Task<()> {
    ///     got.set(Some(co_await!(ch.recv())));
    ///     co_return!(())
    /// }
    ///
    /// let (ch, got) = (Rc::new(Channel::new(1)), Rc::new(Cell::new(None)));
    /// let s = LocalScheduler::new();
    /// spawn_detached(receiver(ch.clone(), got.clone()), &s);
    /// s.run_until_idle();
    /// ch.close(); // resumes the receiver before returning
    /// assert_eq!(got.get(), Some(None));
    /// assert!(ch.is_closed());
    /// ```
    pub fn close(&self) {
        let woke = self.state.with(|s| {
            if s.closed {
                return false;
            }
            s.closed = true;
            let woke = !(s.receivers.is_empty() && s.senders.is_empty());
            // SAFETY: under the lock, on this channel's wait lists.
            unsafe {
                ready::schedule_all(&mut s.receivers);
                ready::schedule_all(&mut s.senders);
            }
            woke
        });
        if woke {
            ready::run();
        }
    }

    /// Closes the channel and drops the buffered values before returning
    /// (each exactly once), so receivers get `None` at once. Returns how
    /// many values were dropped.
    ///
    /// Waiters are resumed as by [`close`](Self::close): receivers with
    /// `None`, senders blocked on the full buffer with their own value back
    /// in the `SendError` (it never entered the channel, so it is not
    /// discarded). A value already handed to a receiver, which is destroyed
    /// before it runs, is dropped too instead of coming back to the buffer.
    /// On a channel already closed this still drops what is buffered.
    ///
    /// The values are dropped after the waiters were resumed, outside the
    /// channel's lock (their `Drop` may use the channel).
    ///
    /// ```
    /// use std::rc::Rc;
    /// use coro::sync::{local::Channel, TryRecvError};
    ///
    /// let ch = Channel::new(4);
    /// let value = Rc::new("buffered");
    /// ch.try_send(value.clone()).unwrap();
    /// assert_eq!(ch.close_and_discard(), 1);
    /// assert_eq!(Rc::strong_count(&value), 1); // dropped by the channel already
    /// assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
    /// ```
    pub fn close_and_discard(&self) -> usize {
        let (woke, discarded) = self.state.with(|s| {
            s.discarded = true;
            // Replaced by an empty deque: dropping the values (user code)
            // waits until the lock is released.
            let discarded = core::mem::take(&mut s.buf);
            if s.closed {
                return (false, discarded);
            }
            s.closed = true;
            let woke = !(s.receivers.is_empty() && s.senders.is_empty());
            // SAFETY: under the lock, on this channel's wait lists.
            unsafe {
                ready::schedule_all(&mut s.receivers);
                ready::schedule_all(&mut s.senders);
            }
            (woke, discarded)
        });
        let n = discarded.len();
        if woke {
            // If a resumed coroutine's panic comes out of here, `discarded`
            // is still dropped, by the unwinding.
            ready::run();
        }
        drop(discarded);
        n
    }

    /// Whether [`close`](Self::close) or
    /// [`close_and_discard`](Self::close_and_discard) was called.
    ///
    /// ```
    /// let ch = coro::sync::local::Channel::<u8>::new(1);
    /// assert!(!ch.is_closed());
    /// ch.close();
    /// assert!(ch.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.state.with(|s| s.closed)
    }

    /// How many values are in the buffer.
    ///
    /// ```
    /// let ch = coro::sync::local::Channel::new(4);
    /// ch.try_send("a").unwrap();
    /// ch.try_send("b").unwrap();
    /// assert_eq!(ch.len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.state.with(|s| s.buf.len())
    }

    /// Whether the buffer is empty.
    ///
    /// ```
    /// let ch = coro::sync::local::Channel::new(4);
    /// assert!(ch.is_empty());
    /// ch.try_send(()).unwrap();
    /// assert!(!ch.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The capacity given to `new`.
    ///
    /// ```
    /// assert_eq!(coro::sync::local::Channel::<u8>::new(0).capacity(), 0); // rendezvous
    /// ```
    pub fn capacity(&self) -> usize {
        self.state.with(|s| s.capacity)
    }

    /// The buffered values, through exclusive access to the channel.
    ///
    /// ```
    /// let ch = coro::sync::Channel::new(4);
    /// ch.try_send(1).unwrap();
    /// ch.try_send(2).unwrap();
    /// assert_eq!(ch.into_inner(), [1, 2]);
    /// ```
    pub fn into_inner(self) -> VecDeque<T> {
        self.state.into_inner().buf
    }
}

impl<T, F: Flavor> fmt::Debug for Channel<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (len, capacity, closed) = self.state.with(|s| (s.buf.len(), s.capacity, s.closed));
        f.debug_struct("Channel")
            .field("len", &len)
            .field("capacity", &capacity)
            .field("closed", &closed)
            .finish_non_exhaustive()
    }
}

/// The awaiter of [`Channel::send`]. Waiting allocates nothing: the value
/// and the queue node wait inside the awaiter, in the sender's frame.
#[must_use = "an awaiter does nothing unless `co_await!`ed"]
pub struct Sending<'a, T, F: Flavor = ThreadSafe> {
    channel: &'a Channel<T, F>,
    node: ChanNode<T>,
}

// Left out of the "other types implement `Awaiter`" list of unrelated errors.
#[diagnostic::do_not_recommend]
impl<T, F: Flavor> Awaiter for Sending<'_, T, F> {
    type Output = Result<(), SendError<T>>;

    fn await_ready(&mut self) -> bool {
        let slot = self.node.slot.get_mut();
        let Some(value) = slot.take() else { return true };
        match self.channel.state.with(|s| s.try_send(value)) {
            Ok(woke) => {
                if woke {
                    ready::run();
                }
                true
            }
            Err((v, closed)) => {
                *slot = Some(v);
                closed
            }
        }
    }

    unsafe fn await_suspend(&mut self, handle: CoroutineHandle) -> impl AwaitSuspend {
        let node = self.node.as_node();
        // SAFETY: our live coroutine; the node is not published yet.
        unsafe { (*node).arm_home::<F>(handle) };
        // Nothing after `with` returns touches `self` once the node is
        // registered: releasing the lock publishes it.
        let (registered, woke) = self.channel.state.with(|s| {
            // SAFETY: our own node; nobody else sees it before it is linked.
            let slot = unsafe { slot::<T>(node) };
            let value = slot.take().expect("a sender without a value");
            match s.try_send(value) {
                Ok(woke) => (false, woke),
                Err((v, closed)) => {
                    *slot = Some(v);
                    if closed {
                        return (false, false);
                    }
                    // SAFETY: the node is idle and stays in place in the
                    // suspended frame until resumed or unlinked by `Drop`.
                    unsafe {
                        (*node).prepare(handle);
                        s.senders.push_back(node);
                        (*node).register_local::<F>();
                    }
                    (true, false)
                }
            }
        });
        if woke {
            // Not registered, but a receiver was released: this coroutine
            // continues after it has run.
            // SAFETY: the node is idle; `self` is not touched again.
            return unsafe { ready::park_behind_released(node, handle) };
        }
        registered
    }

    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        // SAFETY: the node is this awaiter's, registered with this
        // primitive's `senders` list; the coroutine is suspended on it.
        unsafe { cancel_wait(&self.channel.state, |s| &mut s.senders, self.node.as_node()) }
    }

    fn await_resume(mut self) -> Result<(), SendError<T>> {
        self.node.node.finish();
        // The slot is empty once the value has gone; it still holds the
        // value if the channel was closed.
        match self.node.slot.get_mut().take() {
            None => Ok(()),
            Some(v) => Err(SendError(v)),
        }
    }
}

impl<T, F: Flavor> Drop for Sending<'_, T, F> {
    fn drop(&mut self) {
        // SAFETY: the node is this awaiter's, registered (if at all) with
        // this channel's `senders` list. Released (value delivered, or
        // channel closed) but destroyed before it ran: nothing to hand on;
        // an undelivered value is dropped with the slot.
        unsafe { abandon_wait(&self.channel.state, |s| &mut s.senders, self.node.as_node()) };
    }
}

impl<T, F: Flavor> fmt::Debug for Sending<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("channel::Sending").field("channel", self.channel).finish_non_exhaustive()
    }
}

/// The awaiter of [`Channel::recv`]. Waiting allocates nothing.
#[must_use = "an awaiter does nothing unless `co_await!`ed"]
pub struct Receiving<'a, T, F: Flavor = ThreadSafe> {
    channel: &'a Channel<T, F>,
    node: ChanNode<T>,
}

// Left out of the "other types implement `Awaiter`" list of unrelated errors.
#[diagnostic::do_not_recommend]
impl<T, F: Flavor> Awaiter for Receiving<'_, T, F> {
    type Output = Option<T>;

    fn await_ready(&mut self) -> bool {
        match self.channel.state.with(State::try_recv) {
            Ok((v, woke)) => {
                *self.node.slot.get_mut() = Some(v);
                if woke {
                    ready::run();
                }
                true
            }
            Err(closed) => closed,
        }
    }

    unsafe fn await_suspend(&mut self, handle: CoroutineHandle) -> impl AwaitSuspend {
        let node = self.node.as_node();
        // SAFETY: our live coroutine; the node is not published yet.
        unsafe { (*node).arm_home::<F>(handle) };
        // Nothing after `with` returns touches `self` once the node is
        // registered: releasing the lock publishes it.
        let (registered, woke) = self.channel.state.with(|s| match s.try_recv() {
            Ok((v, woke)) => {
                // SAFETY: our own node, not linked anywhere.
                unsafe { *slot::<T>(node) = Some(v) };
                (false, woke)
            }
            Err(true) => (false, false),
            Err(false) => {
                // SAFETY: the node is idle and stays in place in the
                // suspended frame until resumed or unlinked by `Drop`.
                unsafe {
                    (*node).prepare(handle);
                    s.receivers.push_back(node);
                    (*node).register_local::<F>();
                }
                (true, false)
            }
        });
        if woke {
            // Not registered, but the sender whose value was taken was
            // released: this coroutine continues after it has run.
            // SAFETY: the node is idle; `self` is not touched again.
            return unsafe { ready::park_behind_released(node, handle) };
        }
        registered
    }

    unsafe fn await_cancel(&mut self) -> CancelOutcome {
        // SAFETY: the node is this awaiter's, registered with this
        // primitive's `receivers` list; the coroutine is suspended on it.
        unsafe { cancel_wait(&self.channel.state, |s| &mut s.receivers, self.node.as_node()) }
    }

    fn await_resume(mut self) -> Option<T> {
        self.node.node.finish();
        self.node.slot.get_mut().take()
    }
}

impl<T, F: Flavor> Drop for Receiving<'_, T, F> {
    fn drop(&mut self) {
        // SAFETY: the node is this awaiter's, registered (if at all) with
        // this channel's `receivers` list.
        if unsafe { abandon_wait(&self.channel.state, |s| &mut s.receivers, self.node.as_node()) } {
            // Handed a value, destroyed before it ran: the value goes on.
            if let Some(v) = self.node.slot.get_mut().take() {
                match self.channel.state.with(|s| s.give_back(v)) {
                    Ok(true) => ready::run(),
                    Ok(false) => {}
                    // Discarded by `close_and_discard`: dropped here, outside the lock.
                    Err(v) => drop(v),
                }
            }
        }
    }
}

impl<T, F: Flavor> fmt::Debug for Receiving<'_, T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("channel::Receiving").field("channel", self.channel).finish_non_exhaustive()
    }
}

/// The error of a send to a closed channel; holds the value.
///
/// ```
/// use std::rc::Rc;
/// use coro::{co_await, co_return, sync_wait, Task};
/// use coro::sync::{local::Channel, SendError};
///
/// #[coro::coroutine]
/// fn send(ch: Rc<Channel<&'static str>>) -> Task<Result<(), SendError<&'static str>>> {
///     co_return!(co_await!(ch.send("hello")))
/// }
///
/// let ch = Rc::new(Channel::new(1));
/// ch.close();
/// assert_eq!(sync_wait(send(ch)), Err(SendError("hello"))); // the value comes back
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub struct SendError<T>(pub T);

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError { .. }")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sending on a closed channel")
    }
}

impl<T> std::error::Error for SendError<T> {}

/// The error of [`Channel::try_send`]; holds the value.
///
/// ```
/// use coro::sync::{Channel, TrySendError};
///
/// let ch = Channel::new(0); // a rendezvous channel: full unless a receiver waits
/// match ch.try_send(String::from("x")) {
///     Err(TrySendError::Full(s)) => assert_eq!(s, "x"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(PartialEq, Eq, Clone, Copy)]
pub enum TrySendError<T> {
    /// The buffer is full (and no receiver waits).
    Full(T),
    /// The channel is closed.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    ///
    /// ```
    /// let ch = coro::sync::local::Channel::new(0);
    /// assert_eq!(ch.try_send(7).unwrap_err().into_inner(), 7);
    /// ```
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("sending on a full channel"),
            TrySendError::Closed(_) => f.write_str("sending on a closed channel"),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// The error of [`Channel::try_recv`].
///
/// ```
/// use coro::sync::{Channel, TryRecvError};
///
/// let ch = Channel::<u8>::new(1);
/// assert_eq!(ch.try_recv(), Err(TryRecvError::Empty));
/// ch.close();
/// assert_eq!(ch.try_recv(), Err(TryRecvError::Closed));
/// ```
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum TryRecvError {
    /// The buffer is empty (and no sender waits).
    Empty,
    /// The channel is closed and empty.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receiving on an empty channel"),
            TryRecvError::Closed => f.write_str("receiving on a closed, empty channel"),
        }
    }
}

impl std::error::Error for TryRecvError {}
