//! Bindings committed as `src/channels.rs`, regenerated with
//! `chanspec generate --rust examples/committed-bindings/src/channels.rs examples/pipeline/chanspec.yaml`
//! and checked by `tests/bindings_are_current.rs`.

pub mod channels;
