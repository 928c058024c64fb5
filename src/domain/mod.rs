//! Pure types and rules: no I/O, nothing from the rest of the crate.

pub mod html;
pub mod links;
pub mod reaction;
pub mod scopes;
pub mod scoring;
pub mod story;
pub mod text;
pub mod time;
pub mod username;
