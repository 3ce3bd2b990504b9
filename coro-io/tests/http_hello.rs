//! The `http_hello` example's server, driven over real sockets on
//! 127.0.0.1: its own code (`examples/http_hello/{http,server}.rs`,
//! `examples/common/serve.rs`), included here.

#[path = "../examples/http_hello/http.rs"]
mod http;
#[path = "../examples/common/serve.rs"]
mod serve;
#[path = "../examples/http_hello/server.rs"]
mod server;
#[path = "../examples/common/timeouts.rs"]
mod timeouts;

mod common_servers;

use std::io::Write;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common_servers::{connect, read_n, read_to_close, send, Running};
use http::{BAD_REQUEST, BODY_TOO_LARGE, CONTINUE, HEAD, HEAD_TOO_LARGE, HELLO, HELLO_CLOSE, NOT_IMPLEMENTED};
use serve::Config;
use timeouts::Timeouts;

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n";

fn start() -> Running {
    Running::start(server::connection, Config::default())
}

fn start_with(timeouts: Timeouts) -> Running {
    Running::start(server::connection, Config { timeouts, ..Config::default() })
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn a_get_is_answered_with_hello_world() {
    let srv = start();
    let mut c = connect(srv.addr);
    send(&mut c, GET);
    assert_eq!(read_n(&mut c, HELLO.len()), HELLO);
    let stats = srv.stop();
    assert_eq!((stats.accepted, stats.answered), (1, 1));
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let srv = start();
    let mut c = connect(srv.addr);
    // GET, HEAD, a POST with a body, a chunked POST, 40 GETs (more than
    // one batch of identical answers), and a last GET that closes.
    let mut reqs = Vec::new();
    reqs.extend_from_slice(GET);
    reqs.extend_from_slice(b"HEAD /x HTTP/1.1\r\nHost: test\r\n\r\n");
    reqs.extend_from_slice(b"POST /form HTTP/1.1\r\nHost: test\r\nContent-Length: 11\r\n\r\nhello=world");
    reqs.extend_from_slice(
        b"POST /chunks HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n",
    );
    for _ in 0..40 {
        reqs.extend_from_slice(GET);
    }
    reqs.extend_from_slice(b"GET /last HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n");
    send(&mut c, &reqs);
    let mut want = concat(&[HELLO, HEAD, HELLO, HELLO]);
    for _ in 0..40 {
        want.extend_from_slice(HELLO);
    }
    want.extend_from_slice(HELLO_CLOSE);
    assert_eq!(String::from_utf8_lossy(&read_to_close(&mut c)), String::from_utf8_lossy(&want));
    assert_eq!(srv.stop().answered, 45);
}

#[test]
fn a_request_sent_byte_by_byte_is_answered() {
    let srv = start();
    let mut c = connect(srv.addr);
    let req = b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\n\r\n";
    for b in req {
        send(&mut c, &[*b]);
        c.flush().unwrap();
    }
    assert_eq!(read_n(&mut c, 2 * HELLO.len()), concat(&[HELLO, HELLO]));
}

#[test]
fn a_head_larger_than_the_small_buffer_is_answered() {
    let srv = start();
    let mut c = connect(srv.addr);
    // About 5 KiB of headers: past the 1 KiB small buffer, under 8 KiB.
    let mut req = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..50 {
        req.extend_from_slice(format!("X-Filler-{i}: {}\r\n", "v".repeat(80)).as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    assert!(req.len() > 4096 && req.len() < http::MAX_HEAD);
    send(&mut c, &req);
    assert_eq!(read_n(&mut c, HELLO.len()), HELLO);
    // And the connection goes on with the small buffer.
    send(&mut c, GET);
    assert_eq!(read_n(&mut c, HELLO.len()), HELLO);
}

#[test]
fn keep_alive_serves_many_requests_on_one_connection() {
    let srv = start();
    let mut c = connect(srv.addr);
    for _ in 0..2000 {
        send(&mut c, GET);
        assert_eq!(read_n(&mut c, HELLO.len()), HELLO);
    }
    let stats = srv.stop();
    assert_eq!((stats.accepted, stats.answered), (1, 2000));
}

#[test]
fn a_malformed_request_gets_400_and_the_connection_closes() {
    let srv = start();
    for bad in [
        &b"GARBAGE\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 12x\r\n\r\n",
        b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
        b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ] {
        let mut c = connect(srv.addr);
        send(&mut c, bad);
        assert_eq!(read_to_close(&mut c), BAD_REQUEST, "for {:?}", String::from_utf8_lossy(bad));
    }
    // After a good request on the same connection: the good one is
    // answered, then the 400, then the close.
    let mut c = connect(srv.addr);
    send(&mut c, &concat(&[GET, b"NOT HTTP\r\n\r\n", GET]));
    assert_eq!(read_to_close(&mut c), concat(&[HELLO, BAD_REQUEST]));
}

#[test]
fn a_head_of_8_kib_or_more_gets_431_and_the_connection_closes() {
    let srv = start();
    let mut c = connect(srv.addr);
    let mut req = b"GET / HTTP/1.1\r\n".to_vec();
    req.extend_from_slice(format!("X-Big: {}\r\n\r\n", "a".repeat(10_000)).as_bytes());
    send(&mut c, &req);
    assert_eq!(read_to_close(&mut c), HEAD_TOO_LARGE);
    // Too many headers too.
    let mut c = connect(srv.addr);
    let mut req = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..(http::MAX_HEADERS + 1) {
        req.extend_from_slice(format!("H{i}: v\r\n").as_bytes());
    }
    req.extend_from_slice(b"\r\n");
    send(&mut c, &req);
    assert_eq!(read_to_close(&mut c), HEAD_TOO_LARGE);
}

#[test]
fn a_body_over_the_limit_gets_413_and_the_connection_closes() {
    let srv = start();
    let mut c = connect(srv.addr);
    send(&mut c, format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", http::MAX_BODY + 1).as_bytes());
    // Part of the body, which the server reads and drops after answering.
    send(&mut c, &[b'x'; 20_000]);
    assert_eq!(read_to_close(&mut c), BODY_TOO_LARGE);
    // A chunked body that grows past the limit.
    let mut c = connect(srv.addr);
    send(
        &mut c,
        format!("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n", http::MAX_BODY + 1).as_bytes(),
    );
    assert_eq!(read_to_close(&mut c), BODY_TOO_LARGE);
}

#[test]
fn an_unknown_transfer_coding_gets_501() {
    let srv = start();
    let mut c = connect(srv.addr);
    send(&mut c, b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n");
    assert_eq!(read_to_close(&mut c), NOT_IMPLEMENTED);
}

#[test]
fn connection_close_and_http_1_0_end_the_connection_after_the_answer() {
    let srv = start();
    let mut c = connect(srv.addr);
    send(&mut c, b"GET / HTTP/1.1\r\nConnection: keep-alive, close\r\n\r\n");
    assert_eq!(read_to_close(&mut c), HELLO_CLOSE);
    let mut c = connect(srv.addr);
    send(&mut c, b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(read_to_close(&mut c), HELLO_CLOSE);
    // HTTP/1.0 asking for keep-alive keeps it, and says so.
    let mut c = connect(srv.addr);
    send(&mut c, b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(read_n(&mut c, http::HELLO_KEEP_ALIVE.len()), http::HELLO_KEEP_ALIVE);
    send(&mut c, b"HEAD / HTTP/1.0\r\n\r\n");
    assert_eq!(read_to_close(&mut c), http::HEAD_CLOSE);
}

#[test]
fn expect_100_continue_gets_the_interim_answer_before_the_body() {
    let srv = start();
    let mut c = connect(srv.addr);
    send(&mut c, b"PUT / HTTP/1.1\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
    assert_eq!(read_n(&mut c, CONTINUE.len()), CONTINUE);
    send(&mut c, b"data");
    assert_eq!(read_n(&mut c, HELLO.len()), HELLO);
}

#[test]
fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let t = Timeouts {
        tick: Duration::from_millis(20),
        idle: Duration::from_millis(100),
        request: Duration::from_secs(30),
    };
    let srv = start_with(t);
    let mut c = connect(srv.addr);
    send(&mut c, GET);
    assert_eq!(read_n(&mut c, HELLO.len()), HELLO);
    // Nothing more: the server closes it (well before the 10 s read timeout).
    assert_eq!(read_to_close(&mut c), b"");
    assert_eq!(srv.stop().timed_out, 1);
}

#[test]
fn a_slow_header_is_cut_off_after_the_request_timeout() {
    let t = Timeouts {
        tick: Duration::from_millis(20),
        idle: Duration::from_secs(30),
        request: Duration::from_millis(150),
    };
    let srv = start_with(t);
    let mut c = connect(srv.addr);
    // A slowloris: a head that never ends, one byte at a time.
    send(&mut c, b"GET / HTTP/1.1\r\nX-Slow: ");
    let mut closed = false;
    for _ in 0..200 {
        std::thread::sleep(Duration::from_millis(25));
        if c.write_all(b"a").is_err() {
            closed = true;
            break;
        }
    }
    if !closed {
        assert_eq!(read_to_close(&mut c), b"");
    }
    assert_eq!(srv.stop().timed_out, 1);
}

#[test]
fn many_clients_are_answered_at_once() {
    let srv = start();
    let clients: Vec<_> = (0..32)
        .map(|_| {
            let addr = srv.addr;
            std::thread::spawn(move || {
                let mut c = connect(addr);
                for _ in 0..200 {
                    send(&mut c, GET);
                    assert_eq!(read_n(&mut c, HELLO.len()), HELLO);
                }
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    let stats = srv.stop();
    assert_eq!((stats.accepted, stats.answered), (32, 32 * 200));
}

#[test]
fn a_server_of_two_loops_answers_connections_on_both() {
    let srv = Running::start(server::connection, Config { threads: 2, ..Config::default() });
    let mut conns: Vec<_> = (0..8).map(|_| connect(srv.addr)).collect();
    for _ in 0..50 {
        for c in &mut conns {
            send(c, GET);
        }
        for c in &mut conns {
            assert_eq!(read_n(c, HELLO.len()), HELLO);
        }
    }
    let stats = srv.stop();
    assert_eq!((stats.accepted, stats.answered), (8, 400));
}

#[test]
fn graceful_shutdown_loses_no_accepted_request() {
    // 16 clients each send requests one after another, pipelining 3 at a
    // time; the shutdown comes in the middle. Every request the server
    // answered reached its client whole, no client sees a partial answer,
    // and the server's count matches what the clients received.
    let srv = start();
    let go = Arc::new(Barrier::new(17));
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let (addr, go) = (srv.addr, go.clone());
            std::thread::spawn(move || {
                let mut c = connect(addr);
                go.wait();
                let mut answers = 0u64;
                loop {
                    if std::io::Write::write_all(&mut c, &[GET, GET, GET].concat()).is_err() {
                        return answers;
                    }
                    let got = read_to_close_or(&mut c, 3 * HELLO.len());
                    assert_eq!(got.len() % HELLO.len(), 0, "a partial answer: {:?}", String::from_utf8_lossy(&got));
                    for a in got.chunks(HELLO.len()) {
                        assert_eq!(a, HELLO);
                    }
                    answers += (got.len() / HELLO.len()) as u64;
                    if got.len() < 3 * HELLO.len() {
                        return answers;
                    }
                }
            })
        })
        .collect();
    go.wait();
    std::thread::sleep(Duration::from_millis(200));
    let stats = srv.stop();
    let received: u64 = clients.into_iter().map(|c| c.join().unwrap()).sum();
    assert!(stats.answered > 0);
    assert_eq!(stats.answered, received, "every answer the server wrote reached its client");
    assert_eq!(stats.answered % 3, 0, "each batch of 3 pipelined requests read was answered whole");
}

/// Reads `n` bytes, or fewer if the server closes the connection first.
fn read_to_close_or(c: &mut std::net::TcpStream, n: usize) -> Vec<u8> {
    use std::io::Read;
    let mut out = vec![0; n];
    let mut got = 0;
    while got < n {
        match c.read(&mut out[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => break,
            Err(e) => panic!("read: {e}"),
        }
    }
    out.truncate(got);
    out
}

#[test]
fn shutdown_stops_accepting() {
    let srv = start();
    let addr = srv.addr;
    srv.stop();
    assert!(std::net::TcpStream::connect(addr).is_err(), "the listener is closed after the shutdown");
}

#[test]
fn max_requests_shuts_the_server_down_after_that_many_answers() {
    let srv = Running::start(server::connection, Config { max_requests: Some(10), ..Config::default() });
    let mut c = connect(srv.addr);
    for _ in 0..10 {
        send(&mut c, GET);
        assert_eq!(read_n(&mut c, HELLO.len()), HELLO);
    }
    // The connection is idle now: the shutdown closes it.
    assert_eq!(read_to_close(&mut c), b"");
    let stats = srv.join();
    assert_eq!((stats.answered, stats.closed_idle), (10, 1));
}
