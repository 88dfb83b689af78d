//! The Rust emitter: payload types (typify) and channel glue, as one formatted module.
//!
//! Large outputs are formatted in parts, one per core: the token stream is cut between
//! top-level items, and each part is parsed and printed on its own thread. The parts
//! concatenate to exactly what printing the whole would give.

mod channels;
mod fidelity;
mod types;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

use crate::ir::Spec;

/// The Rust module for `spec`, formatted by prettyplease. Deterministic: same IR, same bytes.
pub fn emit(spec: &Spec) -> Result<String, String> {
    Ok(emit_parts(spec, 1)?.concat())
}

/// The module as at most `parts` consecutive pieces (cut between items), each formatted;
/// their concatenation is the module. The first starts with the header.
pub fn emit_parts(spec: &Spec, parts: usize) -> Result<Vec<String>, String> {
    Ok(emit_parts_with_notes(spec, parts)?.0)
}

/// [`emit_parts`], with notes on what the output could not represent precisely (types typify
/// cannot take, which become any JSON value), for the builder to print as warnings.
pub fn emit_parts_with_notes(spec: &Spec, parts: usize) -> Result<(Vec<String>, Vec<String>), String> {
    let (types, notes) = types::payload_types(spec)?;
    let mut items = split_items(types);
    if !spec.channels.is_empty() {
        let definitions = crate::definitions::definitions(spec);
        let schemas = serde_json::to_string(&definitions.schemas).map_err(|e| e.to_string())?;
        let channels = serde_json::to_string(&definitions.channels).map_err(|e| e.to_string())?;
        items.extend(split_items(channels::schemas(&schemas, &channels)));
    }
    for ch in &spec.channels {
        items.extend(split_items(channels::channel(ch)));
    }
    // Token streams are not `Send`: hand each thread its items as text.
    let per_part = items.len().div_ceil(parts.max(1)).max(1);
    let chunks: Vec<String> =
        items.chunks(per_part).map(|c| c.iter().cloned().collect::<TokenStream>().to_string()).collect();
    // The token streams are no longer needed: free them before the parts are parsed.
    drop(items);
    let printed: Vec<Result<String, String>> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks.iter().map(|text| s.spawn(move || print(text))).collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|_| Err("the Rust printer panicked".into()))).collect()
    });
    let mut out = vec![format!("{}\n", super::header(&spec.sources, "//"))];
    for p in printed {
        out.push(p?);
    }
    Ok((out, notes))
}

fn print(text: &str) -> Result<String, String> {
    let mut file = syn::parse_file(text).map_err(|e| format!("generated Rust does not parse: {e}"))?;
    fidelity::apply(&mut file);
    Ok(prettyplease::unparse(&file))
}

/// Cut a stream of items into one stream per item: an item ends with a top-level `;` or
/// `{ ... }` group (attributes `#[...]` are bracket groups, so they never end one).
fn split_items(tokens: TokenStream) -> Vec<TokenStream> {
    let mut items = Vec::new();
    let mut current: Vec<TokenTree> = Vec::new();
    for tt in tokens {
        let ends = match &tt {
            TokenTree::Group(g) => g.delimiter() == Delimiter::Brace,
            TokenTree::Punct(p) => p.as_char() == ';',
            _ => false,
        };
        current.push(tt);
        if ends {
            items.push(current.drain(..).collect());
        }
    }
    if !current.is_empty() {
        items.push(current.into_iter().collect());
    }
    items
}
