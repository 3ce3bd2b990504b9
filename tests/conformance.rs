//! Conformance against the real compiler.
//!
//! Every scenario is a C++20 program in `tests/conformance/cpp/` and the same
//! scenario written with coro in `tests/conformance/rust/`. Both print an
//! event trace in the shared vocabulary of `tests/conformance/README.md`.
//! Each test compiles the C++ program with `g++ -std=c++20` (at `-O0` and
//! `-O2`, cached under `target/<profile>/conformance-cpp/`), runs it,
//! applies the scenario's documented normalisations to its trace, and
//! compares the result line by line with the Rust trace.
//!
//! Normalisations are explicit and per scenario: each says which line it
//! removes or moves and why (a deliberate coro/C++ difference, or a g++ 12
//! departure from the standard). A normalisation that no longer matches
//! anything fails the test, so none can silently go stale.
//!
//! Without g++ the C++ side is skipped with a message (the Rust scenarios
//! still run).

#[path = "conformance/rust/mod.rs"]
mod scenarios;

use std::collections::hash_map::DefaultHasher;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

// ---------------------------------------------------------------------------
// Normalisations of the C++ trace

/// One edit of the C++ trace.
#[derive(Clone, Copy, Debug)]
enum Edit {
    /// Remove every line equal to this one (at least one must exist).
    Remove(&'static str),
    /// Move the first line equal to `.0` to just before the first line equal
    /// to `.1` (both must exist).
    MoveBefore(&'static str, &'static str),
}

/// A documented normalisation: an edit and the reason it is right.
#[derive(Clone, Copy, Debug)]
struct Norm {
    edit: Edit,
    reason: &'static str,
}

const fn remove(line: &'static str, reason: &'static str) -> Norm {
    Norm { edit: Edit::Remove(line), reason }
}

const fn move_before(line: &'static str, anchor: &'static str, reason: &'static str) -> Norm {
    Norm { edit: Edit::MoveBefore(line, anchor), reason }
}

impl std::fmt::Display for Norm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.edit {
            Edit::Remove(l) => write!(f, "remove {l:?}")?,
            Edit::MoveBefore(l, a) => write!(f, "move {l:?} to just before {a:?}")?,
        }
        write!(f, "\n      because: {}", self.reason)
    }
}

fn apply(trace: &[String], norms: &[Norm]) -> Result<Vec<String>, String> {
    let mut out = trace.to_vec();
    for n in norms {
        match n.edit {
            Edit::Remove(line) => {
                let before = out.len();
                out.retain(|l| l != line);
                if out.len() == before {
                    return Err(format!("stale normalisation, nothing matched: {n}"));
                }
            }
            Edit::MoveBefore(line, anchor) => {
                let Some(from) = out.iter().position(|l| l == line) else {
                    return Err(format!("stale normalisation, line not found: {n}"));
                };
                let moved = out.remove(from);
                let Some(to) = out.iter().position(|l| l == anchor) else {
                    return Err(format!("stale normalisation, anchor not found: {n}"));
                };
                out.insert(to, moved);
            }
        }
    }
    Ok(out)
}

// The reasons, shared by the scenarios (README.md explains each at length).

/// C++ copies by-value parameters into the frame; Rust moves.
const PARAM_COPY: &str = "C++ moves each by-value parameter into the coroutine state \
     ([dcl.fct.def.coroutine]: parameter copies) and later destroys the moved-from original in \
     the caller; a Rust move is a bitwise copy that runs no code and leaves nothing to drop, so \
     coro has neither event";

/// coro's parameters live in the body.
const PARAMS_IN_BODY: &str = "coro's parameters are moved into the body, so once the body has \
     started they are dropped when it finishes or unwinds (after its locals, before \
     unhandled_exception / final_suspend), not when the frame is destroyed; C++ keeps the \
     parameter copies until just after the promise is destroyed";

/// coro's parameters are dropped with the body at destroy.
const PARAMS_BEFORE_PROMISE: &str = "destroying a started coro coroutine drops its parameters \
     together with the body's locals, before the promise; C++ destroys the parameter copies \
     after the promise. (Before the body starts coro uses the C++ order: promise, then \
     parameters.)";

/// The order among parameters.
const PARAM_ORDER: &str = "a finished coro body drops its parameters in reverse declaration \
     order, as Rust drops a function's parameters; g++ destroys the copies in declaration \
     order. The standard leaves the order open: the copies' initialisations are \
     indeterminately sequenced ([dcl.fct.def.coroutine])";

/// g++ 12: locals before return_void when flowing off the end.
const GCC_FLOW_OFF_END: &str = "g++ 12 destroys the body's locals before calling return_void() \
     when control flows off the end; the standard says flowing off the end is `co_return;` \
     ([stmt.return.coroutine]/3), which is `{ p.return_void(); goto final-suspend; }`: \
     return_void() runs first, then the goto leaves the locals' scope and destroys them";

// ---------------------------------------------------------------------------
// Building and running the C++ side

fn cpp_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance/cpp")
}

/// `g++ --version`, or `None` if there is no g++.
fn gxx_version() -> Option<&'static str> {
    static V: OnceLock<Option<String>> = OnceLock::new();
    V.get_or_init(|| {
        let out = Command::new("g++").arg("--version").output().ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    })
    .as_deref()
}

/// Where compiled programs are cached: next to the test binary's profile
/// directory (`target/debug/conformance-cpp`).
fn build_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let profile = exe.parent().and_then(Path::parent).expect("test binary lives in target/<profile>/deps");
    let dir = profile.join("conformance-cpp");
    std::fs::create_dir_all(&dir).expect("create conformance-cpp build dir");
    dir
}

/// Compiles `name.cpp` at `level` unless a binary for the same sources,
/// flags and compiler is cached. Returns the binary's path.
fn compile(name: &str, level: &str) -> Result<PathBuf, String> {
    let src = cpp_dir().join(format!("{name}.cpp"));
    let mut h = DefaultHasher::new();
    gxx_version().hash(&mut h);
    level.hash(&mut h);
    std::fs::read(&src).map_err(|e| format!("read {}: {e}", src.display()))?.hash(&mut h);
    let mut headers: Vec<PathBuf> = std::fs::read_dir(cpp_dir())
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "hpp"))
        .collect();
    headers.sort();
    for hdr in headers {
        std::fs::read(&hdr).map_err(|e| e.to_string())?.hash(&mut h);
    }
    let bin = build_dir().join(format!("{name}{level}-{:016x}{}", h.finish(), std::env::consts::EXE_SUFFIX));
    if bin.exists() {
        return Ok(bin);
    }
    // Build under a unique name, then rename: concurrent test runs never
    // see a half-written binary.
    let tmp = bin.with_extension(format!("tmp{}", std::process::id()));
    let out = Command::new("g++")
        .args(["-std=c++20", level, "-o"])
        .arg(&tmp)
        .arg(&src)
        .output()
        .map_err(|e| format!("running g++: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "g++ -std=c++20 {level} {} failed:\n{}",
            src.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    std::fs::rename(&tmp, &bin).map_err(|e| format!("rename {}: {e}", tmp.display()))?;
    Ok(bin)
}

fn run_cpp(bin: &Path) -> Result<Vec<String>, String> {
    let Output { status, stdout, stderr } =
        Command::new(bin).output().map_err(|e| format!("running {}: {e}", bin.display()))?;
    let stdout = String::from_utf8_lossy(&stdout);
    if !status.success() {
        return Err(format!(
            "{} exited with {status}\nstdout:\n{stdout}\nstderr:\n{}",
            bin.display(),
            String::from_utf8_lossy(&stderr)
        ));
    }
    Ok(stdout.lines().map(str::to_owned).collect())
}

// ---------------------------------------------------------------------------
// Comparison

/// A line diff (longest common subsequence): `  ` both, `- ` C++ only,
/// `+ ` Rust only.
fn diff(cpp: &[String], rust: &[String]) -> String {
    let (n, m) = (cpp.len(), rust.len());
    let mut lcs = vec![vec![0usize; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if cpp[i] == rust[j] { lcs[i + 1][j + 1] + 1 } else { lcs[i + 1][j].max(lcs[i][j + 1]) };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, String::new());
    while i < n || j < m {
        if i < n && j < m && cpp[i] == rust[j] {
            let _ = writeln!(out, "    {}", cpp[i]);
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i][j + 1] > lcs[i + 1][j]) {
            let _ = writeln!(out, "  + {}", rust[j]);
            j += 1;
        } else {
            let _ = writeln!(out, "  - {}", cpp[i]);
            i += 1;
        }
    }
    out
}

fn numbered(trace: &[String]) -> String {
    trace.iter().enumerate().map(|(i, l)| format!("  {:>3} {l}\n", i + 1)).collect()
}

/// How a scenario is checked.
#[derive(Clone, Copy)]
struct Opts {
    /// The g++ optimisation levels to build the C++ program at.
    levels: &'static [&'static str],
    /// Why the levels differ from the default, or other remarks printed
    /// with the result.
    note: &'static str,
}

const DEFAULT_OPTS: Opts = Opts { levels: &["-O0", "-O2"], note: "" };

fn check(name: &str, scenario: fn(), norms: &[Norm], opts: Opts) {
    let rust = scenarios::trace::record(scenario);
    let Some(version) = gxx_version() else {
        println!(
            "SKIPPED C++ side of conformance scenario `{name}`: g++ not found \
             (install g++ 12 or later to compare against the C++ compiler)"
        );
        return;
    };
    println!("scenario {name}: g++ {}", version.lines().next().unwrap_or(""));
    if !opts.note.is_empty() {
        println!("  note: {}", opts.note);
    }
    for n in norms {
        println!("  normalisation: {n}");
    }
    // Build all levels in parallel.
    let builds: Vec<_> = opts
        .levels
        .iter()
        .map(|&level| {
            let name = name.to_owned();
            std::thread::spawn(move || compile(&name, level))
        })
        .collect();
    let mut failures = String::new();
    for (&level, build) in opts.levels.iter().zip(builds) {
        let bin = build.join().expect("compile thread").unwrap_or_else(|e| panic!("{e}"));
        let raw = run_cpp(&bin).unwrap_or_else(|e| panic!("{e}"));
        let cpp = match apply(&raw, norms) {
            Ok(t) => t,
            Err(e) => {
                let _ = writeln!(failures, "scenario `{name}` (g++ {level}): {e}\nraw C++ trace:\n{}", numbered(&raw));
                continue;
            }
        };
        if cpp != rust {
            let mut msg = format!(
                "scenario `{name}` (g++ {level}): the traces differ\n\nraw C++ trace \
                 (tests/conformance/cpp/{name}.cpp):\n{}\n",
                numbered(&raw)
            );
            if norms.is_empty() {
                msg.push_str("normalisations: none\n");
            } else {
                msg.push_str("normalisations applied to it, in order:\n");
                for n in norms {
                    let _ = writeln!(msg, "  - {n}");
                }
            }
            let _ = write!(
                msg,
                "\nnormalised C++ (-) vs Rust (+) (tests/conformance/rust/{name}.rs):\n{}",
                diff(&cpp, &rust)
            );
            failures.push_str(&msg);
        }
    }
    if !failures.is_empty() {
        panic!("{failures}");
    }
}

// ---------------------------------------------------------------------------
// The scenarios

macro_rules! conformance {
    ($(
        $(#[$attr:meta])*
        $name:ident $({ $($opt:ident : $val:expr),* $(,)? })? => [$($norm:expr),* $(,)?];
    )*) => {
        $(
            #[test]
            $(#[$attr])*
            fn $name() {
                #[allow(unused_mut)]
                let mut opts = DEFAULT_OPTS;
                $($(opts.$opt = $val;)*)?
                check(stringify!($name), scenarios::$name::run, &[$($norm),*], opts);
            }
        )*

        /// Every scenario of the table above.
        const SCENARIOS: &[&str] = &[$(stringify!($name)),*];
    };
}

conformance! {
    lazy_start => [];
    eager_start => [];
    final_suspend_never => [];
    final_suspend_always => [];
    params_by_value => [
        remove("param move a", PARAM_COPY),
        remove("param move b", PARAM_COPY),
        remove("param drop moved-from a", PARAM_COPY),
        remove("param drop moved-from b", PARAM_COPY),
        move_before("param drop b", "final_suspend", PARAMS_IN_BODY),
        move_before("param drop a", "final_suspend", PARAM_ORDER),
    ];
    params_by_reference => [];
    destroy_at_initial_suspend => [
        remove("param move p", PARAM_COPY),
        remove("param drop moved-from p", PARAM_COPY),
    ];
    destroy_at_suspension_point => [
        remove("param move p", PARAM_COPY),
        remove("param drop moved-from p", PARAM_COPY),
        move_before("param drop p", "promise drop", PARAMS_BEFORE_PROMISE),
    ];
    co_return_value => [];
    co_return_void => [];
    flow_off_end => [
        move_before("return_void", "local drop b", GCC_FLOW_OFF_END),
    ];
    await_ready_true => [];
    await_suspend_void => [];
    await_suspend_bool_true => [];
    await_suspend_bool_false => [];
    await_suspend_handle => [];
    await_suspend_own_handle => [];
    noop_coroutine => [];
    symmetric_transfer_task => [];
    symmetric_transfer_deep {
        levels: &["-O2"],
        note: "C++ side at -O2 only: at -O0 g++ 12 does not turn the resumption of the \
               handle returned by await_suspend into a tail call, and 100000 nested \
               transfers overflow the stack",
    } => [];
    fully_suspended_resume_inline => [];
    fully_suspended_destroy_inline => [
        remove("param move p", PARAM_COPY),
        remove("param drop moved-from p", PARAM_COPY),
        move_before("param drop p", "promise drop", PARAMS_BEFORE_PROMISE),
    ];
    panic_in_allocation => [];
    panic_in_promise_ctor => [
        remove("param move p", PARAM_COPY),
        remove("param drop moved-from p", PARAM_COPY),
    ];
    panic_in_get_return_object => [
        remove("param move p", PARAM_COPY),
        remove("param drop moved-from p", PARAM_COPY),
    ];
    panic_in_initial_suspend => [
        remove("param move p", PARAM_COPY),
        remove("param drop moved-from p", PARAM_COPY),
    ];
    panic_in_initial_await_ready => [
        remove("param move p", PARAM_COPY),
        remove("param drop moved-from p", PARAM_COPY),
    ];
    panic_in_initial_await_suspend => [
        remove("param move p", PARAM_COPY),
        remove("param drop moved-from p", PARAM_COPY),
    ];
    panic_in_initial_await_resume => [
        remove("param move p", PARAM_COPY),
        remove("param drop moved-from p", PARAM_COPY),
    ];
    panic_in_body => [
        remove("param move p", PARAM_COPY),
        remove("param drop moved-from p", PARAM_COPY),
        move_before("param drop p", "unhandled_exception (body)", PARAMS_IN_BODY),
    ];
    unhandled_exception_rethrows => [
        remove("param move p", PARAM_COPY),
        remove("param drop moved-from p", PARAM_COPY),
        move_before("param drop p", "unhandled_exception (body) -> rethrow", PARAMS_IN_BODY),
    ];
    panic_in_await_suspend => [];
    eager_rethrow {
        note: "g++ 12 frees the coroutine state itself when unhandled_exception() rethrows out \
               of the ramp, although the standard says the coroutine is then suspended at its \
               final suspend point (so its owner frees it). The C++ program therefore uses a \
               non-owning return object (an owning one double-frees under g++) and the Rust one \
               an owning return object: both traces free the frame exactly once, right after \
               the return object is dropped",
    } => [
        remove("param move p", PARAM_COPY),
        remove("param drop moved-from p", PARAM_COPY),
        move_before("param drop p", "unhandled_exception (body) -> rethrow", PARAMS_IN_BODY),
    ];
    operator_co_await => [];
    await_transform => [];
    range_generator => [];
    generator_destroyed_early => [];
    custom_allocation_with_params => [
        remove("param move p", PARAM_COPY),
        remove("param drop moved-from p", PARAM_COPY),
        move_before("param drop p", "final_suspend", PARAMS_IN_BODY),
    ];
    allocation_failure => [];
    allocation_failure_with_params => [];
    promise_from_params => [
        remove("param move p", PARAM_COPY),
        remove("param drop moved-from p", PARAM_COPY),
        move_before("param drop p", "final_suspend", PARAMS_IN_BODY),
    ];
}

/// Every C++ program has a scenario in the table, and every scenario a
/// C++ program and a Rust module.
#[test]
fn every_program_is_a_scenario() {
    let mut programs: Vec<String> = std::fs::read_dir(cpp_dir())
        .expect("read tests/conformance/cpp")
        .filter_map(|e| {
            let p = e.ok()?.path();
            (p.extension()? == "cpp").then(|| p.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    programs.sort();
    let mut table: Vec<String> = SCENARIOS.iter().map(|s| s.to_string()).collect();
    table.sort();
    assert_eq!(programs, table, "tests/conformance/cpp/*.cpp and the conformance! table disagree");
    assert!(table.len() >= 25, "the issue asks for at least 25 scenarios");
}

/// The normalisation machinery itself.
#[test]
fn normalisations_apply_and_refuse_stale_edits() {
    let t: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
    let out = apply(&t, &[move_before("d", "b", "x"), remove("a", "y")]).unwrap();
    assert_eq!(out, ["d", "b", "c"]);
    assert!(apply(&t, &[remove("zz", "stale")]).is_err());
    assert!(apply(&t, &[move_before("a", "zz", "stale")]).is_err());
    assert_eq!(diff(&t, &["a".into(), "c".into(), "e".into()]), "    a\n  - b\n    c\n  - d\n  + e\n");
}
