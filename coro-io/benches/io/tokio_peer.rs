//! The tokio peer: a `current_thread` runtime, a task per connection. It
//! does the work of the coro servers: the HTTP server calls the same `http`
//! module (same parsing with httparse, same buffers, same answer bytes,
//! same batching of pipelined answers), the echo server echoes through the
//! same 4 KiB buffer, and both sweep their connections with the same
//! `Timeouts` (a registry of the connections' abort handles and phases,
//! swept at each tick).

use std::cell::{Cell, RefCell};
use std::io;

use slab::Slab;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

use crate::http::{ReadBuf, Session};
use crate::timeouts::Timeouts;
use crate::ECHO_BUF;

struct Entry {
    abort: Option<AbortHandle>,
    busy: bool,
    since: u32,
}

thread_local! {
    static CONNS: RefCell<Slab<Entry>> = const { RefCell::new(Slab::new()) };
    static NOW: Cell<u32> = const { Cell::new(0) };
}

/// A connection turns busy (a request started) or idle (its answers are
/// written): its timeout counts from now.
fn phase(key: usize, busy: bool) {
    CONNS.with(|c| {
        let mut c = c.borrow_mut();
        let e = &mut c[key];
        if e.busy != busy {
            e.busy = busy;
            e.since = NOW.with(Cell::get);
        }
    })
}

/// Removes the connection's entry when its task ends or is aborted.
struct Registered(usize);

impl Drop for Registered {
    fn drop(&mut self) {
        CONNS.with(|c| drop(c.borrow_mut().remove(self.0)));
    }
}

async fn http_conn(mut stream: TcpStream, key: usize) {
    let _entry = Registered(key);
    let mut buf = ReadBuf::new();
    let mut session = Session::new();
    loop {
        let b = session.batch(buf.data());
        if !b.needs_input() {
            buf.consume(b.consumed);
            for part in b.out {
                if !part.is_empty() && stream.write_all(part).await.is_err() {
                    return;
                }
            }
            if b.close {
                return;
            }
            continue;
        }
        phase(key, !buf.is_empty() || !session.between_requests());
        match stream.read(buf.spare()).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                buf.filled(n);
                phase(key, true);
            }
        }
    }
}

async fn echo_conn(mut stream: TcpStream, key: usize) {
    let _entry = Registered(key);
    let mut buf = [0u8; ECHO_BUF];
    loop {
        phase(key, false);
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        phase(key, true);
        if stream.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

async fn sweep(timeouts: Timeouts) {
    let mut tick = tokio::time::interval(timeouts.tick);
    let mut expired = Vec::new();
    loop {
        tick.tick().await;
        let now = NOW.with(|n| {
            n.set(n.get().wrapping_add(1));
            n.get()
        });
        CONNS.with(|c| {
            for (_, e) in c.borrow_mut().iter_mut() {
                if timeouts.expired(e.busy, e.since, now) {
                    expired.extend(e.abort.take());
                }
            }
        });
        for h in expired.drain(..) {
            h.abort();
        }
    }
}

/// Serves `listener` forever on a current-thread runtime: HTTP if `http`,
/// echo otherwise.
pub fn serve(listener: std::net::TcpListener, http: bool) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_io().enable_time().build()?;
    rt.block_on(async move {
        let listener = TcpListener::from_std(listener)?;
        tokio::spawn(sweep(Timeouts::default()));
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                // Out of descriptors, a connection reset before accept.
                Err(_) => continue,
            };
            stream.set_nodelay(true)?;
            let key =
                CONNS.with(|c| c.borrow_mut().insert(Entry { abort: None, busy: false, since: NOW.with(Cell::get) }));
            let task = if http { tokio::spawn(http_conn(stream, key)) } else { tokio::spawn(echo_conn(stream, key)) };
            CONNS.with(|c| {
                if let Some(e) = c.borrow_mut().get_mut(key) {
                    e.abort = Some(task.abort_handle());
                }
            });
        }
    })
}
