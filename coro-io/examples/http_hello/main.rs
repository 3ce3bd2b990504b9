//! `Hello, World!` over HTTP/1.1 on coro-io: keep-alive, pipelining,
//! requests parsed with `httparse`, limits answered with `400`, `413` and
//! `431`, idle and slow clients timed out, and a graceful shutdown.
//!
//! ```text
//! cargo run --release -p coro-io --example http_hello -- --port 8080 [--threads N]
//! curl -i http://127.0.0.1:8080/
//! ```
//!
//! `--port 0` takes a free port; the first line printed names the address.
//! `--max-requests N` or `--duration S` shut the server down gracefully
//! (stop accepting, finish what was read, close idle connections), after
//! which it prints what it did. `--idle-timeout S` and `--request-timeout S`
//! set the timeouts (60 s, 10 s). One coroutine per connection
//! (`server.rs`), the protocol in `http.rs`, the rest in `../common/serve.rs`.

#[path = "../common/args.rs"]
mod args;
mod http;
#[path = "../common/serve.rs"]
mod serve;
mod server;
#[path = "../common/timeouts.rs"]
mod timeouts;

use std::io::Write;

use coro::cancellation::CancellationSource;
use coro_io::TcpListener;

const USAGE: &str = "http_hello [--addr 127.0.0.1:P | --port P] [--threads N] [--max-requests N] [--duration SECS] \
[--idle-timeout SECS] [--request-timeout SECS]";

fn main() -> std::io::Result<()> {
    let args = args::Args::parse(
        "http_hello",
        &["addr", "port", "threads", "max-requests", "duration", "idle-timeout", "request-timeout"],
        USAGE,
    );
    let mut cfg =
        serve::Config { threads: args.threads(), max_requests: args.opt("max-requests"), ..Default::default() };
    cfg.timeouts.idle = args.secs("idle-timeout", cfg.timeouts.idle.as_secs_f64());
    cfg.timeouts.request = args.secs("request-timeout", cfg.timeouts.request.as_secs_f64());
    let listener = TcpListener::bind(args.addr(8080))?;
    println!("http_hello: listening on http://{} ({} thread(s))", listener.local_addr()?, cfg.threads);
    std::io::stdout().flush()?;
    let stop = CancellationSource::new();
    if args.raw("duration").is_some() {
        let (d, stop) = (args.secs("duration", 0.0), stop.clone());
        std::thread::spawn(move || {
            std::thread::sleep(d);
            stop.request_cancellation();
        });
    }
    let stats = serve::serve(listener, server::connection, cfg, stop)?;
    println!(
        "http_hello: stopped after {} connections, {} requests answered ({} connections timed out, {} idle ones closed at shutdown)",
        stats.accepted, stats.answered, stats.timed_out, stats.closed_idle
    );
    Ok(())
}
