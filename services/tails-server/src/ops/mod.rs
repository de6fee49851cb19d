//! The operations: one function per use case, taking the [`AppState`](crate::AppState) and
//! domain types, returning domain types or [`Error`](crate::Error). No HTTP here; the
//! storage directory is reached through [`crate::storage`].

pub mod download;
pub mod matching;
pub mod upload;
