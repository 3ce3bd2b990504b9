//! The peer programs: a C++20 program built with g++ -O2, and (optionally) a
//! Rust program using nightly's native coroutines. Each runs as a
//! co-process answering one command per line, so its candidates take their
//! turn inside the same interleaved rounds as the Rust ones:
//!
//! | command | answer |
//! | --- | --- |
//! | `run CASE N` | `NS CHECKSUM ALLOCS` (one timed run) |
//! | `size CASE` | the frame's allocation request, in bytes |
//! | `version` | the compiler's version |
//!
//! and, as a fresh process per variant, `PROGRAM mem VARIANT N` prints
//! `ALLOC_BYTES RSS_BYTES CHECKSUM` for N suspended coroutines.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use crate::runner::Run;

pub struct Peer {
    pub name: &'static str,
    pub exe: PathBuf,
    pub version: String,
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    fn spawn(name: &'static str, exe: PathBuf) -> Result<Peer, String> {
        let mut child = Command::new(&exe)
            .arg("serve")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut peer = Peer { name, exe, version: String::new(), child, stdin, stdout };
        peer.version = peer.ask("version");
        Ok(peer)
    }

    /// Sends one command, returns the answer line.
    pub fn ask(&mut self, line: &str) -> String {
        writeln!(self.stdin, "{line}").and_then(|_| self.stdin.flush()).unwrap_or_else(|e| {
            panic!("the {} peer is gone ({e}) after: {line}", self.name);
        });
        let mut answer = String::new();
        self.stdout.read_line(&mut answer).unwrap_or_else(|e| panic!("reading from the {} peer: {e}", self.name));
        let answer = answer.trim().to_string();
        if answer.is_empty() || answer.starts_with("error") {
            panic!("the {} peer answered {answer:?} to {line:?}", self.name);
        }
        answer
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

/// The peer processes that could be built, and why the others are absent.
#[derive(Default)]
pub struct Peers {
    pub peers: Vec<Peer>,
    pub notes: Vec<String>,
}

impl Peers {
    /// Builds (or reuses) and starts the peers.
    pub fn start(target: &Path, want_nightly: bool) -> Peers {
        let mut peers = Peers::default();
        match build_cpp(target).and_then(|exe| Peer::spawn("g++", exe)) {
            Ok(p) => peers.peers.push(p),
            Err(e) => peers.notes.push(format!("g++ column skipped: {e}")),
        }
        if want_nightly {
            match build_nightly(target).and_then(|exe| Peer::spawn("nightly", exe)) {
                Ok(p) => peers.peers.push(p),
                Err(e) => peers.notes.push(format!("nightly column skipped: {e}")),
            }
        } else {
            peers.notes.push("nightly column not built in this mode".into());
        }
        peers
    }

    pub fn has(&self, name: &str) -> bool {
        self.peers.iter().any(|p| p.name == name)
    }

    pub fn get(&mut self, name: &str) -> Option<&mut Peer> {
        self.peers.iter_mut().find(|p| p.name == name)
    }

    pub fn run(&mut self, name: &str, case: &str, n: u64) -> Run {
        let peer = self.get(name).unwrap_or_else(|| panic!("no {name} peer"));
        let answer = peer.ask(&format!("run {case} {n}"));
        let f: Vec<&str> = answer.split_whitespace().collect();
        let parse = |i: usize| -> u64 {
            f.get(i).and_then(|x| x.parse().ok()).unwrap_or_else(|| panic!("bad answer from {name}: {answer:?}"))
        };
        Run { ns: parse(0) as f64, checksum: parse(1), allocs: parse(2) }
    }

    /// `size CASE`, if the peer knows the case.
    pub fn size(&mut self, name: &str, case: &str) -> Option<u64> {
        self.get(name).map(|p| p.ask(&format!("size {case}"))).and_then(|a| a.parse().ok())
    }

    /// Runs `PROGRAM mem VARIANT N` in a fresh process.
    pub fn mem(&self, name: &str, variant: &str, n: u64) -> Option<(u64, u64, u64)> {
        let peer = self.peers.iter().find(|p| p.name == name)?;
        let out = Command::new(&peer.exe).args(["mem", variant, &n.to_string()]).output().ok()?;
        assert!(out.status.success(), "{name} mem {variant} {n} failed: {}", String::from_utf8_lossy(&out.stderr));
        parse3(&String::from_utf8_lossy(&out.stdout))
    }
}

pub fn parse3(s: &str) -> Option<(u64, u64, u64)> {
    let v: Vec<u64> = s.split_whitespace().filter_map(|x| x.parse().ok()).collect();
    (v.len() == 3).then(|| (v[0], v[1], v[2]))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// 64-bit FNV-1a, for the build cache key.
fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3))
}

pub const CXX_FLAGS: [&str; 2] = ["-std=c++20", "-O2"];

/// Compiles benches/cpp/bench.cpp into `target/bench-cpp/`, once per
/// source, compiler and flags.
fn build_cpp(target: &Path) -> Result<PathBuf, String> {
    let version = Command::new("g++")
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").to_string())
        .ok_or("g++ is not installed")?;
    let src = repo().join("benches/cpp/bench.cpp");
    let text = std::fs::read(&src).map_err(|e| format!("cannot read {}: {e}", src.display()))?;
    let key = fnv(&[text.as_slice(), version.as_bytes(), CXX_FLAGS.join(" ").as_bytes()].concat());
    let dir = target.join("bench-cpp");
    let exe = dir.join(format!("bench-{key:016x}"));
    if exe.exists() {
        return Ok(exe);
    }
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let tmp = dir.join(format!("bench-{key:016x}.tmp"));
    eprintln!("compiling {} with g++ {}", src.display(), CXX_FLAGS.join(" "));
    let out = Command::new("g++")
        .args(CXX_FLAGS)
        .arg("-o")
        .arg(&tmp)
        .arg(&src)
        .output()
        .map_err(|e| format!("cannot run g++: {e}"))?;
    if !out.status.success() {
        return Err(format!("g++ failed:\n{}", String::from_utf8_lossy(&out.stderr)));
    }
    std::fs::rename(&tmp, &exe).map_err(|e| e.to_string())?;
    Ok(exe)
}

/// Builds the optional nightly crate (benches/nightly) with `cargo +nightly`.
fn build_nightly(target: &Path) -> Result<PathBuf, String> {
    let manifest = repo().join("benches/nightly/Cargo.toml");
    let dir = target.join("bench-nightly");
    let version = Command::new("rustc")
        .args(["+nightly", "--version"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .ok_or("no nightly toolchain (`rustc +nightly` does not run)")?;
    eprintln!("building {} with cargo +nightly", manifest.display());
    let mut cmd = Command::new("cargo");
    cmd.args(["+nightly", "build", "--release", "--quiet", "--manifest-path"])
        .arg(&manifest)
        .arg("--target-dir")
        .arg(&dir)
        .current_dir(repo());
    // Whatever the outer cargo set for this process is not for this build.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        let from_outer = k == "RUSTC" || k == "RUSTDOC" || k == "RUSTUP_TOOLCHAIN" || k == "CARGO";
        if from_outer || (k.starts_with("CARGO_") && k != "CARGO_HOME") {
            cmd.env_remove(&k);
        }
    }
    cmd.env("RUSTC_VERSION", &version);
    let out = cmd.output().map_err(|e| format!("cannot run cargo +nightly: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("cargo +nightly build failed: {}", err.lines().take(5).collect::<Vec<_>>().join(" / ")));
    }
    let exe = dir.join("release/coro-bench-nightly");
    exe.exists().then_some(exe).ok_or_else(|| "cargo +nightly built no binary".to_string())
}
