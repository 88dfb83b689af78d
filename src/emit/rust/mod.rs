//! The Rust emitter: payload types (typify) and channel glue, as one formatted module.
//!
//! The module is made in parts, so that little of it is in memory at once: typify converts
//! the payload types in groups, one worker per core taking the groups in turn ([`groups`]),
//! while the channel glue is written as text on its own thread; then the types and the glue,
//! cut between top-level items into parts, are parsed, adjusted ([`fidelity`]), printed by
//! prettyplease and finished (rustfmt, when the builder asks) by one worker per core in turn.
//! The embedded schemas are put into the printed text as literals, never parsed. The parts
//! concatenate to exactly what printing the whole would give.

mod channels;
mod fidelity;
mod groups;
mod types;

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
    std::thread::scope(|s| {
        // The glue does not depend on the types: it is made while typify works.
        let glue = s.spawn(move || glue(spec));
        let workers = std::thread::available_parallelism().map_or(1, usize::from);
        let types = type_pieces(spec, workers, parts);
        let glue = glue.join().unwrap_or_else(|_| Err("the Rust printer panicked".into()));
        // A typify error first; else the glue's own error (or panic).
        let (mut pieces, notes) = types?;
        let glue = glue?;
        let types = pieces.len();
        pieces.extend(glue.pieces);
        // The types' pieces and the glue's in parts of about the same number of pieces, cut
        // where the types end.
        let per_part = pieces.len().div_ceil(parts.max(1)).max(1);
        let mut chunks: Vec<String> = Vec::new();
        // The part that starts with the glue's first piece, the embedded schemas' stand-ins.
        let mut glue_part = None;
        for (i, piece) in pieces.into_iter().enumerate() {
            match chunks.last_mut() {
                Some(last) if i % per_part != 0 && i != types => {
                    last.push('\n');
                    last.push_str(&piece);
                }
                _ => {
                    if i == types {
                        glue_part = Some(chunks.len());
                    }
                    chunks.push(piece);
                }
            }
        }
        // One worker per core takes the parts in turn: only as many parts are parsed at once
        // as there are cores, however many parts there are (the syntax trees of a part are
        // many times its text). A part is dropped once parsed.
        let chunks: Vec<std::sync::Mutex<String>> = chunks.into_iter().map(std::sync::Mutex::new).collect();
        let done = |i: usize| -> Part {
            let text = std::mem::take(&mut *chunks[i].lock().unwrap_or_else(|e| e.into_inner()));
            let printed = print(&text)?;
            let printed = if Some(i) == glue_part { glue.literals.put(printed) } else { printed };
            Ok((finish(&printed), printed))
        };
        let results = in_turn(chunks.len(), workers, |i| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| done(i)))
                .unwrap_or_else(|_| Err("the Rust printer panicked".into()))
        });
        let mut out = Emitted { printed: vec![header.clone()], finished: Some(vec![header]), notes };
        for result in results {
            let (finished, printed) = result.unwrap_or_else(|| Err("the Rust printer panicked".into()))?;
            out.printed.push(printed);
            out.finished = out.finished.zip(finished).map(|(mut all, part)| {
                all.push(part);
                all
            });
        }
        Ok(out)
    })
}

/// `f` of `0..jobs`, worked through by `workers` threads taking the next job in turn; the
/// results by job (`None` for a job whose thread panicked).
fn in_turn<T: Send>(jobs: usize, workers: usize, f: impl Fn(usize) -> T + Sync) -> Vec<Option<T>> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<T>>> = (0..jobs).map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|w| {
        for _ in 0..workers.min(jobs).max(1) {
            w.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if i >= jobs {
                        break;
                    }
                    let result = f(i);
                    *slots[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(result);
                }
            });
        }
    });
    slots.into_iter().map(|slot| slot.into_inner().unwrap_or_else(|e| e.into_inner())).collect()
}

/// The payload types as pieces of text in output order (their concatenation is typify's
/// output over every type), and notes. With `groups` > 1, converted in up to `groups` groups,
/// `workers` at a time (see [`groups`]); otherwise, or when the groups' output could differ,
/// by one typify.
fn type_pieces(spec: &Spec, workers: usize, groups: usize) -> Result<(Vec<String>, Vec<String>), String> {
    if let Some(pieces) = types_in_groups(spec, workers, groups) {
        return Ok((pieces, Vec::new()));
    }
    types_at_once(spec)
}

/// The payload types converted in up to `groups` groups, `workers` at a time, as pieces of
/// text in output order; `None` when there is one group or the groups' output could differ
/// from [`types_at_once`] (see [`groups`]), or would convert more than twice as many types
/// (shared references repeated in every group), and generation converts them at once instead.
pub fn types_in_groups(spec: &Spec, workers: usize, groups: usize) -> Option<Vec<String>> {
    if groups < 2 || spec.types.len() < 2 {
        return None;
    }
    let groups = groups::groups(spec, groups);
    // Types that many runs refer to are converted in every group that needs them: where that
    // would be more than twice the work of one conversion (a long chain of references, a
    // large cluster every payload uses), one conversion it is.
    if groups.iter().map(Vec::len).sum::<usize>() > 2 * spec.types.len() {
        return None;
    }
    let converted = in_turn(groups.len(), workers, |i| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| groups::convert(spec, &groups[i]))).ok().flatten()
    });
    let converted: Vec<_> = converted.into_iter().flatten().collect::<Option<_>>()?;
    if converted.len() != groups.len() {
        return None;
    }
    groups::merge(converted)
}

/// The payload types through one typify instance, as pieces of text in output order, and
/// notes on types typify could not take.
pub fn types_at_once(spec: &Spec) -> Result<(Vec<String>, Vec<String>), String> {
    let (tokens, notes) = types::payload_types(spec)?;
    Ok((groups::split_items(tokens).iter().map(ToString::to_string).collect(), notes))
}

/// A part as `finish` returned it (if it did) and as prettyplease printed it.
type Part = Result<(Option<String>, String), String>;

/// The items after the types: the embedded schemas and each channel's glue, as pieces of
/// text to print with the types' (a channel's glue at a time: printed whole, the glue of a
/// large definition took more memory than any other step).
struct Glue {
    pieces: Vec<String>,
    literals: Literals,
}

/// The embedded schemas and channels, megabytes of JSON on a large definition: printed as
/// short stand-ins, then put in place of them as the literals prettyplease would print (each
/// alone on its line), instead of being parsed and printed through syntax trees.
struct Literals(Vec<(String, String)>);

impl Literals {
    /// `printed` (the part that starts with the stand-ins' item, so they come before any
    /// text of the user's) with each stand-in's first occurrence replaced by its literal.
    fn put(&self, printed: String) -> String {
        let mut printed = printed;
        for (stand_in, literal) in &self.0 {
            if let Some((a, b)) = printed.split_once(stand_in.as_str()) {
                printed = [a, literal, b].concat();
            }
        }
        printed
    }
}

fn glue(spec: &Spec) -> Result<Glue, String> {
    if spec.channels.is_empty() {
        return Ok(Glue { pieces: Vec::new(), literals: Literals(Vec::new()) });
    }
    const SCHEMAS: &str = "chanspec-schemas-stand-in";
    const CHANNELS: &str = "chanspec-channels-stand-in";
    let literal = |text: &str| proc_macro2::Literal::string(text).to_string();
    let mut pieces = vec![channels::schemas(SCHEMAS, CHANNELS).to_string()];
    pieces.extend(spec.channels.iter().map(|ch| channels::channel(ch).to_string()));
    let schemas = crate::definitions::schemas_json(spec).map_err(|e| e.to_string())?;
    let channels = serde_json::to_string(&crate::definitions::channels(spec)).map_err(|e| e.to_string())?;
    let literals = Literals(vec![(literal(SCHEMAS), literal(&schemas)), (literal(CHANNELS), literal(&channels))]);
    Ok(Glue { pieces, literals })
}

fn print(text: &str) -> Result<String, String> {
    let mut file = syn::parse_file(text).map_err(|e| format!("generated Rust does not parse: {e}"))?;
    fidelity::apply(&mut file);
    Ok(prettyplease::unparse(&file))
}
