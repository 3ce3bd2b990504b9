// A TwoWayGenerator is covariant in what flows out (yielded and completion
// values, borrows) and invariant only in what flows in (the resume type,
// tests/ui/two_way_generator_is_invariant_in_its_resume_type.rs).
use coro::generator::{GeneratorState, TwoWayGenerator};

fn yielded_and_completion<'a>(
    g: TwoWayGenerator<&'static str, u8, &'static str, &'static str>,
) -> TwoWayGenerator<&'a str, u8, &'a str, &'a str> {
    g
}

#[coro::coroutine]
fn pair() -> TwoWayGenerator<&'static str, u8, &'static str, &'static str> {
    let n = coro::co_yield!("a");
    coro::co_return!(if n == 1 { "one" } else { "other" })
}

fn main() {
    let local = String::from("x");
    let mut g = yielded_and_completion(pair());
    assert_eq!(g.resume_with(0), GeneratorState::Yielded("a"));
    let done = g.resume_with(1);
    assert_eq!(done, GeneratorState::Complete("one"));
    let _ = (&local, done);
}
