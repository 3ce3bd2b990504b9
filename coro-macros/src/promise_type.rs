//! `#[coro::promise_type]`: completes an `impl Promise for P` block with the
//! common choices for the members it leaves out, so that a custom promise
//! states only what is particular to it. Every member it fills in can still
//! be written by hand, and one that is written is left alone.
//!
//! | left out | filled in |
//! | --- | --- |
//! | `type ReturnObject` and `get_return_object` | a `UniqueCoroutineHandle<Self>` owning the frame |
//! | `type InitialSuspend` | `SuspendAlways` (the coroutine starts lazily) |
//! | `initial_suspend` | `Default::default()` of `InitialSuspend` |
//! | `type FinalSuspend` | `SuspendAlways` (the owner destroys the frame) |
//! | `final_suspend` | `Default::default()` of `FinalSuspend` |
//! | `type Await` | `AwaitDirect` (no `await_transform`) |
//! | `unhandled_exception` | `resume_unwind(payload)`, C++'s `throw;` |
//!
//! `type Return` (whether the promise has `return_value` or `return_void`)
//! has no default: it is the one choice C++ makes every promise spell out.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{ImplItem, ItemImpl, Path};

use crate::diagnostics;

/// Expands `#[coro::promise_type(args)] item`. Never panics: an error is a
/// `compile_error!` on the user's tokens, with the item passed on unchanged
/// (so one mistake gives one error).
pub fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let krate = match parse_args(args) {
        Ok(k) => k,
        Err(e) => return with_item(diagnostics::errors(&e), item),
    };
    let imp: ItemImpl = match syn::parse2(item.clone()) {
        Ok(imp) => imp,
        Err(e) => {
            let error = syn::Error::new(e.span(), diagnostics::PROMISE_TYPE_NOT_AN_IMPL);
            return with_item(diagnostics::errors(&error), item);
        }
    };
    match complete(imp, &krate) {
        Ok(tokens) => tokens,
        Err(e) => with_item(diagnostics::errors(&e), item),
    }
}

fn with_item(error: TokenStream, item: TokenStream) -> TokenStream {
    quote! { #error #item }
}

fn parse_args(args: TokenStream) -> syn::Result<Path> {
    if args.is_empty() {
        return Ok(syn::parse_quote!(::coro));
    }
    let parser = |input: syn::parse::ParseStream| -> syn::Result<Path> {
        input.parse::<syn::Token![crate]>()?;
        input.parse::<syn::Token![=]>()?;
        input.call(Path::parse_mod_style)
    };
    syn::parse::Parser::parse2(parser, args.clone())
        .map_err(|_| syn::Error::new(args.span(), diagnostics::PROMISE_TYPE_ARGS))
}

/// The names of the members the block already has.
struct Present {
    types: Vec<String>,
    fns: Vec<String>,
}

impl Present {
    fn of(imp: &ItemImpl) -> Present {
        let mut present = Present { types: Vec::new(), fns: Vec::new() };
        for item in &imp.items {
            match item {
                ImplItem::Type(t) => present.types.push(t.ident.to_string()),
                ImplItem::Fn(f) => present.fns.push(f.sig.ident.to_string()),
                _ => {}
            }
        }
        present
    }
    fn has_type(&self, name: &str) -> bool {
        self.types.iter().any(|t| t == name)
    }
    fn has_fn(&self, name: &str) -> bool {
        self.fns.iter().any(|f| f == name)
    }
}

fn complete(mut imp: ItemImpl, krate: &Path) -> syn::Result<TokenStream> {
    let is_promise = imp
        .trait_
        .as_ref()
        .is_some_and(|(bang, path, _)| bang.is_none() && path.segments.last().is_some_and(|s| s.ident == "Promise"));
    if !is_promise {
        return Err(syn::Error::new(imp.self_ty.span(), diagnostics::PROMISE_TYPE_NOT_AN_IMPL));
    }
    let present = Present::of(&imp);
    let span = imp.self_ty.span();
    let mut added: Vec<TokenStream> = Vec::new();
    // Without `type Return` the block is still completed (as if it had
    // `return_value`, which needs no other impl), so that the one error is
    // this one and not also every
    // use of the promise.
    let mut error = TokenStream::new();
    if !present.has_type("Return") {
        error = diagnostics::errors(&syn::Error::new(imp.brace_token.span.open(), diagnostics::PROMISE_TYPE_NO_RETURN));
        added.push(quote_spanned! {span=> type Return = #krate::promise::ReturnsValue; });
    }
    match (present.has_type("ReturnObject"), present.has_fn("get_return_object")) {
        (false, false) => {
            added.push(quote_spanned! {span=> type ReturnObject = #krate::UniqueCoroutineHandle<Self>; });
            added.push(quote_spanned! {span=>
                unsafe fn get_return_object(&mut self) -> Self::ReturnObject {
                    // SAFETY: the ramp calls this on the promise of the frame it
                    // has just built and owns; the handle becomes its only owner.
                    unsafe { #krate::UniqueCoroutineHandle::from_promise(self) }
                }
            });
        }
        (true, true) => {}
        _ => return Err(syn::Error::new(imp.brace_token.span.open(), diagnostics::PROMISE_TYPE_RETURN_OBJECT_PAIR)),
    }
    for (ty, f) in [("InitialSuspend", "initial_suspend"), ("FinalSuspend", "final_suspend")] {
        let ty_ident = syn::Ident::new(ty, span);
        let f_ident = syn::Ident::new(f, span);
        if !present.has_type(ty) {
            added.push(quote_spanned! {span=> type #ty_ident = #krate::SuspendAlways; });
        }
        if !present.has_fn(f) {
            added.push(quote_spanned! {span=>
                fn #f_ident(&mut self) -> Self::#ty_ident {
                    <Self::#ty_ident as ::core::default::Default>::default()
                }
            });
        }
    }
    if !present.has_type("Await") {
        added.push(quote_spanned! {span=> type Await = #krate::promise::AwaitDirect; });
    }
    if !present.has_fn("unhandled_exception") {
        added.push(quote_spanned! {span=>
            fn unhandled_exception(&mut self, payload: #krate::promise::Payload) {
                ::std::panic::resume_unwind(payload)
            }
        });
    }
    for tokens in added {
        imp.items.push(syn::parse2(tokens)?);
    }
    Ok(quote! { #error #imp })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expanded(item: TokenStream) -> String {
        expand(TokenStream::new(), item).to_string()
    }

    #[test]
    fn a_minimal_block_gets_every_common_member() {
        let out = expanded(quote! { impl Promise for P { type Return = ReturnsVoid; } });
        for member in [
            "type ReturnObject = :: coro :: UniqueCoroutineHandle < Self >",
            "unsafe fn get_return_object",
            "type InitialSuspend = :: coro :: SuspendAlways",
            "fn initial_suspend",
            "type FinalSuspend = :: coro :: SuspendAlways",
            "fn final_suspend",
            "type Await = :: coro :: promise :: AwaitDirect",
            "fn unhandled_exception",
        ] {
            assert!(out.contains(member), "missing `{member}` in {out}");
        }
    }

    #[test]
    fn members_written_by_hand_are_left_alone() {
        let out = expanded(quote! {
            impl Promise for P {
                type Return = ReturnsVoid;
                type InitialSuspend = SuspendNever;
                fn unhandled_exception(&mut self, p: Payload) { self.0 = Some(p) }
            }
        });
        assert!(!out.contains(":: coro :: SuspendAlways ; type FinalSuspend") && out.contains("SuspendNever"));
        assert_eq!(out.matches("type InitialSuspend").count(), 1);
        assert_eq!(out.matches("fn unhandled_exception").count(), 1);
        assert!(out.contains("fn initial_suspend"), "initial_suspend is still filled in: {out}");
    }

    #[test]
    fn a_block_without_return_is_one_error_and_still_completed() {
        let out = expanded(quote! { impl Promise for P {} });
        assert_eq!(out.matches("compile_error").count(), 1);
        assert!(out.contains("type Return = :: coro :: promise :: ReturnsValue"));
        assert!(out.contains("fn unhandled_exception"));
    }

    #[test]
    fn a_return_object_without_its_constructor_is_an_error() {
        let out = expanded(quote! { impl Promise for P { type Return = ReturnsVoid; type ReturnObject = Owner; } });
        assert_eq!(out.matches("compile_error").count(), 1);
        assert!(out.contains("get_return_object"));
    }

    #[test]
    fn only_impl_promise_blocks_are_accepted() {
        assert_eq!(expanded(quote! { impl Other for P {} }).matches("compile_error").count(), 1);
        assert_eq!(expanded(quote! { struct P; }).matches("compile_error").count(), 1);
    }
}
