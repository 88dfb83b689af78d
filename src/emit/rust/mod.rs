//! The Rust emitter: payload types (typify) and channel glue, as one formatted module.

mod channels;
mod types;

use crate::ir::Spec;

/// The Rust module for `spec`, formatted by prettyplease. Deterministic: same IR, same bytes.
pub fn emit(spec: &Spec) -> Result<String, String> {
    let mut tokens = types::payload_types(spec)?;
    for ch in &spec.channels {
        tokens.extend(channels::channel(ch));
    }
    let file: syn::File = syn::parse2(tokens).map_err(|e| format!("generated Rust does not parse: {e}"))?;
    Ok(format!("{}\n{}", super::header(&spec.sources, "//"), prettyplease::unparse(&file)))
}
