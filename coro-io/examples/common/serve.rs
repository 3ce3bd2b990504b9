//! What the coro servers (`echo_server`, `http_hello`) share: the accept
//! loop, one `Task` per connection, the connections' timeouts, and graceful
//! shutdown. Each server gives [`serve`] its connection coroutine.
//!
//! - **Loops.** `threads == 1`: one [`EventLoop`] on the calling thread
//!   accepts and serves. More: a [`Runtime`] of `threads` loops serves, the
//!   calling thread's loop accepts and hands each connection (a `TcpStream`
//!   is `Send`) to the next loop, round-robin, where it stays.
//! - **Registry.** Each loop keeps its connections in a [`Conns`]: a slab of
//!   their `JoinHandle`s and phases (busy with a request, or idle between
//!   requests) since a tick of a coarse clock.
//! - **Timeouts**, without a timer per request: a sweeper task per loop
//!   ticks every `Timeouts::tick` (`coro_io::interval`) and cancels the
//!   connections idle longer than `Timeouts::idle` or busy longer than
//!   `Timeouts::request` (a slow header, a slow body, an answer the client
//!   does not read). Cancelling a connection's task destroys its frame: the
//!   awaiter's drop withdraws its registration, the stream's drop closes
//!   the socket, the buffers go back. (`coro_io::timeout` around each read
//!   would spawn the read as a task of its own: 6 allocations per use,
//!   counting the read's coroutine frame, and a timer per request.)
//! - **Graceful shutdown.** When the [`CancellationSource`] given to
//!   [`serve`] is cancelled (by the caller, or by the server itself after
//!   `max_requests` answers), the accept loop is cancelled (the listener
//!   closes: no connection is accepted after that), each loop cancels its
//!   idle connections (their next request was not read: none is lost) and
//!   lets every busy one finish the requests it has read, after which it
//!   closes instead of reading more; [`serve`] returns when the last
//!   connection is gone.

// Each includer uses its share of the module.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::io;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use coro::cancellation::CancellationSource;
use coro::sync::local::Event;
use coro::{co_await, co_return, SendTask, Task};
use coro_io::{
    interval, sleep, spawn_local, yield_now, EventLoop, JoinHandle, LoopHandle, Runtime, TcpListener, TcpStream,
};
use slab::Slab;

use crate::timeouts::Timeouts;

/// A server's settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Event loops serving connections.
    pub threads: usize,
    pub timeouts: Timeouts,
    /// Shut down after answering this many requests (in all loops).
    pub max_requests: Option<u64>,
}

impl Default for Config {
    fn default() -> Self {
        Config { threads: 1, timeouts: Timeouts::default(), max_requests: None }
    }
}

/// What a server did, counted when it returns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Connections accepted.
    pub accepted: u64,
    /// Requests answered (echo: reads echoed back).
    pub answered: u64,
    /// Connections cancelled by a timeout.
    pub timed_out: u64,
    /// Idle connections closed by the shutdown.
    pub closed_idle: u64,
}

impl Stats {
    fn add(&mut self, o: Stats) {
        self.accepted += o.accepted;
        self.answered += o.answered;
        self.timed_out += o.timed_out;
        self.closed_idle += o.closed_idle;
    }
}

/// A server's connection coroutine: serves `stream` until it ends, telling
/// its [`Conn`] when it turns busy or idle and what it answered.
pub type ConnFn = fn(TcpStream, Conn) -> Task<()>;

/// What the accept loop hands every loop with a connection.
struct Setup {
    conn: ConnFn,
    timeouts: Timeouts,
    limit: Option<Limit>,
}

/// The request limit, shared by the loops.
struct Limit {
    max: u64,
    count: AtomicU64,
    stop: CancellationSource,
}

struct Entry {
    handle: Option<JoinHandle<()>>,
    busy: bool,
    /// Answered for good, dropping what the client still sends: the
    /// shutdown need not wait for it.
    closing: bool,
    since: u32,
}

/// One loop's connections (see the module docs).
pub struct Conns {
    slab: RefCell<Slab<Entry>>,
    now: Cell<u32>,
    setup: Arc<Setup>,
    draining: Cell<bool>,
    /// Set once draining and the last connection is gone.
    empty: Event,
    stats: Cell<Stats>,
    sweeper: RefCell<Option<JoinHandle<()>>>,
}

thread_local! {
    static HERE: RefCell<Option<Rc<Conns>>> = const { RefCell::new(None) };
}

impl Conns {
    /// This loop's registry, made (and its sweeper started) on first use.
    fn here(setup: &Arc<Setup>) -> Rc<Conns> {
        if let Some(c) = HERE.with(|h| h.borrow().clone()) {
            return c;
        }
        let conns = Rc::new(Conns {
            slab: RefCell::new(Slab::new()),
            now: Cell::new(0),
            setup: setup.clone(),
            draining: Cell::new(false),
            empty: Event::new(),
            stats: Cell::new(Stats::default()),
            sweeper: RefCell::new(None),
        });
        *conns.sweeper.borrow_mut() = Some(spawn_local(sweep(conns.clone())));
        HERE.with(|h| *h.borrow_mut() = Some(conns.clone()));
        conns
    }

    fn update(&self, f: impl FnOnce(&mut Stats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }

    /// Starts `conn` on `stream` as a task of this loop.
    fn adopt(self: &Rc<Self>, stream: TcpStream) {
        let key =
            self.slab.borrow_mut().insert(Entry { handle: None, busy: false, closing: false, since: self.now.get() });
        self.update(|s| s.accepted += 1);
        let task = spawn_local((self.setup.conn)(stream, Conn { conns: self.clone(), key }));
        // The task starts at the loop's next turn: its entry is complete first.
        self.slab.borrow_mut()[key].handle = Some(task);
    }

    /// Cancels the connections `pick` chooses; counts them with `count`.
    fn cancel_where(&self, pick: impl Fn(&Entry) -> bool, victims: &mut Vec<JoinHandle<()>>) {
        victims.extend(self.slab.borrow_mut().iter_mut().filter(|(_, e)| pick(e)).filter_map(|(_, e)| e.handle.take()));
        // Outside the borrow: each cancellation destroys a frame, whose
        // `Conn` removes its entry.
        for h in victims.drain(..) {
            h.cancel();
        }
    }
}

/// Stops this loop's connections gracefully (see the module docs) and
/// gives its counts once the last one is gone.
#[coro::coroutine]
fn drain(conns: Rc<Conns>) -> Task<Stats> {
    conns.draining.set(true);
    let mut idle = Vec::new();
    let before = conns.slab.borrow().len();
    conns.cancel_where(|e| !e.busy || e.closing, &mut idle);
    let closed = (before - conns.slab.borrow().len()) as u64;
    conns.update(|s| s.closed_idle += closed);
    if !conns.slab.borrow().is_empty() {
        co_await!(conns.empty.wait());
        // Resumed inside the last connection's drop (maybe inside the
        // sweeper's cancellation of it): carry on from the loop's own turn.
        co_await!(yield_now());
    }
    if let Some(h) = conns.sweeper.borrow_mut().take() {
        h.cancel();
    }
    HERE.with(|h| h.borrow_mut().take());
    co_return!(conns.stats.get())
}

/// Ticks the loop's clock and cancels the connections past their timeout.
#[coro::coroutine]
fn sweep(conns: Rc<Conns>) -> Task<()> {
    let mut tick = interval(conns.setup.timeouts.tick);
    co_await!(tick.tick()); // the first tick is at once
    let mut victims = Vec::new();
    loop {
        co_await!(tick.tick());
        let now = conns.now.get().wrapping_add(1);
        conns.now.set(now);
        let t = conns.setup.timeouts;
        let before = conns.slab.borrow().len();
        conns.cancel_where(|e| t.expired(e.busy, e.since, now), &mut victims);
        let gone = (before - conns.slab.borrow().len()) as u64;
        conns.update(|s| s.timed_out += gone);
    }
}

/// A connection's place in its loop's registry: its coroutine tells it
/// when it turns busy or idle, and what it answered; dropping it (the
/// coroutine ending, or being cancelled) removes the entry.
pub struct Conn {
    conns: Rc<Conns>,
    key: usize,
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Conn").field("key", &self.key).finish()
    }
}

impl Conn {
    /// The connection is busy with a request (`true`: bytes of it have
    /// been read) or idle (its answers are written and nothing is
    /// buffered). Gives `false` when it is idle and the server is shutting
    /// down: the coroutine must close the connection then.
    pub fn phase(&self, busy: bool) -> bool {
        let mut slab = self.conns.slab.borrow_mut();
        let e = &mut slab[self.key];
        if e.busy != busy {
            e.busy = busy;
            e.since = self.conns.now.get();
        }
        busy || !self.conns.draining.get()
    }

    /// The connection has given its last answer and only drops what the
    /// client still sends until it closes (within the request timeout);
    /// gives `false` if the server is shutting down: close it now.
    pub fn closing(&self) -> bool {
        let mut slab = self.conns.slab.borrow_mut();
        let e = &mut slab[self.key];
        if !e.closing {
            e.closing = true;
            e.busy = true;
            e.since = self.conns.now.get();
        }
        !self.conns.draining.get()
    }

    /// `n` requests were answered.
    pub fn answered(&self, n: usize) {
        if n == 0 {
            return;
        }
        self.conns.update(|s| s.answered += n as u64);
        if let Some(limit) = &self.conns.setup.limit {
            let before = limit.count.fetch_add(n as u64, Ordering::Relaxed);
            if before < limit.max && before + n as u64 >= limit.max {
                limit.stop.request_cancellation();
            }
        }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let mut slab = self.conns.slab.borrow_mut();
        let entry = slab.remove(self.key);
        let empty = slab.is_empty();
        drop(slab);
        // Ending by itself: let the task finish (dropping the handle
        // would cancel it).
        if let Some(h) = entry.handle {
            h.detach();
        }
        if empty && self.conns.draining.get() {
            self.conns.empty.set();
        }
    }
}

/// Accepts connections and starts the server's coroutine on each: here,
/// or spread over `loops`.
#[coro::coroutine]
fn accept_loop(listener: Box<TcpListener>, setup: Arc<Setup>, loops: Vec<LoopHandle>) -> Task<()> {
    let mut next = 0;
    loop {
        let stream = match co_await!(listener.accept()) {
            Ok((s, _)) => s,
            // Out of descriptors, or a connection reset before it was
            // accepted: try again shortly.
            Err(_) => {
                co_await!(sleep(Duration::from_millis(10)));
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        if loops.is_empty() {
            Conns::here(&setup).adopt(stream);
        } else {
            loops[next % loops.len()].spawn(adopt_there(stream, setup.clone())).detach();
            next += 1;
        }
    }
}

/// Starts the server's coroutine on `stream` on the loop this runs on.
#[coro::coroutine]
fn adopt_there(stream: TcpStream, setup: Arc<Setup>) -> SendTask<()> {
    Conns::here(&setup).adopt(stream);
    co_return!(())
}

/// Drains the connections of the loop this runs on, if it has any.
#[coro::coroutine]
fn drain_there() -> SendTask<Stats> {
    let Some(conns) = HERE.with(|h| h.borrow().clone()) else { co_return!(Stats::default()) };
    let h = spawn_local(drain(conns));
    co_return!(co_await!(h))
}

/// The calling thread's part: accept until shutdown, then drain.
#[coro::coroutine]
fn main_task(
    listener: Box<TcpListener>,
    setup: Arc<Setup>,
    stop: CancellationSource,
    loops: Vec<LoopHandle>,
) -> Task<Stats> {
    let acceptor = spawn_local(accept_loop(listener, setup, loops.clone()));
    let token = stop.token();
    co_await!(token.cancelled());
    // Resumed by whoever requested the shutdown, maybe a connection of this
    // loop: carry on from the loop's own turn.
    co_await!(yield_now());
    // Stop accepting: the listener closes with the accept loop.
    acceptor.cancel();
    let mut stats = Stats::default();
    if loops.is_empty() {
        if let Some(conns) = HERE.with(|h| h.borrow().clone()) {
            stats = co_await!(drain(conns));
        }
    } else {
        let drains: Vec<JoinHandle<Stats>> = loops.iter().map(|lp| lp.spawn(drain_there())).collect();
        for d in drains {
            stats.add(co_await!(d));
        }
    }
    co_return!(stats)
}

/// Serves `listener` with `conn` until `stop` is cancelled (see the module
/// docs); gives what it did.
pub fn serve(listener: TcpListener, conn: ConnFn, cfg: Config, stop: CancellationSource) -> io::Result<Stats> {
    let limit = cfg.max_requests.map(|max| Limit { max, count: AtomicU64::new(0), stop: stop.clone() });
    let setup = Arc::new(Setup { conn, timeouts: cfg.timeouts, limit });
    let listener = Box::new(listener);
    if cfg.threads <= 1 {
        let lp = EventLoop::new()?;
        let main = lp.spawn_local(main_task(listener, setup, stop, Vec::new()));
        // `run`, not `block_on(main)`: its check after each ready item
        // (three `RefCell`s) is cheaper than a join handle's (a mutex), and
        // once the server has drained nothing is left on the loop.
        lp.run();
        Ok(lp.block_on(main))
    } else {
        let rt = Runtime::new(cfg.threads)?;
        let loops = rt.loops().to_vec();
        Ok(rt.block_on(main_task(listener, setup, stop, loops)))
    }
}
