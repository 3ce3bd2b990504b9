//! A closed-loop load client on coro-io: `C` connections, one message in
//! flight each (an HTTP `GET /`, or an echo payload), every answer checked
//! byte for byte; prints round trips per second and p50/p99 latency, and
//! exits with status 1 at the first wrong byte or broken connection.
//!
//! ```text
//! cargo run --release -p coro-io --example http_hello -- --port 8080 &
//! cargo run --release -p coro-io --example load -- --port 8080 --mode http --connections 50 --duration 5
//! cargo run --release -p coro-io --example load -- --port 9000 --mode echo --size 64
//! ```
//!
//! `--round-trips N` stops after N round trips in all; `--hold S` instead
//! opens the connections, does one round trip on each and keeps them all
//! open for S seconds (to look at a server's memory per connection).

#[path = "../common/args.rs"]
mod args;
mod client;

use client::{Config, Mode};

const USAGE: &str = "load [--addr 127.0.0.1:P | --port P] [--mode http|echo] [--size BYTES] \
[--connections C] [--warmup SECS] [--duration SECS] [--round-trips N] [--think SECS] [--threads N] [--hold SECS]";

fn main() {
    let args = args::Args::parse(
        "load",
        &[
            "addr",
            "port",
            "mode",
            "size",
            "connections",
            "duration",
            "round-trips",
            "threads",
            "hold",
            "warmup",
            "think",
        ],
        USAGE,
    );
    let mode = match args.get("mode", String::from("http")).as_str() {
        "http" => Mode::Http,
        "echo" => {
            let size: usize = args.get("size", 64);
            if size == 0 {
                eprintln!("load: --size must be at least 1");
                std::process::exit(2);
            }
            Mode::Echo(size)
        }
        other => {
            eprintln!("load: --mode {other:?}: http or echo");
            std::process::exit(2);
        }
    };
    let cfg = Config {
        addr: args.addr(8080),
        mode,
        connections: args.get("connections", 50usize).max(1),
        warmup: args.secs("warmup", 0.0),
        duration: args.secs("duration", 5.0),
        round_trips: args.opt("round-trips"),
        threads: args.threads(),
        think: args.secs("think", 0.0),
    };
    println!("load: {:?} against {}, {} connections, {} thread(s)", cfg.mode, cfg.addr, cfg.connections, cfg.threads);
    let result = match args.raw("hold") {
        Some(_) => {
            let secs = args.secs("hold", 0.0);
            client::hold(&cfg, &|| {
                println!("holding {} connections for {:.1} s", cfg.connections, secs.as_secs_f64());
                std::thread::sleep(secs);
            })
        }
        None => client::run(&cfg),
    };
    match result {
        Ok(report) => println!("{report}"),
        Err(e) => {
            eprintln!("load: {e}");
            std::process::exit(1);
        }
    }
}
