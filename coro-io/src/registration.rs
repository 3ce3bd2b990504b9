//! The loop's registrations and timers: what a wake-up names.
//!
//! A coroutine waiting for the loop (a sleep, a `yield_now`, a
//! [`JoinHandle`](crate::JoinHandle) await, a `timeout`) is recorded in a
//! [`Registrations`] slab as `{ generation, handle }`, and its awaiter keeps
//! the [`Key`] `(index, generation)`. Whatever wakes it — a timer in the
//! [`Timers`] heap, a finished task, `yield_now` itself — names that key,
//! never the frame. A coroutine waiting on a socket is recorded in the
//! socket's source entry instead ([`Sources`], invariants 6–8): the
//! readiness event finds it there, with no registration of its own.
//!
//! Invariants:
//!
//! 1. A registration is live exactly from the awaiter's `await_suspend` to
//!    its `await_resume` or its drop (the cancel step: C++ runs the
//!    awaiter's destructor when the frame is destroyed), whichever comes
//!    first; both remove it. So a live registration's handle names a frame
//!    suspended on that awaiter.
//! 2. Generations are never reused (one `u64` counter per loop), so a key
//!    whose registration was removed, even if its slab slot was reused,
//!    matches nothing: a stale wake-up (a heap entry, a queued key) is
//!    dropped and never reaches a freed frame.
//! 3. [`Registrations::fire`] queues a registration at most once, and
//!    [`Registrations::take`] hands its handle out at most once: a
//!    coroutine is resumed once per registration, however many wake-ups
//!    race for it (the timer and the task of a `timeout`).
//! 4. A heap entry `(deadline, generation, index)` whose registration is
//!    gone is *stale*: it stays until it reaches the top (then it is
//!    dropped) or until stale entries outnumber live ones (then the heap is
//!    rebuilt without them), so cancelled timers cost amortised O(log n)
//!    and the heap never holds more than about twice the live timers.
//! 5. Steady state allocates nothing: the slab, the heap and the ready
//!    queue keep their capacity, and the entry itself lives in the
//!    awaiter, in the coroutine's frame.

use core::cmp::Reverse;
use std::collections::BinaryHeap;

use coro_core::CoroutineHandle;
use slab::Slab;

use crate::clock::Ticks;

/// Names one registration: its slab index and its generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Key {
    index: usize,
    generation: u64,
}

#[derive(Debug)]
struct Registration {
    generation: u64,
    /// The suspended coroutine; `None` once handed out to be resumed.
    handle: Option<CoroutineHandle>,
    /// Queued on the ready queue already (invariant 3).
    fired: bool,
    /// Its timer entry is still in the heap (each registration has at most
    /// one: generations are unique).
    in_heap: bool,
}

/// The loop's live registrations (see the module docs).
#[derive(Debug, Default)]
pub(crate) struct Registrations {
    slab: Slab<Registration>,
    next_generation: u64,
}

impl Registrations {
    /// Records `handle`, a coroutine suspending on an awaiter that will keep
    /// the key and remove it (invariant 1).
    pub(crate) fn insert(&mut self, handle: CoroutineHandle) -> Key {
        self.next_generation += 1;
        let generation = self.next_generation;
        let index = self.slab.insert(Registration { generation, handle: Some(handle), fired: false, in_heap: false });
        Key { index, generation }
    }

    fn get_mut(&mut self, key: Key) -> Option<&mut Registration> {
        self.slab.get_mut(key.index).filter(|r| r.generation == key.generation)
    }

    /// `true` if `key` is live and was not fired before: the caller queues
    /// it on the ready queue.
    pub(crate) fn fire(&mut self, key: Key) -> bool {
        match self.get_mut(key) {
            Some(r) if !r.fired => {
                r.fired = true;
                true
            }
            _ => false,
        }
    }

    /// The handle to resume for a dequeued `key`, once; `None` if the
    /// registration is gone (a stale wake-up).
    pub(crate) fn take(&mut self, key: Key) -> Option<CoroutineHandle> {
        self.get_mut(key).and_then(|r| r.handle.take())
    }

    /// Removes `key`'s registration (the awaiter's `await_resume` or drop).
    /// Returns whether its timer entry is still in the heap: it is stale
    /// from now on (tell [`Timers::cancelled`]).
    pub(crate) fn remove(&mut self, key: Key) -> bool {
        if self.get_mut(key).is_some() {
            self.slab.remove(key.index).in_heap
        } else {
            false
        }
    }

    /// `true` while `key` is registered.
    pub(crate) fn is_live(&self, key: Key) -> bool {
        self.slab.get(key.index).is_some_and(|r| r.generation == key.generation)
    }

    /// The heap was cleared: no registration has a timer entry any more.
    pub(crate) fn forget_timers(&mut self) {
        for (_, r) in self.slab.iter_mut() {
            r.in_heap = false;
        }
    }

    /// How many registrations are live.
    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }
}

/// The loop's timers: a min-heap of `(deadline, generation, index)`; equal
/// deadlines fire in registration order (generations increase). `stale`
/// counts exactly the entries whose registration is gone.
#[derive(Debug, Default)]
pub(crate) struct Timers {
    heap: BinaryHeap<Reverse<(Ticks, u64, usize)>>,
    /// Entries whose registration is gone (invariant 4).
    stale: usize,
}

impl Timers {
    /// Fires `key` (live, with no timer yet) at `deadline`.
    pub(crate) fn push(&mut self, deadline: Ticks, key: Key, regs: &mut Registrations) {
        if let Some(r) = regs.get_mut(key) {
            debug_assert!(!r.in_heap, "one timer per registration");
            r.in_heap = true;
            self.heap.push(Reverse((deadline, key.generation, key.index)));
        }
    }

    /// A registration with an entry here was removed before firing: its
    /// entry is stale. Rebuilds the heap when stale entries outnumber live
    /// ones.
    pub(crate) fn cancelled(&mut self, regs: &Registrations) {
        self.stale += 1;
        if self.stale > 32 && self.stale * 2 > self.heap.len() {
            self.heap
                .retain(|Reverse((_, generation, index))| regs.is_live(Key { index: *index, generation: *generation }));
            self.stale = 0;
        }
    }

    /// Fires, in deadline order, every entry due at `now`, calling `ready`
    /// with each key that `regs` says is live and unfired.
    pub(crate) fn fire_due(&mut self, now: Ticks, regs: &mut Registrations, mut ready: impl FnMut(Key)) {
        while let Some(&Reverse((deadline, generation, index))) = self.heap.peek() {
            if deadline > now {
                break;
            }
            self.heap.pop();
            let key = Key { index, generation };
            match regs.get_mut(key) {
                Some(r) => r.in_heap = false,
                None => {
                    self.stale -= 1;
                    continue;
                }
            }
            if regs.fire(key) {
                ready(key);
            }
        }
    }

    /// The earliest deadline of a live entry, dropping stale entries on top.
    pub(crate) fn next_deadline(&mut self, regs: &Registrations) -> Option<Ticks> {
        while let Some(&Reverse((deadline, generation, index))) = self.heap.peek() {
            if regs.is_live(Key { index, generation }) {
                return Some(deadline);
            }
            self.heap.pop();
            self.stale -= 1;
        }
        None
    }

    /// Whether the heap holds no entry (live or stale).
    pub(crate) fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }

    /// Timer entries whose registration is live.
    pub(crate) fn live(&self) -> usize {
        self.heap.len() - self.stale
    }

    /// Forgets every entry (the loop is being dropped).
    pub(crate) fn clear(&mut self) {
        self.heap.clear();
        self.stale = 0;
    }
}

/// Names one I/O source of a loop: its slab index and its generation.
///
/// The mio token of the source carries both (on 64-bit targets the
/// generation's low 31 bits above a 32-bit index; see [`Sources::token`]),
/// so an event for a source that is gone, even if its slot was reused,
/// matches nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct SourceKey {
    index: u32,
    generation: u32,
}

impl SourceKey {
    /// The key in one word (for an atomic).
    pub(crate) fn to_bits(self) -> u64 {
        (u64::from(self.generation) << 32) | u64::from(self.index)
    }

    /// The key [`to_bits`](Self::to_bits) gave.
    pub(crate) fn from_bits(bits: u64) -> SourceKey {
        SourceKey { index: bits as u32, generation: (bits >> 32) as u32 }
    }
}

/// Which readiness an I/O waiter waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    /// Readable (a read, `accept`, a `recv`).
    Read,
    /// Writable (a write, a `connect` completing, a `send`).
    Write,
}

/// Names one I/O waiter of a source: a number the loop never reuses
/// (invariant 8).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WaiterId(u64);

/// A coroutine suspended on a socket awaiter, waiting for one direction.
#[derive(Debug)]
struct IoWaiter {
    id: WaiterId,
    handle: CoroutineHandle,
}

/// The coroutines waiting for one direction of a source: the first
/// inline (the usual case: no allocation), more in a vector that keeps
/// its capacity; oldest first.
#[derive(Debug, Default)]
struct Waiters {
    one: Option<IoWaiter>,
    more: Vec<IoWaiter>,
}

impl Waiters {
    fn push(&mut self, waiter: IoWaiter) {
        if self.one.is_none() {
            self.one = Some(waiter);
        } else {
            self.more.push(waiter);
        }
    }

    /// Takes `id` out; `None` if it is not here (an event took it).
    fn remove(&mut self, id: WaiterId) -> Option<CoroutineHandle> {
        if self.one.as_ref().is_some_and(|w| w.id == id) {
            let w = self.one.take();
            if !self.more.is_empty() {
                self.one = Some(self.more.remove(0));
            }
            w.map(|w| w.handle)
        } else {
            let i = self.more.iter().position(|w| w.id == id)?;
            Some(self.more.remove(i).handle)
        }
    }

    /// Takes the oldest waiter out.
    fn pop(&mut self) -> Option<IoWaiter> {
        let w = self.one.take()?;
        if !self.more.is_empty() {
            self.one = Some(self.more.remove(0));
        }
        Some(w)
    }

    fn len(&self) -> usize {
        usize::from(self.one.is_some()) + self.more.len()
    }
}

#[derive(Debug)]
struct IoSource {
    generation: u32,
    readers: Waiters,
    writers: Waiters,
}

impl IoSource {
    fn waiters(&mut self, direction: Direction) -> &mut Waiters {
        match direction {
            Direction::Read => &mut self.readers,
            Direction::Write => &mut self.writers,
        }
    }
}

/// The bits of a token that hold the index; the generation sits above.
const INDEX_BITS: u32 = 32;

/// The loop's I/O sources: one entry per socket registered with its
/// `mio::Poll`, holding the coroutines waiting on it.
///
/// Invariants:
///
/// 6. A source entry lives from the socket's first wait on this loop until
///    the socket is dropped or moves to another loop (the socket's drop or
///    move deregisters it from mio first, then removes the entry); its
///    token is `index + 1` plus its generation (token 0 is the loop's
///    waker).
/// 7. A waiter `(id, handle)` is in a source's list from its awaiter's
///    `await_suspend` until the loop takes it out to resume it (a
///    readiness event for that direction, or a cancellation from another
///    thread) or the awaiter withdraws it (its `await_resume`, its drop:
///    the cancel step), whichever comes first. So a handle in a list names
///    a frame suspended on the awaiter that put it there, and taking it out
///    hands it out once: a coroutine is resumed at most once per wait, and
///    a destroyed one (its awaiter dropped) never. A readiness event only
///    resumes what waits: the coroutine retries its operation, so a
///    spurious or stale event costs a retry, never a wrong resume.
/// 8. Waiter ids are never reused (one `u64` counter per loop): a
///    withdrawal or a cancellation posted from another thread names the
///    waiter it meant, never a later one of the same frame.
#[derive(Debug, Default)]
pub(crate) struct Sources {
    slab: Slab<IoSource>,
    next_generation: u32,
    next_waiter: u64,
    /// Waiters in all lists.
    waiting: usize,
}

impl Sources {
    /// A new, empty source entry.
    pub(crate) fn insert(&mut self) -> SourceKey {
        self.next_generation = self.next_generation.wrapping_add(1);
        let generation = self.next_generation;
        let index = self.slab.insert(IoSource { generation, readers: Waiters::default(), writers: Waiters::default() });
        let index = u32::try_from(index).expect("coro_io: fewer than 2^32 sockets per loop");
        SourceKey { index, generation }
    }

    fn get_mut(&mut self, key: SourceKey) -> Option<&mut IoSource> {
        self.slab.get_mut(key.index as usize).filter(|s| s.generation == key.generation)
    }

    /// Removes `key`'s entry (deregistered from mio already); its waiters,
    /// if any are left, are withdrawn by their awaiters' drops.
    pub(crate) fn remove(&mut self, key: SourceKey) {
        if self.get_mut(key).is_some() {
            let s = self.slab.remove(key.index as usize);
            self.waiting -= s.readers.len() + s.writers.len();
        }
    }

    /// Adds `handle` to `key`'s list for `direction`; `None` if `key`
    /// names no entry.
    pub(crate) fn add_waiter(
        &mut self,
        key: SourceKey,
        direction: Direction,
        handle: CoroutineHandle,
    ) -> Option<WaiterId> {
        self.next_waiter += 1;
        let id = WaiterId(self.next_waiter);
        let s = self.slab.get_mut(key.index as usize).filter(|s| s.generation == key.generation)?;
        s.waiters(direction).push(IoWaiter { id, handle });
        self.waiting += 1;
        Some(id)
    }

    /// Takes `id` out of `key`'s list (the awaiter withdraws it, or the
    /// loop resumes it early): its handle, or `None` if it was taken.
    pub(crate) fn take_waiter(
        &mut self,
        key: SourceKey,
        direction: Direction,
        id: WaiterId,
    ) -> Option<CoroutineHandle> {
        let h = self.get_mut(key)?.waiters(direction).remove(id)?;
        self.waiting -= 1;
        Some(h)
    }

    /// The mio token of `key`.
    pub(crate) fn token(key: SourceKey) -> mio::Token {
        let generation = (key.generation as usize & 0x7fff_ffff).checked_shl(INDEX_BITS).unwrap_or(0);
        mio::Token((key.index as usize + 1) | generation)
    }

    /// The source `token` names, if it is live (a stale token, its source
    /// gone and its slot perhaps reused, or the waker's, names none), and
    /// how many coroutines wait on it to read and to write.
    pub(crate) fn waiting_on(&self, token: mio::Token) -> Option<(SourceKey, usize, usize)> {
        let raw = token.0;
        let mask = 1usize.checked_shl(INDEX_BITS).map_or(usize::MAX, |b| b - 1);
        let index = (raw & mask).checked_sub(1)?;
        let generation = raw.checked_shr(INDEX_BITS).unwrap_or(0);
        let s = self.slab.get(index)?;
        if usize::BITS > INDEX_BITS && s.generation as usize & 0x7fff_ffff != generation {
            return None;
        }
        Some((SourceKey { index: index as u32, generation: s.generation }, s.readers.len(), s.writers.len()))
    }

    /// Calls `f` with each waiter of `key` for `direction`, oldest first.
    pub(crate) fn for_each_waiter(&self, key: SourceKey, direction: Direction, mut f: impl FnMut(WaiterId)) {
        let Some(s) = self.slab.get(key.index as usize).filter(|s| s.generation == key.generation) else { return };
        let w = match direction {
            Direction::Read => &s.readers,
            Direction::Write => &s.writers,
        };
        w.one.iter().chain(&w.more).for_each(|w| f(w.id));
    }

    /// Takes the oldest waiter of `key` for `direction` out, to resume it.
    pub(crate) fn pop_waiter(&mut self, key: SourceKey, direction: Direction) -> Option<(WaiterId, CoroutineHandle)> {
        let w = self.get_mut(key)?.waiters(direction).pop()?;
        self.waiting -= 1;
        Some((w.id, w.handle))
    }

    /// The bytes a source takes in the loop's slab.
    #[cfg(test)]
    pub(crate) fn entry_size() -> usize {
        core::mem::size_of::<IoSource>()
    }

    /// How many sources are registered.
    pub(crate) fn len(&self) -> usize {
        self.slab.len()
    }

    /// How many coroutines wait on the sources.
    pub(crate) fn waiters(&self) -> usize {
        self.waiting
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn handle(n: usize) -> CoroutineHandle {
        CoroutineHandle::from_address(n as *mut ())
    }

    /// What an event for `token` resumes: the waiters present when it came.
    fn woken(sources: &mut Sources, token: mio::Token, readable: bool, writable: bool) -> Vec<*mut ()> {
        let mut out = Vec::new();
        let Some((key, readers, writers)) = sources.waiting_on(token) else { return out };
        for (ready, direction, n) in [(readable, Direction::Read, readers), (writable, Direction::Write, writers)] {
            if ready {
                for _ in 0..n {
                    out.extend(sources.pop_waiter(key, direction).map(|(_, h)| h.address()));
                }
            }
        }
        out
    }

    fn addr(n: usize) -> *mut () {
        n as *mut ()
    }

    #[test]
    fn a_readiness_event_wakes_the_waiters_of_its_directions_once() {
        let mut sources = Sources::default();
        let s = sources.insert();
        sources.add_waiter(s, Direction::Read, handle(1));
        sources.add_waiter(s, Direction::Read, handle(2));
        sources.add_waiter(s, Direction::Write, handle(3));
        let token = Sources::token(s);
        assert_eq!(woken(&mut sources, token, true, false), [addr(1), addr(2)]);
        assert_eq!(woken(&mut sources, token, true, false), []); // taken
        assert_eq!(woken(&mut sources, token, true, true), [addr(3)]);
        assert_eq!(sources.waiters(), 0);
    }

    #[test]
    fn a_withdrawn_waiter_is_not_woken() {
        let mut sources = Sources::default();
        let s = sources.insert();
        let ids: Vec<_> = (1..=3).map(|i| sources.add_waiter(s, Direction::Read, handle(i)).unwrap()).collect();
        assert_eq!(sources.take_waiter(s, Direction::Read, ids[0]).map(|h| h.address()), Some(addr(1)));
        assert_eq!(sources.take_waiter(s, Direction::Read, ids[2]).map(|h| h.address()), Some(addr(3)));
        assert!(sources.take_waiter(s, Direction::Write, ids[1]).is_none(), "not there: a no-op");
        assert!(sources.take_waiter(s, Direction::Read, ids[0]).is_none(), "taken once");
        assert_eq!(woken(&mut sources, Sources::token(s), true, true), [addr(2)]);
        assert_eq!(sources.waiters(), 0);
    }

    #[test]
    fn an_event_for_a_removed_source_wakes_nothing_even_once_its_slot_is_reused() {
        let mut sources = Sources::default();
        let old = sources.insert();
        let stale = Sources::token(old);
        sources.add_waiter(old, Direction::Read, handle(6));
        sources.remove(old);
        assert_eq!(sources.waiters(), 0, "its waiters went with it");
        let new = sources.insert();
        assert_eq!(new.index, old.index, "the slab reuses the slot");
        sources.add_waiter(new, Direction::Read, handle(7));
        // The old key names nothing any more.
        assert!(sources.add_waiter(old, Direction::Read, handle(8)).is_none());
        assert_eq!(woken(&mut sources, stale, true, true), []);
        assert_eq!(woken(&mut sources, Sources::token(new), true, false), [addr(7)]);
        assert_eq!(woken(&mut sources, mio::Token(0), true, true), [], "token 0 is the loop's waker");
    }
}
