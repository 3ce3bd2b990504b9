//! The inline generator's ramp: a function declared
//! `-> InlineGenerator<T>` (or `-> InlineGenerator<T, B>`, `B` the borrowed
//! type as for `Generator<T, B>`) returns its frame by value,
//! `InlineGenerator<T, impl GeneratorBody<T> + Borrows<B>>`.
//!
//! The body is the heap generator's, to the token: `lower::ramp` lowers the
//! function as if it returned a heap frame whose promise is the inline
//! body's stand-in (`InlineGeneratorPromise<T>`, see coro-core), and this module
//! takes from that expansion the coroutine's `CoroutineInfo` static, the
//! compile-time guards and the body's `async` block, and puts them around
//! `__private::inline_ramp` instead of the heap ramp. Whatever the lowering
//! does to a generator body, an inline generator's body gets too.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{Expr, GenericArgument, Ident, Item, PathArguments, ReturnType, Stmt, Type};

use crate::args::Args;
use crate::diagnostics;
use crate::parse::CoroutineFn;

/// An `InlineGenerator<T>` or `InlineGenerator<T, B>` return type: the
/// element type and the borrowed type (`()` when not given).
pub struct InlineReturn {
    elem: Type,
    borrows: Type,
}

/// Whether `ret` names an inline generator (its last path segment is
/// `InlineGenerator`, however imported): `None` if not, else its
/// arguments or what is wrong with them.
pub fn detect(ret: &Type) -> Option<syn::Result<InlineReturn>> {
    let p = match ret {
        Type::Path(p) => p,
        // A `$ret:ty` of a `macro_rules!`, or `(InlineGenerator<T>)`.
        Type::Group(g) => return detect(&g.elem),
        Type::Paren(p) => return detect(&p.elem),
        _ => return None,
    };
    if p.qself.is_some() {
        return None;
    }
    let last = p.path.segments.last()?;
    if last.ident != "InlineGenerator" {
        return None;
    }
    let types: Vec<&Type> = match &last.arguments {
        PathArguments::AngleBracketed(a) => {
            let mut types = Vec::new();
            for arg in &a.args {
                match arg {
                    GenericArgument::Type(t) => types.push(t),
                    other => return Some(Err(syn::Error::new(other.span(), diagnostics::INLINE_GENERATOR_ARGS))),
                }
            }
            types
        }
        _ => Vec::new(),
    };
    Some(match types.as_slice() {
        [elem] => Ok(InlineReturn { elem: (*elem).clone(), borrows: syn::parse_quote!(()) }),
        [elem, borrows] => Ok(InlineReturn { elem: (*elem).clone(), borrows: (*borrows).clone() }),
        _ => Err(syn::Error::new_spanned(last, diagnostics::INLINE_GENERATOR_ARGS)),
    })
}

/// The return type the function really has: the frame by value, under
/// the path the user wrote (so that its import stays used).
fn frame_type(krate: &syn::Path, written: &Type, ret: &InlineReturn) -> Type {
    let InlineReturn { elem, borrows } = ret;
    let span = written.span();
    let args: syn::AngleBracketedGenericArguments = syn::parse_quote_spanned! {span=>
        <#elem, impl #krate::generator::GeneratorBody<#elem> + #krate::generator::Borrows<#borrows>>
    };
    let mut ty = written.clone();
    let mut inner = &mut ty;
    loop {
        match inner {
            Type::Group(g) => inner = &mut g.elem,
            Type::Paren(p) => inner = &mut p.elem,
            _ => break,
        }
    }
    if let Type::Path(p) = inner {
        if let Some(last) = p.path.segments.last_mut() {
            last.arguments = PathArguments::AngleBracketed(args);
        }
    }
    ty
}

/// The fallback signature of a function declared `-> InlineGenerator<..>`
/// that is rejected: the type it would have had, so that the error is the
/// only one.
pub fn fallback_signature(sig: &mut syn::Signature) {
    let ReturnType::Type(_, ty) = &mut sig.output else { return };
    let fixed = match detect(ty) {
        Some(Ok(ret)) => ret,
        Some(Err(_)) => InlineReturn { elem: syn::parse_quote!(()), borrows: syn::parse_quote!(()) },
        None => return,
    };
    **ty = frame_type(&syn::parse_quote!(::coro), ty, &fixed);
}

/// Builds the inline ramp. `body` has already been lowered.
pub fn ramp(
    args: &Args,
    f: &CoroutineFn,
    inline: InlineReturn,
    body: &syn::Block,
    points: u32,
) -> syn::Result<TokenStream> {
    if let Some(p) = &args.promise {
        return Err(syn::Error::new_spanned(p, diagnostics::INLINE_GENERATOR_PROMISE));
    }
    let krate = &args.krate;
    let span = f.ret.span();
    let elem = &inline.elem;
    // Lower it as a heap coroutine whose promise is the inline body's
    // stand-in, `InlineGeneratorPromise<T>`.
    let heap_ret: Type = syn::parse_quote_spanned! {span=> #krate::__private::InlineFrame<#elem> };
    let mut heap = CoroutineFn { item: f.item.clone(), ret: heap_ret.clone(), ret_lifetimes: f.ret_lifetimes.clone() };
    heap.item.sig.output = ReturnType::Type(Default::default(), Box::new(heap_ret.clone()));
    let heap_tokens = crate::lower::ramp(args, &heap, body, points);
    let lowered: syn::ItemFn = syn::parse2(heap_tokens).map_err(|e| syn::Error::new(span, e.to_string()))?;

    let mut info = None;
    let mut guards = Vec::new();
    let mut frame_body = None;
    for stmt in &lowered.block.stmts {
        match stmt {
            Stmt::Item(Item::Static(s)) if info.is_none() => info = Some(s.clone()),
            Stmt::Expr(e, _) if calls(e, "assert_no_drop_glue") => guards.push(stmt.clone()),
            Stmt::Local(l) if frame_body.is_none() => {
                let mut find = FindBody(None);
                find.visit_local(l);
                frame_body = find.0;
            }
            _ => {}
        }
    }
    let (Some(info), Some(frame_body)) = (info, frame_body) else {
        return Err(syn::Error::new(span, "coro: internal error: unexpected generator lowering"));
    };

    let mut sig = lowered.sig.clone();
    sig.output = ReturnType::Type(Default::default(), Box::new(frame_type(krate, &f.ret, &inline)));
    let attrs = &lowered.attrs;
    let vis = &lowered.vis;
    let co = Ident::new("promise", Span::mixed_site());
    let ramp = quote_spanned! {span=> #krate::__private::inline_ramp::<#elem, _, _> };
    Ok(quote! {
        #(#attrs)*
        #vis #sig {
            #info
            #(#guards)*
            #ramp(move |#co: #krate::__private::Co<<#heap_ret as #krate::CoroutineTraits>::Promise>| #frame_body)
        }
    })
}

/// Whether `e` is a call of a function whose path ends in `name`.
fn calls(e: &Expr, name: &str) -> bool {
    match e {
        Expr::Call(c) => matches!(&*c.func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == name)),
        _ => false,
    }
}

/// The first (outermost) `async` block: the frame's body.
struct FindBody(Option<syn::ExprAsync>);

impl<'ast> Visit<'ast> for FindBody {
    fn visit_expr_async(&mut self, a: &'ast syn::ExprAsync) {
        if self.0.is_none() {
            self.0 = Some(a.clone());
        }
    }
}

/// For the expansion of `expand`: the function, and whether it returns an
/// inline generator.
pub fn expand(args: &Args, f: &CoroutineFn, body: &syn::Block, points: u32) -> Option<syn::Result<TokenStream>> {
    let inline = match detect(&f.ret)? {
        Ok(inline) => inline,
        Err(e) => return Some(Err(e)),
    };
    Some(ramp(args, f, inline, body, points))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expands(args: TokenStream, item: TokenStream) -> String {
        crate::expand::expand(args, item).to_string()
    }

    #[test]
    fn an_inline_generator_returns_its_frame_and_keeps_the_generator_body() {
        let out =
            expands(quote!(), quote! { fn range(n: u32) -> InlineGenerator<u32> { for i in 0..n { co_yield!(i); } } });
        assert!(out.contains("inline_ramp"), "{out}");
        assert!(!out.contains("__private :: ramp"), "{out}");
        assert!(out.contains("yield_point"), "{out}");
        assert!(out.contains("InlineGenerator < u32 , impl :: coro :: generator :: GeneratorBody < u32 >"), "{out}");
        assert!(out.contains("Borrows < () >"), "{out}");
        assert!(out.contains("static __CORO_INFO"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn the_borrowed_type_becomes_a_bound() {
        let out = expands(
            quote!(),
            quote! { fn chars<'a>(s: &'a str) -> coro::generator::InlineGenerator<char, &'a str> { for c in s.chars() { co_yield!(c); } } },
        );
        assert!(out.contains("Borrows < & 'a str >"), "{out}");
        assert!(!out.contains("compile_error"), "{out}");
    }

    #[test]
    fn a_named_promise_or_wrong_arguments_are_errors() {
        let out = expands(quote!(promise = P), quote! { fn f() -> InlineGenerator<u8> { co_yield!(1); } });
        assert!(out.contains("compile_error"), "{out}");
        for ret in [
            quote!(InlineGenerator),
            quote!(InlineGenerator),
            quote!(InlineGenerator<u8, (), ()>),
            quote!(InlineGenerator<'a, u8>),
        ] {
            let out = expands(quote!(), quote! { fn f() -> #ret { co_yield!(1); } });
            assert_eq!(out.matches("compile_error").count(), 1, "{ret}: {out}");
            assert!(out.contains("GeneratorBody"), "{ret}: {out}");
        }
    }
}
