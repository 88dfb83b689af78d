//! chanspec: realtime channels and their typed topics, written once, checked, and compiled
//! into a Rust publisher module and TypeScript subscriber types.
//!
//! The data flows one way: [`load`] (text → values with positions) → [`validate`]
//! (diagnostics) → lowering to an IR → emitters → writing. See ARCHITECTURE.md.

pub mod builder;
pub mod definitions;
pub mod diagnostic;
pub mod diff;
pub mod emit;
pub mod init;
pub mod ir;
pub mod keywords;
pub mod load;
pub mod lower;
pub mod model;
pub mod naming;
pub mod report;
pub mod sample;
pub mod schema_walk;
#[cfg(feature = "cli")]
pub mod serve;
pub mod source;
pub mod template;
pub mod trace;
pub mod validate;
#[macro_use]
pub mod value;
pub mod workspace;
pub mod write;

pub use builder::Builder;
pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use validate::{Checked, check_files, check_texts};

/// The version of chanspec, written into generated files.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
