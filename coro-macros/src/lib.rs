//! The `#[coro::coroutine]` attribute of [coro](https://docs.rs/coro).
//!
//! The entry point only hands tokens to `expand::expand`: parsing
//! (`args.rs`, `parse.rs`), lowering (`lower.rs`) and every user-facing
//! message (`diagnostics.rs`) live in their own modules, and the whole
//! expansion is a plain function over `proc_macro2::TokenStream`, unit-tested
//! without the compiler.

mod args;
mod diagnostics;
mod expand;
mod lower;
mod parse;
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
