//! Sockets on a multi-threaded `Runtime`: a listener on one loop handing
//! its connections to the others, a stream moving between loops, the two
//! owned halves of a stream on two loops at once, one listener shared by
//! two loops, `SO_REUSEPORT` listeners (one per loop), and a task
//! suspended in a read cancelled from another thread.

use std::collections::BTreeSet;
use std::io::{self, Read as _, Write as _};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use coro::{co_await, co_return, SendTask};
use coro_io::{JoinHandle, LoopHandle, Runtime, TcpListener, TcpStream};

fn localhost() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A blocking client: sends `msg`, half-closes, reads the echo to the end.
fn client(addr: SocketAddr, msg: Vec<u8>) -> thread::JoinHandle<io::Result<Vec<u8>>> {
    thread::spawn(move || {
        let mut s = std::net::TcpStream::connect(addr)?;
        s.set_read_timeout(Some(Duration::from_secs(10)))?;
        s.write_all(&msg)?;
        s.shutdown(std::net::Shutdown::Write)?;
        let mut back = Vec::new();
        s.read_to_end(&mut back)?;
        Ok(back)
    })
}

/// Echoes until end of stream; records the loop it ran on.
#[coro::coroutine]
fn serve(mut s: TcpStream, loops: Arc<Mutex<BTreeSet<usize>>>) -> SendTask<io::Result<()>> {
    loops.lock().unwrap().insert(LoopHandle::current().index());
    let mut buf = [0u8; 512];
    loop {
        let n = co_await!(s.read(&mut buf))?;
        if n == 0 {
            co_return!(Ok(()));
        }
        co_await!(s.write_all(&buf[..n]))?;
    }
}

/// Accepts `n` connections and spawns each one's `serve` on the runtime
/// (round-robin over its loops); waits for them all.
#[coro::coroutine]
fn acceptor(listener: TcpListener, n: usize, loops: Arc<Mutex<BTreeSet<usize>>>) -> SendTask<io::Result<usize>> {
    let mut served: Vec<JoinHandle<io::Result<()>>> = Vec::new();
    for _ in 0..n {
        let (stream, _) = co_await!(listener.accept())?;
        served.push(coro_io::spawn(serve(stream, loops.clone())));
    }
    for h in served {
        co_await!(h)?;
    }
    co_return!(Ok(LoopHandle::current().index()))
}

#[test]
fn a_listener_on_one_loop_hands_each_connection_to_another_loop_of_the_runtime() {
    let rt = Runtime::new(3).unwrap();
    let listener = TcpListener::bind(localhost()).unwrap();
    let addr = listener.local_addr().unwrap();
    let loops = Arc::new(Mutex::new(BTreeSet::new()));
    let n = 30;
    let accepting = rt.handle(0).spawn(acceptor(listener, n, loops.clone()));
    let clients: Vec<_> = (0..n).map(|i| client(addr, format!("message {i}").repeat(50).into_bytes())).collect();
    for (i, c) in clients.into_iter().enumerate() {
        assert_eq!(c.join().unwrap().unwrap(), format!("message {i}").repeat(50).into_bytes());
    }
    assert_eq!(coro::sync_wait(accepting).unwrap(), 0);
    assert_eq!(*loops.lock().unwrap(), BTreeSet::from([0, 1, 2]), "connections served on every loop");
}

/// Reads `a` bytes on loop 0, hops to loop 1, reads `b` more there (both
/// reads wait for the peer): the stream's registration follows it.
#[coro::coroutine]
fn read_then_move(mut s: TcpStream, to: LoopHandle, go: Arc<AtomicUsize>) -> SendTask<io::Result<(Vec<u8>, usize)>> {
    let mut first = [0u8; 5];
    go.store(1, Ordering::SeqCst);
    co_await!(s.read_exact(&mut first))?;
    co_await!(to.schedule());
    go.store(2, Ordering::SeqCst);
    let mut second = [0u8; 5];
    co_await!(s.read_exact(&mut second))?;
    let mut all = first.to_vec();
    all.extend_from_slice(&second);
    co_return!(Ok((all, LoopHandle::current().index())))
}

fn wait_for(flag: &AtomicUsize, value: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while flag.load(Ordering::SeqCst) != value {
        assert!(Instant::now() < deadline, "timed out waiting for the coroutine");
        thread::sleep(Duration::from_millis(1));
    }
}

#[test]
fn a_stream_awaited_on_one_loop_then_on_another_is_woken_on_the_second() {
    let rt = Runtime::new(2).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mut peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let s = TcpStream::from_std(listener.accept().unwrap().0).unwrap();
    let go = Arc::new(AtomicUsize::new(0));
    let h = rt.handle(0).spawn(read_then_move(s, rt.handle(1).clone(), go.clone()));
    wait_for(&go, 1);
    thread::sleep(Duration::from_millis(5)); // most likely waiting on loop 0 by now (either way is correct)
    peer.write_all(b"hello").unwrap();
    wait_for(&go, 2);
    thread::sleep(Duration::from_millis(5)); // most likely waiting on loop 1 now
    peer.write_all(b"world").unwrap();
    let (all, index) = coro::sync_wait(h).unwrap();
    assert_eq!((&all[..], index), (&b"helloworld"[..], 1));
}

#[coro::coroutine]
fn read_all(mut rd: coro_io::OwnedReadHalf, len: usize) -> SendTask<io::Result<(Vec<u8>, usize)>> {
    let mut back = Vec::with_capacity(len);
    let mut buf = vec![0u8; 16 * 1024];
    while back.len() < len {
        let n = co_await!(rd.read(&mut buf))?;
        if n == 0 {
            break;
        }
        back.extend_from_slice(&buf[..n]);
    }
    co_return!(Ok((back, LoopHandle::current().index())))
}

#[coro::coroutine]
fn write_all(mut wr: coro_io::OwnedWriteHalf, data: Arc<Vec<u8>>) -> SendTask<io::Result<usize>> {
    for chunk in data.chunks(64 * 1024) {
        co_await!(wr.write_all(chunk))?;
    }
    co_return!(Ok(LoopHandle::current().index()))
}

#[test]
fn the_owned_halves_of_a_stream_are_awaited_on_two_loops_at_once() {
    let rt = Runtime::new(2).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let s = TcpStream::from_std(listener.accept().unwrap().0).unwrap();
    // The peer echoes on a thread of its own.
    let echo = thread::spawn(move || io::copy(&mut &peer, &mut &peer));
    let data: Arc<Vec<u8>> = Arc::new((0..4 << 20).map(|i: u32| (i * 7 + (i >> 11)) as u8).collect());
    let (rd, wr) = s.into_split();
    let reading = rt.handle(0).spawn(read_all(rd, data.len()));
    let writing = rt.handle(1).spawn(write_all(wr, data.clone()));
    assert_eq!(coro::sync_wait(writing).unwrap(), 1);
    let (back, index) = coro::sync_wait(reading).unwrap();
    assert_eq!(index, 0);
    assert!(back == *data, "4 MB echoed intact");
    // Both halves are gone: the connection closed, the echo thread ends.
    assert!(echo.join().unwrap().is_ok());
}

/// Serves "h" connections with "hi" and counts them, until a "q"
/// connection comes: then returns its count (and drops its listener).
#[coro::coroutine]
fn accept_until_quit(listener: Arc<TcpListener>, served: Arc<AtomicUsize>) -> SendTask<io::Result<usize>> {
    let mut mine = 0;
    loop {
        let (mut s, _) = co_await!(listener.accept())?;
        let mut what = [0u8; 1];
        co_await!(s.read_exact(&mut what))?;
        if what[0] == b'q' {
            co_return!(Ok(mine));
        }
        mine += 1;
        served.fetch_add(1, Ordering::SeqCst);
        co_await!(s.write_all(b"hi"))?;
    }
}

/// Says hello `n` times, then quit until every acceptor has returned.
fn hello_then_quit(addr: SocketAddr, n: usize, acceptors: &[JoinHandle<io::Result<usize>>]) {
    for _ in 0..n {
        let mut c = std::net::TcpStream::connect(addr).unwrap();
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(b"h").unwrap();
        let mut hi = [0u8; 2];
        c.read_exact(&mut hi).unwrap();
        assert_eq!(&hi, b"hi");
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while !acceptors.iter().all(JoinHandle::is_finished) {
        assert!(Instant::now() < deadline, "the acceptors did not quit");
        // A listener that just quit may reset a connection it had queued.
        if let Ok(mut c) = std::net::TcpStream::connect(addr) {
            let _ = c.write_all(b"q");
        }
        thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn one_listener_shared_by_two_loops_accepts_on_both() {
    let rt = Runtime::new(2).unwrap();
    let listener = Arc::new(TcpListener::bind(localhost()).unwrap());
    let addr = listener.local_addr().unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let acceptors: Vec<_> =
        (0..2).map(|i| rt.handle(i).spawn(accept_until_quit(listener.clone(), served.clone()))).collect();
    drop(listener);
    let n = 40;
    hello_then_quit(addr, n, &acceptors);
    let per_loop: Vec<usize> = acceptors.into_iter().map(|h| coro::sync_wait(h).unwrap()).collect();
    assert_eq!((per_loop.iter().sum::<usize>(), served.load(Ordering::SeqCst)), (n, n));
    println!("one listener, two loops: {per_loop:?}");
}

#[test]
fn reuse_port_listeners_one_per_loop_share_an_address_and_serve_every_connection() {
    let rt = Runtime::new(2).unwrap();
    let first = TcpListener::bind_reuse_port(localhost()).unwrap();
    let addr = first.local_addr().unwrap();
    let second = TcpListener::bind_reuse_port(addr).unwrap();
    let served = Arc::new(AtomicUsize::new(0));
    let acceptors: Vec<_> = [first, second]
        .into_iter()
        .enumerate()
        .map(|(i, l)| rt.handle(i).spawn(accept_until_quit(Arc::new(l), served.clone())))
        .collect();
    let n = 40;
    hello_then_quit(addr, n, &acceptors);
    let per_loop: Vec<usize> = acceptors.into_iter().map(|h| coro::sync_wait(h).unwrap()).collect();
    assert_eq!((per_loop.iter().sum::<usize>(), served.load(Ordering::SeqCst)), (n, n));
    println!("SO_REUSEPORT spread {n} connections as {per_loop:?}");
}

/// Reads forever; its probe counts its drop and tells the test it began.
#[coro::coroutine]
fn read_forever(mut s: TcpStream, began: Arc<AtomicUsize>, probe: Probe) -> SendTask<io::Result<usize>> {
    let _probe = probe;
    began.store(1, Ordering::SeqCst);
    let mut buf = [0u8; 16];
    co_return!(co_await!(s.read(&mut buf)))
}

struct Probe(Arc<AtomicUsize>);

impl Drop for Probe {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// A `SendTask` suspended in a read on loop 1, spawned from this thread.
fn suspended_reader(rt: &Runtime) -> (std::net::TcpStream, JoinHandle<io::Result<usize>>, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let s = TcpStream::from_std(listener.accept().unwrap().0).unwrap();
    let (began, drops) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let h = rt.handle(1).spawn(read_forever(s, began.clone(), Probe(drops.clone())));
    wait_for(&began, 1);
    (peer, h, drops)
}

#[test]
fn a_send_task_suspended_in_a_read_whose_handle_is_dropped_elsewhere_is_destroyed_on_its_loop_at_its_next_wake_up() {
    let rt = Runtime::new(2).unwrap();
    let (mut peer, h, drops) = suspended_reader(&rt);
    drop(h);
    // Today a started `SendTask` whose owner goes away is destroyed at its
    // next resumption (README limitations): data wakes the read, and its
    // loop destroys the frame instead of running on.
    peer.write_all(b"wake").unwrap();
    wait_for(&drops, 1);
    // The stream went with the frame: the peer reads its end, or a reset if
    // the frame was destroyed with "wake" unread (the loop may also have
    // run the read before it took the cancellation: the task then ended
    // on its own).
    match peer.read(&mut [0u8; 8]) {
        Ok(n) => assert_eq!(n, 0),
        Err(e) => assert_eq!(e.kind(), io::ErrorKind::ConnectionReset),
    }
}

#[test]
fn a_send_task_suspended_in_a_read_whose_handle_is_dropped_elsewhere_is_destroyed_on_its_loop_at_once() {
    let rt = Runtime::new(2).unwrap();
    let (mut peer, h, drops) = suspended_reader(&rt);
    drop(h);
    wait_for(&drops, 1);
    assert_eq!(peer.read(&mut [0u8; 8]).unwrap(), 0);
}
