//! The Rust emitter: payload types (typify) and channel glue, as one formatted module.

mod channels;
mod types;

use crate::ir::Spec;

/// The Rust module for `spec`, formatted by prettyplease. Deterministic: same IR, same bytes.
pub fn emit(spec: &Spec) -> Result<String, String> {
    let parse = |tokens| syn::parse2::<syn::File>(tokens).map_err(|e| format!("generated Rust does not parse: {e}"));
    let mut file = parse(types::payload_types(spec)?)?;
    // Each channel is parsed on its own and appended: extending one huge token stream again
    // and again copies it every time.
    for ch in &spec.channels {
        file.items.extend(parse(channels::channel(ch))?.items);
    }
    Ok(format!("{}\n{}", super::header(&spec.sources, "//"), prettyplease::unparse(&file)))
}
