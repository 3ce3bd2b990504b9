//! The `echo_server` connection coroutine: reads into a buffer in its frame
//! and writes back what it read. Accepting, the per-loop registry,
//! timeouts and graceful shutdown are `serve.rs`'s.

use coro::{co_await, co_return, Task};
use coro_io::TcpStream;

use crate::serve::Conn;

/// The echo buffer (the bench's peers use the same).
pub const ECHO_BUF: usize = 4096;

/// Echoes one connection until the client closes it, or the server shuts
/// down while it waits for bytes. Each read is echoed in full before the
/// next: a shutdown loses none.
#[coro::coroutine]
pub fn connection(mut stream: TcpStream, conn: Conn) -> Task<()> {
    let mut buf = [0u8; ECHO_BUF];
    loop {
        if !conn.phase(false) {
            co_return!(())
        }
        let n = match co_await!(stream.read(&mut buf)) {
            Ok(0) | Err(_) => co_return!(()),
            Ok(n) => n,
        };
        conn.phase(true);
        if co_await!(stream.write_all(&buf[..n])).is_err() {
            co_return!(())
        }
        conn.answered(1);
    }
}
