//! The loop's registrations and timers: what a wake-up names.
//!
//! A coroutine waiting for the loop (a sleep, a `yield_now`, a
//! [`JoinHandle`](crate::JoinHandle) await, a `timeout`) is recorded in a
//! [`Registrations`] slab as `{ generation, handle }`, and its awaiter keeps
//! the [`Key`] `(index, generation)`. Whatever wakes it — a timer in the
//! [`Timers`] heap, a finished task, `yield_now` itself — names that key,
//! never the frame.
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
use std::time::Instant;

use coro_core::CoroutineHandle;
use slab::Slab;

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
    heap: BinaryHeap<Reverse<(Instant, u64, usize)>>,
    /// Entries whose registration is gone (invariant 4).
    stale: usize,
}

impl Timers {
    /// Fires `key` (live, with no timer yet) at `deadline`.
    pub(crate) fn push(&mut self, deadline: Instant, key: Key, regs: &mut Registrations) {
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
    pub(crate) fn fire_due(&mut self, now: Instant, regs: &mut Registrations, mut ready: impl FnMut(Key)) {
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
    pub(crate) fn next_deadline(&mut self, regs: &Registrations) -> Option<Instant> {
        while let Some(&Reverse((deadline, generation, index))) = self.heap.peek() {
            if regs.is_live(Key { index, generation }) {
                return Some(deadline);
            }
            self.heap.pop();
            self.stale -= 1;
        }
        None
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
