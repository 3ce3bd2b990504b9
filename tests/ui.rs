//! Compile-fail tests: every ill-formed coroutine is a clear compile error
//! with a span on the user's code. One case per file in `tests/ui/`, each
//! with its `.stderr` snapshot (regenerate with `TRYBUILD=overwrite`).
//! Must-compile (and run) cases are in `tests/ui/pass/`: the legitimate
//! borrows and the covariance the soundness rules must keep (see
//! `docs/soundness.md`).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
