//! Starting and stopping the example servers inside a test: the real
//! server code (`examples/*/server.rs`, `examples/common/serve.rs`) on a
//! thread of its own, clients as blocking std sockets with read timeouts
//! (every test is bounded in time).

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use coro::cancellation::CancellationSource;

use crate::serve::{self, Config, ConnFn, Stats};

/// How long a client waits for any one read before the test fails.
pub const READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A running server; [`stop`](Self::stop) shuts it down gracefully.
pub struct Running {
    pub addr: SocketAddr,
    pub stop: CancellationSource,
    thread: Option<JoinHandle<Stats>>,
}

impl Running {
    /// Starts `conn` with `cfg` on 127.0.0.1, any free port.
    pub fn start(conn: ConnFn, cfg: Config) -> Running {
        let listener = coro_io::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).expect("bind");
        let addr = listener.local_addr().expect("local_addr");
        let stop = CancellationSource::new();
        let s = stop.clone();
        let thread = std::thread::spawn(move || serve::serve(listener, conn, cfg, s).expect("serve"));
        Running { addr, stop, thread: Some(thread) }
    }

    /// Requests the shutdown and waits for it (bounded: the test fails if
    /// the server takes longer than 20 s).
    pub fn stop(self) -> Stats {
        self.stop.request_cancellation();
        self.join()
    }

    /// Waits for a server that stops by itself (`max_requests`).
    pub fn join(mut self) -> Stats {
        let t = self.thread.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !t.is_finished() {
            assert!(Instant::now() < deadline, "the server did not stop within 20 s");
            std::thread::sleep(Duration::from_millis(5));
        }
        t.join().expect("the server thread panicked")
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.stop.request_cancellation();
            let _ = t.join();
        }
    }
}

/// A connected client with a read timeout.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(READ_TIMEOUT)).expect("timeout");
    s.set_nodelay(true).expect("nodelay");
    s
}

/// Reads exactly `n` bytes.
pub fn read_n(s: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    s.read_exact(&mut buf).expect("read the expected bytes");
    buf
}

/// Reads until the server closes the connection (EOF); a reset after the
/// answer counts as the close.
pub fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return out,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return out,
            Err(e) => panic!("read failed before the server closed the connection: {e} (got {out:?})"),
        }
    }
}

/// Sends `bytes`.
pub fn send(s: &mut TcpStream, bytes: &[u8]) {
    s.write_all(bytes).expect("write");
}
