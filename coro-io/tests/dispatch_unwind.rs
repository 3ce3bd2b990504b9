//! A coroutine whose promise rethrows its panic, resumed by a readiness
//! event, unwinds out of the loop's dispatch to whoever runs the loop. The
//! other coroutines that event was to resume must still be resumed when
//! the loop runs again: the poll is edge-triggered, so the same readiness
//! is not reported twice.

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::rc::Rc;
use std::time::{Duration, Instant};

use coro::promise::{AwaitDirect, Payload, Promise, ReturnVoid, ReturnsVoid};
use coro::{co_await, co_return, CoroutineTraits, SuspendAlways, SuspendNever, Task, UniqueCoroutineHandle};
use coro_io::{sleep, EventLoop, TcpListener};

/// An eager coroutine whose promise rethrows a panic out of the resume
/// that raised it (as a `Generator`'s does). As in C++, a coroutine whose
/// `unhandled_exception` throws is then at its final point, and its owner
/// destroys it.
struct Rethrowing;

struct Started(#[allow(dead_code)] UniqueCoroutineHandle<Rethrowing>);

thread_local! {
    /// The panicking coroutine's owner, kept until the test has seen it panic.
    static OWNER: RefCell<Option<Started>> = const { RefCell::new(None) };
}

impl CoroutineTraits for Started {
    type Promise = Rethrowing;
}

impl Promise for Rethrowing {
    type ReturnObject = Started;
    type InitialSuspend = SuspendNever;
    type FinalSuspend = SuspendAlways;
    type Return = ReturnsVoid;
    type Await = AwaitDirect;
    unsafe fn get_return_object(&mut self) -> Started {
        // SAFETY: `Started` is the frame's only owner; the loop resumes it
        // through the handle its accept awaiter registered, while it is
        // suspended there, and never after it is done.
        Started(unsafe { UniqueCoroutineHandle::from_promise(self) })
    }
    fn initial_suspend(&mut self) -> SuspendNever {
        SuspendNever
    }
    fn final_suspend(&mut self) -> SuspendAlways {
        SuspendAlways
    }
    fn unhandled_exception(&mut self, payload: Payload) {
        std::panic::resume_unwind(payload)
    }
}

impl Default for Rethrowing {
    fn default() -> Self {
        Rethrowing
    }
}

impl ReturnVoid for Rethrowing {
    fn return_void(&mut self) {}
}

/// Accepts one connection, then panics.
#[coro::coroutine]
fn accept_then_panic(l: Rc<TcpListener>) -> Started {
    let accepted = co_await!(l.accept());
    assert!(accepted.is_ok());
    panic!("boom after accepting");
}

/// Starts `accept_then_panic` on the loop, where it waits.
#[coro::coroutine]
fn start_panicking_acceptor(l: Rc<TcpListener>) -> Task<()> {
    let started = accept_then_panic(l);
    OWNER.with(|o| *o.borrow_mut() = Some(started));
    co_return!(())
}

#[coro::coroutine]
fn accept_one(l: Rc<TcpListener>, accepted: Rc<Cell<bool>>) -> Task<()> {
    let r = co_await!(l.accept());
    accepted.set(r.is_ok());
    co_return!(())
}

#[coro::coroutine]
fn nap(d: Duration) -> Task<()> {
    co_await!(sleep(d));
    co_return!(())
}

/// Naps until `done` or `limit`, whichever comes first.
#[coro::coroutine]
fn until(done: Rc<Cell<bool>>, limit: Duration) -> Task<()> {
    let deadline = Instant::now() + limit;
    while !done.get() && Instant::now() < deadline {
        co_await!(sleep(Duration::from_millis(1)));
    }
    co_return!(())
}

#[test]
fn a_waiter_that_unwinds_out_of_a_dispatch_does_not_cost_the_other_waiters_of_its_event() {
    let rt = EventLoop::new().unwrap();
    let l = Rc::new(TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap());
    let addr = l.local_addr().unwrap();
    let accepted = Rc::new(Cell::new(false));
    // Both wait on the listener: the panicking one first.
    rt.spawn_local(start_panicking_acceptor(l.clone())).detach();
    rt.spawn_local(accept_one(l.clone(), accepted.clone())).detach();
    rt.block_on(nap(Duration::from_millis(5)));
    assert!(!accepted.get());
    // Two connections, one readiness event for both waiters.
    let _a = std::net::TcpStream::connect(addr).unwrap();
    let _b = std::net::TcpStream::connect(addr).unwrap();
    let unwound = catch_unwind(AssertUnwindSafe(|| rt.block_on(nap(Duration::from_secs(5)))));
    let payload = unwound.expect_err("the first waiter's panic unwinds out of the loop");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"boom after accepting"));
    // The loop runs again: the second waiter is resumed by the same event.
    rt.block_on(until(accepted.clone(), Duration::from_secs(5)));
    assert!(accepted.get(), "the second waiter was resumed and accepted the second connection");
    // The panicking coroutine is at its final point: its owner frees it.
    let owner = OWNER.with(|o| o.borrow_mut().take()).expect("the panicking coroutine's owner");
    drop(owner);
}
