//! Every message the macro shows users, in one place: what is wrong (with
//! the C++ rule it comes from), why, and how to fix it.
//!
//! Vocabulary: "coroutine" is a `#[coro::coroutine]` function; its "frame"
//! holds its parameters and locals; a "suspension point" is a `co_await!` or
//! `co_yield!`; C++ rules are cited by their section name
//! (`[dcl.fct.def.coroutine]`), as in the C++ standard.

use proc_macro2::{Span, TokenStream};
use quote::quote_spanned;

use crate::lower::Barrier;

// --- the attribute's arguments ----------------------------------------------

pub const ARGS_SHAPE: &str = "expected `promise = Type` or `crate = path` in `#[coro::coroutine(...)]`\n\
    help: write `#[coro::coroutine]`, `#[coro::coroutine(promise = MyPromise)]` or `#[coro::coroutine(crate = ::coro)]`";

pub const ARG_PROMISE_VALUE: &str = "expected the promise type after `promise =`\n\
    help: write `#[coro::coroutine(promise = MyPromise)]` (the C++ `promise_type`)";

pub const ARG_CRATE_VALUE: &str = "expected a path to the `coro` crate after `crate =`\n\
    help: write `#[coro::coroutine(crate = ::coro)]`";

pub const ARGS_COMMA: &str = "expected `,` between `#[coro::coroutine(...)]` arguments\n\
    help: write `#[coro::coroutine(promise = MyPromise, crate = ::coro)]`";

pub fn unknown_arg(name: &str) -> String {
    format!(
        "unknown `#[coro::coroutine]` argument `{name}`\n\
         help: the arguments are `promise = Type` (the C++ `promise_type`) and `crate = path` (where the `coro` crate is)"
    )
}

pub fn duplicate_arg(name: &str) -> String {
    format!("`{name}` is given twice in `#[coro::coroutine(...)]`\nhelp: remove one of them")
}

// --- #[coro::promise_type] --------------------------------------------------

pub const PROMISE_TYPE_NOT_AN_IMPL: &str =
    "`#[coro::promise_type]` goes on an `impl Promise for YourPromise { .. }` block\n\
    help: write `#[coro::promise_type] impl coro::Promise for MyPromise { type Return = coro::promise::ReturnsVoid; }`";

pub const PROMISE_TYPE_ARGS: &str = "`#[coro::promise_type]` takes no arguments but `crate = path`\n\
    help: write `#[coro::promise_type]`, or `#[coro::promise_type(crate = ::coro)]`";

pub const PROMISE_TYPE_NO_RETURN: &str = "this promise does not say whether it has `return_value` or `return_void` \
    (C++ [dcl.fct.def.coroutine]/6: one or the other)\n\
    help: add `type Return = coro::promise::ReturnsValue;` (and `impl ReturnValue<T>`) \
    or `type Return = coro::promise::ReturnsVoid;` (and `impl ReturnVoid`)";

pub const PROMISE_TYPE_RETURN_OBJECT_PAIR: &str = "`type ReturnObject` and `get_return_object` go together: \
    write both, or neither for a `UniqueCoroutineHandle<Self>` that owns the frame\n\
    help: add `unsafe fn get_return_object(&mut self) -> Self::ReturnObject { .. }`, or remove `type ReturnObject`";

// --- what the attribute is on -----------------------------------------------

pub fn not_a_function(what: &str) -> String {
    format!(
        "`#[coro::coroutine]` can only be applied to a function or method, not to {what}\n\
         help: put it on a `fn` with a body whose return type has a promise type, e.g. `fn f() -> coro::Task<u32>`"
    )
}

/// What an item that is not a function is, for [`not_a_function`].
pub fn item_kind(item: &syn::Item) -> &'static str {
    match item {
        syn::Item::Struct(_) => "a struct",
        syn::Item::Enum(_) => "an enum",
        syn::Item::Union(_) => "a union",
        syn::Item::Impl(_) => "an `impl` block (put it on each method instead)",
        syn::Item::Trait(_) => "a trait (put it on the methods of each `impl` instead)",
        syn::Item::Mod(_) => "a module",
        syn::Item::Const(_) => "a constant",
        syn::Item::Static(_) => "a static",
        syn::Item::Type(_) => "a type alias",
        syn::Item::Use(_) => "a `use` declaration",
        syn::Item::ExternCrate(_) => "an `extern crate` declaration",
        syn::Item::ForeignMod(_) => "an `extern` block (a foreign function cannot be a coroutine)",
        syn::Item::Macro(_) => "a macro",
        _ => "this item",
    }
}

pub const NOT_AN_ITEM: &str = "these tokens";

pub const DUPLICATE_ATTRIBUTE: &str = "`#[coro::coroutine]` is applied twice to this function\n\
    help: remove one of them";

pub const NO_BODY: &str = "a coroutine needs a body, and this function is only declared here \
    (C++ [dcl.fct.def.coroutine]: only a function definition can be a coroutine)\n\
    help: remove the attribute here and put it on the method's definition in each `impl` (a foreign function \
    cannot be a coroutine)";

pub const CONST_FN: &str = "a coroutine cannot be a `const fn`: its frame is allocated and it suspends at run time \
    (C++ [dcl.constexpr]: a constexpr function shall not be a coroutine)\n\
    help: remove `const`";

pub const ASYNC_FN: &str = "a coroutine cannot be an `async fn`: `#[coro::coroutine]` already makes the function \
    resumable, with its own promise type\n\
    help: remove `async`, and use `co_await!(e)` instead of `e.await`";

pub const MAIN_FN: &str =
    "`main` cannot be a coroutine (C++ [basic.start.main]: the function main shall not be a coroutine)\n\
    help: write the coroutine as another function and drive it from `main`, e.g. `coro::sync_wait(run())`";

pub const VARIADIC_FN: &str = "a variadic function cannot be a coroutine \
    (C++ [dcl.fct.def.coroutine]: a coroutine's parameter list shall not end with an ellipsis)\n\
    help: pass the arguments as a slice or a tuple";

pub const NO_RETURN_TYPE: &str = "a coroutine must declare its return type: the promise type is found from it \
    (C++ [dcl.fct.def.coroutine]: the promise type is `coroutine_traits<R>::promise_type`)\n\
    help: return a coroutine type, e.g. `-> coro::Task<()>` or `-> coro::Generator<u32>`";

pub const IMPL_TRAIT_RETURN: &str = "a coroutine cannot return `impl Trait`: the promise type is found from the \
    return type, so it must be named (C++ [dcl.spec.auto]: a function with a deduced return type shall not be a coroutine)\n\
    help: name the return type, e.g. `-> coro::Generator<u8>` instead of `-> impl Iterator<Item = u8>`";

pub const ELIDED_LIFETIME: &str = "name this lifetime: the coroutine's frame must outlive every lifetime of its \
    return type, so elided lifetimes are not allowed there\n\
    help: declare it on the function, e.g. `fn f<'a>(s: &'a str) -> Generator<char, &'a str>`";

// --- parameters the frame would borrow --------------------------------------

pub fn dangling_param(param: &str, ret: &str, lifetime: &str) -> String {
    format!(
        "the borrowed parameter `{param}` would dangle: the coroutine keeps it in its frame, but the return type \
         `{ret}` does not carry its lifetime `{lifetime}`, so the coroutine could run after the argument is gone \
         (C++: a coroutine's reference parameter dangles once the caller's argument dies)\n\
         help: take the parameter by value (`String` rather than `&str`), or carry the lifetime in a return type \
         that can hold it, e.g. `fn chars<'a>(s: &'a str) -> Generator<char, &'a str>`"
    )
}

pub fn elided_param_lifetime(param: &str, ret: &str) -> String {
    format!(
        "the borrowed parameter `{param}` would dangle: the coroutine keeps it in its frame, but the return type \
         `{ret}` cannot carry a lifetime that has no name (C++: a coroutine's reference parameter dangles once \
         the caller's argument dies)\n\
         help: take the parameter by value (`String` rather than `&str`), or name the lifetime and carry it in a \
         return type that can hold it, e.g. `fn chars<'a>(s: &'a str) -> Generator<char, &'a str>`"
    )
}

// --- the body ---------------------------------------------------------------

pub const PLAIN_RETURN: &str =
    "`return` is not allowed in a coroutine (C++ [stmt.return.coroutine]: a coroutine uses co_return, not return)\n\
    help: use `co_return!(value)`, or `co_return!()` in a coroutine whose promise has `return_void`";

/// A body that ends in a value instead of `co_return!`ing it.
pub fn tail_value(snippet: &str) -> String {
    format!(
        "this coroutine's body ends in the value `{snippet}` instead of `co_return!`ing it: a coroutine hands its \
         result to its promise with `co_return!`, its body's own value is not the result \
         (C++ [stmt.return.coroutine]: a coroutine uses co_return, not return)\n\
         help: write `co_return!({snippet})`"
    )
}

pub const DOT_AWAIT: &str =
    "`.await` is not allowed in a coroutine: it would suspend without going through an awaiter\n\
    help: use `co_await!(awaitable)`";

pub const CO_RETURN_ARITY: &str = "`co_return!` takes at most one value\n\
    help: write `co_return!(value)`, `co_return!((a, b))` for a tuple, or `co_return!()`";

pub fn missing_operand(name: &str) -> String {
    format!("`{name}!` needs an operand (C++ `{name}` is followed by an expression)\nhelp: write `{name}!(expression)`")
}

pub fn extra_operand(name: &str) -> String {
    format!("`{name}!` takes exactly one operand\nhelp: write `{name}!(expression)`; wrap several values in a tuple")
}

pub fn bad_operand(name: &str, parse_error: &str) -> String {
    format!("`{name}!` takes an expression: {parse_error}\nhelp: write `{name}!(expression)`")
}

/// A keyword inside code that is written in the coroutine's body but is not
/// part of the coroutine.
pub fn keyword_outside(name: &str, barrier: Barrier) -> String {
    let (what, why, fix) = match barrier {
        Barrier::Closure => (
            "inside a closure",
            "a closure is a separate function, which cannot suspend the coroutine that creates it \
             (and, unlike a C++ lambda, cannot be a coroutine itself)",
            "move it out of the closure, or write the closure as a `#[coro::coroutine]` function of its own",
        ),
        Barrier::AsyncBlock => (
            "inside an `async` block",
            "an `async` block is a Rust future, not part of the coroutine",
            "move it out of the `async` block",
        ),
        Barrier::ConstBlock | Barrier::Const => (
            "in a constant",
            "a constant is evaluated at compile time and cannot suspend \
             (C++ [expr.const]: an await-expression is not a constant expression)",
            "compute the value at run time, in the coroutine's body: `let value = ...;`",
        ),
        Barrier::Static => (
            "in the initializer of a `static`",
            "a static is initialized once, outside any coroutine \
             (C++ [expr.await]: an await-expression shall not be in the initializer of a variable with static storage duration)",
            "use a local variable: `let value = ...;`",
        ),
        Barrier::NestedFn => (
            "inside a nested function",
            "a `fn` declared in the coroutine's body is a separate function, not part of the coroutine",
            "move it into the coroutine's body, or make the nested function a `#[coro::coroutine]` of its own",
        ),
        Barrier::NestedItem => (
            "inside an item declared in the coroutine's body",
            "the item is not part of the coroutine",
            "move it into the coroutine's body",
        ),
    };
    format!("`{name}!` cannot be used {what}: {why}\nhelp: {fix}")
}

/// An expression that reports `message` at `span` (and type-checks as
/// anything, so it causes no second error).
pub fn error_tokens(span: Span, message: &str) -> TokenStream {
    quote_spanned! {span=> ::core::compile_error!(#message) }
}

/// The errors of a `syn::Error` (possibly several, combined).
pub fn errors(e: &syn::Error) -> TokenStream {
    e.to_compile_error()
}

// --- inline generators ------------------------------------------------------

pub const INLINE_GENERATOR_ARGS: &str = "`InlineGenerator` takes the element type, and optionally the type its \
    parameters borrow, as `Generator` does\n\
    help: write `-> InlineGenerator<T>`, or `-> InlineGenerator<T, &'a Borrowed>` for a generator that borrows \
    its parameters";

pub const INLINE_GENERATOR_CO_AWAIT: &str = "an inline generator's body cannot `co_await!`: like a `Generator` \
    (and C++23 `std::generator`), it only yields\n\
    help: await before creating the generator and pass the value in, or return an `AsyncGenerator<T>` \
    (a heap frame) to await between items";

pub const INLINE_GENERATOR_PROMISE: &str = "an inline generator's promise is `GeneratorPromise<T>`: it cannot be \
    chosen with `promise = ..`\n\
    help: remove `promise = ..`, or return a `UniqueCoroutineHandle<YourPromise>` (a heap frame) to use your own \
    promise type";
