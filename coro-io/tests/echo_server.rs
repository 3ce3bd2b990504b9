//! The `echo_server` example's server, driven over real sockets on
//! 127.0.0.1: its own code (`examples/echo_server/server.rs`,
//! `examples/common/serve.rs`), included here; and the `load` example's
//! client (`examples/load/client.rs`), which checks every byte.

#[path = "../examples/load/client.rs"]
mod client;
#[path = "../examples/common/serve.rs"]
mod serve;
#[path = "../examples/echo_server/server.rs"]
mod server;
#[path = "../examples/common/timeouts.rs"]
mod timeouts;

mod common_servers;

use std::io::{Read, Write};
use std::time::Duration;

use common_servers::{connect, read_n, read_to_close, send, Running};
use serve::Config;
use timeouts::Timeouts;

fn start() -> Running {
    Running::start(server::connection, Config::default())
}

fn load(addr: std::net::SocketAddr, connections: usize, size: usize, round_trips: u64) -> client::Report {
    let cfg = client::Config {
        addr,
        mode: client::Mode::Echo(size),
        connections,
        warmup: Duration::ZERO,
        duration: Duration::from_secs(60),
        round_trips: Some(round_trips),
        threads: 2,
        think: Duration::ZERO,
    };
    client::run(&cfg).expect("every byte echoed")
}

#[test]
fn many_clients_are_echoed_byte_for_byte() {
    let srv = start();
    // 100 connections on two client loops, 64-byte and 10,000-byte
    // payloads (more than the server's 4 KiB buffer: echoed in pieces).
    let small = load(srv.addr, 100, 64, 20_000);
    assert_eq!(small.round_trips, 20_000);
    let large = load(srv.addr, 20, 10_000, 1_000);
    assert_eq!(large.round_trips, 1_000);
    let stats = srv.stop();
    assert_eq!(stats.accepted, 120);
}

#[test]
fn a_megabyte_written_while_reading_comes_back_unchanged() {
    let srv = start();
    let mut c = connect(srv.addr);
    let data: Vec<u8> = (0..1_000_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let mut w = c.try_clone().unwrap();
    let to_send = data.clone();
    // Written from another thread: the server's writes back fill our
    // receive buffer while we still send.
    let writer = std::thread::spawn(move || w.write_all(&to_send).unwrap());
    let back = read_n(&mut c, data.len());
    writer.join().unwrap();
    assert!(back == data, "the echo differs");
}

#[test]
fn an_idle_echo_connection_is_closed_after_the_idle_timeout() {
    let t = Timeouts {
        tick: Duration::from_millis(20),
        idle: Duration::from_millis(100),
        request: Duration::from_secs(30),
    };
    let srv = Running::start(server::connection, Config { timeouts: t, ..Config::default() });
    let mut c = connect(srv.addr);
    send(&mut c, b"ping");
    assert_eq!(read_n(&mut c, 4), b"ping");
    assert_eq!(read_to_close(&mut c), b"");
    assert_eq!(srv.stop().timed_out, 1);
}

#[test]
fn graceful_shutdown_echoes_every_byte_it_read() {
    let srv = start();
    let clients: Vec<_> = (0..8u8)
        .map(|k| {
            let addr = srv.addr;
            std::thread::spawn(move || {
                let mut c = connect(addr);
                let mut echoed = 0usize;
                let mut buf = [0u8; 100];
                for round in 0u32.. {
                    let msg: Vec<u8> = (0..100u32).map(|i| (i + round + u32::from(k)) as u8).collect();
                    if c.write_all(&msg).is_err() {
                        break;
                    }
                    let mut got = 0;
                    while got < 100 {
                        match c.read(&mut buf[got..]) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => got += n,
                        }
                    }
                    assert_eq!(buf[..got], msg[..got], "echoed bytes differ");
                    echoed += got;
                    if got < 100 {
                        break;
                    }
                }
                echoed
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(200));
    let stats = srv.stop();
    let echoed: usize = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert!(echoed > 0 && stats.answered > 0);
    assert_eq!(echoed % 100, 0, "a shutdown cut no echo short");
}

#[test]
fn an_echo_server_of_two_loops_serves_connections_on_both() {
    let srv = Running::start(server::connection, Config { threads: 2, ..Config::default() });
    let report = load(srv.addr, 16, 256, 4_000);
    assert_eq!(report.round_trips, 4_000);
    assert_eq!(srv.stop().accepted, 16);
}
