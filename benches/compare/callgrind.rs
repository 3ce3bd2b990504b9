//! Instructions per operation, counted by `valgrind --tool=callgrind`: exact
//! and repeatable where the wall clock of these shared cores is not. Each
//! candidate runs twice, at N and 2N operations, in its own process; the
//! difference divided by N leaves out start-up and set-up.

use std::process::Command;

use crate::peer::Peers;
use crate::runner::{Exec, Row};

pub fn available() -> bool {
    Command::new("valgrind").arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Instructions per operation of one candidate.
#[derive(Debug, Clone)]
pub struct Count {
    pub row: &'static str,
    pub candidate: &'static str,
    pub per_op: f64,
}

fn collected(mut cmd: Command) -> u64 {
    let out = cmd.output().expect("valgrind");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "callgrind run failed: {err}");
    err.lines()
        .find_map(|l| l.split_once("Collected :").map(|(_, n)| n.trim().parse().expect("Collected count")))
        .unwrap_or_else(|| panic!("no instruction count in callgrind's output: {err}"))
}

fn valgrind() -> Command {
    let mut c = Command::new("valgrind");
    // The candidates run on the main thread (see main_stack.rs), whose
    // stack valgrind sizes itself.
    c.args(["--tool=callgrind", "--callgrind-out-file=/dev/null", "--main-stacksize=1073741824"]);
    c
}

/// Operations per callgrind run: enough to swamp noise, few enough to be quick.
fn ops(row: &Row) -> u64 {
    match row.id {
        "recursion" => 20_000,
        "chain" | "create" => 50_000,
        _ => 200_000,
    }
}

pub fn count_all(rows: &[Row], peers: &mut Peers) -> Vec<Count> {
    let exe = std::env::current_exe().expect("current_exe");
    let mut out = Vec::new();
    for row in rows {
        let n = ops(row);
        for c in &row.candidates {
            let mut run = |k: u64| -> u64 {
                let mut cmd = valgrind();
                match &c.exec {
                    Exec::Rust(_) => {
                        cmd.arg(&exe).args(["--only", &format!("{}/{}", row.id, c.name), &(k * n).to_string()]);
                    }
                    Exec::Peer(process, case) => {
                        cmd.arg(peers.get(process).map(|p| p.exe.clone()).expect("peer")).args([
                            "once",
                            case,
                            &(k * n).to_string(),
                        ]);
                    }
                }
                collected(cmd)
            };
            let (one, two) = (run(1), run(2));
            out.push(Count { row: row.id, candidate: c.name, per_op: (two as f64 - one as f64) / n as f64 });
        }
    }
    out
}
