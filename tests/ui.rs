//! Compile-fail tests: every ill-formed coroutine is a clear compile error
//! with a span on the user's code. One case per file in `tests/ui/`, each
//! with its `.stderr` snapshot (regenerate with `TRYBUILD=overwrite`).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*.rs");
}
