//! Semantic rules on payload schemas: every keyword is one the generators can represent,
//! every `$ref` resolves (loading referenced files on the way), no `$ref` cycle is left
//! without a structure to break it, and every `pattern` compiles.

use std::sync::Arc;

use ahash::{AHashMap as HashMap, AHashSet as HashSet};

use crate::value::Value;

use crate::diagnostic::{Diagnostic, Diagnostics, did_you_mean};
use crate::keywords::{self, Support};
use crate::schema_walk::walk;
use crate::source::{FileId, Location};
use crate::workspace::Workspace;

/// Resolved references: the location of each schema holding a `$ref` → its target.
pub type Refs = HashMap<Location, Location>;

/// Check every schema reachable from `roots`; returns the resolved references.
///
/// The keyword rules of the roots' own subtrees come from `keywords` (what
/// [`keyword_diagnostics`] gives for `roots`, worked out on another thread meanwhile): the
/// walk here resolves references, and reports those lists where it would have found them.
pub fn check(
    ws: &mut Workspace,
    roots: &[Location],
    keywords: impl FnOnce() -> Vec<Vec<Diagnostic>>,
    diags: &mut Diagnostics,
) -> Refs {
    let mut refs = Refs::with_capacity(roots.len());
    let index: HashMap<&Location, usize> = roots.iter().enumerate().map(|(i, r)| (r, i)).collect();
    // Where each root's keyword diagnostics belong: (position in `diags`, root).
    let mut pending: Vec<(usize, usize)> = Vec::new();
    let mut prints = Vec::new();
    // Roots already walked: a root inside one of them (or equal to it) is skipped, and a
    // walk skips the subtrees of roots walked before it.
    let mut walked = Walked::default();
    let mut queue: Vec<Location> = roots.iter().rev().cloned().collect();
    while let Some(root) = queue.pop() {
        if walked.covers(&root) {
            continue;
        }
        let Some(schema) = ws.get(&root) else { continue };
        // Only a walk over an earlier root needs to look for it.
        let earlier_below = walked.any_below(&root);
        // A root walked whole has its keyword diagnostics from `keywords`.
        let given = if earlier_below { None } else { index.get(&root).copied() };
        if let Some(i) = given {
            pending.push((diags.len(), i));
        }
        let found = if given.is_some() {
            // Walked whole, its keyword rules done elsewhere: only its references are wanted.
            crate::schema_walk::refs(schema, &root)
        } else {
            let mut found: Vec<(Location, String)> = Vec::new();
            walk(schema, &root, &mut |node, at| {
                if earlier_below && at.pointer.len() > root.pointer.len() && walked.contains(at) {
                    return false;
                }
                if let Value::Object(obj) = node {
                    check_keywords(obj, at, &mut prints, diags);
                    // A scan finds the keyword sooner than hashing it, in objects this small.
                    if let Some((_, Value::String(r))) = obj.iter().find(|(k, _)| *k == "$ref") {
                        found.push((at.clone(), r.to_string()));
                    }
                }
                true
            });
            found
        };
        walked.insert(root, combines(schema));
        for (site, reference) in found {
            let Some(resolved) = ws.resolve(&site, &reference, diags) else {
                continue;
            };
            if let Some(file) = resolved.new_file {
                diags.extend(super::meta::check_schema_file(ws.doc(file), file));
            }
            queue.push(resolved.target.clone());
            refs.insert(site, resolved.target);
        }
    }
    check_cycles(ws, roots, &refs, &walked, diags);
    if !pending.is_empty() {
        let mut lists = keywords();
        let mut reported = std::mem::take(diags).into_vec().into_iter();
        let mut done = 0;
        for (at, root) in pending {
            diags.extend(reported.by_ref().take(at - done));
            done = at;
            diags.extend(std::mem::take(&mut lists[root]));
        }
        diags.extend(reported);
    }
    refs
}

/// The keyword rules over each root's subtree, one list per root in the order the walk in
/// [`check`] reports them. Reads only the documents, so it can run on its own thread.
pub fn keyword_diagnostics(docs: &[(FileId, Arc<Value>)], roots: &[Location]) -> Vec<Vec<Diagnostic>> {
    let mut prints = Vec::new();
    roots
        .iter()
        .map(|root| {
            let mut d = Diagnostics::default();
            let doc = docs.iter().find(|(f, _)| *f == root.file).map(|(_, doc)| doc);
            if let Some(schema) = doc.and_then(|doc| doc.pointer(&root.pointer)) {
                walk(schema, root, &mut |node, at| {
                    if let Value::Object(obj) = node {
                        check_keywords(obj, at, &mut prints, &mut d);
                    }
                    true
                });
            }
            d.into_vec()
        })
        .collect()
}

/// `$schema`: schemas are read as JSON Schema 2020-12. Older drafts are read as 2020-12 with
/// a warning (their keywords mostly mean the same); any other meta-schema may change what
/// keywords mean (or turn validation off), which the generators cannot follow.
fn check_dialect(dialect: &str, at: &Location, diags: &mut Diagnostics) {
    let bare = dialect.trim_end_matches('#').trim_start_matches("https://").trim_start_matches("http://");
    match bare {
        "json-schema.org/draft/2020-12/schema" => {}
        "json-schema.org/draft/2019-09/schema"
        | "json-schema.org/draft-07/schema"
        | "json-schema.org/draft-06/schema"
        | "json-schema.org/draft-04/schema" => diags.push(
            Diagnostic::warning("schema-dialect", format!("`{dialect}` is read as JSON Schema 2020-12")).at(at).hint(
                "keywords whose meaning changed since (`items` as an array, `dependencies`) are reported as such",
            ),
        ),
        _ => diags.push(
            Diagnostic::error("schema-dialect", format!("`{dialect}` is not a meta-schema chanspec knows"))
                .at(at)
                .hint("write `$schema: https://json-schema.org/draft/2020-12/schema`, or leave `$schema` out"),
        ),
    }
}

/// Properties of one object whose Rust field names would be the same (`foo-bar` and
/// `foo_bar` both become `foo_bar`), counting required names without a schema, which
/// become fields too. TypeScript quotes names, so only Rust can collide.
fn check_property_names(
    props: Option<&crate::value::Map>,
    required: Option<&Vec<Value>>,
    at: &Location,
    prints: &mut Vec<u64>,
    diags: &mut Diagnostics,
) {
    // A short map is searched faster than hashed.
    let is_declared = |r: &str| match props {
        Some(p) if p.len() <= 16 => p.keys().any(|k| k == r),
        Some(p) => p.contains_key(r),
        None => false,
    };
    let names = || {
        let declared = props.into_iter().flat_map(|p| p.keys()).map(|k| (k.as_str(), None));
        let undeclared = required.into_iter().flatten().enumerate().filter_map(move |(i, r)| {
            let r = r.as_str()?;
            (!is_declared(r)).then_some((r, Some(i)))
        });
        declared.chain(undeclared)
    };
    // Names that become one Rust field have the same letters and digits (`naming::letters_and_digits`):
    // when no two names share those, nothing collides, and no Rust name needs to be worked out.
    prints.clear();
    prints.extend(names().map(|(name, _)| crate::naming::letters_fingerprint(name)));
    prints.sort_unstable();
    if prints.windows(2).all(|w| w[0] != w[1]) {
        return;
    }
    let place = |name: &str, required: Option<usize>| match required {
        None => at.child("properties").child(name),
        Some(i) => at.child("required").child(&i.to_string()),
    };
    let mut seen: HashMap<String, (&str, Option<usize>)> = HashMap::default();
    for (name, required) in names() {
        let field = crate::naming::rust_field(name);
        match seen.get(&field) {
            Some(&(first, first_required)) => diags.push(
                Diagnostic::error(
                    "name-collision",
                    format!("properties `{name}` and `{first}` both become the Rust field `{field}`"),
                )
                .at_key(&place(name, required))
                .hint("rename one of them")
                .related(
                    &place(first, first_required),
                    crate::source::Target::Key,
                    format!("`{first}` is declared here"),
                ),
            ),
            None => {
                seen.insert(field, (name, required));
            }
        }
    }
}

const COMBINATORS: [&str; 3] = ["allOf", "anyOf", "oneOf"];

/// The lists of subschemas a schema combines, in the order of [`COMBINATORS`].
fn combinators(schema: &Value) -> impl Iterator<Item = (&'static str, &Vec<Value>)> {
    let obj = schema.as_object();
    COMBINATORS.into_iter().filter_map(move |k| Some((k, obj?.get(k)?.as_array()?)))
}

/// Whether a schema combines subschemas (found by a scan of its keywords: cheaper than three
/// lookups in a small object).
fn combines(schema: &Value) -> bool {
    let mut members = schema.as_object().into_iter().flatten();
    members.any(|(k, v)| COMBINATORS.contains(&k.as_str()) && v.is_array())
}

/// Locations whose subtrees have been walked, per file: hashed for membership (with whether
/// the schema there combines subschemas), and in pointer order to find those below a location.
#[derive(Default)]
struct Walked(HashMap<FileId, (HashMap<String, bool>, std::collections::BTreeSet<String>)>);

impl Walked {
    fn insert(&mut self, at: Location, combines: bool) {
        let (hashed, ordered) = self.0.entry(at.file).or_default();
        hashed.insert(at.pointer.clone(), combines);
        ordered.insert(at.pointer);
    }

    /// Whether the schema at `at`, walked as a root, combines subschemas.
    fn combines(&self, at: &Location) -> Option<bool> {
        self.0.get(&at.file)?.0.get(at.pointer.as_str()).copied()
    }

    fn contains(&self, at: &Location) -> bool {
        self.0.get(&at.file).is_some_and(|(set, _)| set.contains_key(at.pointer.as_str()))
    }

    /// `at` or a location above it has been walked.
    fn covers(&self, at: &Location) -> bool {
        let Some((set, _)) = self.0.get(&at.file) else { return false };
        let mut p = Some(at.pointer.as_str());
        std::iter::from_fn(|| {
            let current = p?;
            p = current.rfind('/').map(|i| &current[..i]);
            Some(current)
        })
        .any(|p| set.contains_key(p))
    }

    /// A location below `at` has been walked. Pointers below `at` start with `at`'s and a
    /// `/`, so in pointer order they follow that prefix, together.
    fn any_below(&self, at: &Location) -> bool {
        let Some((_, set)) = self.0.get(&at.file) else { return false };
        let prefix = format!("{}/", at.pointer);
        let mut after = set.range::<str, _>((std::ops::Bound::Included(prefix.as_str()), std::ops::Bound::Unbounded));
        after.next().is_some_and(|p| p.starts_with(&prefix))
    }
}

/// `prints` is scratch space, reused from one object to the next.
fn check_keywords(obj: &crate::value::Map, at: &Location, prints: &mut Vec<u64>, diags: &mut Diagnostics) {
    // The keywords read below, found in one pass (cheaper than hashing each name).
    let (mut props, mut required, mut dialect, mut tuple) = (None, None, None, None);
    let (mut closed, mut unions) = (false, false);
    for (keyword, value) in obj {
        match keyword.as_str() {
            "properties" => props = value.as_object(),
            "required" => required = value.as_array(),
            "$schema" => dialect = value.as_str(),
            "prefixItems" => tuple = value.as_array().map(Vec::len),
            "additionalProperties" => closed = *value == Value::Bool(false),
            "oneOf" | "anyOf" => unions = true,
            _ => {}
        }
    }
    check_property_names(props, required, at, prints, diags);
    if let Some(required) = required {
        check_required_satisfiable(obj, props, required, closed, at, diags);
    }
    if unions {
        check_union_tags(obj, at, diags);
    }
    if let Some(dialect) = dialect {
        check_dialect(dialect, &at.child("$schema"), diags);
    }
    if let Some(len) = tuple
        && !is_fixed_tuple(obj, len)
    {
        diags.push(
            Diagnostic::error("unsupported-keyword", "`prefixItems` is supported for fixed-length tuples only")
                .at_key(&at.child("prefixItems"))
                .hint(format!(
                    "add `items: false` and `minItems: {len}`, so every valid array has exactly {len} items"
                )),
        );
    }
    for (keyword, value) in obj {
        // Built only when something is reported: most keywords report nothing.
        let here = || at.child(keyword);
        // The length of a fixed tuple shapes its type; it narrows nothing.
        if tuple.is_some() && matches!(keyword.as_str(), "minItems" | "maxItems") {
            continue;
        }
        match keywords::support(keyword) {
            Some(Support::Shape | Support::Annotation) => {}
            Some(Support::Narrowing) => diags.push(
                Diagnostic::warning("narrowing-keyword", format!("`{keyword}` is not enforced by the generated types"))
                    .at_key(&here())
                    .hint("generated types accept a superset of the valid values; every publish and every decode checks the full schema, so this is safe (acknowledge it with `x-chanspec-allow: [narrowing-keyword]`)"),
            ),
            Some(Support::Unsupported) => diags.push(
                Diagnostic::error("unsupported-keyword", format!("`{keyword}` cannot be represented by the generated types"))
                    .at_key(&here())
                    .hint(keywords::unsupported_hint(keyword)),
            ),
            None if keyword == "x-chanspec-allow" => check_allow(value, &here(), diags),
            None if keyword.starts_with("x-") => {}
            None => {
                let d = Diagnostic::warning("unknown-keyword", format!("`{keyword}` is not a JSON Schema 2020-12 keyword and is ignored")).at_key(&here());
                diags.push(match keyword.as_str() {
                    _ if looks_like_property(value, props.is_some()) => d.hint(format!(
                        "this looks like a property: is it indented one level too little? As a property it goes under `properties`{}",
                        if props.is_some() { " beside the others" } else { "" }
                    )),
                    "nullable" => d.hint("`nullable` is OpenAPI 3.0; in JSON Schema write `type: [<type>, \"null\"]`"),
                    "discriminator" => d.hint("`discriminator` is OpenAPI; chanspec finds the tag of a `oneOf` from a `const` property shared by every variant"),
                    _ => match did_you_mean(keyword, keywords::ALL.iter().copied()) {
                        Some(close) => d.hint(format!("did you mean `{close}`?")),
                        None => d.hint("prefix extensions with `x-` to silence this"),
                    },
                });
            }
        }
        if keyword == "pattern"
            && let Some(p) = value.as_str()
            && let Err(e) = compile_pattern(p)
        {
            diags.push(
                Diagnostic::error("invalid-pattern", format!("`{p}` is not a valid regular expression: {e}"))
                    .at(&here()),
            );
        }
    }
}

/// `x-chanspec-allow` in a schema: a list of warning codes (in the format's own places the
/// format schema checks it).
fn check_allow(value: &Value, at: &Location, diags: &mut Diagnostics) {
    let codes = crate::diagnostic::WARNING_CODES;
    let Some(list) = value.as_array() else {
        diags.push(
            Diagnostic::error("invalid-allow", "`x-chanspec-allow` is a list of warning codes")
                .at(at)
                .hint(format!("the codes are: {}", codes.join(", "))),
        );
        return;
    };
    for (i, item) in list.iter().enumerate() {
        let code = item.as_str().unwrap_or_default();
        if !codes.contains(&code) {
            let d = Diagnostic::error("invalid-allow", format!("{item} is not a warning code"))
                .at(&at.child(&i.to_string()));
            diags.push(match did_you_mean(code, codes.iter().copied()) {
                Some(close) => d.hint(format!("did you mean `{close}`?")),
                None => d.hint(format!("the codes are: {}", codes.join(", "))),
            });
        }
    }
}

/// An unknown keyword whose value is a schema of its own (`{ type: … }`), or any object or
/// boolean beside a `properties` map: most likely a property dedented by one level.
fn looks_like_property(value: &Value, has_properties: bool) -> bool {
    match value {
        Value::Object(o) => {
            has_properties
                || o.keys().any(|k| {
                    matches!(
                        k.as_str(),
                        "type" | "$ref" | "properties" | "enum" | "const" | "items" | "oneOf" | "anyOf"
                    )
                })
        }
        Value::Bool(_) => has_properties,
        _ => false,
    }
}

/// `required` names a property no valid object can have: one `additionalProperties: false`
/// forbids (not under `properties`), or whose schema is `false`. No payload could be valid.
fn check_required_satisfiable(
    obj: &crate::value::Map,
    props: Option<&crate::value::Map>,
    required: &[Value],
    closed: bool,
    at: &Location,
    diags: &mut Diagnostics,
) {
    for (i, name) in required.iter().enumerate() {
        let Some(name) = name.as_str() else { continue };
        let schema = props.and_then(|p| p.get(name));
        let why = match schema {
            Some(Value::Bool(false)) => "its schema under `properties` is `false`",
            None if closed => "it is not under `properties` and `additionalProperties` is `false`",
            _ => continue,
        };
        let mut d = Diagnostic::error(
            "unsatisfiable-required",
            format!("`{name}` is required, but no valid object can have it: {why}, so no payload is valid"),
        )
        .at(&at.child("required").child(&i.to_string()));
        d = if obj.contains_key(name) {
            d.hint(format!("`{name}` sits beside `properties`, not under it: indent it one level more"))
        } else if schema.is_none() {
            d.hint(format!("declare `{name}` under `properties`, or remove it from `required`"))
        } else {
            d.hint(format!("give `{name}` a schema other than `false`, or remove it from `required`"))
        };
        diags.push(d);
    }
}

/// A `oneOf`/`anyOf` of inline object variants that share a property with a `const` in each
/// (a tag), where some variant does not require it: the union cannot be tagged, so the
/// types lose the tag (an optional `kind` in every variant). Variants given by `$ref` are
/// not looked into here.
fn check_union_tags(obj: &crate::value::Map, at: &Location, diags: &mut Diagnostics) {
    for key in ["oneOf", "anyOf"] {
        let Some(Value::Array(variants)) = obj.get(key) else { continue };
        if variants.len() < 2 {
            continue;
        }
        let Some(first) = variants[0].get("properties").and_then(Value::as_object) else { continue };
        let const_of =
            |v: &Value, p: &str| v.get("properties").and_then(|ps| ps.get(p)).and_then(|s| s.get("const")).cloned();
        let requires = |v: &Value, p: &str| {
            v.get("required").and_then(Value::as_array).is_some_and(|r| r.iter().any(|x| x.as_str() == Some(p)))
        };
        for tag in first.keys() {
            if !variants.iter().all(|v| const_of(v, tag).is_some()) {
                continue;
            }
            if let Some(i) = variants.iter().position(|v| !requires(v, tag)) {
                diags.push(
                    Diagnostic::warning(
                        "untagged-union",
                        format!(
                            "every variant of this `{key}` has a `const` `{tag}`, but variant {} does not require it, so the union is not tagged: the types get an optional `{tag}` instead of one variant per tag",
                            i + 1
                        ),
                    )
                    .at(&at.child(key).child(&i.to_string()))
                    .hint(format!("add `{tag}` to the `required` of variant {}", i + 1)),
                );
                break;
            }
        }
    }
}

/// `prefixItems` of `len` schemas, `items: false`, and `minItems` (and `maxItems`, if given)
/// equal to `len`: a tuple type accepts exactly the valid arrays.
fn is_fixed_tuple(obj: &crate::value::Map, len: usize) -> bool {
    let count = |k: &str| obj.get(k).and_then(Value::as_u64);
    obj.get("items") == Some(&Value::Bool(false))
        && count("minItems") == Some(len as u64)
        && count("maxItems").is_none_or(|m| m == len as u64)
}

/// A pattern must be ECMA-262 in Unicode mode (JSON Schema's dialect: what the TypeScript
/// guards and the runtime's `pattern` module run), and compile in the hub's validator.
pub fn compile_pattern(pattern: &str) -> Result<(), String> {
    if let Some(e) = chanspec_runtime::pattern::error(pattern) {
        return Err(format!("not valid ECMA-262 in Unicode mode (the `u` flag): {e}"));
    }
    let schema = serde_json::json!({ "type": "string", "pattern": pattern });
    jsonschema::draft202012::new(&schema).map(|_| ()).map_err(|e| {
        let text = e.to_string();
        text.lines().next().unwrap_or(&text).to_string()
    })
}

/// A cycle of references that never passes through a property or an item: `A = B`,
/// `B = A`, or `A = allOf[A, ...]`. Such a type has no finite definition. Recursion through
/// `properties`, `items` and the like is fine (a tree node).
fn check_cycles(ws: &Workspace, roots: &[Location], refs: &Refs, walked: &Walked, diags: &mut Diagnostics) {
    let successors = |at: &Location| -> Vec<Location> {
        let mut next = Vec::new();
        if let Some(target) = refs.get(at) {
            next.push(target.clone());
        }
        // Whether a root walked combines subschemas was noted then; anything else (targets
        // inside a root, combined subschemas) is looked up.
        if walked.combines(at) != Some(false)
            && let Some(schema) = ws.get(at)
        {
            for (k, list) in combinators(schema) {
                next.extend((0..list.len()).map(|i| at.child(k).child(&i.to_string())));
            }
        }
        next
    };
    let mut done: HashSet<Location> = HashSet::default();
    let mut reported: HashSet<Location> = HashSet::default();
    for root in roots {
        if done.contains(root) {
            continue;
        }
        // Iterative depth-first search; `path` holds the nodes on the current path.
        let mut path: Vec<Location> = vec![root.clone()];
        let mut on_path: HashSet<Location> = HashSet::from_iter([root.clone()]);
        let mut stack: Vec<std::vec::IntoIter<Location>> = vec![successors(root).into_iter()];
        while let Some(iter) = stack.last_mut() {
            match iter.next() {
                Some(next) if on_path.contains(&next) => {
                    let start = path.iter().position(|p| *p == next).unwrap_or(0);
                    let cycle = &path[start..];
                    // Report at the last reference on the loop: the one that closes it.
                    let site =
                        cycle.iter().rev().find(|p| refs.contains_key(p)).cloned().unwrap_or_else(|| next.clone());
                    if cycle.iter().all(|p| !reported.contains(p)) {
                        reported.extend(cycle.iter().cloned());
                        let show = |p: &Location| {
                            if p.file == site.file {
                                format!("#{}", p.pointer)
                            } else {
                                format!("{}#{}", ws.display(p.file), p.pointer)
                            }
                        };
                        let names: Vec<String> = cycle.iter().chain(std::iter::once(&next)).map(show).collect();
                        diags.push(
                            Diagnostic::error("ref-cycle", format!("`$ref` cycle with no object or array in between: {}", names.join(" -> ")))
                                .at(&site.child("$ref"))
                                .hint("a schema cannot be defined as itself; recursion must go through `properties` or `items`"),
                        );
                    }
                }
                Some(next) if done.contains(&next) => {}
                Some(next) => {
                    stack.push(successors(&next).into_iter());
                    on_path.insert(next.clone());
                    path.push(next);
                }
                None => {
                    stack.pop();
                    if let Some(p) = path.pop() {
                        on_path.remove(&p);
                        done.insert(p);
                    }
                }
            }
        }
    }
}
