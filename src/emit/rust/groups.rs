//! The payload types converted in groups, each through its own typify instance, a few at a
//! time: typify's state and tokens for all the types at once were most of the Rust
//! generation's memory.
//!
//! Each group owns a run of the spec's types (neighbours in the spec, so usually of the same
//! channels) and gives its typify instance those and every type they refer to, directly or
//! not ([`Spec::references`], the IR's reference graph), so each instance sees every type
//! its types need. typify writes its items in the order of their type names, each type's item
//! followed by its impls, then its `error` module; the groups' pieces, merged by name, with a type that several groups
//! needed kept once, are what one instance over every type writes. Where they might not be (a
//! name whose pieces differ between groups, a group typify refuses, typify's shared `defaults`
//! module, items out of name order), the caller converts every type at once instead.

use proc_macro2::{Delimiter, TokenStream, TokenTree};

use crate::ir::Spec;

/// Up to `count` groups: each the types of one run of `spec.types` and every type they refer
/// to, directly or not, as indices in spec order.
pub fn groups(spec: &Spec, count: usize) -> Vec<Vec<usize>> {
    let n = spec.types.len();
    let count = count.clamp(1, n.max(1));
    let references = spec.references();
    (0..count)
        .map(|k| {
            let mut member = vec![false; n];
            let mut stack: Vec<usize> = (k * n / count..(k + 1) * n / count).collect();
            while let Some(i) = stack.pop() {
                if !std::mem::replace(&mut member[i], true) {
                    stack.extend(&references[i]);
                }
            }
            (0..n).filter(|&i| member[i]).collect::<Vec<usize>>()
        })
        .filter(|g| !g.is_empty())
        .collect()
}

/// What one group's typify wrote: a piece of text per type (its item and the impls after
/// it), by type name in order, and the `error` module.
pub struct Converted {
    pub pieces: Vec<(String, String)>,
    pub error: Option<String>,
}

/// The types of `members` through one typify instance, cut into pieces per type; `None` when
/// typify refuses them or writes something the pieces cannot carry in order.
pub fn convert(spec: &Spec, members: &[usize]) -> Option<Converted> {
    let tokens = super::types::typify_types(members.iter().map(|&i| &spec.types[i])).ok()?;
    let mut out = Converted { pieces: Vec::new(), error: None };
    for item in split_items(tokens) {
        match kind(&item) {
            Kind::Type(name) => out.pieces.push((name, item.to_string())),
            Kind::Module(name) if name == "error" && out.error.is_none() => out.error = Some(item.to_string()),
            Kind::Module(_) => return None,
            Kind::Other => {
                let (_, text) = out.pieces.last_mut()?;
                text.push('\n');
                text.push_str(&item.to_string());
            }
        }
    }
    // typify's order is by name: a piece out of order means it wrote items another way.
    if !out.pieces.windows(2).all(|w| w[0].0 < w[1].0) {
        return None;
    }
    Some(out)
}

/// The groups' pieces in name order, a type several groups needed once, then one `error`
/// module: the text of typify over all of them. `None` when one name has different pieces in
/// two groups.
pub fn merge(groups: Vec<Converted>) -> Option<Vec<String>> {
    let mut error = None;
    let mut pieces = Vec::new();
    for g in groups {
        error = error.or(g.error);
        pieces.extend(g.pieces);
    }
    pieces.sort_by(|a, b| a.0.cmp(&b.0));
    let mut out: Vec<(String, String)> = Vec::with_capacity(pieces.len());
    for (name, text) in pieces {
        match out.last() {
            Some((last, same)) if *last == name => {
                if *same != text {
                    return None;
                }
            }
            _ => out.push((name, text)),
        }
    }
    Some(out.into_iter().map(|(_, text)| text).chain(error).collect())
}

enum Kind {
    /// A `struct`, `enum`, `type` or `union` and its name.
    Type(String),
    /// A `mod` and its name.
    Module(String),
    /// Anything else (`impl`, `fn`, …).
    Other,
}

/// What an item declares, past its attributes and visibility.
fn kind(item: &TokenStream) -> Kind {
    let mut tokens = item.clone().into_iter().peekable();
    while let Some(token) = tokens.next() {
        match token {
            TokenTree::Punct(p) if p.as_char() == '#' => {
                if matches!(tokens.peek(), Some(TokenTree::Punct(p)) if p.as_char() == '!') {
                    tokens.next();
                }
                tokens.next(); // the attribute's `[...]`
            }
            TokenTree::Ident(i) if i == "pub" => {
                if matches!(tokens.peek(), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis) {
                    tokens.next();
                }
            }
            TokenTree::Ident(i) => {
                let keyword = i.to_string();
                let name = match tokens.next() {
                    Some(TokenTree::Ident(n)) => n.to_string(),
                    _ => return Kind::Other,
                };
                return match keyword.as_str() {
                    "struct" | "enum" | "type" | "union" => Kind::Type(name),
                    "mod" => Kind::Module(name),
                    _ => Kind::Other,
                };
            }
            _ => return Kind::Other,
        }
    }
    Kind::Other
}

/// Cut a stream of items into one stream per item: an item ends with a top-level `;` or
/// `{ ... }` group (attributes `#[...]` are bracket groups, so they never end one).
pub fn split_items(tokens: TokenStream) -> Vec<TokenStream> {
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
