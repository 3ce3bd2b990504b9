//! The HTTP/1.1 work of `http_hello`, without I/O: what a connection's bytes
//! mean and what to answer. The coro server (`server.rs`), its tests and the
//! io bench's tokio and mio peers all call this module, so that every server
//! in the comparison does exactly the same work and sends exactly the same
//! bytes.
//!
//! - Requests are parsed with `httparse` (at most [`MAX_HEADERS`] headers).
//! - Any method gets `200 OK` with `Hello, World!` (`HEAD`: the same head,
//!   no body). The answers are fixed byte strings: [`HELLO`], and
//!   [`HELLO_CLOSE`] (with `Connection: close`) when the connection ends
//!   after it (`Connection: close`, or HTTP/1.0 without `keep-alive`), and
//!   [`HELLO_KEEP_ALIVE`] (with `Connection: keep-alive`) to an HTTP/1.0
//!   request that asks for keep-alive.
//! - Keep-alive and pipelining: a [`Session`] answers requests in order; a
//!   batch of identical answers is one slice of a static array
//!   ([`Batch::out`]), so a server writes a pipelined batch with one call
//!   and never copies an answer.
//! - A body (`Content-Length`, or `Transfer-Encoding: chunked`) is read and
//!   dropped as it comes, never buffered whole; `Expect: 100-continue` gets
//!   `100 Continue` first.
//! - Errors answer and close: a malformed request, conflicting or invalid
//!   framing headers → `400`; a head of [`MAX_HEAD`] bytes or more, or more
//!   than [`MAX_HEADERS`] headers → `431`; a body over [`MAX_BODY`] →
//!   `413`; a transfer coding other than `chunked` → `501`.
//!
//! Buffers (nginx's `client_header_buffer_size` and
//! `large_client_header_buffers`): a connection reads into a small buffer of
//! [`SMALL_BUF`] bytes; only a head that does not fit moves to a large one
//! of [`MAX_HEAD`] bytes taken from a per-thread pool ([`take_large`]), given
//! back ([`give_back`]) once the connection's buffer is empty again. So an
//! idle keep-alive connection holds [`SMALL_BUF`] bytes, a slow client at
//! most [`MAX_HEAD`], and a request allocates nothing once the pool is warm.

// Each includer uses its share of the module.
#![allow(dead_code)]

use std::cell::RefCell;
use std::mem::MaybeUninit;

/// The small per-connection read buffer.
pub const SMALL_BUF: usize = 1024;
/// The largest request head (request line and headers) accepted; a head of
/// this size or more is answered `431`.
pub const MAX_HEAD: usize = 8192;
/// The largest request body accepted; a larger one is answered `413`.
pub const MAX_BODY: u64 = 1 << 20;
/// The most headers a request may have; more are answered `431`.
pub const MAX_HEADERS: usize = 64;

/// The answer to a request that keeps the connection open.
pub const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
/// The answer to a request after which the connection ends.
pub const HELLO_CLOSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\nHello, World!";
/// The answer to an HTTP/1.0 request asking for keep-alive (which an
/// HTTP/1.0 client needs confirmed, or it waits for the close).
pub const HELLO_KEEP_ALIVE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\nHello, World!";
/// [`HELLO_KEEP_ALIVE`] without its body.
pub const HEAD_KEEP_ALIVE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: keep-alive\r\n\r\n";
/// [`HELLO`] without its body: the answer to `HEAD`.
pub const HEAD: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n";
/// [`HELLO_CLOSE`] without its body.
pub const HEAD_CLOSE: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\nConnection: close\r\n\r\n";
/// The interim answer to `Expect: 100-continue`.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
/// A malformed request.
pub const BAD_REQUEST: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
/// A head of [`MAX_HEAD`] bytes or more, or too many headers.
pub const HEAD_TOO_LARGE: &[u8] =
    b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
/// A body over [`MAX_BODY`].
pub const BODY_TOO_LARGE: &[u8] = b"HTTP/1.1 413 Content Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
/// A transfer coding other than `chunked`.
pub const NOT_IMPLEMENTED: &[u8] = b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

/// How many identical answers one [`Batch`] may carry: the static arrays
/// hold this many copies.
pub const RUN: usize = 16;

const fn repeat<const N: usize>(s: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    let mut i = 0;
    while i < N {
        out[i] = s[i % s.len()];
        i += 1;
    }
    out
}

static HELLO_RUN: [u8; HELLO.len() * RUN] = repeat(HELLO);
static HEAD_RUN: [u8; HEAD.len() * RUN] = repeat(HEAD);

/// The answers a [`Session`] gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    Hello,
    HelloClose,
    HelloKeepAlive,
    Head,
    HeadClose,
    HeadKeepAlive,
    Continue,
    BadRequest,
    HeadTooLarge,
    BodyTooLarge,
    NotImplemented,
}

impl Reply {
    /// Its bytes.
    pub fn bytes(self) -> &'static [u8] {
        match self {
            Reply::Hello => HELLO,
            Reply::HelloClose => HELLO_CLOSE,
            Reply::HelloKeepAlive => HELLO_KEEP_ALIVE,
            Reply::Head => HEAD,
            Reply::HeadClose => HEAD_CLOSE,
            Reply::HeadKeepAlive => HEAD_KEEP_ALIVE,
            Reply::Continue => CONTINUE,
            Reply::BadRequest => BAD_REQUEST,
            Reply::HeadTooLarge => HEAD_TOO_LARGE,
            Reply::BodyTooLarge => BODY_TOO_LARGE,
            Reply::NotImplemented => NOT_IMPLEMENTED,
        }
    }

    /// The connection ends after it.
    pub fn closes(self) -> bool {
        !matches!(self, Reply::Hello | Reply::Head | Reply::HelloKeepAlive | Reply::HeadKeepAlive | Reply::Continue)
    }

    /// It answers a request (`100 Continue` does not).
    fn is_final(self) -> bool {
        self != Reply::Continue
    }

    /// `n` copies of its bytes (`n <= RUN`; only `Hello` and `Head` repeat).
    fn repeated(self, n: usize) -> &'static [u8] {
        match self {
            Reply::Hello => &HELLO_RUN[..HELLO.len() * n],
            Reply::Head => &HEAD_RUN[..HEAD.len() * n],
            _ => {
                debug_assert_eq!(n, 1);
                self.bytes()
            }
        }
    }
}

/// What one call of [`Session::batch`] found.
#[derive(Debug)]
pub struct Batch {
    /// What to write, in order (either slice may be empty).
    pub out: [&'static [u8]; 2],
    /// Requests that `out` answers (a `100 Continue` answers none).
    pub answered: usize,
    /// Bytes of the input used (the rest is an incomplete request: keep it).
    pub consumed: usize,
    /// The connection ends once `out` is written.
    pub close: bool,
}

impl Batch {
    /// Nothing to write and nothing consumed: more input is needed.
    pub fn needs_input(&self) -> bool {
        self.consumed == 0 && self.out[0].is_empty() && self.out[1].is_empty() && !self.close
    }
}

/// Where a connection is in a request's body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Body {
    /// Between requests: the next bytes are a head.
    None,
    /// `n` bytes of a `Content-Length` body left; then `reply`.
    Length(u64, Reply),
    /// A chunked body: where in it, the bytes of data so far; then `reply`.
    Chunked(Chunk, u64, Reply),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// A chunk-size line.
    Size,
    /// `n` bytes of chunk data left.
    Data(u64),
    /// The CRLF after a chunk's data.
    DataEnd,
    /// Trailer lines, up to an empty line.
    Trailers,
}

/// One connection's protocol state between reads.
#[derive(Debug)]
pub struct Session {
    body: Body,
}

impl Default for Session {
    fn default() -> Self {
        Self::new()
    }
}

/// One step of [`Session::step`].
enum Step {
    /// `n` bytes used, nothing to answer yet.
    Used(usize),
    /// `n` bytes used, then this answer.
    Answer(usize, Reply),
    /// More input is needed.
    More,
}

impl Session {
    /// A new connection's state.
    pub fn new() -> Session {
        Session { body: Body::None }
    }

    /// Whether the connection is between requests (no body in progress).
    pub fn between_requests(&self) -> bool {
        self.body == Body::None
    }

    /// Reads what `input` holds (the unconsumed bytes of the connection, in
    /// order) and answers the complete requests: up to [`RUN`] identical
    /// answers and possibly one different answer after them. Call again
    /// with the rest of the input until [`Batch::needs_input`].
    pub fn batch(&mut self, input: &[u8]) -> Batch {
        let mut batch = Batch { out: [&[], &[]], answered: 0, consumed: 0, close: false };
        let mut run: Option<(Reply, usize)> = None;
        loop {
            match self.step(&input[batch.consumed..]) {
                Step::More => break,
                Step::Used(n) => batch.consumed += n,
                Step::Answer(n, reply) => {
                    batch.consumed += n;
                    batch.answered += usize::from(reply.is_final());
                    match run {
                        Some((r, k)) if r == reply && !reply.closes() && k < RUN => run = Some((r, k + 1)),
                        Some((r, k)) => {
                            batch.out = [r.repeated(k), reply.bytes()];
                            batch.close = reply.closes();
                            return batch;
                        }
                        None => run = Some((reply, 1)),
                    }
                    if reply.closes() {
                        batch.close = true;
                        break;
                    }
                }
            }
        }
        if let Some((r, k)) = run {
            batch.out[0] = r.repeated(k);
        }
        batch
    }

    /// Reads one piece of `input`: a head, or a piece of a body.
    fn step(&mut self, input: &[u8]) -> Step {
        match self.body {
            Body::None => self.head(input),
            Body::Length(left, reply) => {
                if left == 0 {
                    self.body = Body::None;
                    return Step::Answer(0, reply);
                }
                if input.is_empty() {
                    return Step::More;
                }
                let n = left.min(input.len() as u64);
                self.body = Body::Length(left - n, reply);
                Step::Used(n as usize)
            }
            Body::Chunked(chunk, seen, reply) => self.chunked(input, chunk, seen, reply),
        }
    }

    fn head(&mut self, input: &[u8]) -> Step {
        if input.is_empty() {
            return Step::More;
        }
        // Uninitialised: httparse writes the headers it finds, and the
        // array is not zeroed at every request.
        let mut headers = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut []);
        let len = match req.parse_with_uninit_headers(input, &mut headers) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) if input.len() >= MAX_HEAD => return self.fail(Reply::HeadTooLarge),
            Ok(httparse::Status::Partial) => return Step::More,
            Err(httparse::Error::TooManyHeaders) => return self.fail(Reply::HeadTooLarge),
            Err(_) => return self.fail(Reply::BadRequest),
        };
        if len > MAX_HEAD {
            return self.fail(Reply::HeadTooLarge);
        }
        let http11 = req.version == Some(1);
        let (mut close, mut keep_alive) = (false, false);
        let mut length: Option<u64> = None;
        let mut chunked = false;
        let mut expect_continue = false;
        for h in req.headers.iter() {
            if h.name.eq_ignore_ascii_case("content-length") {
                let Some(n) = parse_length(h.value) else { return self.fail(Reply::BadRequest) };
                if length.is_some_and(|m| m != n) {
                    return self.fail(Reply::BadRequest);
                }
                length = Some(n);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                if !http11 || chunked {
                    return self.fail(Reply::BadRequest);
                }
                if !trim(h.value).eq_ignore_ascii_case(b"chunked") {
                    return self.fail(Reply::NotImplemented);
                }
                chunked = true;
            } else if h.name.eq_ignore_ascii_case("connection") {
                for token in h.value.split(|&b| b == b',').map(trim) {
                    close |= token.eq_ignore_ascii_case(b"close");
                    keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
                }
            } else if h.name.eq_ignore_ascii_case("expect") {
                if !trim(h.value).eq_ignore_ascii_case(b"100-continue") {
                    return self.fail(Reply::BadRequest);
                }
                expect_continue = http11;
            }
        }
        if chunked && length.is_some() {
            // Both framings: a smuggling attempt (RFC 9112, 6.1).
            return self.fail(Reply::BadRequest);
        }
        if length.is_some_and(|n| n > MAX_BODY) {
            return self.fail(Reply::BodyTooLarge);
        }
        let ends = close || !(http11 || keep_alive);
        let head_only = req.method == Some("HEAD");
        let reply = match (head_only, ends, http11) {
            (false, false, true) => Reply::Hello,
            (false, false, false) => Reply::HelloKeepAlive,
            (false, true, _) => Reply::HelloClose,
            (true, false, true) => Reply::Head,
            (true, false, false) => Reply::HeadKeepAlive,
            (true, true, _) => Reply::HeadClose,
        };
        let has_body = chunked || length.is_some_and(|n| n > 0);
        self.body = match (chunked, length) {
            (true, _) => Body::Chunked(Chunk::Size, 0, reply),
            (false, Some(n)) if n > 0 => Body::Length(n, reply),
            _ => return Step::Answer(len, reply),
        };
        if expect_continue && has_body {
            return Step::Answer(len, Reply::Continue);
        }
        Step::Used(len)
    }

    fn chunked(&mut self, input: &[u8], chunk: Chunk, seen: u64, reply: Reply) -> Step {
        match chunk {
            Chunk::Size => match httparse::parse_chunk_size(input) {
                Ok(httparse::Status::Complete((used, 0))) => {
                    self.body = Body::Chunked(Chunk::Trailers, seen, reply);
                    Step::Used(used)
                }
                Ok(httparse::Status::Complete((used, size))) => {
                    if seen.saturating_add(size) > MAX_BODY {
                        return self.fail(Reply::BodyTooLarge);
                    }
                    self.body = Body::Chunked(Chunk::Data(size), seen + size, reply);
                    Step::Used(used)
                }
                Ok(httparse::Status::Partial) if input.len() >= MAX_HEAD => self.fail(Reply::BadRequest),
                Ok(httparse::Status::Partial) => Step::More,
                Err(_) => self.fail(Reply::BadRequest),
            },
            Chunk::Data(left) => {
                if input.is_empty() {
                    return Step::More;
                }
                let n = left.min(input.len() as u64);
                let next = if n == left { Chunk::DataEnd } else { Chunk::Data(left - n) };
                self.body = Body::Chunked(next, seen, reply);
                Step::Used(n as usize)
            }
            Chunk::DataEnd => match input {
                [b'\r', b'\n', ..] => {
                    self.body = Body::Chunked(Chunk::Size, seen, reply);
                    Step::Used(2)
                }
                [] | [b'\r'] => Step::More,
                _ => self.fail(Reply::BadRequest),
            },
            Chunk::Trailers => match input.windows(2).position(|w| w == b"\r\n") {
                Some(0) => {
                    self.body = Body::None;
                    Step::Answer(2, reply)
                }
                Some(i) => Step::Used(i + 2),
                None if input.len() >= MAX_HEAD => self.fail(Reply::HeadTooLarge),
                None => Step::More,
            },
        }
    }

    /// An error answer: the connection ends after it, whatever follows.
    fn fail(&mut self, reply: Reply) -> Step {
        self.body = Body::None;
        Step::Answer(0, reply)
    }
}

fn trim(s: &[u8]) -> &[u8] {
    s.trim_ascii()
}

/// A `Content-Length` value: digits only (no sign, no list).
fn parse_length(v: &[u8]) -> Option<u64> {
    let v = trim(v);
    if v.is_empty() || v.len() > 19 || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(v.iter().fold(0u64, |n, &d| n * 10 + u64::from(d - b'0')))
}

/// A large buffer, for a head that does not fit in [`SMALL_BUF`].
pub type Large = Box<[u8; MAX_HEAD]>;

/// Spare large buffers kept per thread (more are freed).
const POOL_KEEP: usize = 64;

thread_local! {
    static POOL: RefCell<Vec<Large>> = const { RefCell::new(Vec::new()) };
}

/// A large buffer from this thread's pool (a new one if it is empty).
pub fn take_large() -> Large {
    POOL.with(|p| p.borrow_mut().pop())
        .unwrap_or_else(|| vec![0u8; MAX_HEAD].into_boxed_slice().try_into().expect("MAX_HEAD bytes"))
}

/// Gives a large buffer back to this thread's pool.
pub fn give_back(b: Large) {
    POOL.with(|p| {
        let mut p = p.borrow_mut();
        if p.len() < POOL_KEEP {
            p.push(b);
        }
    });
}

/// A connection's read buffer: [`SMALL_BUF`] bytes of its own, or a large
/// one from the pool while a head does not fit; `data[start..end]` is
/// what has been read and not consumed.
pub struct ReadBuf {
    small: [u8; SMALL_BUF],
    large: Option<Large>,
    start: usize,
    end: usize,
}

impl Default for ReadBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for ReadBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadBuf").field("large", &self.large.is_some()).field("len", &(self.end - self.start)).finish()
    }
}

impl ReadBuf {
    /// An empty small buffer.
    pub fn new() -> ReadBuf {
        ReadBuf { small: [0; SMALL_BUF], large: None, start: 0, end: 0 }
    }

    fn all(&self) -> &[u8] {
        match &self.large {
            Some(b) => &b[..],
            None => &self.small,
        }
    }

    fn all_mut(&mut self) -> &mut [u8] {
        match &mut self.large {
            Some(b) => &mut b[..],
            None => &mut self.small,
        }
    }

    /// The bytes read and not consumed.
    pub fn data(&self) -> &[u8] {
        &self.all()[self.start..self.end]
    }

    /// Nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Marks `n` bytes of [`data`](Self::data) consumed.
    pub fn consume(&mut self, n: usize) {
        self.start += n;
        debug_assert!(self.start <= self.end);
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Where the next read goes: moves the unconsumed bytes to the front,
    /// takes a large buffer if the small one is full, and gives the large
    /// one back if nothing is buffered. Never empty: the session answers
    /// `431` before a large buffer fills.
    pub fn spare(&mut self) -> &mut [u8] {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if let Some(b) = self.large.take() {
                give_back(b);
            }
        } else if self.start > 0 {
            let (start, end) = (self.start, self.end);
            self.all_mut().copy_within(start..end, 0);
            self.end -= start;
            self.start = 0;
        }
        if self.large.is_none() && self.end == SMALL_BUF {
            let mut b = take_large();
            b[..SMALL_BUF].copy_from_slice(&self.small);
            self.large = Some(b);
        }
        let end = self.end;
        &mut self.all_mut()[end..]
    }

    /// Records `n` bytes read into [`spare`](Self::spare).
    pub fn filled(&mut self, n: usize) {
        self.end += n;
        debug_assert!(self.end <= self.all().len());
    }

    /// Whether it holds a large buffer now.
    pub fn is_large(&self) -> bool {
        self.large.is_some()
    }
}

impl Drop for ReadBuf {
    fn drop(&mut self) {
        if let Some(b) = self.large.take() {
            give_back(b);
        }
    }
}
