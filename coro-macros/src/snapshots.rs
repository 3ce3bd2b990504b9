//! Expansion snapshots: what `#[coro::coroutine]` emits for a few
//! representative functions, kept in `coro-macros/tests/expand/` so a
//! reviewer can read the lowering. Regenerate with `CORO_BLESS=1`.

use proc_macro2::TokenStream;
use quote::quote;

use crate::expand::expand;

fn check(name: &str, args: TokenStream, item: TokenStream) {
    let file: syn::File = syn::parse2(expand(args, item)).expect("the expansion parses as items");
    let text = prettyplease::unparse(&file);
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expand").join(format!("{name}.expanded.rs"));
    if std::env::var_os("CORO_BLESS").is_some() || !path.exists() {
        std::fs::write(&path, &text).expect("write snapshot");
        return;
    }
    let expected = std::fs::read_to_string(&path).expect("read snapshot");
    assert!(expected == text, "expansion of `{name}` changed; rerun with CORO_BLESS=1 and review:\n{text}");
}

#[test]
fn generator_with_a_loop() {
    check(
        "range",
        quote!(),
        quote! {
            fn range(n: u32) -> Generator<u32> {
                for i in 0..n {
                    co_yield!(i);
                }
            }
        },
    );
}

#[test]
fn task_awaiting_a_task_with_question_mark() {
    check(
        "task",
        quote!(),
        quote! {
            fn load(path: String) -> Task<Result<usize, Error>> {
                let text = co_await!(read(&path))?;
                co_return!(Ok(text.len()))
            }
        },
    );
}

#[test]
fn method_with_a_named_promise() {
    check(
        "method",
        quote!(promise = MyPromise),
        quote! {
            fn poll_once<'a>(&'a self, (a, b): (u8, u8)) -> MyHandle<'a> {
                co_await!(SuspendAlways);
                co_return!()
            }
        },
    );
}

#[test]
fn inline_generator_with_a_borrowed_parameter() {
    check(
        "inline_generator",
        quote!(),
        quote! {
            fn words<'a>(text: &'a str, skip: usize) -> InlineGenerator<&'a str, &'a str> {
                for w in text.split(' ').skip(skip) {
                    co_yield!(w);
                }
            }
        },
    );
}
