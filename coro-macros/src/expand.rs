//! The whole expansion: parse, check, lower; on a user error, the error
//! plus a fallback item of the right type, so that one mistake gives one
//! error and the rest of the crate still type-checks.

use proc_macro2::{TokenStream, TokenTree};
use quote::quote;
use syn::visit_mut::VisitMut;

use crate::lower::{self, BodyLowering, Keyword};
use crate::parse::{Fallback, Rejected};
use crate::{args, diagnostics, parse};

/// Expands `#[coro::coroutine(args)] item`. Never panics: every outcome is an
/// expansion or a `compile_error!` (with a fallback).
///
/// Mistakes in the body are reported where they are, inside an otherwise
/// complete lowering (see [`BodyLowering`]); mistakes in the attribute or
/// the signature give the error plus a fallback item.
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let args = match args::parse(args) {
        Ok(a) => a,
        Err(e) => {
            let fallback = match parse::parse(item) {
                Ok(f) => Fallback::Stub(Box::new(f.item), TokenStream::new()),
                Err(rejected) => rejected.fallback,
            };
            return with_fallback(Rejected { error: e, fallback });
        }
    };
    let f = match parse::parse(item) {
        Ok(f) => f,
        Err(rejected) => return with_fallback(*rejected),
    };
    let mut body = (*f.item.block).clone();
    let mut lowering = BodyLowering::new(&args.krate);
    if crate::inline::detect(&f.ret).is_some_and(|r| r.is_ok()) {
        lowering = lowering.for_inline_generator();
    }
    lowering.visit_block_mut(&mut body);
    // `-> InlineGenerator<T>`: the frame in the caller (`inline.rs`).
    match crate::inline::expand(&args, &f, &body, lowering.points()) {
        Some(Ok(tokens)) => return tokens,
        Some(Err(error)) => {
            return with_fallback(Rejected { error, fallback: Fallback::Stub(Box::new(f.item), TokenStream::new()) })
        }
        None => {}
    }
    lower::ramp(&args, &f, &body, lowering.points())
}

/// The error, plus an item that keeps the rest of the crate compiling
/// without a second error: a function with a body that type-checks as its
/// return type (the error itself, as its tail expression) and still uses
/// every keyword macro it mentioned, or the item unchanged.
fn with_fallback(rejected: Rejected) -> TokenStream {
    let Rejected { error, fallback } = rejected;
    match fallback {
        Fallback::Stub(mut f, keep) => {
            crate::inline::fallback_signature(&mut f.sig);
            let block = &f.block;
            let used = keyword_paths(quote!(#block));
            let error = error_expression(&error);
            *f.block = syn::parse_quote!({ #(#used!(@__coro_lowered);)* #keep #error });
            f.attrs.push(syn::parse_quote!(#[allow(unused_variables, unused_mut, unreachable_code)]));
            quote! { #f }
        }
        Fallback::Verbatim(item) => {
            let error = diagnostics::errors(&error);
            quote! { #error #item }
        }
        Fallback::Nothing => diagnostics::errors(&error),
    }
}

/// `compile_error!` as an expression (the first message; a `syn::Error` may
/// combine several, the others come as statements before it).
fn error_expression(error: &syn::Error) -> TokenStream {
    let mut all: Vec<syn::Error> = error.clone().into_iter().collect();
    let last = all.pop().map(|e| diagnostics::error_tokens(e.span(), &e.to_string()));
    let rest = all.iter().map(|e| {
        let tokens = diagnostics::error_tokens(e.span(), &e.to_string());
        quote!(#tokens;)
    });
    quote! { #(#rest)* #last }
}

/// The paths of the keyword macros a body invokes (`co_return`,
/// `coro::co_await`, ...), each once, found in its tokens (so also inside
/// other macros' arguments).
fn keyword_paths(tokens: TokenStream) -> Vec<TokenStream> {
    let mut found: Vec<TokenStream> = Vec::new();
    collect_keyword_paths(tokens, &mut found);
    found
}

fn collect_keyword_paths(tokens: TokenStream, found: &mut Vec<TokenStream>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    for (i, t) in tokens.iter().enumerate() {
        match t {
            TokenTree::Group(g) => collect_keyword_paths(g.stream(), found),
            TokenTree::Ident(id) if Keyword::from_ident(id).is_some() => {
                let bang = matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '!');
                if !bang {
                    continue;
                }
                // Walk back over `ident ::` pairs, then a leading `::`.
                let sep = |at: usize| {
                    matches!((&tokens[at], &tokens[at + 1]),
                        (TokenTree::Punct(a), TokenTree::Punct(b)) if a.as_char() == ':' && b.as_char() == ':')
                };
                let mut start = i;
                while start >= 3 && sep(start - 2) && matches!(tokens[start - 3], TokenTree::Ident(_)) {
                    start -= 3;
                }
                if start >= 2 && sep(start - 2) {
                    start -= 2;
                }
                let path: TokenStream = tokens[start..=i].iter().cloned().collect();
                if !found.iter().any(|p| p.to_string() == path.to_string()) {
                    found.push(path);
                }
            }
            _ => {}
        }
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
    fn the_info_type_names_the_coroutine_and_only_a_type() {
        // rustc prints it when the frame is not `Send`; braced, so a
        // recursive call of the function in its body still finds the function.
        let out = expands(quote!(), quote! { fn r#type(n: u32) -> Task<u32> { co_return!(n) } });
        assert!(out.contains("struct coroutine_type { }"), "{out}");
        assert!(out.contains("at (coroutine_type { })"), "{out}");
        assert!(!out.contains("__CoroInfo"), "{out}");
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
    fn plain_return_is_an_error_in_place_and_the_rest_is_still_lowered() {
        let out = expands(quote!(), quote! { fn f(x: u32) -> Task<u32> { if x == 0 { return 1; } co_return!(x) } });
        assert_eq!(out.matches("compile_error").count(), 1, "{out}");
        assert!(out.contains("co_return"), "{out}");
        assert!(out.contains("__private :: ramp"), "{out}");
        assert!(out.contains("return_value"), "{out}");
    }

    #[test]
    fn return_inside_a_closure_is_allowed() {
        let out = expands(quote!(), quote! { fn f() -> Task<u32> { let c = || { return 1; }; co_return!(c()) } });
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn question_mark_co_returns_the_residual() {
        let out = expands(quote!(), quote! { fn f() -> Task<Result<u32, E>> { let v = g()?; co_return!(Ok(v)) } });
        assert!(out.contains("__private :: branch"), "{out}");
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
            quote! { fn f(s: &str) -> Generator<char> {} },
            quote! { fn f(&self) -> Task<()> {} },
            quote! { fn f(s: Cow<'_, str>) -> Task<()> {} },
            quote! { fn f<'a>(s: &'a str) -> Task<()> {} },
            quote! { fn f(x: i32, ...) -> Task<()>; },
            quote! { fn f(&self) -> Task<()>; },
            quote! { struct S; },
            quote! { #[coro::coroutine] fn f() -> Task<()> {} },
        ] {
            let out = expands(quote!(), item.clone());
            assert!(out.contains("compile_error"), "{item}: {out}");
            assert!(!out.contains("__private :: ramp"), "{item}: {out}");
        }
    }

    #[test]
    fn borrowed_parameters_whose_lifetime_the_return_type_carries_are_accepted() {
        for item in [
            quote! { fn f<'a>(s: &'a str) -> Generator<char, &'a str> {} },
            quote! { fn f<'a, 'b: 'a>(a: &'a str, b: &'b str) -> Task<&'a str> { co_return!(a) } },
            quote! { fn f<'a>(&'a self) -> Generator<u8, &'a Self> {} },
            quote! { fn f(s: &'static str, g: fn(&u8) -> &u8, h: Box<dyn Fn(&u8)>) -> Task<()> {} },
            quote! { fn f<'a: 'static>(s: &'a str) -> Task<()> {} },
            quote! { fn f(self: Box<Self>) -> Task<()> {} },
        ] {
            let out = expands(quote!(), item.clone());
            assert!(!out.contains("compile_error"), "{item}: {out}");
        }
    }

    #[test]
    fn keywords_outside_the_coroutine_proper_are_errors_in_place() {
        for body in [
            quote!({
                let c = || co_await!(x);
                co_return!(())
            }),
            quote!({
                let c = async { co_yield!(1) };
            }),
            quote!({
                const N: u32 = co_await!(x);
            }),
            quote!({
                static N: u32 = co_await!(x);
            }),
            quote!({
                let n = const { co_await!(x) };
            }),
            quote!({
                fn g() {
                    co_yield!(1);
                }
            }),
            quote!({
                struct S;
                impl S {
                    fn g(&self) {
                        co_return!(1)
                    }
                }
            }),
            quote!({
                let c = || println!("{}", co_await!(x));
            }),
        ] {
            let out = expands(quote!(), quote! { fn f() -> Task<()> #body });
            assert_eq!(out.matches("compile_error").count(), 1, "{body}: {out}");
            assert!(out.contains("__private :: ramp"), "{body}: {out}");
        }
    }

    #[test]
    fn a_nested_coroutine_keeps_its_own_keywords() {
        let out = expands(
            quote!(),
            quote! { fn f() -> Task<()> { #[coro::coroutine] fn g() -> Task<()> { co_return!(()) } co_await!(g()); } },
        );
        assert!(!out.contains("compile_error"), "{out}");
        // `g`'s keyword is left for `g`'s own attribute.
        assert!(out.contains("co_return ! (())"), "{out}");
    }

    #[test]
    fn a_fallback_still_uses_every_keyword_macro_it_mentions() {
        let out = expands(
            quote!(),
            quote! { async fn f() -> Task<u32> { co_await!(x); coro::co_yield!(1); println!("{}", ::coro::co_return!(1)) } },
        );
        assert!(out.contains("compile_error"), "{out}");
        for used in [
            "co_await ! (@ __coro_lowered)",
            "coro :: co_yield ! (@ __coro_lowered)",
            ":: coro :: co_return ! (@ __coro_lowered)",
        ] {
            assert!(out.contains(used), "{used}: {out}");
        }
        assert!(!out.contains("async fn f"), "{out}");
    }

    #[test]
    fn a_tail_that_is_certainly_a_value_is_an_error_with_the_co_return_to_write() {
        for (body, fix) in [
            (
                quote!({
                    let v = 1;
                    v + 1
                }),
                "co_return!(v + 1)",
            ),
            (quote!({ Ok(3) == x }), "co_return!(Ok(3) == x)"),
            (quote!({ (a, b.c) }), "co_return!((a, b.c))"),
        ] {
            let out = expands(quote!(), quote! { fn f() -> Task<u32> #body });
            assert_eq!(out.matches("compile_error").count(), 1, "{body}: {out}");
            assert!(out.contains(fix), "{fix}: {out}");
            assert!(out.contains("__private :: ramp"), "{body}: {out}");
        }
        // Tails that may be `()` or diverge are left to the type check.
        for body in [
            quote!({ loop {} }),
            quote!({ panic!() }),
            quote!({
                if x {
                    co_return!(1)
                } else {
                    co_return!(2)
                }
            }),
            quote!({
                match x {
                    _ => co_return!(1),
                }
            }),
            quote!({ g() }),
            quote!({ x.h() }),
            quote!({
                for i in 0..3 {
                    co_yield!(i);
                }
            }),
            quote!({ total += 1 }),
            quote!({ v }),
            quote!({ () }),
        ] {
            let out = expands(quote!(), quote! { fn f() -> Task<u32> #body });
            assert!(!out.contains("compile_error"), "{body}: {out}");
        }
    }

    #[test]
    fn items_that_are_not_functions_are_kept() {
        let out = expands(quote!(), quote! { struct S { x: u32 } });
        assert!(out.contains("compile_error"), "{out}");
        assert!(out.contains("struct S"), "{out}");
    }

    /// The macro never panics: every input gives an expansion or an error,
    /// for a corpus of valid and invalid bodies, every truncation of each at
    /// every depth, and pseudo-random garbage made from their tokens.
    #[test]
    fn never_panics_on_a_corpus_of_valid_invalid_truncated_and_garbage_input() {
        let corpus: Vec<TokenStream> = vec![
            quote! { fn f() -> T { co_await!(co_await!(x)); } },
            quote! { fn f(&self, (a, b): (u8, u8), _: u8) -> T { while co_await!(a) { co_yield!(b); } } },
            quote! { fn f() -> T { match co_await!(x) { 1 => co_return!(2), _ => co_return!() } } },
            quote! { fn f() -> T { if let Some(x) = co_await!(y)? { co_return!(x + co_await!(z)) } } },
            quote! { fn f() -> T { co_await! } },
            quote! { fn f() -> T { co_await![x] } },
            quote! { fn f() -> T { co_await!{x} co_yield!{y} } },
            quote! { fn f() -> T { co_return!(;) } },
            quote! { fn f() -> T { co_return!(a, b, c,) } },
            quote! { fn f() -> T { co_yield!(,) } },
            quote! { fn f() -> T { x.await } },
            quote! { fn f() -> T { return } },
            quote! { fn f() -> T { #[attr] co_return!(#[attr] 1) } },
            quote! { fn f() -> T { } fn g() {} },
            quote! { fn },
            "fn f ( ) ->".parse().unwrap(),
            "fn f ( x : ) -> T { co_yield ! ( ) }".parse().unwrap(),
            quote! { 1 + },
            quote! {},
            quote! { impl X {} },
            quote! { fn f<'a>(x: &'a u8) -> G<'a, u8> { let c = async { co_await!(x) }; } },
            quote! { fn f() -> T { const { co_await!(x) }; } },
            quote! { fn f() -> T { let c = move |x| { fn g() { co_yield!(x) } }; c(co_await!(y)?) } },
            quote! { fn f() -> T { println!("{} {}", co_await!(a), co_yield!(b)); vec![co_await!(c); 2] } },
            quote! { unsafe extern "C" fn f(x: i32, ...) -> T { co_return!(x) } },
            quote! { fn f(x: i32, ...) -> T; },
            quote! { pub(crate) const async unsafe fn main(self: &Self) -> impl T + '_ { co_return!() } },
            quote! { fn f(s: &str, t: &'_ u8, u: &'a u8) -> &'_ G<'_> { } },
        ];
        let mut inputs = Vec::new();
        for item in &corpus {
            inputs.push(item.clone());
            inputs.extend(truncations(item.clone()));
            inputs.extend(garbage(item.clone(), 24));
        }
        assert!(inputs.len() > 1000, "{}", inputs.len());
        for item in inputs {
            for args in [quote!(), quote!(promise = P), quote!(crate = ::c), quote!(garbage garbage), quote!(promise =)]
            {
                let out = expand(args.clone(), item.clone());
                let s = out.to_string();
                assert!(s.contains("compile_error") || s.contains("__private :: ramp"), "{args} / {item}: {s}");
                // What rustc receives is items (a declaration without a body
                // is given back as the foreign or trait item it was).
                let declaration = syn::parse2::<syn::ForeignItemFn>(item.clone()).is_ok()
                    || syn::parse2::<syn::TraitItemFn>(item.clone()).is_ok();
                assert!(declaration || syn::parse2::<syn::File>(out).is_ok(), "{args} / {item}: {s}");
            }
        }
    }

    /// Every way of cutting `tokens` short: at each position of its top
    /// level, and inside each group.
    fn truncations(tokens: TokenStream) -> Vec<TokenStream> {
        let trees: Vec<TokenTree> = tokens.into_iter().collect();
        let mut out = Vec::new();
        for (i, tree) in trees.iter().enumerate() {
            out.push(trees[..i].iter().cloned().collect());
            if let TokenTree::Group(g) = tree {
                for inner in truncations(g.stream()) {
                    let mut cut = trees[..i].to_vec();
                    cut.push(TokenTree::Group(proc_macro2::Group::new(g.delimiter(), inner)));
                    out.push(cut.into_iter().collect());
                }
            }
        }
        out
    }

    /// `n` deterministic mutants of `tokens`: tokens dropped, duplicated and
    /// swapped, at the top level and inside groups.
    fn garbage(tokens: TokenStream, n: u64) -> Vec<TokenStream> {
        (0..n).map(|seed| mutate(tokens.clone(), &mut (seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1))).collect()
    }

    fn mutate(tokens: TokenStream, state: &mut u64) -> TokenStream {
        let mut next = || {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            *state
        };
        let mut trees: Vec<TokenTree> = tokens.into_iter().collect();
        if !trees.is_empty() {
            let i = (next() % trees.len() as u64) as usize;
            let j = (next() % trees.len() as u64) as usize;
            match next() % 3 {
                0 => {
                    trees.remove(i);
                }
                1 => {
                    let t = trees[i].clone();
                    trees.insert(j, t);
                }
                _ => trees.swap(i, j),
            }
        }
        let mut state2 = next();
        trees
            .into_iter()
            .map(|t| match t {
                TokenTree::Group(g) if state2 % 2 == 0 => {
                    state2 /= 2;
                    TokenTree::Group(proc_macro2::Group::new(g.delimiter(), mutate(g.stream(), &mut (state2 | 1))))
                }
                t => t,
            })
            .collect()
    }
}
