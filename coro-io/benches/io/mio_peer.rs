//! The hand-written mio peer: one thread, one `mio::Poll`, a state machine
//! per connection in a `Slab`. It does the work of the coro servers: the
//! HTTP server calls the same `http` module (same parsing with httparse,
//! same buffers, same answer bytes, same batching of pipelined answers),
//! the echo server echoes through the same 4 KiB buffer, and both sweep
//! their connections with the same `Timeouts`.
//!
//! Sockets are registered once for reading and writing (edge-triggered):
//! a connection is driven until a read or a write would block.

use std::io::{self, ErrorKind, Read, Write};
use std::time::Instant;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use crate::http::{ReadBuf, Session};
use crate::timeouts::Timeouts;
use crate::ECHO_BUF;

const LISTENER: Token = Token(usize::MAX);

enum Proto {
    Http { buf: Box<ReadBuf>, session: Session, out: [&'static [u8]; 2], close: bool },
    Echo { buf: Box<[u8; ECHO_BUF]>, from: usize, to: usize },
}

struct Conn {
    stream: TcpStream,
    proto: Proto,
    busy: bool,
    since: u32,
}

/// A connection turns busy (a request started) or idle (its answers are
/// written): its timeout counts from now.
fn phase(busy: &mut bool, since: &mut u32, now_busy: bool, now: u32) {
    if *busy != now_busy {
        *busy = now_busy;
        *since = now;
    }
}

/// What driving a connection ended with.
enum Drive {
    /// Waiting for the socket.
    Wait,
    /// Done: drop it.
    Close,
}

impl Conn {
    fn drive(&mut self, now: u32) -> Drive {
        match &mut self.proto {
            Proto::Http { buf, session, out, close } => loop {
                for part in out.iter_mut() {
                    while !part.is_empty() {
                        match self.stream.write(part) {
                            Ok(0) => return Drive::Close,
                            Ok(n) => *part = &part[n..],
                            Err(e) if e.kind() == ErrorKind::WouldBlock => return Drive::Wait,
                            Err(e) if e.kind() == ErrorKind::Interrupted => {}
                            Err(_) => return Drive::Close,
                        }
                    }
                }
                if *close {
                    return Drive::Close;
                }
                let b = session.batch(buf.data());
                if !b.needs_input() {
                    buf.consume(b.consumed);
                    *out = b.out;
                    *close = b.close;
                    continue;
                }
                phase(&mut self.busy, &mut self.since, !buf.is_empty() || !session.between_requests(), now);
                match self.stream.read(buf.spare()) {
                    Ok(0) => return Drive::Close,
                    Ok(n) => {
                        buf.filled(n);
                        phase(&mut self.busy, &mut self.since, true, now);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Drive::Wait,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return Drive::Close,
                }
            },
            Proto::Echo { buf, from, to } => loop {
                while from < to {
                    match self.stream.write(&buf[*from..*to]) {
                        Ok(0) => return Drive::Close,
                        Ok(n) => *from += n,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => return Drive::Wait,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        Err(_) => return Drive::Close,
                    }
                }
                phase(&mut self.busy, &mut self.since, false, now);
                match self.stream.read(&mut buf[..]) {
                    Ok(0) => return Drive::Close,
                    Ok(n) => {
                        (*from, *to) = (0, n);
                        phase(&mut self.busy, &mut self.since, true, now);
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return Drive::Wait,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => return Drive::Close,
                }
            },
        }
    }
}

/// Serves `listener` forever: HTTP if `http`, echo otherwise.
pub fn serve(listener: std::net::TcpListener, http: bool) -> io::Result<()> {
    listener.set_nonblocking(true)?;
    let mut listener = TcpListener::from_std(listener);
    let mut poll = Poll::new()?;
    let mut events = Events::with_capacity(1024);
    poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
    let mut conns: Slab<Conn> = Slab::new();
    let timeouts = Timeouts::default();
    let start = Instant::now();
    let mut now: u32 = 0;
    loop {
        let next_tick = timeouts.tick * (now + 1);
        let wait = next_tick.saturating_sub(start.elapsed());
        match poll.poll(&mut events, Some(wait)) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
        for ev in events.iter() {
            if ev.token() == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            stream.set_nodelay(true)?;
                            let entry = conns.vacant_entry();
                            poll.registry().register(
                                &mut stream,
                                Token(entry.key()),
                                Interest::READABLE | Interest::WRITABLE,
                            )?;
                            let proto = if http {
                                Proto::Http {
                                    buf: Box::new(ReadBuf::new()),
                                    session: Session::new(),
                                    out: [&[], &[]],
                                    close: false,
                                }
                            } else {
                                Proto::Echo { buf: Box::new([0; ECHO_BUF]), from: 0, to: 0 }
                            };
                            entry.insert(Conn { stream, proto, busy: false, since: now });
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == ErrorKind::Interrupted => {}
                        // Out of descriptors, a connection reset before
                        // accept: try again at the next event.
                        Err(_) => break,
                    }
                }
                continue;
            }
            let key = ev.token().0;
            let Some(conn) = conns.get_mut(key) else { continue };
            match conn.drive(now) {
                Drive::Wait => {}
                Drive::Close => {
                    let mut conn = conns.remove(key);
                    let _ = poll.registry().deregister(&mut conn.stream);
                }
            }
        }
        if start.elapsed() >= timeouts.tick * (now + 1) {
            now += 1;
            conns.retain(|_, c| !timeouts.expired(c.busy, c.since, now));
        }
    }
}
