//! `#[coro::coroutine(...)]` arguments.

use proc_macro2::TokenStream;
use syn::parse::{Parse, ParseStream};
use syn::{Path, Token, Type};

use crate::diagnostics;

/// What the attribute was given.
pub struct Args {
    /// `promise = P`: the promise type, instead of `CoroutineTraits`.
    pub promise: Option<Type>,
    /// `crate = path`: the path of the `coro` facade (default `::coro`).
    pub krate: Path,
}

impl Parse for Args {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut promise = None;
        let mut krate = None;
        while !input.is_empty() {
            let key: syn::Ident = if input.peek(Token![crate]) {
                let kw: Token![crate] = input.parse()?;
                syn::Ident::new("crate", kw.span)
            } else {
                input.parse().map_err(|e| syn::Error::new(e.span(), diagnostics::ARGS_SHAPE))?
            };
            input.parse::<Token![=]>().map_err(|e| syn::Error::new(e.span(), diagnostics::ARGS_SHAPE))?;
            match key.to_string().as_str() {
                "promise" => {
                    if promise.is_some() {
                        return Err(syn::Error::new(key.span(), diagnostics::duplicate_arg("promise")));
                    }
                    promise =
                        Some(input.parse().map_err(|e| syn::Error::new(e.span(), diagnostics::ARG_PROMISE_VALUE))?);
                }
                "crate" => {
                    if krate.is_some() {
                        return Err(syn::Error::new(key.span(), diagnostics::duplicate_arg("crate")));
                    }
                    krate = Some(
                        input
                            .call(Path::parse_mod_style)
                            .map_err(|e| syn::Error::new(e.span(), diagnostics::ARG_CRATE_VALUE))?,
                    );
                }
                other => return Err(syn::Error::new(key.span(), diagnostics::unknown_arg(other))),
            }
            if !input.is_empty() {
                input.parse::<Token![,]>().map_err(|e| syn::Error::new(e.span(), diagnostics::ARGS_COMMA))?;
            }
        }
        Ok(Args { promise, krate: krate.unwrap_or_else(|| syn::parse_quote!(::coro)) })
    }
}

/// Parses the attribute's arguments.
pub fn parse(tokens: TokenStream) -> syn::Result<Args> {
    syn::parse2(tokens)
}
