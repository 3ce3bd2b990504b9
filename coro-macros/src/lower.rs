//! Lowering: the body's `co_await!`/`co_yield!`/`co_return!`/`?` become
//! calls into `coro::__private`, and the function becomes a ramp around a
//! private `async` block (design section 4).

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Block, Expr, FnArg, Ident, Macro, Pat, Path, Stmt, Token, Type};

use crate::args::Args;
use crate::diagnostics;
use crate::parse::CoroutineFn;

/// The coroutine keywords, by the last segment of the macro's path.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Keyword {
    Await,
    Yield,
    Return,
}

fn keyword(mac: &Macro) -> Option<Keyword> {
    let last = mac.path.segments.last()?;
    match last.ident.to_string().as_str() {
        "co_await" => Some(Keyword::Await),
        "co_yield" => Some(Keyword::Yield),
        "co_return" => Some(Keyword::Return),
        _ => None,
    }
}

/// Rewrites a coroutine body in place.
pub struct BodyLowering<'a> {
    krate: &'a Path,
    /// The hygienic name of the body's `Co` token.
    co: Ident,
    /// Suspension points numbered so far.
    points: u32,
    /// User errors found; each becomes a `compile_error!` at its span.
    pub errors: Vec<syn::Error>,
}

impl<'a> BodyLowering<'a> {
    pub fn new(krate: &'a Path) -> Self {
        BodyLowering { krate, co: co_ident(), points: 0, errors: Vec::new() }
    }

    /// The `Co` token's name, located at `span` so errors point there.
    fn co_at(&self, span: Span) -> Ident {
        let mut co = self.co.clone();
        co.set_span(co.span().located_at(span));
        co
    }

    /// How many `co_await!`/`co_yield!` points the body has.
    pub fn points(&self) -> u32 {
        self.points
    }

    fn single_operand(&mut self, mac: &Macro, name: &str) -> Option<Expr> {
        let args = match mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            Ok(a) => a,
            Err(e) => {
                self.errors.push(e);
                return None;
            }
        };
        let span = mac.span();
        match args.len() {
            0 => {
                self.errors.push(syn::Error::new(span, diagnostics::missing_operand(name)));
                None
            }
            1 => args.into_iter().next(),
            _ => {
                let extra = args.iter().nth(1).map_or(span, |e| e.span());
                self.errors.push(syn::Error::new(extra, diagnostics::extra_operand(name)));
                None
            }
        }
    }

    /// The expression a coroutine keyword macro becomes.
    fn lower_keyword(&mut self, kw: Keyword, mac: &Macro) -> Expr {
        let span = mac.path.span();
        // Errors in the lowered calls point at the user's keyword.
        let krate = &respan(self.krate, span);
        let co = self.co_at(span);
        let path = &mac.path;
        let used = quote_spanned! {span=> #path!(@__coro_lowered); };
        let tokens = match kw {
            Keyword::Return => {
                let args = match mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
                    Ok(a) => a,
                    Err(e) => {
                        self.errors.push(e);
                        return error_expr(span);
                    }
                };
                if args.len() > 1 {
                    let extra = args.iter().nth(1).map_or(span, |e| e.span());
                    self.errors.push(syn::Error::new(extra, diagnostics::CO_RETURN_ARITY));
                    return error_expr(span);
                }
                match args.into_iter().next() {
                    Some(mut value) => {
                        self.visit_expr_mut(&mut value);
                        quote_spanned! {span=> { #used #krate::__private::return_value(#co, #value); return; } }
                    }
                    None => quote_spanned! {span=> { #used #krate::__private::return_void(#co); return; } },
                }
            }
            Keyword::Await | Keyword::Yield => {
                let name = if kw == Keyword::Await { "co_await" } else { "co_yield" };
                let Some(mut operand) = self.single_operand(mac, name) else {
                    return error_expr(span);
                };
                self.points += 1;
                let index = self.points;
                self.visit_expr_mut(&mut operand);
                let record = format_ident!("__CoroPoint{}", index, span = Span::mixed_site());
                let info = info_ident();
                let (kind, point) = if kw == Keyword::Await {
                    (quote!(Await), quote_spanned! {span=> #krate::__private::await_point(#co, #operand, #record) })
                } else {
                    (quote!(Yield), quote_spanned! {span=> #krate::__private::yield_point(#co, #operand, #record) })
                };
                quote_spanned! {span=>
                    {
                        #used
                        struct #record;
                        impl #krate::__private::Record for #record {
                            const POINT: &'static #krate::__private::SuspendPoint =
                                &#krate::__private::SuspendPoint::new(
                                    #krate::__private::SuspendKind::#kind,
                                    #index,
                                    ::core::file!(),
                                    ::core::line!(),
                                    ::core::column!(),
                                    &#info,
                                );
                        }
                        #krate::__private::await_resume(#point.await)
                    }
                }
            }
        };
        syn::parse2(tokens).expect("lowered coroutine keyword is an expression")
    }

    /// `e?` inside the body: co_return the residual.
    fn lower_try(&mut self, operand: &Expr, span: Span) -> Expr {
        let krate = &respan(self.krate, span);
        let co = self.co_at(span);
        let value = Ident::new("__coro_value", Span::mixed_site());
        let residual = Ident::new("__coro_residual", Span::mixed_site());
        syn::parse2(quote_spanned! {span=>
            match #krate::__private::Branch::branch(#operand) {
                ::core::ops::ControlFlow::Continue(#value) => #value,
                ::core::ops::ControlFlow::Break(#residual) => {
                    #krate::__private::return_value(#co, #krate::__private::FromResidual::from_residual(#residual));
                    return;
                }
            }
        })
        .expect("lowered `?` is an expression")
    }

    /// A macro other than the keywords whose arguments mention a keyword
    /// (`println!("{}", co_await!(x))`): lower inside it if its arguments are
    /// comma-separated expressions.
    fn lower_inside_macro(&mut self, mac: &mut Macro) {
        if !mentions_keyword(mac.tokens.clone()) {
            return;
        }
        if let Ok(mut args) = mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            for arg in args.iter_mut() {
                self.visit_expr_mut(arg);
            }
            mac.tokens = quote!(#args);
        }
    }
}

/// `path` with every token at `span`.
fn respan(path: &Path, span: Span) -> TokenStream {
    quote!(#path)
        .into_iter()
        .map(|mut t| {
            t.set_span(span);
            t
        })
        .collect()
}

fn mentions_keyword(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|t| match t {
        TokenTree::Ident(i) => i == "co_await" || i == "co_yield" || i == "co_return",
        TokenTree::Group(g) => mentions_keyword(g.stream()),
        _ => false,
    })
}

fn error_expr(span: Span) -> Expr {
    syn::parse2(quote_spanned! {span=> ::core::unreachable!() }).expect("an expression")
}

impl VisitMut for BodyLowering<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Macro(m) => {
                if let Some(kw) = keyword(&m.mac) {
                    *expr = self.lower_keyword(kw, &m.mac);
                } else {
                    self.lower_inside_macro(&mut m.mac);
                }
            }
            Expr::Try(t) => {
                self.visit_expr_mut(&mut t.expr);
                let span = t.question_token.span;
                *expr = self.lower_try(&t.expr, span);
            }
            Expr::Return(r) => {
                self.errors.push(syn::Error::new(r.return_token.span, diagnostics::PLAIN_RETURN));
                visit_mut::visit_expr_return_mut(self, r);
            }
            Expr::Await(a) => {
                self.errors.push(syn::Error::new(a.await_token.span, diagnostics::DOT_AWAIT));
                visit_mut::visit_expr_await_mut(self, a);
            }
            // These have their own `return`, `?` and (not) suspension points:
            // a keyword inside them is left to the fallback `macro_rules!`,
            // which reports it.
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) | Expr::TryBlock(_) => {}
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_block_mut(&mut self, block: &mut Block) {
        let last = block.stmts.len().saturating_sub(1);
        for (i, stmt) in block.stmts.iter_mut().enumerate() {
            if let Stmt::Macro(m) = stmt {
                if let Some(kw) = keyword(&m.mac) {
                    let lowered = self.lower_keyword(kw, &m.mac);
                    // `co_await!{e}` without `;` is the block's value when it
                    // comes last, a statement anywhere else.
                    let semi = match m.semi_token {
                        Some(semi) => Some(semi),
                        None if i == last => None,
                        None => Some(Token![;](m.mac.span())),
                    };
                    *stmt = Stmt::Expr(lowered, semi);
                    continue;
                }
                self.lower_inside_macro(&mut m.mac);
                continue;
            }
            self.visit_stmt_mut(stmt);
        }
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {
        // Nested items are not part of the coroutine.
    }
}

/// The hygienic name of the `Co` token: user code cannot name it.
fn co_ident() -> Ident {
    Ident::new("__coro_co", Span::mixed_site())
}

/// The name of the function's `CoroutineInfo` static.
fn info_ident() -> Ident {
    Ident::new("__CORO_INFO", Span::mixed_site())
}

/// Builds the ramp. `body` has already been lowered by `lowering`.
pub fn ramp(args: &Args, f: &CoroutineFn, body: &Block, points: u32) -> TokenStream {
    let krate = &args.krate;
    let item = &f.item;
    let ret = &f.ret;
    let promise: Type = match &args.promise {
        Some(p) => p.clone(),
        None => {
            syn::parse_quote_spanned! {ret.span()=> <#ret as #krate::CoroutineTraits>::Promise }
        }
    };

    // Parameters: every one gets a `mut` binding in the ramp (the promise
    // constructor may change it) and is moved into the body.
    let mut sig = item.sig.clone();
    let mut names: Vec<TokenStream> = Vec::new();
    let mut rebinds: Vec<TokenStream> = Vec::new();
    for (i, arg) in sig.inputs.iter_mut().enumerate() {
        match arg {
            FnArg::Receiver(r) => {
                let ty = &r.ty;
                let attrs = &r.attrs;
                *arg = syn::parse_quote! { #(#attrs)* mut self: #ty };
                names.push(quote!(self));
                rebinds.push(quote! { let _ = &self; });
            }
            FnArg::Typed(pt) => {
                let span = pt.pat.span();
                match &*pt.pat {
                    Pat::Ident(pi) if pi.by_ref.is_none() && pi.subpat.is_none() => {
                        let id = &pi.ident;
                        names.push(quote!(#id));
                        rebinds.push(quote_spanned! {span=> #[allow(unused_mut)] let mut #id = #id; });
                        *pt.pat = syn::parse_quote! { mut #id };
                    }
                    pat => {
                        let id = format_ident!("__coro_arg{}", i, span = Span::mixed_site());
                        let pat = pat.clone();
                        names.push(quote!(#id));
                        rebinds.push(quote_spanned! {span=> let #id = #id; let #pat = #id; });
                        *pt.pat = syn::parse_quote! { mut #id };
                    }
                }
            }
        }
    }

    let co = co_ident();
    let info = info_ident();
    let ramp_ctx = Ident::new("__coro_ramp", Span::mixed_site());
    let make = Ident::new("__coro_make", Span::mixed_site());
    let end = Ident::new("__coro_end", Span::mixed_site());
    let name = sig.ident.to_string();
    let fn_span = sig.ident.span();
    let close_span = item.block.brace_token.span.close();
    let final_index = points + 1;
    // Flowing off the end is `co_return;`: `return_void()` runs inside the
    // body's block, before its locals are dropped. A tail expression is
    // kept type-checked against the fall-off type (so `42` where a
    // `co_return!(42)` belongs is still an error).
    let mut stmts = body.stmts.clone();
    if let Some(Stmt::Expr(tail, None)) = stmts.last() {
        let tail = tail.clone();
        let tail_span = tail.span();
        let tail_ty = quote_spanned! {tail_span=> #krate::__private::FallOff<#promise> };
        let binding = Ident::new("__coro_tail", Span::mixed_site());
        *stmts.last_mut().expect("non-empty") = syn::parse_quote_spanned! {tail_span=>
            #[allow(clippy::diverging_sub_expression)]
            let #binding: #tail_ty = #tail;
        };
    }
    stmts.push(syn::parse_quote_spanned! {close_span=> #[allow(unreachable_code)] #co.fall_off_end(); });
    let body_block = Block { brace_token: item.block.brace_token, stmts };
    let body_span = item.block.brace_token.span.join();

    let outlives: Vec<TokenStream> = if f.ret_lifetimes.is_empty() {
        vec![
            quote_spanned! {ret.span()=> #krate::__private::assert_frame_outlives::<'static, #promise, _, _, _>(&#make as *const _); },
        ]
    } else {
        f.ret_lifetimes
            .iter()
            .map(|l| quote_spanned! {l.span()=> #krate::__private::assert_frame_outlives::<#l, #promise, _, _, _>(&#make as *const _); })
            .collect()
    };

    let attrs = &item.attrs;
    let vis = &item.vis;
    let file_line = quote_spanned! {fn_span=> ::core::file!(), (::core::line!(), ::core::column!()) };
    let end_line = quote_spanned! {close_span=> (::core::line!(), ::core::column!()) };
    let end_ty = quote_spanned! {body_span=> #krate::__private::FallOff<#promise> };

    quote! {
        #(#attrs)*
        #[allow(unused_mut, clippy::needless_return, clippy::let_unit_value, clippy::unused_unit)]
        #vis #sig {
            static #info: #krate::__private::CoroutineInfo =
                #krate::__private::CoroutineInfo::new(#name, #file_line, #final_index, #end_line, &#info);
            let #make = #krate::__private::body::<#promise, _, _, _>(
                move |#ramp_ctx: &mut #krate::__private::RampCtx<#promise>| {
                    #[allow(unused_imports)]
                    use #krate::__private::{
                        AllocateViaDefault as _, AllocateViaParams as _,
                        ConstructViaDefault as _, ConstructViaParams as _,
                    };
                    if !(&#krate::__private::ParamProbe::<#promise, _>::new((#(&#names,)*))).allocate(#ramp_ctx) {
                        return ::core::result::Result::Err((#(#names,)*));
                    }
                    (&#krate::__private::ParamProbe::<#promise, _>::new((#(&mut #names,)*))).construct(#ramp_ctx);
                    let #co = #ramp_ctx.co();
                    ::core::result::Result::Ok(async move {
                        #(#rebinds)*
                        #[allow(unreachable_code)]
                        let #end: #end_ty = #body_block;
                    })
                },
            );
            #(#outlives)*
            #krate::__private::ramp::<#promise, _, _, _, _>(&#info, #make)
        }
    }
}
