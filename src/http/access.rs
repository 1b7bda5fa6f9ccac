//! Who may use a route: the rules the route table ([`super::routes`]) gives each route and
//! the guard ([`super::auth::guard`]) applies.

use crate::auth::Role;

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// The overview page: every signed-in user, and anyone when `[http] public_overview`.
    Overview,
    /// Every signed-in user.
    AnyUser,
    /// Only these roles.
    Roles(&'static [Role]),
}

pub const ADMIN: &[Role] = &[Role::Admin];
pub const FINANCE: &[Role] = &[Role::Admin, Role::Finance];
pub const ENGINEERS: &[Role] = &[Role::Admin, Role::Engineer];
pub const COMMITTEE: &[Role] = &[Role::Admin, Role::Committee];
pub const STAFF: &[Role] = &[Role::Admin, Role::Engineer, Role::Committee, Role::Finance];

impl Access {
    /// Who may call it, in words (the OpenAPI document says it per operation).
    pub fn describe(self) -> String {
        match self {
            Access::Public => "public".into(),
            Access::Overview => "every signed-in user; anyone with [http] public_overview".into(),
            Access::AnyUser => "every signed-in user".into(),
            Access::Roles(roles) => roles
                .iter()
                .map(|r| r.name())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }
}
