//! The input model: a coroutine function, parsed and checked against the
//! rules C++ states for a coroutine's declaration.

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{FnArg, GenericParam, ItemFn, Lifetime, ReturnType, Signature, Type};

use crate::diagnostics;

/// A function `#[coro::coroutine]` accepted.
pub struct CoroutineFn {
    pub item: ItemFn,
    /// The declared return type.
    pub ret: Type,
    /// The named lifetimes of the return type: the frame must outlive each.
    pub ret_lifetimes: Vec<Lifetime>,
}

/// What to emit, besides the error, when the item is not a valid coroutine.
pub enum Fallback {
    /// A function: emit it with a body that type-checks as its return type,
    /// and that still mentions `keep` (types the signature no longer
    /// mentions, so that their imports stay used).
    Stub(Box<ItemFn>, TokenStream),
    /// Something else (a struct, a foreign function, ...): emit it as it was.
    Verbatim(TokenStream),
    /// Not an item: nothing to keep.
    Nothing,
}

/// Why the item is not a valid coroutine, and its fallback.
pub struct Rejected {
    pub error: syn::Error,
    pub fallback: Fallback,
}

/// Parses the item and checks its signature.
pub fn parse(item: TokenStream) -> Result<CoroutineFn, Box<Rejected>> {
    let f: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => return Err(Box::new(not_a_function(item))),
    };
    match check(&f) {
        Ok((ret, ret_lifetimes)) => Ok(CoroutineFn { item: f, ret, ret_lifetimes }),
        Err(error) => {
            let (f, keep) = stub_signature(f);
            Err(Box::new(Rejected { error, fallback: Fallback::Stub(Box::new(f), keep) }))
        }
    }
}

/// The item is not a function with a body: say what it is, and keep it.
fn not_a_function(item: TokenStream) -> Rejected {
    let span = item.clone().into_iter().next().map_or_else(Span::call_site, |t| t.span());
    let verbatim = Fallback::Verbatim(item.clone());
    // A declaration without a body: a trait method, or a foreign function.
    if let Ok(f) = syn::parse2::<syn::ForeignItemFn>(item.clone()) {
        let error = match &f.sig.variadic {
            Some(v) => syn::Error::new(v.span(), diagnostics::VARIADIC_FN),
            None => syn::Error::new(f.sig.fn_token.span, diagnostics::NO_BODY),
        };
        return Rejected { error, fallback: verbatim };
    }
    if let Ok(f) = syn::parse2::<syn::TraitItemFn>(item.clone()) {
        return Rejected { error: syn::Error::new(f.sig.fn_token.span, diagnostics::NO_BODY), fallback: verbatim };
    }
    let what = match syn::parse2::<syn::Item>(item) {
        Ok(item) => diagnostics::item_kind(&item),
        // Not an item at all (rustc never passes such tokens): no fallback.
        Err(_) => {
            let error = syn::Error::new(span, diagnostics::not_a_function(diagnostics::NOT_AN_ITEM));
            return Rejected { error, fallback: Fallback::Nothing };
        }
    };
    Rejected { error: syn::Error::new(span, diagnostics::not_a_function(what)), fallback: verbatim }
}

/// The signature C++ and Rust both accept for a coroutine, or the first rule
/// it breaks.
fn check(item: &ItemFn) -> syn::Result<(Type, Vec<Lifetime>)> {
    let sig = &item.sig;
    if let Some(again) = item.attrs.iter().find(|a| is_coroutine_attr(a)) {
        return Err(syn::Error::new(again.span(), diagnostics::DUPLICATE_ATTRIBUTE));
    }
    if let Some(c) = &sig.constness {
        return Err(syn::Error::new(c.span(), diagnostics::CONST_FN));
    }
    if let Some(a) = &sig.asyncness {
        return Err(syn::Error::new(a.span(), diagnostics::ASYNC_FN));
    }
    if let Some(v) = &sig.variadic {
        return Err(syn::Error::new(v.span(), diagnostics::VARIADIC_FN));
    }
    let has_receiver = sig.inputs.iter().any(|a| matches!(a, FnArg::Receiver(_)));
    if sig.ident == "main" && !has_receiver {
        return Err(syn::Error::new(sig.ident.span(), diagnostics::MAIN_FN));
    }
    let ret = match &sig.output {
        ReturnType::Default => return Err(syn::Error::new(sig.paren_token.span.close(), diagnostics::NO_RETURN_TYPE)),
        ReturnType::Type(_, ty) => (**ty).clone(),
    };
    let mut scan = ReturnScan { lifetimes: Vec::new(), error: None };
    scan.visit_type(&ret);
    if let Some(e) = scan.error {
        return Err(e);
    }
    check_borrowed_params(sig, &ret, &scan.lifetimes)?;
    Ok((ret, scan.lifetimes))
}

/// The frame keeps every parameter until the coroutine finishes, so a
/// borrowed parameter must live as long as the return object: its lifetime
/// must be named and be one the return type carries. Two cases are certain
/// from the signature alone (others are left to the borrow checker):
/// an elided lifetime (`&str`, `&self`, `'_`), which can never be related to
/// the return type's; and a named lifetime when the return type names none,
/// so that the return object may be kept forever.
fn check_borrowed_params(sig: &Signature, ret: &Type, ret_lifetimes: &[Lifetime]) -> syn::Result<()> {
    for arg in &sig.inputs {
        let (name, ty_span, elided, named) = match arg {
            FnArg::Receiver(r) => match &r.reference {
                // `&self`, `&'_ self`, `&'a self`.
                Some((and, None)) => ("self".to_owned(), and.span, Some(and.span), Vec::new()),
                Some((_, Some(l))) if l.ident == "_" => ("self".to_owned(), l.span(), Some(l.span()), Vec::new()),
                Some((_, Some(l))) => ("self".to_owned(), l.span(), None, vec![l.clone()]),
                // `self`, `self: &Self`, `self: Box<Self>`, ...
                None => {
                    let mut scan = ParamScan::default();
                    scan.visit_type(&r.ty);
                    ("self".to_owned(), r.ty.span(), scan.elided, scan.named)
                }
            },
            FnArg::Typed(pt) => {
                let mut scan = ParamScan::default();
                scan.visit_type(&pt.ty);
                (pt.pat.to_token_stream().to_string(), pt.ty.span(), scan.elided, scan.named)
            }
        };
        let ret_text = || tidy(&ret.to_token_stream().to_string());
        if let Some(span) = elided {
            return Err(syn::Error::new(span, diagnostics::elided_param_lifetime(&name, &ret_text())));
        }
        if ret_lifetimes.is_empty() {
            if let Some(l) = named.iter().find(|l| l.ident != "static" && !outlives_static(sig, l)) {
                let span = if named.len() == 1 { l.span() } else { ty_span };
                return Err(syn::Error::new(span, diagnostics::dangling_param(&name, &ret_text(), &l.to_string())));
            }
        }
    }
    Ok(())
}

/// Whether the function declares `'l: 'static`.
fn outlives_static(sig: &Signature, l: &Lifetime) -> bool {
    let declared = sig.generics.params.iter().any(|p| match p {
        GenericParam::Lifetime(def) => def.lifetime.ident == l.ident && def.bounds.iter().any(|b| b.ident == "static"),
        _ => false,
    });
    let in_where = sig.generics.where_clause.iter().flat_map(|w| &w.predicates).any(|p| match p {
        syn::WherePredicate::Lifetime(pl) => {
            pl.lifetime.ident == l.ident && pl.bounds.iter().any(|b| b.ident == "static")
        }
        _ => false,
    });
    declared || in_where
}

/// `Generator < char >` as the user wrote it: `Generator<char>`.
fn tidy(tokens: &str) -> String {
    let mut out = tokens.to_owned();
    for (from, to) in [(" < ", "<"), (" <", "<"), ("< ", "<"), (" >", ">"), (" , ", ", "), (" :: ", "::"), ("& ", "&")]
    {
        out = out.replace(from, to);
    }
    out
}

/// The lifetimes a parameter's type borrows with.
#[derive(Default)]
struct ParamScan {
    /// The first elided lifetime (`&T`, `'_`).
    elided: Option<Span>,
    /// The named lifetimes.
    named: Vec<Lifetime>,
}

impl<'ast> Visit<'ast> for ParamScan {
    fn visit_type_reference(&mut self, r: &'ast syn::TypeReference) {
        if r.lifetime.is_none() && self.elided.is_none() {
            self.elided = Some(r.and_token.span);
        }
        syn::visit::visit_type_reference(self, r);
    }
    fn visit_type_bare_fn(&mut self, _: &'ast syn::TypeBareFn) {
        // Lifetimes in `fn(&T)` are bound there, not borrowed by the frame.
    }
    fn visit_parenthesized_generic_arguments(&mut self, _: &'ast syn::ParenthesizedGenericArguments) {
        // Likewise `Fn(&T) -> &U`.
    }
    fn visit_type_impl_trait(&mut self, _: &'ast syn::TypeImplTrait) {
        // `impl Trait` parameters are generic: the borrow checker decides.
    }
    fn visit_type_trait_object(&mut self, t: &'ast syn::TypeTraitObject) {
        // `dyn Fn(&T)`: only the object's own lifetime bound counts.
        for bound in &t.bounds {
            if let syn::TypeParamBound::Lifetime(l) = bound {
                self.visit_lifetime(l);
            }
        }
    }
    fn visit_lifetime(&mut self, l: &'ast Lifetime) {
        if l.ident == "_" {
            if self.elided.is_none() {
                self.elided = Some(l.span());
            }
        } else if !self.named.iter().any(|x| x.ident == l.ident) {
            self.named.push(l.clone());
        }
    }
}

/// Collects the lifetimes a return type names, and rejects what cannot be
/// a coroutine's return type.
struct ReturnScan {
    lifetimes: Vec<Lifetime>,
    error: Option<syn::Error>,
}

impl<'ast> Visit<'ast> for ReturnScan {
    fn visit_type_impl_trait(&mut self, t: &'ast syn::TypeImplTrait) {
        self.error.get_or_insert_with(|| syn::Error::new(t.impl_token.span, diagnostics::IMPL_TRAIT_RETURN));
    }
    fn visit_type_reference(&mut self, r: &'ast syn::TypeReference) {
        if r.lifetime.is_none() {
            self.error.get_or_insert_with(|| syn::Error::new(r.and_token.span, diagnostics::ELIDED_LIFETIME));
        }
        syn::visit::visit_type_reference(self, r);
    }
    fn visit_type_bare_fn(&mut self, _: &'ast syn::TypeBareFn) {
        // Lifetimes in `fn(&'x T)` are bound there, not by the coroutine.
    }
    fn visit_lifetime(&mut self, l: &'ast Lifetime) {
        if l.ident == "_" {
            self.error.get_or_insert_with(|| syn::Error::new(l.span(), diagnostics::ELIDED_LIFETIME));
        } else if l.ident != "static" && !self.lifetimes.iter().any(|x| x.ident == l.ident) {
            self.lifetimes.push(l.clone());
        }
    }
}

/// Whether an item is itself a coroutine (`#[coro::coroutine]`, however
/// the path is spelled): its keywords are its own.
pub fn is_coroutine(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(is_coroutine_attr)
}

fn is_coroutine_attr(attr: &syn::Attribute) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == "coroutine")
}

/// The function as the fallback emits it: what its callers expect, minus
/// what makes the fallback itself an error (`async`, `const`, `main`'s
/// return type, a variadic parameter); and a statement mentioning what was
/// removed.
fn stub_signature(mut f: ItemFn) -> (ItemFn, TokenStream) {
    f.attrs.retain(|a| !is_coroutine_attr(a));
    f.sig.asyncness = None;
    f.sig.constness = None;
    f.sig.variadic = None;
    let mut keep = TokenStream::new();
    if f.sig.ident == "main" && !f.sig.inputs.iter().any(|a| matches!(a, FnArg::Receiver(_))) {
        if let ReturnType::Type(_, ty) = std::mem::replace(&mut f.sig.output, ReturnType::Default) {
            keep = quote::quote! { let _ = ::core::marker::PhantomData::<#ty>; };
        }
    }
    (f, keep)
}
