//! The gate of a frame whose owner may go away while other threads may
//! resume it (a started `SendTask`): one atomic word, shared by the owner,
//! the threads parking the frame, the threads resuming it and whoever frees
//! it, so that the owner's release destroys the frame **at once** when the
//! awaiter it is suspended on can withdraw its registration
//! ([`Awaiter::await_cancel`](crate::Awaiter::await_cancel)), and
//! **promptly** otherwise (in place of the resumption already granted, on
//! the resuming thread), never racing a resume.
//!
//! A promise opts in with the hidden [`Promise::GATED`] and
//! [`Promise::gate`]; the frame's resume loop ([`frame`]) then drives the
//! frame side of the word, and the promise's owner drives the owner side
//! ([`Gate::release`]). Every other promise compiles to what it did before:
//! the frame tests the `const` and never touches a gate.
//!
//! # The word
//!
//! | bits | field | meaning |
//! | --- | --- | --- |
//! | 0–1 | phase | `IDLE` (not started by an owner that may go away), `AWAITED` (started, the owner may go away), `DONE` (the final awaiter claimed the continuation: the frame is the owner's to read and free), `ORPHANED` (the owner went away before `DONE`) |
//! | 2 | `PARKED` | suspended at a body `co_await!`, the cancel hook is valid, and no resumer has entered since |
//! | 3 | `CANCELLING` | someone (the owner, or a parker acting for a gone owner) is calling the cancel hook |
//! | 4 | `RESUME_PENDING` | a resumer arrived during `CANCELLING` and left the frame to the canceller |
//! | 5 | `CANCEL_REQUESTED` | the owner went away while the frame was not `PARKED` (running, or a parker inside `await_suspend`): the next park cancels itself |
//! | 6 | `FREE_PENDING` | the frame was destroyed while parkers were inside: the last one frees its memory |
//! | 16–31 | parkers | threads between "about to call `await_suspend`" and the word operation right after it returned |
//! | 32–63 | epoch | bumped by every park and every resume: a parker only acts if the epoch is still the one its park made |
//!
//! # Transitions
//!
//! - **Park** ([`Gate::park`], the running thread, before a body
//!   `await_suspend`): stores the cancel hook, then `parkers += 1, epoch += 1`.
//! - **Parked** ([`Gate::parked`], the same thread, after `await_suspend`
//!   said "stay suspended" or transferred elsewhere): `parkers -= 1`; then if
//!   `FREE_PENDING` and it was the last parker: **free** the memory; else if
//!   the epoch is still its own (nobody resumed the frame meanwhile): set
//!   `PARKED`, or, if `CANCEL_REQUESTED`, clear it and take `CANCELLING`
//!   (the parker runs the cancel procedure for the gone owner).
//!   ([`Gate::unpark`]: `await_suspend` said "resume now": `parkers -= 1`.)
//! - **Resume entry** ([`Gate::resume`], every resumer): during
//!   `CANCELLING`: set `RESUME_PENDING` and leave without touching the
//!   frame; else clear `PARKED`, `epoch += 1`, and run it, or destroy it in
//!   place of the resume if `ORPHANED`.
//! - **Owner release** ([`Gate::release`]): `IDLE`/`DONE`: the owner frees
//!   the frame; `AWAITED` and `PARKED`: `PARKED -> CANCELLING`, then the
//!   cancel procedure; `AWAITED` otherwise: `ORPHANED | CANCEL_REQUESTED`.
//! - **Cancel procedure** ([`Gate::cancel`], the holder of `CANCELLING`):
//!   calls the hook. `Withdrawn`: nothing will resume the frame: destroy it
//!   now. `ResumeComing`: phase `ORPHANED`, clear `CANCELLING` (and
//!   `PARKED`); if `RESUME_PENDING` was set meanwhile, that resumer has
//!   left: destroy it now, marked as abandoning (`frame::is_abandoning`), so
//!   that the awaiter's `Drop` accepts a node its resumer left `RESUMING`;
//!   otherwise the coming resumer destroys it.
//! - **Final claim** ([`Gate::finish`], the final awaiter): `ORPHANED`:
//!   destroy the frame; otherwise phase `DONE` (the owner frees it).
//! - **Free** ([`Gate::free_or_defer`], every destroy of a gated frame,
//!   after its contents were dropped): with no parker inside, free now;
//!   otherwise set `FREE_PENDING` and leave the memory to the last parker.
//!
//! # Orderings
//!
//! Every read-modify-write is `AcqRel` (failed updates `Acquire`): the
//! hook written before a park is visible to whoever takes `CANCELLING`
//! from the `PARKED` that park's parker set; a destroyer's drops happen
//! before the last parker frees the memory (`FREE_PENDING` is released,
//! the parker's update acquires it); a parker's last update happens before
//! a free by anyone else (the freer's `Acquire` load or update reads a value
//! at or after it in the word's modification order). The owner's and the
//! finishing thread's claims publish the result and the frame's last state
//! to each other as the old `Flight` swaps did.
//!
//! # Invariants
//!
//! - A frame is freed exactly once, never while a parker or a resumer may
//!   touch it: a resumer that enters either runs the frame (so it is not
//!   freed under it: nobody frees a running frame), destroys it itself, or
//!   leaves during `CANCELLING` before the canceller destroys it; the memory
//!   outlives every parker (`FREE_PENDING`).
//! - The hook is called only while the frame is suspended at the park that
//!   stored it, by the one thread that took `CANCELLING` (from that park's
//!   `PARKED`, or as that park's parker on `CANCEL_REQUESTED`); meanwhile
//!   resumers leave, so the frame cannot run and park again.
//! - `Withdrawn` is answered only when nothing will resume the frame for
//!   that suspension (the awaiter's contract), so destroying it then races
//!   with nothing; after `ResumeComing` exactly one of the canceller
//!   (`RESUME_PENDING`) and the coming resumer (`ORPHANED`) destroys it.
//! - The epoch wraps after 2^32 parks and resumes: a parker stalled inside
//!   `await_suspend` for that many would mistake a later park for its own.
//!
//! The `loom` unit tests below drive these functions with a mock
//! registration and check, over every interleaving, that the frame is
//! freed exactly once and never resumed or touched after it.
//!
//! [`Promise::GATED`]: crate::Promise::GATED
//! [`Promise::gate`]: crate::Promise::gate
//! [`frame`]: crate::language::frame

use core::cell::UnsafeCell;
use core::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::language::atomic::{AtomicU64, Ordering};
use crate::language::awaiter::CancelOutcome;

/// A type-erased call of [`Awaiter::await_cancel`](crate::Awaiter::await_cancel)
/// on the awaiter the pointer designates.
pub(crate) type CancelHook = unsafe fn(*mut ()) -> CancelOutcome;

const PHASE: u64 = 0b11;
/// Not started by an owner that may go away.
pub(crate) const IDLE: u64 = 0;
/// Started; the owner may still go away.
pub(crate) const AWAITED: u64 = 1;
/// The final awaiter claimed the continuation.
pub(crate) const DONE: u64 = 2;
/// The owner went away before `DONE`.
pub(crate) const ORPHANED: u64 = 3;
const PARKED: u64 = 1 << 2;
const CANCELLING: u64 = 1 << 3;
const RESUME_PENDING: u64 = 1 << 4;
const CANCEL_REQUESTED: u64 = 1 << 5;
const FREE_PENDING: u64 = 1 << 6;
const PARKER_ONE: u64 = 1 << 16;
const PARKERS: u64 = 0xFFFF << 16;
const EPOCH_ONE: u64 = 1 << 32;
const EPOCH: u64 = !0 << 32;

/// The gate word of one frame and its cancel hook (see the module docs).
/// Not a public API.
#[doc(hidden)]
pub struct Gate {
    word: AtomicU64,
    /// Written by the running thread before each park; read only by the
    /// holder of `CANCELLING` (module invariants).
    hook: UnsafeCell<Option<(CancelHook, *mut ())>>,
}

// SAFETY: the hook's pointer designates an awaiter in the frame that owns
// the gate, reached only under the protocol above; the word is atomic.
unsafe impl Send for Gate {}
// SAFETY: as above: the hook cell is written by the one thread running the
// frame and read by the one holding `CANCELLING`, never at the same time.
unsafe impl Sync for Gate {}

impl fmt::Debug for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gate").field("word", &format_args!("{:#x}", self.word.load(Ordering::Relaxed))).finish()
    }
}

/// What the owner's [`Gate::release`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Release {
    /// Unstarted, or finished (`DONE`): the owner frees the frame.
    Free,
    /// Suspended (`PARKED`): the owner now holds `CANCELLING` and runs
    /// [`Gate::cancel`].
    Cancel,
    /// Running or being parked: `ORPHANED | CANCEL_REQUESTED`, the frame
    /// cancels itself at its next park (or destroys itself when it finishes
    /// or is next resumed).
    Detached,
}

/// What a resumer does after [`Gate::resume`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// Runs the frame.
    Run,
    /// Leaves at once, touching nothing: the canceller owns the frame.
    Leave,
    /// Destroys the frame in place of running it (the owner is gone).
    Destroy,
}

/// What a parker does after [`Gate::parked`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Parked {
    /// Nothing: the frame is suspended (or was resumed meanwhile).
    Stay,
    /// Holds `CANCELLING` for a gone owner: runs [`Gate::cancel`].
    Cancel,
    /// The frame was destroyed and this was the last parker: frees it.
    Free,
}

/// What the canceller does after [`Gate::cancel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterCancel {
    /// `Withdrawn`: destroys the frame now.
    Destroy,
    /// `ResumeComing`, and the resumer already came and left: destroys the
    /// frame now, marked as abandoning it.
    DestroyAbandoning,
    /// `ResumeComing`: the coming resumer destroys it.
    Nothing,
}

impl Gate {
    /// A gate in phase `IDLE`.
    pub(crate) fn new() -> Gate {
        Gate { word: AtomicU64::new(IDLE), hook: UnsafeCell::new(None) }
    }

    /// The owner starts the task (`IDLE -> AWAITED`).
    ///
    /// # Safety
    /// The frame is unstarted and owned by the caller: nobody else uses
    /// the gate.
    pub(crate) unsafe fn start_awaited(&self) {
        // Relaxed: the task starts from this thread, and every thread that
        // later uses the gate is ordered after that start.
        let w = self.word.load(Ordering::Relaxed);
        self.word.store((w & !PHASE) | AWAITED, Ordering::Relaxed);
    }

    /// The current phase (`IDLE`, `AWAITED`, `DONE` or `ORPHANED`).
    #[cfg(all(test, not(loom)))]
    pub(crate) fn phase(&self) -> u64 {
        self.word.load(Ordering::Acquire) & PHASE
    }

    /// The final awaiter's claim: `true` if the owner is gone (the frame
    /// destroys itself), else the phase is now `DONE` and the frame is the
    /// owner's (the caller's last use of it).
    pub(crate) fn finish(&self) -> bool {
        self.word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                if w & PHASE == ORPHANED {
                    None
                } else {
                    Some((w & !PHASE) | DONE)
                }
            })
            .is_err()
    }

    /// The owner goes away (see [`Release`]).
    pub(crate) fn release(&self) -> Release {
        let mut out = Release::Free;
        let _ = self.word.fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| match w & PHASE {
            AWAITED if w & PARKED != 0 => {
                out = Release::Cancel;
                Some((w & !PARKED) | CANCELLING)
            }
            AWAITED => {
                out = Release::Detached;
                Some((w & !PHASE) | ORPHANED | CANCEL_REQUESTED)
            }
            // A second owner: there is none (the owner releases once).
            ORPHANED => {
                out = Release::Detached;
                None
            }
            _ => {
                out = Release::Free;
                None
            }
        });
        out
    }

    /// The running thread is about to call a body awaiter's
    /// `await_suspend`: stores the hook and registers as a parker. Returns
    /// the epoch to pass to [`parked`](Self::parked).
    ///
    /// # Safety
    /// The frame is running on this thread; `hook`, if any, may be called
    /// (once) until the frame is next resumed or destroyed.
    pub(crate) unsafe fn park(&self, hook: Option<(CancelHook, *mut ())>) -> u64 {
        // SAFETY: nobody reads the hook while the frame runs (module
        // invariants: `CANCELLING` is only taken from a park of this run).
        unsafe { *self.hook.get() = hook };
        let before = self.word.fetch_add(PARKER_ONE + EPOCH_ONE, Ordering::AcqRel);
        debug_assert!(before & PARKERS != PARKERS, "too many threads parking one frame");
        before.wrapping_add(EPOCH_ONE) & EPOCH
    }

    /// `await_suspend` said "resume now": the parker leaves, the frame
    /// runs on.
    pub(crate) fn unpark(&self) {
        self.word.fetch_sub(PARKER_ONE, Ordering::AcqRel);
    }

    /// `await_suspend` said "stay suspended" (or transferred elsewhere):
    /// the parker of `epoch` leaves (see [`Parked`]). After
    /// [`Parked::Stay`] the caller must not touch the frame again.
    pub(crate) fn parked(&self, epoch: u64) -> Parked {
        let mut out = Parked::Stay;
        let _ = self.word.fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
            let mut n = w - PARKER_ONE;
            out = Parked::Stay;
            if w & FREE_PENDING != 0 {
                if n & PARKERS == 0 {
                    out = Parked::Free;
                }
            } else if w & EPOCH == epoch {
                if w & CANCEL_REQUESTED != 0 {
                    n = (n & !CANCEL_REQUESTED) | CANCELLING;
                    out = Parked::Cancel;
                } else {
                    n |= PARKED;
                }
            }
            Some(n)
        });
        out
    }

    /// A resumer enters (see [`Entry`]).
    pub(crate) fn resume(&self) -> Entry {
        let mut out = Entry::Run;
        let _ = self.word.fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
            if w & CANCELLING != 0 {
                out = Entry::Leave;
                return Some(w | RESUME_PENDING);
            }
            out = if w & PHASE == ORPHANED { Entry::Destroy } else { Entry::Run };
            Some((w & !PARKED).wrapping_add(EPOCH_ONE))
        });
        out
    }

    /// The frame was destroyed (its contents dropped): `true` if the caller
    /// frees its memory now, `false` if parkers are inside (the last one
    /// frees it; the caller must not touch the frame again).
    pub(crate) fn free_or_defer(&self) -> bool {
        // Parkers only leave once the frame is being destroyed, never
        // arrive: none now means none later.
        if self.word.load(Ordering::Acquire) & PARKERS == 0 {
            return true;
        }
        self.word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                if w & PARKERS == 0 {
                    None
                } else {
                    Some(w | FREE_PENDING)
                }
            })
            .is_err()
    }

    /// The cancel procedure's first half: calls the hook and settles the
    /// word (see [`AfterCancel`]). A panic from the hook counts as
    /// `ResumeComing` and is dropped: the caller is an owner going away or
    /// a parker, neither of which may receive it.
    ///
    /// # Safety
    /// The caller holds `CANCELLING` (from [`Release::Cancel`] or
    /// [`Parked::Cancel`]).
    pub(crate) unsafe fn cancel(&self) -> AfterCancel {
        // SAFETY: written by the park whose `PARKED` (or `CANCEL_REQUESTED`
        // turn) gave the caller `CANCELLING`, and ordered before it.
        let hook = unsafe { *self.hook.get() };
        let outcome = match hook {
            None => CancelOutcome::ResumeComing,
            // SAFETY: the frame is suspended at the park that stored the
            // hook, and the caller is the only one calling it (`CANCELLING`).
            Some((call, awaiter)) => match catch_unwind(AssertUnwindSafe(|| unsafe { call(awaiter) })) {
                Ok(outcome) => outcome,
                Err(payload) => {
                    drop_payload(payload);
                    CancelOutcome::ResumeComing
                }
            },
        };
        match outcome {
            CancelOutcome::Withdrawn => AfterCancel::Destroy,
            CancelOutcome::ResumeComing => {
                // One update: a resumer must never see `CANCELLING` gone
                // without `ORPHANED` (it would run the frame).
                let before = self.word.fetch_update(Ordering::AcqRel, Ordering::Acquire, |w| {
                    Some((w & !(CANCELLING | PARKED | PHASE)) | ORPHANED)
                });
                let before = before.unwrap_or_else(|w| w);
                if before & RESUME_PENDING != 0 {
                    AfterCancel::DestroyAbandoning
                } else {
                    AfterCancel::Nothing
                }
            }
        }
    }
}

/// Drops a panic payload whose own drop may panic (then it is leaked).
pub(crate) fn drop_payload(payload: crate::language::promise::Payload) {
    if let Err(again) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        core::mem::forget(again);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    unsafe fn withdraws(_: *mut ()) -> CancelOutcome {
        CancelOutcome::Withdrawn
    }
    unsafe fn resume_coming(_: *mut ()) -> CancelOutcome {
        CancelOutcome::ResumeComing
    }

    fn parked_gate(hook: CancelHook) -> Gate {
        let g = Gate::new();
        // SAFETY: fresh, used by this thread only; the hooks ignore their pointer.
        unsafe { g.start_awaited() };
        // SAFETY: as above.
        let epoch = unsafe { g.park(Some((hook, core::ptr::null_mut()))) };
        assert_eq!(g.parked(epoch), Parked::Stay);
        g
    }

    #[test]
    fn releasing_a_parked_frame_whose_awaiter_withdraws_destroys_it_at_once() {
        let g = parked_gate(withdraws);
        assert_eq!(g.release(), Release::Cancel);
        // SAFETY: `Release::Cancel` gave us `CANCELLING`.
        assert_eq!(unsafe { g.cancel() }, AfterCancel::Destroy);
        assert!(g.free_or_defer());
    }

    #[test]
    fn a_resumer_during_the_cancel_leaves_the_frame_to_the_canceller() {
        let g = parked_gate(resume_coming);
        assert_eq!(g.release(), Release::Cancel);
        assert_eq!(g.resume(), Entry::Leave);
        // SAFETY: we hold `CANCELLING`.
        assert_eq!(unsafe { g.cancel() }, AfterCancel::DestroyAbandoning);
        assert_eq!(g.phase(), ORPHANED);
    }

    #[test]
    fn a_resume_granted_before_the_cancel_destroys_the_frame_in_place_of_running_it() {
        let g = parked_gate(resume_coming);
        assert_eq!(g.release(), Release::Cancel);
        // SAFETY: we hold `CANCELLING`.
        assert_eq!(unsafe { g.cancel() }, AfterCancel::Nothing);
        assert_eq!(g.resume(), Entry::Destroy);
    }

    #[test]
    fn a_release_while_running_is_carried_out_by_the_next_park() {
        let g = Gate::new();
        // SAFETY: fresh, used by this thread only.
        unsafe { g.start_awaited() };
        assert_eq!(g.release(), Release::Detached);
        assert_eq!(g.phase(), ORPHANED);
        // SAFETY: as above; no hook: nothing to withdraw.
        let epoch = unsafe { g.park(None) };
        assert_eq!(g.parked(epoch), Parked::Cancel);
        // SAFETY: the parker holds `CANCELLING`.
        assert_eq!(unsafe { g.cancel() }, AfterCancel::Nothing);
        assert_eq!(g.resume(), Entry::Destroy);
    }

    #[test]
    fn a_slow_parker_does_not_mark_a_resumed_frame_parked_and_frees_it_if_last() {
        let g = Gate::new();
        // SAFETY: fresh, used by this thread only.
        unsafe { g.start_awaited() };
        // SAFETY: as above.
        let epoch = unsafe { g.park(None) };
        assert_eq!(g.resume(), Entry::Run); // before the parker left
        assert!(!g.finish(), "the owner is still there: DONE");
        assert_eq!(g.phase(), DONE);
        assert_eq!(g.release(), Release::Free);
        assert!(!g.free_or_defer(), "a parker is inside");
        assert_eq!(g.parked(epoch), Parked::Free);
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    //! The gate's protocol under every interleaving: a mock frame (its
    //! memory a loom cell, so a free racing any access is reported), a mock
    //! registration (withdraw against grant on one atomic), and loom
    //! threads for the owner, the resumer and the parker.

    use super::*;
    use loom::cell::UnsafeCell as Memory;
    use loom::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize};
    use loom::sync::Arc;
    use loom::thread;

    const UNREGISTERED: u8 = 0;
    const QUEUED: u8 = 1;
    const WITHDRAWN: u8 = 2;
    const GRANTED: u8 = 3;

    /// One frame: its gate, its contents (body and awaiter: what running,
    /// the hook and the destroy use), its memory (what a parker still
    /// reaches after `await_suspend`: the gate word; what the free ends),
    /// and what happened to it.
    struct Frame {
        gate: Gate,
        contents: Memory<u32>,
        memory: Memory<u32>,
        registration: AtomicU8,
        destroyed: AtomicUsize,
        freed: AtomicUsize,
        running: AtomicBool,
    }

    impl Frame {
        fn new(phase: u64) -> Arc<Frame> {
            let f = Frame {
                gate: Gate::new(),
                contents: Memory::new(0),
                memory: Memory::new(0),
                registration: AtomicU8::new(UNREGISTERED),
                destroyed: AtomicUsize::new(0),
                freed: AtomicUsize::new(0),
                running: AtomicBool::new(false),
            };
            f.gate.word.store(phase, Ordering::Relaxed);
            Arc::new(f)
        }

        /// An access to the frame's contents: reported if it races its
        /// destruction or free.
        fn touch(&self) {
            self.contents.with(|_| ());
        }

        /// The frame's destroy: drops its contents, then frees the memory
        /// or leaves it to the last parker.
        fn destroy(&self) {
            assert_eq!(self.freed.load(Ordering::Relaxed), 0, "destroyed after it was freed");
            // SAFETY: loom checks that no other access races this one.
            self.contents.with_mut(|m| unsafe { *m += 1 });
            assert_eq!(self.destroyed.fetch_add(1, Ordering::Relaxed), 0, "destroyed twice");
            if self.gate.free_or_defer() {
                self.free();
            }
        }

        fn free(&self) {
            // SAFETY: as above.
            self.memory.with_mut(|m| unsafe { *m += 1 });
            // SAFETY: as above.
            self.contents.with_mut(|m| unsafe { *m += 1 });
            assert_eq!(self.freed.fetch_add(1, Ordering::Relaxed), 0, "freed twice");
        }

        /// Parks the running frame and registers with the mock primitive
        /// (what `await_suspend` does): from here a grant may come.
        fn park(&self, hook: bool) -> u64 {
            // SAFETY: the frame is running on this thread.
            let epoch = unsafe { self.gate.park(if hook { self.hook() } else { None }) };
            self.registration.store(QUEUED, Ordering::Release);
            epoch
        }

        /// The hook: withdraws the registration unless it was granted.
        fn hook(&self) -> Option<(CancelHook, *mut ())> {
            unsafe fn call(frame: *mut ()) -> CancelOutcome {
                // SAFETY: the frame is kept alive by the model's `Arc`s.
                let frame = unsafe { &*(frame as *const Frame) };
                assert!(!frame.running.load(Ordering::Relaxed), "hook called while the frame runs");
                assert_eq!(frame.freed.load(Ordering::Relaxed), 0, "hook called after the free");
                frame.touch();
                match frame.registration.compare_exchange(QUEUED, WITHDRAWN, Ordering::AcqRel, Ordering::Acquire) {
                    Ok(_) => CancelOutcome::Withdrawn,
                    Err(_) => CancelOutcome::ResumeComing,
                }
            }
            Some((call, self as *const Frame as *mut ()))
        }

        /// The canceller's side, after taking `CANCELLING`.
        fn cancel(&self) {
            // SAFETY: the caller holds `CANCELLING`.
            match unsafe { self.gate.cancel() } {
                AfterCancel::Destroy | AfterCancel::DestroyAbandoning => self.destroy(),
                AfterCancel::Nothing => {}
            }
        }

        /// The owner going away.
        fn release(&self) {
            match self.gate.release() {
                Release::Free => self.destroy(),
                Release::Cancel => self.cancel(),
                Release::Detached => {}
            }
        }

        /// A grant: wins the registration, then resumes the frame, which
        /// runs to its end (the final claim).
        fn grant_and_resume(&self) {
            if self.registration.compare_exchange(QUEUED, GRANTED, Ordering::AcqRel, Ordering::Acquire).is_err() {
                return; // withdrawn: nothing to resume
            }
            match self.gate.resume() {
                Entry::Leave => {}
                Entry::Destroy => self.destroy(),
                Entry::Run => {
                    assert_eq!(self.freed.load(Ordering::Relaxed), 0, "resumed after the free");
                    self.running.store(true, Ordering::Relaxed);
                    self.touch();
                    self.running.store(false, Ordering::Relaxed);
                    if self.gate.finish() {
                        self.destroy();
                    }
                }
            }
        }

        /// The parker's side after `await_suspend` registered.
        fn parked(&self, epoch: u64) {
            // The parker's last reach into the frame: the gate word.
            self.memory.with(|_| ());
            match self.gate.parked(epoch) {
                Parked::Stay => {}
                Parked::Cancel => self.cancel(),
                Parked::Free => self.free(),
            }
        }

        fn check(&self) {
            assert_eq!(self.freed.load(Ordering::Relaxed), 1, "freed exactly once");
            assert_eq!(self.destroyed.load(Ordering::Relaxed), 1, "destroyed exactly once");
        }
    }

    /// The owner goes away while a resumer races to resume the frame and
    /// the parker is still inside `await_suspend`.
    #[test]
    fn loom_owner_release_races_a_resumer_and_a_slow_parker() {
        loom::model(|| {
            let frame = Frame::new(AWAITED);
            let epoch = frame.park(true);
            let owner = {
                let f = frame.clone();
                thread::spawn(move || f.release())
            };
            let resumer = {
                let f = frame.clone();
                thread::spawn(move || f.grant_and_resume())
            };
            frame.parked(epoch);
            owner.join().unwrap();
            resumer.join().unwrap();
            // A withdrawn or orphaned frame that no grant reached: the
            // grant is withdrawn (no resume will ever come), so it must
            // have been destroyed by now.
            frame.check();
        });
    }

    /// The owner goes away while the frame runs: the next park cancels it
    /// itself, against the grant (on the owner's thread, right after it
    /// went away) racing the parker.
    #[test]
    fn loom_owner_release_while_running_is_carried_out_by_the_next_park() {
        loom::model(|| {
            let frame = Frame::new(AWAITED);
            let owner = {
                let f = frame.clone();
                thread::spawn(move || {
                    f.release();
                    f.grant_and_resume();
                })
            };
            let epoch = frame.park(true);
            frame.parked(epoch);
            owner.join().unwrap();
            frame.check();
        });
    }

    /// A frame whose owner is gone is resumed and destroyed by its resumer
    /// while the parker that parked it has not left yet: the memory waits
    /// for the parker (`FREE_PENDING`).
    #[test]
    fn loom_free_waits_for_the_last_parker() {
        loom::model(|| {
            let frame = Frame::new(ORPHANED);
            let epoch = frame.park(false);
            let resumer = {
                let f = frame.clone();
                thread::spawn(move || f.grant_and_resume())
            };
            frame.parked(epoch);
            resumer.join().unwrap();
            frame.check();
        });
    }

    /// The owner releases a finished frame while a slow parker of an
    /// earlier park is still inside (the frame was resumed, ran to its end
    /// and claimed `DONE` meanwhile).
    #[test]
    fn loom_owner_free_after_done_waits_for_a_slow_parker() {
        loom::model(|| {
            let frame = Frame::new(AWAITED);
            let epoch = frame.park(true);
            let f = frame.clone();
            let resumer = thread::spawn(move || {
                f.grant_and_resume();
                // The finished frame's owner frees it (`DONE`), unless the
                // cancel got there first.
                if f.destroyed.load(Ordering::Relaxed) == 0 {
                    f.release();
                }
            });
            frame.parked(epoch);
            resumer.join().unwrap();
            frame.check();
        });
    }
}
