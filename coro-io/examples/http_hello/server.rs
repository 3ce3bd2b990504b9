//! The `http_hello` connection coroutine: reads requests into the
//! connection's [`ReadBuf`], lets the [`Session`] (the `http` module,
//! httparse) answer them in order, and writes each batch of answers with
//! one `write_all` of static bytes. Everything else (accepting, the
//! per-loop registry, timeouts, graceful shutdown) is `serve.rs`'s.
//!
//! Once the loop's buffer pool is warm, a request allocates nothing: the
//! small buffer is part of the coroutine frame, answers are static, the
//! registry is a slab entry updated in place.

use std::net::Shutdown;

use coro::{co_await, co_return, Task};
use coro_io::TcpStream;

use crate::http::{ReadBuf, Session, MAX_BODY};
use crate::serve::Conn;

/// Serves one connection until the client closes it, an answer closes it,
/// or the server shuts down while it is idle.
#[coro::coroutine]
pub fn connection(mut stream: TcpStream, conn: Conn) -> Task<()> {
    let mut buf = ReadBuf::new();
    let mut session = Session::new();
    loop {
        let b = session.batch(buf.data());
        if !b.needs_input() {
            buf.consume(b.consumed);
            for part in b.out {
                if !part.is_empty() && co_await!(stream.write_all(part)).is_err() {
                    co_return!(())
                }
            }
            conn.answered(b.answered);
            if b.close {
                break;
            }
            continue;
        }
        if !conn.phase(!buf.is_empty() || !session.between_requests()) {
            // Idle, and the server is shutting down.
            co_return!(())
        }
        match co_await!(stream.read(buf.spare())) {
            Ok(0) | Err(_) => co_return!(()),
            Ok(n) => {
                buf.filled(n);
                conn.phase(true);
            }
        }
    }
    // An answer that closes: end our side, then read and drop what the
    // client still sends (up to a bound, and within the request timeout:
    // the connection stays busy) so that closing with unread bytes does
    // not reset the connection before the client has read the answer.
    // A shutdown of the server does not wait for it.
    let _ = stream.shutdown(Shutdown::Write);
    if !conn.closing() {
        co_return!(())
    }
    let unread = buf.data().len();
    buf.consume(unread);
    let mut left = MAX_BODY;
    while left > 0 {
        match co_await!(stream.read(buf.spare())) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                left = left.saturating_sub(n as u64);
                buf.filled(n);
                buf.consume(n);
            }
        }
    }
    co_return!(())
}
