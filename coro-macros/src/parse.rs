//! The input model: a coroutine function, parsed and checked against the
//! rules C++ states for a coroutine's declaration.

use proc_macro2::TokenStream;
use syn::spanned::Spanned;
use syn::visit::Visit;
use syn::{FnArg, ItemFn, Lifetime, ReturnType, Type};

use crate::diagnostics;

/// A function `#[coro::coroutine]` accepted.
pub struct CoroutineFn {
    pub item: ItemFn,
    /// The declared return type.
    pub ret: Type,
    /// The named lifetimes of the return type: the frame must outlive each.
    pub ret_lifetimes: Vec<Lifetime>,
}

/// Parses the item; on failure returns the error and, if the item was a
/// function at all, the function (for the fallback expansion).
pub fn parse(item: TokenStream) -> Result<CoroutineFn, Box<(syn::Error, Option<ItemFn>)>> {
    let item: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(_) => {
            let span = item.clone().into_iter().next().map_or_else(proc_macro2::Span::call_site, |t| t.span());
            return Err(Box::new((syn::Error::new(span, diagnostics::NOT_A_FUNCTION), None)));
        }
    };
    match check(&item) {
        Ok((ret, ret_lifetimes)) => Ok(CoroutineFn { item, ret, ret_lifetimes }),
        Err(e) => Err(Box::new((e, Some(item)))),
    }
}

fn check(item: &ItemFn) -> syn::Result<(Type, Vec<Lifetime>)> {
    let sig = &item.sig;
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
    Ok((ret, scan.lifetimes))
}

/// Collects the lifetimes a return type names, and rejects what cannot be
/// a coroutine's return type.
struct ReturnScan {
    lifetimes: Vec<Lifetime>,
    error: Option<syn::Error>,
}

impl<'ast> Visit<'ast> for ReturnScan {
    fn visit_type_impl_trait(&mut self, t: &'ast syn::TypeImplTrait) {
        self.error.get_or_insert_with(|| syn::Error::new(t.span(), diagnostics::IMPL_TRAIT_RETURN));
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
