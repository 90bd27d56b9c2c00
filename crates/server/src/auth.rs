//! Who may write: `Authorization: Bearer <token>`, looked up by the token's
//! SHA-256 among active API clients, whose scopes (expanded through the
//! tree status roles and the configured ones) must grant the action's scope.
//!
//! A handler states what it needs in its signature (`Writer<UpdateTrees>`),
//! and the extractor runs before the body is read, so an unauthenticated
//! request never gets its body parsed or its errors shown. Reads take no
//! `Writer` and are anonymous. A handler whose scope depends on the request
//! (a job's task) takes a [`Client`] and checks the scope itself, before it
//! does anything else.

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use fleetroll_core::scopes::{self, TreeAction};

use crate::error::{ApiError, Unauthorized};
use crate::state::AppState;

/// An action a write needs a scope for, as a type.
pub trait Action: Send + Sync + 'static {
    const ACTION: TreeAction;
}

macro_rules! actions {
    ($($name:ident),*) => {$(
        #[doc = concat!("Needs the scope of `TreeAction::", stringify!($name), "`.")]
        #[derive(Debug)]
        pub enum $name {}
        impl Action for $name {
            const ACTION: TreeAction = TreeAction::$name;
        }
    )*};
}
actions!(CreateTree, DeleteTree, UpdateTrees, RevertChanges);

/// The authenticated client of a write that its scopes allow.
#[derive(Debug)]
pub struct Writer<A> {
    caller: Caller,
    _action: PhantomData<A>,
}

/// The client behind a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    pub client: String,
}

impl Caller {
    /// The `who` of log rows, stack entries and audit records.
    pub fn who(&self) -> String {
        format!("client:{}", self.client)
    }
}

impl<A> Writer<A> {
    pub fn caller(&self) -> &Caller {
        &self.caller
    }
}

impl<A: Action> FromRequestParts<AppState> for Writer<A> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let client = Client::from_request_parts(parts, state).await?;
        if !state.scopes().allows(&client.held, A::ACTION) {
            return Err(ApiError::MissingScope { scope: state.scopes().required(A::ACTION) });
        }
        Ok(Writer { caller: client.caller, _action: PhantomData })
    }
}

/// An authenticated client and every scope it holds (roles expanded), for
/// handlers whose scope depends on the request: a job needs the scope of
/// its own task, which only the query names.
#[derive(Debug)]
pub struct Client {
    pub caller: Caller,
    pub held: Vec<String>,
}

impl FromRequestParts<AppState> for Client {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer_token(&parts.headers)?;
        let client = state
            .store()
            .client_by_token_hash(&scopes::token_hash(token))
            .await?
            .ok_or(ApiError::Unauthorized(Unauthorized::InvalidToken))?;
        let held = scopes::expand(&client.scopes, state.roles());
        Ok(Client { caller: Caller { client: client.name }, held })
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme in any case).
fn bearer_token(headers: &HeaderMap) -> Result<&str, ApiError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next().ok_or(ApiError::Unauthorized(Unauthorized::MissingHeader))?;
    let malformed = ApiError::Unauthorized(Unauthorized::MalformedHeader);
    if values.next().is_some() {
        return Err(malformed);
    }
    let text = value.to_str().map_err(|_| ApiError::Unauthorized(Unauthorized::MalformedHeader))?;
    let (scheme, token) = text.split_once(' ').ok_or(ApiError::Unauthorized(Unauthorized::MalformedHeader))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(char::is_whitespace) {
        return Err(malformed);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn bearer_tokens_are_read_or_refused() {
        let cases: [(&[&str], Result<&str, Unauthorized>); 9] = [
            (&["Bearer abc"], Ok("abc")),
            (&["bearer abc"], Ok("abc")),
            (&["Bearer  abc "], Ok("abc")),
            (&[], Err(Unauthorized::MissingHeader)),
            (&["Bearer"], Err(Unauthorized::MalformedHeader)),
            (&["Bearer "], Err(Unauthorized::MalformedHeader)),
            (&["Basic abc"], Err(Unauthorized::MalformedHeader)),
            (&["Bearer a b"], Err(Unauthorized::MalformedHeader)),
            (&["Bearer a", "Bearer b"], Err(Unauthorized::MalformedHeader)),
        ];
        for (values, expected) in cases {
            let mut headers = HeaderMap::new();
            for value in values {
                headers.append(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            }
            let got = bearer_token(&headers).map_err(|err| match err {
                ApiError::Unauthorized(why) => why,
                other => panic!("{other:?}"),
            });
            assert_eq!(got, expected, "{values:?}");
        }
    }
}
