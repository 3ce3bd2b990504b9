//! Lowering: the body's `co_await!`/`co_yield!`/`co_return!`/`?` become
//! calls into `coro::__private`, and the function becomes a ramp around a
//! private `async` block.

use proc_macro2::{Span, TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit_mut::{self, VisitMut};
use syn::{Block, Expr, FnArg, Ident, Macro, Pat, Path, Stmt, Token, Type};

use crate::args::Args;
use crate::diagnostics;
use crate::parse::{is_coroutine, CoroutineFn};

/// The coroutine keywords, by the last segment of the macro's path.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    Await,
    Yield,
    Return,
}

impl Keyword {
    pub fn name(self) -> &'static str {
        match self {
            Keyword::Await => "co_await",
            Keyword::Yield => "co_yield",
            Keyword::Return => "co_return",
        }
    }

    pub fn from_ident(ident: &Ident) -> Option<Keyword> {
        match ident.to_string().as_str() {
            "co_await" => Some(Keyword::Await),
            "co_yield" => Some(Keyword::Yield),
            "co_return" => Some(Keyword::Return),
            _ => None,
        }
    }
}

fn keyword(mac: &Macro) -> Option<Keyword> {
    Keyword::from_ident(&mac.path.segments.last()?.ident)
}

/// Where a keyword is when it is not directly in the coroutine's body: the
/// construct that separates it from the coroutine (the outermost one).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Barrier {
    Closure,
    AsyncBlock,
    ConstBlock,
    Const,
    Static,
    NestedFn,
    NestedItem,
}

/// Rewrites a coroutine body in place.
///
/// A mistake in the body becomes a `compile_error!` *in place of the
/// offending expression*: the rest of the body is still lowered and
/// type-checked, so one mistake gives one error, every import the body uses
/// stays used, and an IDE still sees the types of the locals.
pub struct BodyLowering<'a> {
    krate: &'a Path,
    /// The hygienic name of the body's `Co` token.
    co: Ident,
    /// Suspension points numbered so far.
    points: u32,
    /// Set while visiting code that belongs to the body's text but not to
    /// the coroutine (a closure, a nested `fn`, a `const`, ...).
    barrier: Option<Barrier>,
    /// The body of an `InlineGenerator` (`inline.rs`): a `co_yield!` builds
    /// its `InlineYield<T>` itself, through no promise member a user could
    /// implement, since the frame's resume reads the parked awaiter as
    /// that type; a `co_await!` is an error.
    inline: bool,
}

impl<'a> BodyLowering<'a> {
    pub fn new(krate: &'a Path) -> Self {
        BodyLowering { krate, co: co_ident(), points: 0, barrier: None, inline: false }
    }

    /// Lowers the body of an inline generator (see the `inline` field).
    pub fn for_inline_generator(mut self) -> Self {
        self.inline = true;
        self
    }

    /// How many `co_await!`/`co_yield!` points the body has.
    pub fn points(&self) -> u32 {
        self.points
    }

    /// The `Co` token for a keyword at `span`.
    ///
    /// The name is hygienic (mixed-site), so user code cannot see or shadow
    /// it; it is passed through `__private::at(..)`, a call at the user's
    /// span, so that rustc, which blames this argument when the promise lacks
    /// a capability, points at the keyword rather than at the attribute.
    fn co_at(&self, span: Span) -> TokenStream {
        let mut co = self.co.clone();
        co.set_span(co.span().located_at(span));
        let krate = respan_path(self.krate, span);
        quote_spanned!(span=> #krate::__private::at(#co))
    }

    /// An expression that reports `message` at `span` and type-checks as
    /// anything (it diverges). `keep` is user code that would otherwise
    /// vanish: it is still type-checked (never run), so its imports stay used
    /// and its own mistakes are still reported.
    fn error_expr(&self, span: Span, message: &str, used: Option<&Path>, keep: &[Expr]) -> Expr {
        let used = used.map(|path| quote_spanned! {span=> #path!(@__coro_lowered); });
        let keep = keep.iter().map(|e| quote_spanned! {span=> let _ = #e; });
        let error = diagnostics::error_tokens(span, message);
        // Diverges, like the keyword it replaces often would: no second
        // error about what the body evaluates to.
        parse_expr(quote_spanned! {span=> { #used #(#keep)* #error; ::core::unreachable!() } })
    }

    /// The operands of a keyword macro, parsed as comma-separated expressions.
    fn operands(&mut self, kw: Keyword, mac: &Macro) -> Result<Vec<Expr>, Box<Expr>> {
        match mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated) {
            Ok(args) => Ok(args.into_iter().collect()),
            Err(e) => {
                let message = diagnostics::bad_operand(kw.name(), &e.to_string());
                Err(Box::new(self.error_expr(e.span(), &message, Some(&mac.path), &[])))
            }
        }
    }

    /// The expression a coroutine keyword macro becomes.
    fn lower_keyword(&mut self, kw: Keyword, mac: &Macro) -> Expr {
        let span = mac.path.span();
        let mut operands = match self.operands(kw, mac) {
            Ok(o) => o,
            Err(e) => return *e,
        };
        let second = operands.get(1).map_or_else(|| mac.span(), Spanned::span);
        let misuse = match (self.barrier, kw, operands.len()) {
            (Some(barrier), _, _) => Some((mac.span(), diagnostics::keyword_outside(kw.name(), barrier))),
            (None, Keyword::Await, _) if self.inline => {
                Some((mac.span(), diagnostics::INLINE_GENERATOR_CO_AWAIT.to_owned()))
            }
            (None, Keyword::Return, 0) | (None, _, 1) => None,
            (None, Keyword::Return, _) => Some((second, diagnostics::CO_RETURN_ARITY.to_owned())),
            (None, _, 0) => Some((mac.span(), diagnostics::missing_operand(kw.name()))),
            (None, _, _) => Some((second, diagnostics::extra_operand(kw.name()))),
        };
        if let Some((span, message)) = misuse {
            for operand in &mut operands {
                self.visit_expr_mut(operand);
            }
            return self.error_expr(span, &message, Some(&mac.path), &operands);
        }
        let operand = operands.pop();
        // Errors in the lowered calls point at the user's keyword.
        let krate = &respan_path(self.krate, span);
        let co = self.co_at(span);
        let path = &mac.path;
        let used = quote_spanned! {span=> #path!(@__coro_lowered); };
        let tokens = match (kw, operand) {
            (Keyword::Return, Some(mut value)) => {
                self.visit_expr_mut(&mut value);
                quote_spanned! {span=> { #used #krate::__private::return_value(#value, #co); return; } }
            }
            (Keyword::Return, None) => quote_spanned! {span=> { #used #krate::__private::return_void(#co); return; } },
            (_, None) => unreachable_operand(),
            (Keyword::Await | Keyword::Yield, Some(mut operand)) => {
                self.points += 1;
                let index = self.points;
                self.visit_expr_mut(&mut operand);
                let record = format_ident!("__CoroPoint{}", index, span = Span::mixed_site().located_at(span));
                let info = info_ident();
                let (kind, point) = if kw == Keyword::Await {
                    // The operand's `operator co_await`: its `IntoAwaiter`,
                    // else a `FutureAwaiter` for a future (see `AwaitProbe`).
                    // The call lets the operand be a struct literal.
                    let operand_var = Ident::new("__coro_operand", Span::mixed_site().located_at(span));
                    let awaitable = quote_spanned! {span=>
                        match #krate::__private::operand(#operand) {
                            #operand_var => {
                                #[allow(unused_imports)]
                                use #krate::__private::{ViaAwaiter as _, ViaFuture as _, ViaOther as _};
                                (&&#krate::__private::AwaitProbe::of(&#operand_var))
                                    .__coro_await_kind()
                                    .wrap(#operand_var)
                            }
                        }
                    };
                    // A ready awaiter's value comes straight from the call;
                    // only a suspending one is awaited.
                    // The `match` is a `let` statement of its own, so that
                    // its scrutinee is gone before the `.await` and does not
                    // take room in the frame.
                    let value = Ident::new("__coro_value", Span::mixed_site());
                    let parked = Ident::new("__coro_parked", Span::mixed_site());
                    // Numbered: a `co_await!` in the operand has its own.
                    let label = syn::Lifetime {
                        apostrophe: Span::mixed_site(),
                        ident: format_ident!("__coro_await{}", index, span = Span::mixed_site()),
                    };
                    // The value leaves through one method call that spans
                    // the user's whole `co_await!(..)` (from the `co_await`
                    // token to the closing delimiter): a value of the wrong
                    // type is one error there, not one per path out of the
                    // labeled block, and rustc's `.to_string()`-style
                    // suggestion lands after the user's `co_await!(..)`.
                    let close = proc_macro2::Group::new(proc_macro2::Delimiter::Parenthesis, TokenStream::new());
                    let mut close = close;
                    close.set_span(mac.delimiter.span().close());
                    (
                        quote!(Await),
                        quote_spanned! {span=>
                            #krate::__private::Resumed(#label: {
                                let #parked = match #krate::__private::await_point(#awaitable, #co, #record) {
                                    #krate::__private::Awaited::Ready(#value) => break #label #value,
                                    #krate::__private::Awaited::Suspend(#parked) => #parked,
                                };
                                #parked.await
                            }).value #close
                        },
                    )
                } else if self.inline {
                    (
                        quote!(Yield),
                        quote_spanned! {span=> #krate::__private::inline_yield_point(#co, #operand, #record).await },
                    )
                } else {
                    (
                        quote!(Yield),
                        quote_spanned! {span=> #krate::__private::yield_point(#operand, #co, #record).await },
                    )
                };
                quote_spanned! {span=>
                    {
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
                        #used
                        #point
                    }
                }
            }
        };
        parse_expr(tokens)
    }

    /// `e?` inside the body: co_return the residual.
    fn lower_try(&mut self, operand: &Expr, span: Span) -> Expr {
        let krate = &respan_path(self.krate, span);
        let co = self.co_at(span);
        let value = Ident::new("__coro_value", Span::mixed_site());
        let residual = Ident::new("__coro_residual", Span::mixed_site());
        parse_expr(quote_spanned! {span=>
            match #krate::__private::branch(#operand) {
                ::core::ops::ControlFlow::Continue(#value) => #value,
                ::core::ops::ControlFlow::Break(#residual) => {
                    // `at(..)` spans the argument rustc blames at the `?`.
                    #krate::__private::return_value(
                        #krate::__private::FromResidual::from_residual(#krate::__private::at(#residual)),
                        #co,
                    );
                    return;
                }
            }
        })
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

    /// Visits `f` with `barrier` set, unless an outer one already is.
    fn behind(&mut self, barrier: Barrier, f: impl FnOnce(&mut Self)) {
        let outer = self.barrier;
        self.barrier = Some(outer.unwrap_or(barrier));
        f(self);
        self.barrier = outer;
    }
}

/// Never reached: only `co_return!` takes no operand, and it is matched first.
fn unreachable_operand() -> TokenStream {
    quote!(::core::unreachable!())
}

/// `path` with every token at `span`.
fn respan_path(path: &Path, span: Span) -> TokenStream {
    respan(quote!(#path), span)
}

/// `tokens` with every token at `span`.
pub fn respan(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|t| match t {
            TokenTree::Group(g) => {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                TokenTree::Group(group)
            }
            mut t => {
                t.set_span(span);
                t
            }
        })
        .collect()
}

/// Parses generated tokens as an expression. They are built from parsed
/// user expressions, so this cannot fail; if it ever did, the result is a
/// `compile_error!`, never a panic.
fn parse_expr(tokens: TokenStream) -> Expr {
    syn::parse2(tokens).unwrap_or_else(|e| {
        let error = e.to_compile_error();
        syn::parse_quote!({ #error })
    })
}

fn mentions_keyword(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|t| match t {
        TokenTree::Ident(i) => Keyword::from_ident(&i).is_some(),
        TokenTree::Group(g) => mentions_keyword(g.stream()),
        _ => false,
    })
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
            Expr::Try(t) if self.barrier.is_none() => {
                self.visit_expr_mut(&mut t.expr);
                let span = t.question_token.span;
                *expr = self.lower_try(&t.expr, span);
            }
            Expr::Return(r) if self.barrier.is_none() => {
                let span = r.return_token.span;
                let mut keep: Vec<Expr> = r.expr.iter().map(|e| (**e).clone()).collect();
                for e in &mut keep {
                    self.visit_expr_mut(e);
                }
                *expr = self.error_expr(span, diagnostics::PLAIN_RETURN, None, &keep);
            }
            Expr::Await(a) if self.barrier.is_none() => {
                let span = a.await_token.span;
                let mut keep = (*a.base).clone();
                self.visit_expr_mut(&mut keep);
                *expr = self.error_expr(span, diagnostics::DOT_AWAIT, None, &[keep]);
            }
            Expr::Closure(c) => self.behind(Barrier::Closure, |v| visit_mut::visit_expr_closure_mut(v, c)),
            Expr::Async(a) => self.behind(Barrier::AsyncBlock, |v| visit_mut::visit_expr_async_mut(v, a)),
            Expr::Const(c) => self.behind(Barrier::ConstBlock, |v| visit_mut::visit_expr_const_mut(v, c)),
            // `try` blocks (unstable) have their own `?`: left alone.
            Expr::TryBlock(_) => {}
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

    fn visit_item_mut(&mut self, item: &mut syn::Item) {
        // Nested items are not part of the coroutine: a keyword inside one
        // is an error, unless the item is a coroutine itself.
        let barrier = match item {
            syn::Item::Fn(f) if is_coroutine(&f.attrs) => return,
            syn::Item::Fn(_) => Barrier::NestedFn,
            syn::Item::Const(_) => Barrier::Const,
            syn::Item::Static(_) => Barrier::Static,
            syn::Item::Macro(_) => return,
            _ => Barrier::NestedItem,
        };
        self.behind(barrier, |v| visit_mut::visit_item_mut(v, item));
    }

    fn visit_impl_item_fn_mut(&mut self, f: &mut syn::ImplItemFn) {
        if !is_coroutine(&f.attrs) {
            self.behind(Barrier::NestedFn, |v| visit_mut::visit_impl_item_fn_mut(v, f));
        }
    }

    fn visit_trait_item_fn_mut(&mut self, f: &mut syn::TraitItemFn) {
        if !is_coroutine(&f.attrs) {
            self.behind(Barrier::NestedFn, |v| visit_mut::visit_trait_item_fn_mut(v, f));
        }
    }
}

/// The hygienic name of the `Co` token: user code cannot name it. Plain
/// `promise` because rustc names it in borrow errors ("lifetime `'1`
/// appears in the type of `promise`" when a yielded or returned reference
/// does not live long enough), where a generated-looking name would puzzle.
fn co_ident() -> Ident {
    Ident::new("promise", Span::mixed_site())
}

/// The name of the function's `CoroutineInfo` static.
fn info_ident() -> Ident {
    Ident::new("__CORO_INFO", Span::mixed_site())
}

/// The name of the type that supplies the `CoroutineInfo` static to the
/// ramp at compile time: `coroutine_<name>`, because rustc prints it when
/// the frame is not `Send` ("within `Framed<{async block@..},
/// coroutine_holds_rc>`"), where it says whose frame that is. A braced
/// struct, so it names a type only: a call of a function of that name in
/// the body still finds the function.
fn info_type_ident(fn_ident: &Ident) -> Ident {
    Ident::new(&format!("coroutine_{}", syn::ext::IdentExt::unraw(fn_ident)), Span::mixed_site())
}

/// `assert_frame_outlives::<'l, ..>(&make)`, spanned at `span` (the braces
/// make the argument the user's span, so the borrow checker points there).
fn outlives_assertion(krate: &Path, promise: &Type, make: &Ident, lifetime: &TokenStream, span: Span) -> TokenStream {
    let krate = respan_path(krate, span);
    let lifetime = respan(lifetime.clone(), span);
    quote_spanned! {span=>
        #krate::__private::assert_frame_outlives::<#lifetime, #promise, _, _, _>(#krate::__private::at(&#make as *const _));
    }
}

/// Whether a parameter type visibly has no drop glue: `Some(false)` for
/// references and raw pointers, `Some(true)` for the primitive scalar names
/// (which a user type could shadow, so the caller asserts it at compile
/// time), `None` otherwise.
fn no_drop_glue(ty: &Type) -> Option<bool> {
    match ty {
        Type::Reference(_) | Type::Ptr(_) => Some(false),
        Type::Paren(p) => no_drop_glue(&p.elem),
        Type::Path(p) if p.qself.is_none() && p.path.leading_colon.is_none() => {
            let name = p.path.get_ident()?.to_string();
            const SCALARS: [&str; 16] = [
                "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64",
                "bool", "char",
            ];
            SCALARS.contains(&name.as_str()).then_some(true)
        }
        _ => None,
    }
}

/// The body's tail expression, as the user wrote it, when it is certainly
/// a value (its type can be neither `()` nor `!`): a literal, an operator
/// that computes a value, a cast, a reference, an array, a tuple, a struct
/// literal, a range or a closure. Calls, paths, blocks, `if`, `match`,
/// loops and macros may be `()` or diverge, and are left to the type check.
fn value_tail(block: &Block) -> Option<&Expr> {
    fn certain(expr: &Expr) -> bool {
        use syn::{BinOp, UnOp};
        match expr {
            Expr::Lit(_)
            | Expr::Cast(_)
            | Expr::Reference(_)
            | Expr::Array(_)
            | Expr::Repeat(_)
            | Expr::Struct(_)
            | Expr::Range(_)
            | Expr::Closure(_) => true,
            Expr::Tuple(t) => !t.elems.is_empty(),
            Expr::Unary(u) => matches!(u.op, UnOp::Neg(_) | UnOp::Not(_)),
            Expr::Binary(b) => !matches!(
                b.op,
                BinOp::AddAssign(_)
                    | BinOp::SubAssign(_)
                    | BinOp::MulAssign(_)
                    | BinOp::DivAssign(_)
                    | BinOp::RemAssign(_)
                    | BinOp::BitXorAssign(_)
                    | BinOp::BitAndAssign(_)
                    | BinOp::BitOrAssign(_)
                    | BinOp::ShlAssign(_)
                    | BinOp::ShrAssign(_)
            ),
            Expr::Paren(p) => certain(&p.expr),
            _ => false,
        }
    }
    match block.stmts.last() {
        Some(Stmt::Expr(tail, None)) if certain(tail) => Some(tail),
        _ => None,
    }
}

/// The user's expression as text for a message: its source text when the
/// compiler has it, else its tokens with the spaces `to_string` puts in
/// tidied up.
fn snippet(expr: &Expr) -> String {
    let tokens = quote!(#expr);
    let mut trees = tokens.clone().into_iter();
    let first = trees.next().map(|t| t.span());
    let last = tokens.into_iter().last().map(|t| t.span());
    let source = match (first, last) {
        (Some(a), Some(b)) => a.join(b).and_then(|s| s.source_text()),
        _ => None,
    };
    source.unwrap_or_else(|| {
        let text = quote!(#expr).to_string();
        let mut out = String::with_capacity(text.len());
        for (i, c) in text.char_indices() {
            let next = text[i + c.len_utf8()..].chars().next();
            let prev = out.chars().last();
            let tight = c == ' '
                && (matches!(next, Some('(' | ')' | '.' | ',' | ']' | '?' | ':'))
                    || matches!(prev, Some('(' | '[' | '.' | '&' | '!' | ':')));
            if !tight {
                out.push(c);
            }
        }
        out
    })
}

/// Builds the ramp. `body` has already been lowered by `lowering`.
pub fn ramp(args: &Args, f: &CoroutineFn, body: &Block, points: u32) -> TokenStream {
    let krate = &args.krate;
    let item = &f.item;
    let ret = &f.ret;
    let promise: Type = match &args.promise {
        Some(p) => p.clone(),
        None => {
            let krate = respan_path(krate, ret.span());
            syn::parse_quote_spanned! {ret.span()=> <#ret as #krate::CoroutineTraits>::Promise }
        }
    };

    // Parameters: every one gets a `mut` binding in the ramp (the promise
    // constructor may change it) and is moved into the body.
    let mut sig = item.sig.clone();
    let mut names: Vec<TokenStream> = Vec::new();
    let mut rebinds: Vec<TokenStream> = Vec::new();
    let mut guards: Vec<TokenStream> = Vec::new();
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
                        match no_drop_glue(&pt.ty) {
                            // The body uses the captured parameter itself: a
                            // local copy would take a second place in the
                            // frame and a copy per call. Only for types
                            // without drop glue, whose drop order (captures
                            // drop after the body's locals, in declaration
                            // order) cannot be observed.
                            Some(check) => {
                                let ty = &pt.ty;
                                if check {
                                    guards.push(quote! { #krate::__private::assert_no_drop_glue::<#ty>(); });
                                }
                                rebinds.push(quote_spanned! {span=> let _ = &#id; });
                            }
                            None => rebinds.push(quote_spanned! {span=> #[allow(unused_mut)] let mut #id = #id; }),
                        }
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
    let info_type = info_type_ident(&sig.ident);
    let ramp_ctx = Ident::new("__coro_ramp", Span::mixed_site());
    let make = Ident::new("__coro_make", Span::mixed_site());
    let end = Ident::new("__coro_end", Span::mixed_site());
    let name = sig.ident.to_string();
    let fn_span = sig.ident.span();
    let close_span = item.block.brace_token.span.close();
    let final_index = points + 1;
    // Flowing off the end is `co_return;`: `return_void()` runs inside the
    // body's block, before its locals are dropped. The block must have the
    // fall-off type: `()` when the promise has `return_void`, the
    // uninhabited `MissingCoReturn` when every path must end in
    // `co_return!(value)` (C++: flowing off the end is then undefined
    // behaviour). The type is spanned on the return type ("expected due to
    // this") and the block on its closing brace, where it falls off.
    let end_ty = {
        // The path is marked as generated (lints skip it) but located at
        // the return type; the promise type keeps its own spans, so that a
        // return type without one is reported once, where it is named.
        let fall_off = respan_path(krate, Span::call_site().located_at(ret.span()));
        quote_spanned! {Span::call_site().located_at(ret.span())=> #fall_off::__private::FallOff<#promise> }
    };
    let mut stmts = body.stmts.clone();
    let tail = match stmts.last() {
        Some(Stmt::Expr(_, None)) => match stmts.pop() {
            Some(Stmt::Expr(tail, None)) => Some(tail),
            _ => None,
        },
        _ => None,
    };
    let fall_off: Stmt = syn::parse_quote_spanned! {close_span=> #[allow(unreachable_code)] #co.fall_off_end(); };
    match tail {
        // A tail expression is the value of a `return_void` body (`()`,
        // e.g. a trailing `for` loop); anywhere else it is an error,
        // reported once, at the tail.
        // A tail that is certainly a value (neither `()` nor `!`, e.g.
        // `v + 1`) is an error in every coroutine: say what to write.
        Some(tail) if value_tail(&item.block).is_some() => {
            let original = value_tail(&item.block).unwrap_or(&tail);
            let message = diagnostics::tail_value(&snippet(original));
            let error = syn::Error::new_spanned(original, message).to_compile_error();
            // The tail is still type-checked (never run); the block diverges,
            // so it causes no second error.
            stmts.push(Stmt::Expr(
                syn::parse_quote_spanned! {close_span=> {
                    #[allow(unreachable_code, clippy::diverging_sub_expression)]
                    let _ = #tail;
                    #error;
                    ::core::unreachable!()
                }},
                None,
            ));
        }
        Some(tail) => {
            let binding = Ident::new("__coro_tail", Span::mixed_site());
            // A path, field or index (`v`, `s.total`) cannot diverge: it is
            // checked through a trait whose message says what to write,
            // rather than as a mismatch with the fall-off type.
            let value = match &tail {
                Expr::Path(_) | Expr::Field(_) | Expr::Index(_) => {
                    let krate = respan_path(krate, tail.span());
                    quote_spanned! {tail.span()=> #krate::__private::tail_value(#tail) }
                }
                _ => quote!(#tail),
            };
            stmts.push(syn::parse_quote_spanned! {tail.span()=>
                #[allow(clippy::diverging_sub_expression)]
                let #binding: #end_ty = #value;
            });
            stmts.push(fall_off);
            stmts.push(Stmt::Expr(syn::parse_quote!(#binding), None));
        }
        None => stmts.push(fall_off),
    }
    let body_block = Block { brace_token: syn::token::Brace(close_span), stmts };

    // The frame (parameters and locals) must outlive every lifetime of the
    // return type, or `'static` if it names none: a borrowed parameter must
    // not dangle (C++'s dangling reference parameter). The common cases are
    // rejected earlier from the signature; this catches the rest, at the
    // lifetime (or return type) the frame has to outlive.
    let outlives: Vec<TokenStream> = if f.ret_lifetimes.is_empty() {
        vec![outlives_assertion(krate, &promise, &make, &quote!('static), ret.span())]
    } else {
        f.ret_lifetimes.iter().map(|l| outlives_assertion(krate, &promise, &make, &quote!(#l), l.span())).collect()
    };

    let attrs = &item.attrs;
    let vis = &item.vis;
    let file_line = quote_spanned! {fn_span=> ::core::file!(), (::core::line!(), ::core::column!()) };
    let end_line = quote_spanned! {close_span=> (::core::line!(), ::core::column!()) };

    // Overload resolution for the promise's allocation function and
    // constructor (C++ `operator new(size_t, Args&...)`, `promise_type(Args&...)`).
    // A promise that cannot be constructed is reported at the type that
    // named it.
    // Each parameter's borrow is spanned on the parameter, so that a promise
    // that would keep one ("argument requires that borrow lasts for
    // `'static`") is reported there and not at the attribute.
    let shared: Vec<TokenStream> = names.iter().map(|n| quote_spanned! {n.span()=> &#n}).collect();
    let unique: Vec<TokenStream> = names.iter().map(|n| quote_spanned! {n.span()=> &mut #n}).collect();
    let allocate = quote! {
        (&#krate::__private::ParamProbe::of(#ramp_ctx, (#(#shared,)*))).allocate(#ramp_ctx)
    };
    let construct_span = args.promise.as_ref().map_or_else(|| ret.span(), |p| p.span());
    let construct = {
        let krate = respan_path(krate, construct_span);
        quote_spanned! {construct_span=>
            (&#krate::__private::ParamProbe::of(#krate::__private::at(&*#ramp_ctx), (#(#unique,)*)))
                .construct(#krate::__private::at(&mut *#ramp_ctx))
        }
    };
    // The frame's body, an `async` block. Spanned at the return type: when
    // the frame would outlive a borrowed parameter, the borrow checker
    // blames this value ("returning this value requires that ...").
    let frame_body = {
        let span = ret.span();
        // A body with suspension points first tells the resume loop that it
        // starts rather than resumes (`__private::Started`); one without
        // any has no point to tell, and no extra state in its dispatch.
        let started = (points > 0).then(|| quote! { #krate::__private::started().await; });
        let inner = quote! {
            #started
            #(#rebinds)*
            #[allow(unreachable_code)]
            let #end: #end_ty = #body_block;
        };
        let mut inner = proc_macro2::Group::new(proc_macro2::Delimiter::Brace, inner);
        inner.set_span(span);
        quote_spanned! {span=> ::core::result::Result::Ok(async move #inner) }
    };
    // What the call returns: errors about the return object (it does not
    // convert to the declared type, it would outlive a borrowed parameter)
    // point at the declared return type.
    let ramp_call = {
        let span = ret.span();
        let krate = respan_path(krate, span);
        quote_spanned! {span=>
            #krate::__private::ramp::<#promise, _, _, _, _, _>(#krate::__private::at(#info_type {}), #krate::__private::at(#make))
        }
    };
    quote! {
        #(#attrs)*
        #[allow(unused_mut, clippy::needless_return, clippy::let_unit_value, clippy::unused_unit, clippy::result_large_err)]
        #vis #sig {
            static #info: #krate::__private::CoroutineInfo =
                #krate::__private::CoroutineInfo::new(#name, #file_line, #final_index, #end_line, &#info);
            #[allow(non_camel_case_types)]
            struct #info_type {}
            impl #krate::__private::Info for #info_type {
                const INFO: &'static #krate::__private::CoroutineInfo = &#info;
            }
            let #make = #krate::__private::body::<#promise, _, _, _>(
                move |#ramp_ctx: &mut #krate::__private::RampCtx<#promise>| {
                    #[allow(unused_imports)]
                    use #krate::__private::{
                        AllocateViaDefault as _, AllocateViaParams as _,
                        ConstructViaDefault as _, ConstructViaParams as _,
                    };
                    if !#allocate {
                        return ::core::result::Result::Err((#(#names,)*));
                    }
                    #construct;
                    let #co = #ramp_ctx.co();
                    #frame_body
                },
            );
            #(#outlives)*
            #(#guards)*
            #ramp_call
        }
    }
}
