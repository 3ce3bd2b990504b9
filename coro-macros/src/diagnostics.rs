//! Every message the macro shows users, in one place: what is wrong, why,
//! and how to fix it, in C++ terms.

use proc_macro2::TokenStream;

pub const ARGS_SHAPE: &str = "expected `promise = Type` or `crate = path`\n\
    help: write `#[coro::coroutine]`, `#[coro::coroutine(promise = MyPromise)]` or `#[coro::coroutine(crate = ::coro)]`";

pub fn unknown_arg(name: &str) -> String {
    format!(
        "unknown `#[coro::coroutine]` argument `{name}`\n\
         help: the arguments are `promise = Type` (the C++ promise_type) and `crate = path`"
    )
}

pub fn duplicate_arg(name: &str) -> String {
    format!("`{name}` is given twice")
}

pub const NOT_A_FUNCTION: &str = "`#[coro::coroutine]` can only be applied to a function or method\n\
    help: put it on a `fn` whose return type has a promise type, e.g. `fn f() -> Task<u32>`";

pub const CONST_FN: &str = "a coroutine cannot be a `const fn`: it allocates a frame and suspends at run time (C++ [dcl.constexpr]: a constexpr function cannot contain co_await)\n\
    help: remove `const`";

pub const ASYNC_FN: &str = "a coroutine cannot be an `async fn`: `#[coro::coroutine]` already makes the function resumable, with its own promise type\n\
    help: remove `async`, and use `co_await!(e)` instead of `e.await`";

pub const MAIN_FN: &str = "`main` cannot be a coroutine (C++ [basic.start.main]: main shall not be a coroutine)\n\
    help: write the coroutine as another function and drive it from `main`, e.g. `coro::sync_wait(run())`";

pub const VARIADIC_FN: &str = "a variadic function cannot be a coroutine (C++ [dcl.fct.def.coroutine]: a coroutine shall not have a `...` parameter)";

pub const NO_RETURN_TYPE: &str =
    "a coroutine must declare its return type: the type its promise's `get_return_object` makes\n\
    help: return a coroutine type, e.g. `-> coro::Task<()>` or `-> coro::Generator<u32>`";

pub const IMPL_TRAIT_RETURN: &str = "a coroutine cannot return `impl Trait` (C++: a coroutine's return type cannot be deduced, so `auto` is ill-formed)\n\
    help: name the return type, whose `CoroutineTraits::Promise` is the promise type";

pub const ELIDED_LIFETIME: &str = "name this lifetime: the coroutine's frame must outlive every lifetime of its return type, so elided lifetimes are not allowed there\n\
    help: declare it on the function, e.g. `fn f<'a>(s: &'a str) -> Generator<char, &'a str>`";

pub const PLAIN_RETURN: &str =
    "`return` is not allowed in a coroutine (C++ [stmt.return.coroutine]: a coroutine uses co_return)\n\
    help: use `co_return!(value)`, or `co_return!()` in a coroutine whose promise has `return_void`";

pub const DOT_AWAIT: &str =
    "`.await` is not allowed in a coroutine: it would suspend without going through an awaiter\n\
    help: use `co_await!(future)`";

pub const CO_RETURN_ARITY: &str = "`co_return!` takes at most one value\n\
    help: write `co_return!(value)`, `co_return!((a, b))` for a tuple, or `co_return!()`";

pub fn missing_operand(name: &str) -> String {
    format!("`{name}!` needs an operand\nhelp: write `{name}!(expression)`")
}

pub fn extra_operand(name: &str) -> String {
    format!("`{name}!` takes exactly one operand\nhelp: write `{name}!(expression)`; wrap several values in a tuple")
}

/// The errors of a `syn::Error` (possibly several, combined).
pub fn errors(e: &syn::Error) -> TokenStream {
    e.to_compile_error()
}
