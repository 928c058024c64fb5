//! Media files: turning an upload into the files we serve (`process`) and the folder
//! they are kept in under content-addressed names (`store`). No database here: the
//! use-cases are in `service::media`.

pub mod process;
pub mod store;

pub use process::{Processed, Rejected};
pub use store::MediaStore;
