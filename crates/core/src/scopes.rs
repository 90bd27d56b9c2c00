//! Taskcluster scope semantics (reference §A.5) and the scopes of the tree
//! status API (§C.4), plus the tokens API clients present.
//!
//! A scope is a string; a held scope ending in `*` stands for every scope
//! that starts with what precedes the star. `assume:<role>` grants a role's
//! scopes, expanded before any check. Required scopes come as sets
//! (OR of ANDs): holding every scope of any one set is enough.
//!
//! Not implemented: Taskcluster's parameterised roles (`<..>` in a role's
//! scopes); fleetroll's roles are plain lists.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine as _;

use crate::humanhash::sha256_hex;

/// Whether a held scope grants `required`: the same string, or a star
/// scope whose prefix `required` starts with.
pub fn grants(held: &str, required: &str) -> bool {
    match held.strip_suffix('*') {
        Some(prefix) => required.starts_with(prefix),
        None => held == required,
    }
}

/// Whether any of `held` grants `required` (no role expansion: expand first).
pub fn satisfies(held: &[String], required: &str) -> bool {
    held.iter().any(|scope| grants(scope, required))
}

/// Whether `held` grants every scope of `required`.
pub fn satisfies_all(held: &[String], required: &[String]) -> bool {
    required.iter().all(|scope| satisfies(held, scope))
}

/// Whether `held` satisfies any one set of `sets` (OR of ANDs). No sets at
/// all is never satisfied: an endpoint that lists nothing is closed, not open.
pub fn satisfies_any(held: &[String], sets: &[Vec<String>]) -> bool {
    sets.iter().any(|set| satisfies_all(held, set))
}

/// Roles by id: the scopes each grants.
pub type Roles = BTreeMap<String, Vec<String>>;

/// Every scope `held` grants, roles expanded transitively and sorted.
///
/// A held scope grants role `R` when it grants `assume:R` (so `assume:p*`
/// and `*` reach every role whose id starts with `p`), or, for a role id
/// ending in `*`, when the held scope is an `assume:` of anything matching
/// that prefix (Taskcluster's `repo:github.com/org/*` roles). Each role
/// expands once, so cycles end.
pub fn expand(held: &[String], roles: &Roles) -> Vec<String> {
    let mut granted: BTreeSet<String> = BTreeSet::new();
    let mut expanded: BTreeSet<&str> = BTreeSet::new();
    let mut pending: Vec<String> = held.to_vec();
    while let Some(scope) = pending.pop() {
        for (role, scopes) in roles {
            if !expanded.contains(role.as_str()) && assumes(&scope, role) {
                expanded.insert(role);
                pending.extend(scopes.iter().cloned());
            }
        }
        granted.insert(scope);
    }
    granted.into_iter().collect()
}

/// Whether `scope` lets its holder assume `role`.
fn assumes(scope: &str, role: &str) -> bool {
    let assume_role = format!("assume:{role}");
    if grants(scope, &assume_role) {
        return true;
    }
    match assume_role.strip_suffix('*') {
        Some(prefix) => scope.starts_with(prefix),
        None => false,
    }
}

/// `scopes` without those another of them already grants (`a:b` beside
/// `a:*`), sorted: the shortest equivalent list, for display.
pub fn normalize(scopes: &[String]) -> Vec<String> {
    let unique: BTreeSet<&String> = scopes.iter().collect();
    unique
        .iter()
        .filter(|scope| !unique.iter().any(|other| other != *scope && grants(other, scope)))
        .map(|scope| (*scope).clone())
        .collect()
}

/// A scope is printable ASCII, as Taskcluster requires.
pub fn validate_scope(scope: &str) -> Result<(), String> {
    if scope.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
        Ok(())
    } else {
        Err(format!("scope {scope:?} must be printable ASCII"))
    }
}

/// An API client's name: 1 to 128 of the characters Taskcluster allows in a
/// client id, so a name can be shown and logged without escaping.
pub fn validate_client_name(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || "@/:._+|-".contains(c);
    if name.is_empty() || name.len() > 128 || !name.chars().all(allowed) {
        return Err(format!("client name {name:?} must be 1 to 128 letters, digits or any of @ / : . _ + | -"));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Tree status scopes

/// The prefix of the tree status scopes unless configured otherwise.
pub const DEFAULT_TREESTATUS_PREFIX: &str = "project:fleetroll:treestatus";

/// What a tree status write needs a scope for (§C.4). Reads need none.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TreeAction {
    /// `PUT /trees/{tree}`.
    CreateTree,
    /// `DELETE /trees/{tree}`, `DELETE /trees2`.
    DeleteTree,
    /// `PATCH /trees`, `PATCH /log/{id}`.
    UpdateTrees,
    /// `PATCH /stack/{id}`, `DELETE /stack/{id}`, `DELETE /stack2/…`.
    RevertChanges,
}

impl TreeAction {
    pub const ALL: [TreeAction; 4] =
        [TreeAction::CreateTree, TreeAction::DeleteTree, TreeAction::UpdateTrees, TreeAction::RevertChanges];

    fn suffix(self) -> &'static str {
        match self {
            TreeAction::CreateTree => "trees/create",
            TreeAction::DeleteTree => "trees/delete",
            TreeAction::UpdateTrees => "trees/update",
            TreeAction::RevertChanges => "recent_changes/revert",
        }
    }
}

/// The tree status scopes under one prefix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TreeScopes {
    prefix: String,
}

impl Default for TreeScopes {
    fn default() -> Self {
        TreeScopes::new(DEFAULT_TREESTATUS_PREFIX)
    }
}

impl TreeScopes {
    /// Scopes under `prefix` (a trailing `/` is dropped).
    pub fn new(prefix: &str) -> TreeScopes {
        TreeScopes { prefix: prefix.trim_end_matches('/').to_owned() }
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The scope `action` requires, e.g. `project:fleetroll:treestatus/trees/update`.
    pub fn required(&self, action: TreeAction) -> String {
        format!("{}/{}", self.prefix, action.suffix())
    }

    /// The role every tree status scope comes with.
    pub fn admin_role(&self) -> String {
        format!("{}/admin", self.prefix)
    }

    /// The role sheriffs hold: update trees and undo changes.
    pub fn sheriff_role(&self) -> String {
        format!("{}/sheriff", self.prefix)
    }

    /// The two roles, ready to merge into a role map for [`expand`].
    pub fn roles(&self) -> Roles {
        let scopes = |actions: &[TreeAction]| actions.iter().map(|a| self.required(*a)).collect();
        Roles::from([
            (self.admin_role(), scopes(&TreeAction::ALL)),
            (self.sheriff_role(), scopes(&[TreeAction::UpdateTrees, TreeAction::RevertChanges])),
        ])
    }

    /// Whether expanded scopes `held` allow `action`.
    pub fn allows(&self, held: &[String], action: TreeAction) -> bool {
        satisfies(held, &self.required(action))
    }
}

// ---------------------------------------------------------------------------
// Tokens

/// What every token starts with, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "fleetroll_";

/// A new client token from 32 random bytes the caller draws (core has no
/// random source): the prefix and 43 URL-safe base64 characters.
pub fn format_token(random: &[u8; 32]) -> String {
    format!("{TOKEN_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random))
}

/// How a token is stored and looked up: its SHA-256 in hex. The token itself
/// is shown once, when made, and never stored.
pub fn token_hash(token: &str) -> String {
    sha256_hex(token.as_bytes())
}

#[cfg(test)]
mod tests;
