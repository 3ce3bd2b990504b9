//! The `#[coro::coroutine]` and `#[coro::promise_type]` attributes of
//! [coro](https://docs.rs/coro).
//!
//! The entry point only hands tokens to `expand::expand`: parsing
//! (`args.rs`, `parse.rs`), lowering (`lower.rs`) and every user-facing
//! message (`diagnostics.rs`) live in their own modules, and the whole
//! expansion is a plain function over `proc_macro2::TokenStream`, unit-tested
//! without the compiler.

mod args;
mod diagnostics;
mod expand;
mod inline;
mod lower;
mod parse;
mod promise_type;
#[cfg(test)]
mod snapshots;

use proc_macro::TokenStream;

/// Turns a function into a C++20-style coroutine.
///
/// The function's return type `R` picks the promise type through
/// `coro::CoroutineTraits` (or `#[coro::coroutine(promise = P)]` names it); the
/// function becomes a *ramp* that allocates the frame, constructs the
/// promise, calls `get_return_object`, runs `initial_suspend`, and returns the
/// return object at the first suspension. Inside the body, `co_await!`,
/// `co_yield!` and `co_return!` are the C++ keywords, and `?` co_returns the
/// error.
///
/// Arguments: `promise = Type` (the promise type), `crate = path` (where the
/// `coro` facade is, for code inside coro's own crates).
///
/// See the `coro` crate documentation, and its guide's chapter for C++
/// programmers (`docs/guide/from-cpp.md`), for the full semantics.
#[proc_macro_attribute]
pub fn coroutine(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::expand(args.into(), item.into()).into()
}

/// Completes an `impl Promise for P` block with the common choices for the
/// members it leaves out (C++ has no defaults, so a promise states every
/// member; this states only what is particular to yours).
///
/// | left out | filled in |
/// | --- | --- |
/// | `type ReturnObject` and `get_return_object` | a `UniqueCoroutineHandle<Self>` owning the frame |
/// | `type InitialSuspend` / `type FinalSuspend` | `SuspendAlways` (lazy start; the owner destroys the frame) |
/// | `initial_suspend` / `final_suspend` | `Default::default()` of the awaiter type |
/// | `type Await` | `AwaitDirect` (no `await_transform`) |
/// | `unhandled_exception` | `resume_unwind(payload)`, C++'s `throw;` |
///
/// `type Return` (`ReturnsValue` or `ReturnsVoid`) must be written. A member
/// written by hand is kept as it is. Argument: `crate = path` (where the
/// `coro` facade is).
///
/// (Not run here, since this crate cannot depend on `coro`; the same
/// example runs in the guide's C++ chapter and in `tests/promise_type.rs`.)
///
/// ```ignore
/// use coro::promise::{ReturnValue, ReturnsValue};
/// use coro::{co_return, Promise, SuspendNever, UniqueCoroutineHandle};
///
/// #[derive(Default)]
/// struct Eager(Option<u32>);
///
/// #[coro::promise_type]
/// impl Promise for Eager {
///     type InitialSuspend = SuspendNever; // run in the ramp
///     type Return = ReturnsValue;
/// }
/// impl ReturnValue<u32> for Eager {
///     fn return_value(&mut self, v: u32) { self.0 = Some(v) }
/// }
///
/// #[coro::coroutine(promise = Eager)]
/// fn answer() -> UniqueCoroutineHandle<Eager> { co_return!(42) }
///
/// let h = answer();
/// // SAFETY: the coroutine is at its final suspend point, not running.
/// assert_eq!(unsafe { h.promise() }.0, Some(42));
/// ```
#[proc_macro_attribute]
pub fn promise_type(args: TokenStream, item: TokenStream) -> TokenStream {
    promise_type::expand(args.into(), item.into()).into()
}
