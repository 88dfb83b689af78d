//! The Rust emitter: payload types (typify) and channel glue, as one formatted module.
//!
//! The module is made in parts that are printed (and finished, e.g. by rustfmt) as soon as
//! they are ready: the channel glue and the embedded schemas on their own thread while typify
//! converts the payload types, then the types cut between top-level items into parts that one
//! worker per core parses, prints and finishes in turn (so only a few parts' syntax trees are
//! in memory at once). The parts concatenate to exactly what printing the whole would give.

mod channels;
mod fidelity;
mod types;

use proc_macro2::{Delimiter, TokenStream, TokenTree};

use crate::ir::Spec;

/// The Rust module for `spec`, formatted by prettyplease. Deterministic: same IR, same bytes.
pub fn emit(spec: &Spec) -> Result<String, String> {
    Ok(emit_parts(spec, 1)?.concat())
}

/// The module as consecutive pieces (cut between items; the types in at most `parts`), each
/// formatted; their concatenation is the module. The first is the header.
pub fn emit_parts(spec: &Spec, parts: usize) -> Result<Vec<String>, String> {
    Ok(emit_parts_with_notes(spec, parts)?.0)
}

/// [`emit_parts`], with notes on what the output could not represent precisely (types typify
/// cannot take, which become any JSON value), for the builder to print as warnings.
pub fn emit_parts_with_notes(spec: &Spec, parts: usize) -> Result<(Vec<String>, Vec<String>), String> {
    let out = emit_finished(spec, parts, &|_| None)?;
    Ok((out.printed, out.notes))
}

/// The module, printed in parts as [`emit_parts`] does, each part also passed to `finish`
/// (rustfmt, for the builder) on the thread that printed it, as soon as it is printed.
pub struct Emitted {
    /// The parts as prettyplease prints them; the first is the header.
    pub printed: Vec<String>,
    /// The parts as `finish` returned them (the header as it is), or `None` when `finish`
    /// declined any part.
    pub finished: Option<Vec<String>>,
    pub notes: Vec<String>,
}

/// See [`Emitted`].
pub fn emit_finished(
    spec: &Spec,
    parts: usize,
    finish: &(dyn Fn(&str) -> Option<String> + Sync),
) -> Result<Emitted, String> {
    let header = format!("{}\n", super::header(&spec.sources, "//"));
    let done = |text: &str| print(text).map(|printed| (finish(&printed), printed));
    std::thread::scope(|s| {
        // The glue does not depend on the types: it is made while typify works.
        let glue = s.spawn(move || glue(spec)?.map(|text| done(&text)).transpose());
        let types = types::payload_types(spec);
        // On a typify error, the glue's own error (or panic) is not lost to the scope.
        let (types, notes) = match types {
            Ok(t) => t,
            Err(e) => {
                glue.join().unwrap_or_else(|_| Err("the Rust printer panicked".into()))?;
                return Err(e);
            }
        };
        let items = split_items(types);
        // Token streams are not `Send`: hand each thread its items as text.
        let per_part = items.len().div_ceil(parts.max(1)).max(1);
        let chunks: Vec<String> =
            items.chunks(per_part).map(|c| c.iter().cloned().collect::<TokenStream>().to_string()).collect();
        // The token streams are no longer needed: free them before the parts are parsed.
        drop(items);
        // One worker per core takes the parts in turn: only as many parts are parsed at once
        // as there are cores, however many parts there are (the syntax trees of a part are
        // many times its text).
        let workers = std::thread::available_parallelism().map_or(1, usize::from).min(chunks.len()).max(1);
        let next = std::sync::atomic::AtomicUsize::new(0);
        let slots: Vec<std::sync::Mutex<Option<Part>>> = chunks.iter().map(|_| std::sync::Mutex::new(None)).collect();
        std::thread::scope(|w| {
            for _ in 0..workers {
                w.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(text) = chunks.get(i) else { break };
                        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| done(text)))
                            .unwrap_or_else(|_| Err("the Rust printer panicked".into()));
                        *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                    }
                });
            }
        });
        let mut results: Vec<Part> = slots
            .into_iter()
            .map(|slot| {
                let result = slot.into_inner().unwrap_or_else(|e| e.into_inner());
                result.unwrap_or_else(|| Err("the Rust printer panicked".into()))
            })
            .collect();
        results.extend(glue.join().unwrap_or_else(|_| Err("the Rust printer panicked".into()))?.map(Ok));
        let mut out = Emitted { printed: vec![header.clone()], finished: Some(vec![header]), notes };
        for result in results {
            let (finished, printed) = result?;
            out.printed.push(printed);
            out.finished = out.finished.zip(finished).map(|(mut all, part)| {
                all.push(part);
                all
            });
        }
        Ok(out)
    })
}

/// A part as `finish` returned it (if it did) and as prettyplease printed it.
type Part = Result<(Option<String>, String), String>;

/// The items after the types, as text: the embedded schemas and each channel's glue.
fn glue(spec: &Spec) -> Result<Option<String>, String> {
    if spec.channels.is_empty() {
        return Ok(None);
    }
    let definitions = crate::definitions::definitions(spec);
    let schemas = serde_json::to_string(&definitions.schemas).map_err(|e| e.to_string())?;
    let channels = serde_json::to_string(&definitions.channels).map_err(|e| e.to_string())?;
    let mut tokens = channels::schemas(&schemas, &channels);
    for ch in &spec.channels {
        tokens.extend(channels::channel(ch));
    }
    Ok(Some(tokens.to_string()))
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
