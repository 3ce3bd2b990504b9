//! Destroying coroutines suspended in socket operations: each local
//! dropped once, the waiter withdrawn, and a later readiness event resumes
//! nothing (valgrind: `.ci/memcheck` runs this binary).

mod common;

use std::cell::Cell;
use std::io::{self, Write as _};
use std::rc::Rc;
use std::time::Duration;

use common::Counted;
use coro::awaiter::CancelOutcome;
use coro::{co_await, co_return, when_any, AwaitSuspend, Awaiter, CoroutineHandle, Task};
use coro_io::{timeout, yield_now, EventLoop, JoinHandle, TcpListener, TcpStream};

/// A connected pair made without a loop: (std peer, coro server side).
fn pair() -> (std::net::TcpStream, TcpStream) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (peer, TcpStream::from_std(server).unwrap())
}

/// Reads once, holding a drop counter; records whether the read returned.
#[coro::coroutine]
fn read_holding(mut s: TcpStream, drops: Rc<Cell<u32>>, finished: Rc<Cell<bool>>) -> Task<io::Result<usize>> {
    let _c = Counted(drops);
    let mut buf = [0u8; 64];
    let n = co_await!(s.read(&mut buf));
    finished.set(true);
    co_return!(n)
}

#[coro::coroutine]
fn tick() -> Task<()> {
    co_await!(yield_now());
    co_return!(())
}

#[coro::coroutine]
fn read_with_timeout(
    s: TcpStream,
    drops: Rc<Cell<u32>>,
    finished: Rc<Cell<bool>>,
) -> Task<Result<io::Result<usize>, coro_io::Elapsed>> {
    co_return!(co_await!(timeout(Duration::from_millis(20), read_holding(s, drops, finished))))
}

#[test]
fn a_read_cut_short_by_a_timeout_drops_its_locals_once_and_withdraws_its_waiter() {
    let rt = EventLoop::new().unwrap();
    let (mut peer, server) = pair();
    let (drops, finished) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(false)));
    let r = rt.block_on(read_with_timeout(server, drops.clone(), finished.clone()));
    assert!(r.is_err(), "the peer sent nothing");
    assert_eq!((drops.get(), finished.get()), (1, false));
    assert_eq!((rt.registrations(), rt.sources(), rt.timers(), rt.tasks()), (0, 0, 0, 0));
    // The server side was closed with the frame: the peer reads its end.
    assert_eq!(std::io::Read::read(&mut peer, &mut [0u8; 8]).unwrap(), 0);
}

#[test]
fn dropping_the_join_handle_of_a_task_suspended_in_a_read_withdraws_its_waiter() {
    let rt = EventLoop::new().unwrap();
    let (mut peer, server) = pair();
    let (drops, finished) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(false)));
    let h = rt.spawn_local(read_holding(server, drops.clone(), finished.clone()));
    rt.block_on(tick());
    assert_eq!((rt.registrations(), rt.sources()), (1, 1));
    drop(h);
    assert_eq!((drops.get(), finished.get()), (1, false));
    assert_eq!((rt.registrations(), rt.sources(), rt.tasks()), (0, 0, 0));
    // Data for the destroyed reader: nothing left to wake.
    let _ = peer.write_all(b"late");
    rt.block_on(tick());
    assert!(!finished.get());
}

/// Writes to the reader's peer, yields (the reader's readiness is
/// dispatched behind this coroutine's own wake-up), then cancels the
/// reader before its queued resumption runs.
#[coro::coroutine]
fn cancel_after_readiness(reader: JoinHandle<io::Result<usize>>, mut peer: std::net::TcpStream) -> Task<()> {
    peer.write_all(b"data").unwrap();
    co_await!(yield_now());
    drop(reader);
    co_await!(yield_now());
    co_return!(())
}

#[test]
fn a_reader_destroyed_after_its_readiness_was_queued_is_not_resumed() {
    let rt = EventLoop::new().unwrap();
    let (peer, server) = pair();
    let (drops, finished) = (Rc::new(Cell::new(0)), Rc::new(Cell::new(false)));
    let reader = rt.spawn_local(read_holding(server, drops.clone(), finished.clone()));
    rt.block_on(tick());
    assert_eq!(rt.registrations(), 1);
    rt.block_on(cancel_after_readiness(reader, peer));
    // The queued resumption named a registration that was gone: dropped.
    assert_eq!((drops.get(), finished.get()), (1, false));
    assert_eq!((rt.registrations(), rt.sources(), rt.tasks()), (0, 0, 0));
}

#[coro::coroutine]
fn first_of_two(a: TcpStream, b: TcpStream, drops: Rc<Cell<u32>>) -> Task<(usize, usize)> {
    let done = Rc::new(Cell::new(false));
    let (index, n) = co_await!(when_any(vec![
        read_holding(a, drops.clone(), done.clone()),
        read_holding(b, drops.clone(), done.clone()),
    ]));
    co_return!((index, n.unwrap()))
}

#[test]
fn the_loser_of_a_when_any_suspended_in_a_read_is_destroyed() {
    let rt = EventLoop::new().unwrap();
    let (_quiet_peer, a) = pair();
    let (mut talking_peer, b) = pair();
    talking_peer.write_all(b"hey").unwrap();
    let drops = Rc::new(Cell::new(0));
    assert_eq!(rt.block_on(first_of_two(a, b, drops.clone())), (1, 3));
    assert_eq!(drops.get(), 2, "the winner finished, the loser was destroyed");
    assert_eq!((rt.registrations(), rt.sources()), (0, 0));
}

/// Reads a request with a deadline: a client that sends nothing is dropped.
#[coro::coroutine]
fn serve_with_deadline(s: TcpStream, drops: Rc<Cell<u32>>) -> Task<&'static str> {
    let finished = Rc::new(Cell::new(false));
    match co_await!(timeout(Duration::from_millis(30), read_holding(s, drops, finished))) {
        Ok(_) => co_return!("served"),
        Err(_) => co_return!("timed out"),
    }
}

#[coro::coroutine]
fn silent_client_server(listener: TcpListener, drops: Rc<Cell<u32>>) -> Task<&'static str> {
    let (s, _) = co_await!(listener.accept()).unwrap();
    co_return!(co_await!(serve_with_deadline(s, drops)))
}

#[test]
fn a_server_timeout_drops_a_client_that_connects_and_sends_nothing() {
    let rt = EventLoop::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let mut client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let drops = Rc::new(Cell::new(0));
    assert_eq!(rt.block_on(silent_client_server(listener, drops.clone())), "timed out");
    assert_eq!(drops.get(), 1);
    assert_eq!((rt.registrations(), rt.sources(), rt.timers(), rt.tasks()), (0, 0, 0, 0));
    // The client sees the server close the connection.
    assert_eq!(std::io::Read::read(&mut client, &mut [0u8; 8]).unwrap(), 0);
}

#[coro::coroutine]
fn read_exposed(mut s: TcpStream, at: Rc<Cell<*mut ()>>) -> Task<usize> {
    let mut buf = [0u8; 16];
    let n = co_await!(Exposed { inner: s.read(&mut buf), at });
    co_return!(n.unwrap())
}

/// Wraps an awaiter and shows where it lives while suspended (its address,
/// its lifetime erased), so that the test can play the frame's owner and
/// call the cancel step.
struct Exposed<A> {
    inner: A,
    at: Rc<Cell<*mut ()>>,
}

impl<A: Awaiter> Awaiter for Exposed<A> {
    type Output = A::Output;
    fn await_ready(&mut self) -> bool {
        self.at.set(std::ptr::null_mut());
        self.inner.await_ready()
    }
    unsafe fn await_suspend(&mut self, h: CoroutineHandle) -> impl AwaitSuspend {
        self.at.set(&mut self.inner as *mut A as *mut ());
        // SAFETY: the frame's contract, passed on to the awaiter inside.
        unsafe { self.inner.await_suspend(h) }
    }
    fn await_resume(self) -> A::Output {
        self.at.set(std::ptr::null_mut());
        self.inner.await_resume()
    }
    const RECHECK_READY_ON_RESUME: bool = A::RECHECK_READY_ON_RESUME;
}

#[test]
fn the_cancel_step_of_a_read_withdraws_on_its_loop_thread_and_asks_for_a_resume_from_another() {
    let rt = EventLoop::new().unwrap();
    let (mut peer, server) = pair();
    let at = Rc::new(Cell::new(std::ptr::null_mut()));
    let h = rt.spawn_local(read_exposed(server, at.clone()));
    rt.block_on(tick());
    assert_eq!(rt.registrations(), 1);
    // The read's awaiter, while its coroutine is suspended on it.
    let awaiter = at.get() as *mut coro_io::net::Read<'static>;
    assert!(!awaiter.is_null());
    // From another thread: the loop is asked to resume it (its owner would
    // destroy it then); this owner lets it run on, so it re-checks, finds
    // nothing to read and waits again.
    struct SendPtr(*mut coro_io::net::Read<'static>);
    // SAFETY: the test's thread only calls the cancel step, which from a
    // thread other than the loop's touches nothing but the loop's
    // injection queue.
    unsafe impl Send for SendPtr {}
    let p = SendPtr(awaiter);
    let outcome = std::thread::spawn(move || {
        let p = p;
        // SAFETY: the coroutine is suspended on this awaiter (registered,
        // not resumed: the loop is not running), and nobody else touches it.
        unsafe { (*p.0).await_cancel() }
    })
    .join()
    .unwrap();
    assert_eq!(outcome, CancelOutcome::ResumeComing);
    rt.block_on(tick());
    rt.block_on(tick());
    assert_eq!(rt.registrations(), 1, "resumed early, found nothing, waits again");
    // On the loop's thread: withdrawn at once.
    let awaiter = at.get() as *mut coro_io::net::Read<'static>;
    // SAFETY: as above; on the loop's thread, between turns.
    let outcome = unsafe { (*awaiter).await_cancel() };
    assert_eq!(outcome, CancelOutcome::Withdrawn);
    assert_eq!(rt.registrations(), 0);
    // Nothing resumes it now, even with data there; its owner destroys it.
    peer.write_all(b"x").unwrap();
    rt.block_on(tick());
    rt.block_on(tick());
    assert!(!h.is_finished());
    drop(h);
    assert_eq!((rt.registrations(), rt.sources(), rt.tasks()), (0, 0, 0));
}
