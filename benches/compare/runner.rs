//! Rows, candidates, and the interleaved measurement loop.
//!
//! Every round runs every candidate of a row once (the first candidate
//! rotates from round to round); a candidate's figure for the round is the
//! best of a few back-to-back runs. A warm-up round is dropped. Each row
//! reports, per candidate, the median over rounds and the median of the
//! per-round ratios against the floor and against g++: ratios taken inside a
//! round see the same machine state, which absolute figures on these shared
//! cores do not.

use std::time::Instant;

use crate::alloc;
use crate::peer::Peers;

/// What one run of a candidate returns.
#[derive(Debug, Clone, Copy)]
pub struct Run {
    /// Wall time of the timed region, in nanoseconds.
    pub ns: f64,
    /// The candidate's result; must equal the row's expected checksum.
    pub checksum: u64,
    /// Heap allocations made in the timed region.
    pub allocs: u64,
}

/// How a candidate is run.
pub enum Exec {
    /// Rust code in this process: given `n`, returns the checksum.
    Rust(Box<dyn FnMut(u64) -> u64>),
    /// A case of a peer process (`"g++"` or `"nightly"`).
    Peer(&'static str, &'static str),
}

/// What a candidate is, for the ratios.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The hand-written Rust equivalent: the reference for "vs floor".
    Floor,
    /// A g++ program: the reference for "vs g++" of the candidates that name it.
    Cpp,
    /// coro itself.
    Coro,
    /// Another peer.
    Peer,
}

pub struct Candidate {
    pub name: &'static str,
    /// What this candidate is, in a few words.
    pub what: &'static str,
    pub role: Role,
    /// The g++ candidate this one is compared with.
    pub vs_cpp: &'static str,
    pub exec: Exec,
}

impl Candidate {
    pub fn rust(name: &'static str, role: Role, what: &'static str, f: impl FnMut(u64) -> u64 + 'static) -> Candidate {
        Candidate { name, what, role, vs_cpp: "g++", exec: Exec::Rust(Box::new(f)) }
    }
    pub fn peer(
        name: &'static str,
        role: Role,
        what: &'static str,
        process: &'static str,
        case: &'static str,
    ) -> Candidate {
        Candidate { name, what, role, vs_cpp: "g++", exec: Exec::Peer(process, case) }
    }
    pub fn vs(mut self, cpp: &'static str) -> Candidate {
        self.vs_cpp = cpp;
        self
    }
}

pub struct Row {
    pub id: &'static str,
    pub title: &'static str,
    /// What one operation is ("co_yield!", "resume", ...).
    pub op: &'static str,
    /// Operations per run.
    pub n: u64,
    /// The checksum every candidate must return for a given `n`.
    pub expected: fn(u64) -> u64,
    pub candidates: Vec<Candidate>,
    /// Candidates that do not apply, with the reason.
    pub absent: Vec<(&'static str, &'static str)>,
}

/// One candidate's figures.
#[derive(Debug, Clone)]
pub struct Measured {
    pub name: &'static str,
    pub what: &'static str,
    pub role: Role,
    pub vs_cpp: &'static str,
    /// ns per operation, one per measured round (round order).
    pub rounds: Vec<f64>,
    /// Allocations per operation in the last round.
    pub allocs: f64,
}

#[derive(Debug, Clone)]
pub struct RowResult {
    pub id: &'static str,
    pub title: &'static str,
    pub op: &'static str,
    pub n: u64,
    pub measured: Vec<Measured>,
    pub absent: Vec<(String, String)>,
}

pub fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let k = v.len();
    if k == 0 {
        f64::NAN
    } else if k % 2 == 1 {
        v[k / 2]
    } else {
        (v[k / 2 - 1] + v[k / 2]) / 2.0
    }
}

impl Measured {
    pub fn median(&self) -> f64 {
        median(&self.rounds)
    }
}

impl RowResult {
    pub fn get(&self, name: &str) -> Option<&Measured> {
        self.measured.iter().find(|m| m.name == name)
    }
    pub fn floor(&self) -> Option<&Measured> {
        self.measured.iter().find(|m| m.role == Role::Floor)
    }
    /// Median over rounds of `a[r] / b[r]`.
    pub fn ratio(a: &Measured, b: &Measured) -> f64 {
        let r: Vec<f64> = a.rounds.iter().zip(&b.rounds).map(|(x, y)| x / y).collect();
        median(&r)
    }
    pub fn vs_floor(&self, m: &Measured) -> Option<f64> {
        self.floor().map(|f| Self::ratio(m, f))
    }
    pub fn vs_cpp(&self, m: &Measured) -> Option<f64> {
        self.get(m.vs_cpp).filter(|c| c.role == Role::Cpp).map(|c| Self::ratio(m, c))
    }
}

/// How many rounds, and runs per round.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub warmup: usize,
    pub rounds: usize,
    pub best_of: usize,
}

fn run_once(c: &mut Candidate, n: u64, peers: &mut Peers) -> Run {
    match &mut c.exec {
        Exec::Rust(f) => {
            let a0 = alloc::allocs();
            let t = Instant::now();
            let checksum = f(std::hint::black_box(n));
            let ns = t.elapsed().as_nanos() as f64;
            Run { ns, checksum, allocs: alloc::allocs() - a0 }
        }
        Exec::Peer(process, case) => peers.run(process, case, n),
    }
}

/// Measures a row; panics if any run returns a wrong checksum.
pub fn measure(row: &mut Row, plan: Plan, peers: &mut Peers) -> RowResult {
    let k = row.candidates.len();
    let mut rounds: Vec<Vec<f64>> = vec![Vec::new(); k];
    let mut allocs = vec![0.0; k];
    let expected = (row.expected)(row.n);
    for round in 0..plan.warmup + plan.rounds {
        for j in 0..k {
            let i = (round + j) % k;
            let c = &mut row.candidates[i];
            let mut best = f64::INFINITY;
            for _ in 0..plan.best_of {
                let r = run_once(c, row.n, peers);
                assert_eq!(
                    r.checksum, expected,
                    "row {}: candidate {} returned checksum {} for n = {}, expected {}",
                    row.id, c.name, r.checksum, row.n, expected
                );
                best = best.min(r.ns / row.n as f64);
                allocs[i] = r.allocs as f64 / row.n as f64;
            }
            if round >= plan.warmup {
                rounds[i].push(best);
            }
        }
    }
    RowResult {
        id: row.id,
        title: row.title,
        op: row.op,
        n: row.n,
        measured: row
            .candidates
            .iter()
            .zip(rounds)
            .zip(allocs)
            .map(|((c, rounds), allocs)| Measured {
                name: c.name,
                what: c.what,
                role: c.role,
                vs_cpp: c.vs_cpp,
                rounds,
                allocs,
            })
            .collect(),
        absent: row.absent.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect(),
    }
}

/// Runs one candidate of a row once (for `--only`, under callgrind).
pub fn run_single(row: &mut Row, name: &str, n: u64, peers: &mut Peers) -> Run {
    let c = row
        .candidates
        .iter_mut()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("row {} has no candidate {name:?}", row.id));
    let r = run_once(c, n, peers);
    assert_eq!(r.checksum, (row.expected)(n), "row {}: candidate {name} returned a wrong checksum", row.id);
    r
}
