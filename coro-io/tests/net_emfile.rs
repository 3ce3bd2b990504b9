//! `accept` out of descriptors (EMFILE) backs off on a timer, without
//! spinning, and accepts again once a descriptor is free. Its own binary:
//! it lowers the process's `RLIMIT_NOFILE` for a while (then restores it),
//! which no other test may share.

use std::cell::Cell;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use coro::{co_await, co_return, Task};
use coro_io::{sleep, yield_now, EventLoop, TcpListener};

fn nofile() -> libc::rlimit {
    let mut r = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: `getrlimit` writes the limit into the struct it is given.
    assert_eq!(unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) }, 0);
    r
}

fn set_nofile(r: libc::rlimit) -> io::Result<()> {
    // SAFETY: `setrlimit` only reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &r) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// CPU time this thread has used.
fn thread_cpu() -> Duration {
    // SAFETY: `rusage` is plain integers, for which zero is a valid value.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `getrusage` writes the usage into the struct it is given.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_THREAD, &mut u) }, 0);
    let t = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    t(u.ru_utime) + t(u.ru_stime)
}

#[coro::coroutine]
fn accept_n(listener: Rc<TcpListener>, n: usize, accepted: Rc<Cell<usize>>) -> Task<io::Result<()>> {
    for _ in 0..n {
        let (mut s, _) = co_await!(listener.accept())?;
        accepted.set(accepted.get() + 1);
        co_await!(s.write_all(b"hi"))?;
    }
    co_return!(Ok(()))
}

#[coro::coroutine]
fn tick() -> Task<()> {
    co_await!(yield_now());
    co_return!(())
}

#[coro::coroutine]
fn nap(d: Duration) -> Task<()> {
    co_await!(sleep(d));
    co_return!(())
}

/// Valgrind keeps a descriptor table and limit of its own (with its own
/// descriptors near the limit), so the kernel's EMFILE cannot be staged
/// there: `.ci/memcheck` runs this binary, and the test skips.
fn under_valgrind() -> bool {
    std::env::var_os("LD_PRELOAD").is_some_and(|p| p.to_string_lossy().contains("vgpreload"))
}

#[test]
fn accept_out_of_descriptors_backs_off_without_spinning_and_accepts_once_one_is_free() {
    use std::io::Read as _;
    if under_valgrind() {
        println!("skipped under valgrind: it emulates RLIMIT_NOFILE with descriptors of its own");
        return;
    }
    let rt = EventLoop::new().unwrap();
    let listener = Rc::new(TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).unwrap());
    let addr = listener.local_addr().unwrap();
    let accepted = Rc::new(Cell::new(0));
    // The client's descriptor exists before the limit comes down; its
    // connection waits in the listen queue.
    let mut first = std::net::TcpStream::connect(addr).unwrap();
    first.set_read_timeout(Some(Duration::from_secs(10))).unwrap();

    // Every descriptor number below the limit is taken: `placeholder` has
    // the lowest free one, and the limit sits just above it.
    let saved = nofile();
    let placeholder = std::fs::File::open("/dev/null").unwrap();
    let lowest_free = std::os::fd::AsRawFd::as_raw_fd(&placeholder) as libc::rlim_t;
    set_nofile(libc::rlimit { rlim_cur: lowest_free + 1, rlim_max: saved.rlim_max }).unwrap();
    assert_eq!(std::fs::File::open("/dev/null").unwrap_err().raw_os_error(), Some(libc::EMFILE));

    let h = rt.spawn_local(accept_n(listener.clone(), 2, accepted.clone()));
    // `accept` fails with EMFILE and backs off: a timer, not a wait for
    // readiness (the queued connection would never announce itself again).
    let deadline = Instant::now() + Duration::from_secs(5);
    while rt.timers() == 0 {
        assert!(Instant::now() < deadline, "accept never backed off (accepted {})", accepted.get());
        rt.block_on(tick());
    }
    assert_eq!(accepted.get(), 0);
    // 300 ms out of descriptors: a few retries (10, 20, 40, 80, 160 ms),
    // not a busy loop.
    let cpu = thread_cpu();
    rt.block_on(nap(Duration::from_millis(300)));
    let spent = thread_cpu() - cpu;
    assert_eq!(accepted.get(), 0);
    assert!(spent < Duration::from_millis(150), "the loop spun while backing off: {spent:?} of CPU in 300 ms");

    // A descriptor comes free: the next retry accepts.
    drop(placeholder);
    set_nofile(saved).unwrap();
    let started = Instant::now();
    while accepted.get() == 0 {
        assert!(started.elapsed() < Duration::from_secs(5), "accept did not recover");
        rt.block_on(nap(Duration::from_millis(5)));
    }
    let mut hi = [0u8; 2];
    first.read_exact(&mut hi).unwrap();
    // The listener goes on as usual: a new connection is accepted at once.
    let mut second = std::net::TcpStream::connect(addr).unwrap();
    second.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    rt.block_on(h).unwrap();
    second.read_exact(&mut hi).unwrap();
    assert_eq!((accepted.get(), rt.timers(), rt.registrations()), (2, 0, 0));
}
