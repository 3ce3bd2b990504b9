//! The whole expansion: parse, check, lower; on a user error, the error
//! plus a fallback item of the right type, so that one mistake gives one
//! error and the rest of the crate still type-checks.

use proc_macro2::TokenStream;
use quote::quote;
use syn::visit_mut::VisitMut;
use syn::ItemFn;

use crate::lower::{self, BodyLowering};
use crate::{args, diagnostics, parse};

/// Expands `#[coro::coroutine(args)] item`. Never panics: every outcome is an
/// expansion or a `compile_error!` (with a fallback).
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = match args::parse(args) {
        Ok(a) => a,
        Err(e) => return with_fallback(diagnostics::errors(&e), syn::parse2(item).ok()),
    };
    let f = match parse::parse(item) {
        Ok(f) => f,
        Err(failed) => {
            let (e, item) = *failed;
            return with_fallback(diagnostics::errors(&e), item);
        }
    };
    let mut body = (*f.item.block).clone();
    let mut lowering = BodyLowering::new(&args.krate);
    lowering.visit_block_mut(&mut body);
    if !lowering.errors.is_empty() {
        let errors: TokenStream = lowering.errors.iter().map(diagnostics::errors).collect();
        return with_fallback(errors, Some(f.item));
    }
    lower::ramp(&args, &f, &body, lowering.points())
}

/// The errors, plus the function with a body that type-checks as anything.
fn with_fallback(errors: TokenStream, item: Option<ItemFn>) -> TokenStream {
    match item {
        Some(mut f) => {
            *f.block = syn::parse_quote!({ ::core::unreachable!() });
            f.attrs.push(syn::parse_quote!(#[allow(unused_variables, unused_mut, unreachable_code)]));
            quote! { #errors #f }
        }
        None => errors,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expands(args: TokenStream, item: TokenStream) -> String {
        expand(args, item).to_string()
    }

    #[test]
    fn plain_coroutine_becomes_a_ramp_around_an_async_block() {
        let out = expands(quote!(), quote! { fn f() -> Task<u32> { co_return!(1) } });
        assert!(out.contains("__private :: ramp"), "{out}");
        assert!(out.contains("async move"), "{out}");
        assert!(out.contains("return_value"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn each_await_and_yield_gets_a_numbered_point() {
        let out = expands(quote!(), quote! { fn f() -> G { co_yield!(1); let x = co_await!(a); co_yield!(x); } });
        for i in 1..=3 {
            assert!(out.contains(&format!("__CoroPoint{i}")), "{out}");
        }
        assert!(!out.contains("__CoroPoint4"), "{out}");
        // final index is points + 1
        assert!(out.contains("4u32"), "{out}");
    }

    #[test]
    fn plain_return_is_an_error_with_fallback() {
        let out = expands(quote!(), quote! { fn f() -> Task<u32> { return 1; } });
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("co_return"), "{out}");
        assert!(out.contains("unreachable"), "{out}");
    }

    #[test]
    fn return_inside_a_closure_is_allowed() {
        let out = expands(quote!(), quote! { fn f() -> Task<u32> { let c = || { return 1; }; co_return!(c()) } });
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn question_mark_co_returns_the_residual() {
        let out = expands(quote!(), quote! { fn f() -> Task<Result<u32, E>> { let v = g()?; co_return!(Ok(v)) } });
        assert!(out.contains("Branch :: branch"), "{out}");
        assert!(out.contains("from_residual"), "{out}");
    }

    #[test]
    fn keywords_inside_other_macros_are_lowered() {
        let out = expands(quote!(), quote! { fn f() -> Task<()> { println!("{}", co_await!(x)); } });
        assert!(out.contains("await_point"), "{out}");
    }

    #[test]
    fn bad_arguments_are_errors() {
        for args in [quote!(foo = Bar), quote!(promise), quote!(promise = P, promise = Q), quote!(crate = )] {
            let out = expands(args.clone(), quote! { fn f() -> Task<()> {} });
            assert!(out.contains("compile_error"), "{args}: {out}");
        }
    }

    #[test]
    fn co_return_with_two_values_and_co_await_without_operand_are_errors() {
        for body in [
            quote!({ co_return!(a, b) }),
            quote!({ co_await!() }),
            quote!({
                co_yield!(a, b);
            }),
        ] {
            let out = expands(quote!(), quote! { fn f() -> Task<()> #body });
            assert!(out.contains("compile_error"), "{body}: {out}");
        }
    }

    #[test]
    fn signature_rules_are_enforced() {
        for item in [
            quote! { const fn f() -> Task<()> {} },
            quote! { async fn f() -> Task<()> {} },
            quote! { fn main() -> Task<()> {} },
            quote! { fn f() {} },
            quote! { fn f() -> impl Iterator<Item = u8> {} },
            quote! { fn f(s: &str) -> Generator<char, &str> {} },
            quote! { fn f(s: &str) -> Generator<char, &'_ str> {} },
            quote! { struct S; },
        ] {
            let out = expands(quote!(), item.clone());
            assert!(out.contains("compile_error"), "{item}: {out}");
        }
    }

    /// The macro never panics: every input gives an expansion or an error.
    #[test]
    fn never_panics_on_a_corpus_of_valid_invalid_and_garbage_input() {
        let corpus: Vec<TokenStream> = vec![
            quote! { fn f() -> T { co_await!(co_await!(x)); } },
            quote! { fn f(&self, (a, b): (u8, u8), _: u8) -> T { while co_await!(a) { co_yield!(b); } } },
            quote! { fn f() -> T { match co_await!(x) { 1 => co_return!(2), _ => co_return!() } } },
            quote! { fn f() -> T { if let Some(x) = co_await!(y)? { co_return!(x + co_await!(z)) } } },
            quote! { fn f() -> T { co_await! } },
            quote! { fn f() -> T { co_await![x] } },
            quote! { fn f() -> T { co_return!(;) } },
            quote! { fn f() -> T { x.await } },
            quote! { fn f() -> T { } fn g() {} },
            quote! { fn },
            "fn f ( ) ->".parse().unwrap(),
            "fn f ( x : ) -> T { co_yield ! ( ) }".parse().unwrap(),
            quote! { 1 + },
            quote! {},
            quote! { impl X {} },
            quote! { fn f<'a>(x: &'a u8) -> G<'a, u8> { let c = async { co_await!(x) }; } },
            quote! { fn f() -> T { const { co_await!(x) }; } },
        ];
        for item in corpus {
            for args in [quote!(), quote!(promise = P), quote!(garbage garbage)] {
                let out = expand(args, item.clone());
                let s = out.to_string();
                assert!(s.contains("compile_error") || s.contains("__private :: ramp"), "{item}: {s}");
            }
        }
    }
}
