//! Names: how identifiers from definitions become Rust and TypeScript names, and how
//! reserved words are escaped. The only place that decides naming; lowering and validation
//! both call it.

use heck::{ToLowerCamelCase, ToSnakeCase, ToUpperCamelCase};

/// Rust keywords (strict and reserved, all editions), which need `r#` as identifiers.
const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
    "Self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract",
    "become", "box", "do", "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield",
];

/// Keywords that cannot be raw identifiers: they get a trailing underscore instead.
const RUST_NOT_RAW: &[&str] = &["crate", "self", "Self", "super", "_"];

/// TypeScript/JavaScript reserved words, which cannot name a binding.
const TS_RESERVED: &[&str] = &[
    "break",
    "case",
    "catch",
    "class",
    "const",
    "continue",
    "debugger",
    "default",
    "delete",
    "do",
    "else",
    "enum",
    "export",
    "extends",
    "false",
    "finally",
    "for",
    "function",
    "if",
    "import",
    "in",
    "instanceof",
    "new",
    "null",
    "return",
    "super",
    "switch",
    "this",
    "throw",
    "true",
    "try",
    "typeof",
    "var",
    "void",
    "while",
    "with",
    "as",
    "implements",
    "interface",
    "let",
    "package",
    "private",
    "protected",
    "public",
    "static",
    "yield",
    "await",
    "any",
    "boolean",
    "number",
    "string",
    "symbol",
    "unknown",
    "never",
    "object",
    "undefined",
    "arguments",
    "eval",
];

fn leading_digit_guard(s: String, prefix: &str) -> String {
    if s.starts_with(|c: char| c.is_ascii_digit()) || s.is_empty() { format!("{prefix}{s}") } else { s }
}

/// `user-id` → `UserId`: Rust type names, enum variants, and TypeScript type names.
///
/// Type names are handed to typify, which converts every name it is given once more; a name
/// must therefore already be in typify's form, or the glue would name a type typify called
/// something else. This is typify's conversion (Pascal case of the identifier characters, `X`
/// before a leading non-letter, `_` after a keyword), applied until it is stable.
pub fn type_name(id: &str) -> String {
    let once = pascal_ident(id);
    let twice = pascal_ident(&once);
    if twice == once { once } else { pascal_ident(&twice) }
}

fn pascal_ident(input: &str) -> String {
    let out = upper_camel(&identifier_chars(input));
    let out = match out.chars().next() {
        None => "X".to_string(),
        Some(c) if unicode_ident::is_xid_start(c) => out,
        Some(_) => format!("X{out}"),
    };
    if out == "Self" { format!("{out}_") } else { out }
}

/// heck's `to_upper_camel_case`, with ASCII text done by hand: heck writes each character
/// through `fmt`, which made naming the largest cost of checking a big definition.
fn upper_camel(s: &str) -> String {
    if !s.is_ascii() {
        return s.to_upper_camel_case();
    }
    // heck's word splitting: words are runs of alphanumerics, split again before an
    // uppercase letter that follows a lowercase one (digits carry the case before them),
    // and before the last of several uppercase letters when a lowercase one follows.
    #[derive(Clone, Copy, PartialEq)]
    enum Mode {
        Boundary,
        Lower,
        Upper,
    }
    let mut out = String::with_capacity(s.len());
    let mut capitalize = |word: &str| {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
    };
    for word in s.split(|c: char| !c.is_ascii_alphanumeric()) {
        let b = word.as_bytes();
        let (mut init, mut mode) = (0, Mode::Boundary);
        for i in 0..b.len() {
            let c = b[i];
            let Some(&next) = b.get(i + 1) else {
                capitalize(&word[init..]);
                break;
            };
            let next_mode = if c.is_ascii_lowercase() {
                Mode::Lower
            } else if c.is_ascii_uppercase() {
                Mode::Upper
            } else {
                mode
            };
            if next_mode == Mode::Lower && next.is_ascii_uppercase() {
                capitalize(&word[init..=i]);
                (init, mode) = (i + 1, Mode::Boundary);
            } else if mode == Mode::Upper && c.is_ascii_uppercase() && next.is_ascii_lowercase() {
                capitalize(&word[init..i]);
                (init, mode) = (i, Mode::Boundary);
            } else {
                mode = next_mode;
            }
        }
    }
    out
}

/// `userId` → `user_id`, escaped for use as a Rust function, field or argument name.
pub fn rust_snake(id: &str) -> String {
    escape_rust(&leading_digit_guard(id.to_snake_case(), "_"))
}

/// Escape a Rust identifier that is a keyword (`type` → `r#type`, `self` → `self_`).
pub fn escape_rust(ident: &str) -> String {
    if RUST_NOT_RAW.contains(&ident) {
        format!("{ident}_")
    } else if RUST_KEYWORDS.contains(&ident) {
        format!("r#{ident}")
    } else {
        ident.to_string()
    }
}

/// `user-id` → `userId`, escaped for use as a TypeScript binding (`delete` → `delete_`).
pub fn ts_binding(id: &str) -> String {
    let s = leading_digit_guard(id.to_lower_camel_case(), "_");
    if TS_RESERVED.contains(&s.as_str()) { format!("{s}_") } else { s }
}

/// The Rust field typify makes of a property name (its `sanitize`): the snake case of the
/// name's identifier characters, `x` before a leading character that cannot start an
/// identifier (`1a` → `x1a`), `_` after a keyword (`type` → `type_`). Two properties collide
/// when their fields are equal.
pub fn rust_field(id: &str) -> String {
    let out = identifier_chars(spelled(id)).to_snake_case();
    let out = match out.chars().next() {
        None => "x".to_string(),
        Some(c) if unicode_ident::is_xid_start(c) => out,
        Some(_) => format!("x{out}"),
    };
    if out == "_" || RUST_KEYWORDS.contains(&out.as_str()) { format!("{out}_") } else { out }
}

/// The two names typify spells out before converting them: if every case were special, none
/// would be.
fn spelled(id: &str) -> &str {
    match id {
        "+1" => "plus1",
        "-1" => "minus1",
        _ => id,
    }
}

/// `'` dropped, every other character that cannot continue an identifier made a `-`.
fn identifier_chars(id: &str) -> String {
    id.chars().filter(|&c| c != '\'').map(|c| if unicode_ident::is_xid_continue(c) { c } else { '-' }).collect()
}

/// The letters and digits of a name as its [`rust_field`] has them (lowercased, final sigma
/// as sigma), without a leading `x`: equal for any two names whose fields are equal, since a
/// field is those letters and digits in words joined by `_`, with at most an `x` before and
/// a `_` after. Cheap to compute, so collisions can be ruled out before case conversion.
pub fn letters_and_digits(id: &str) -> impl Iterator<Item = char> + Clone + '_ {
    // One pass over [`identifier_chars`]: `'` dropped, other non-identifier characters (its
    // `-`s) are not letters or digits either.
    let chars = spelled(id)
        .chars()
        .filter(|&c| c != '\'' && unicode_ident::is_xid_continue(c) && c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .map(|l| if l == 'ς' { 'σ' } else { l });
    without_leading_x(chars)
}

/// One leading `x` dropped.
fn without_leading_x<I: Iterator<Item = char>>(chars: I) -> std::iter::Peekable<I> {
    let mut chars = chars.peekable();
    if chars.peek() == Some(&'x') {
        chars.next();
    }
    chars
}

/// A hash of a name's [`letters_and_digits`]: names whose fingerprints differ never become
/// the same field. ASCII names, nearly all of them, are hashed byte by byte.
pub fn letters_fingerprint(id: &str) -> u64 {
    if id.is_ascii() && spelled(id) == id {
        let bytes = id.bytes().filter(u8::is_ascii_alphanumeric).map(|b| char::from(b.to_ascii_lowercase()));
        fingerprint(without_leading_x(bytes))
    } else {
        fingerprint(letters_and_digits(id))
    }
}

/// FNV-1a over characters.
fn fingerprint(chars: impl Iterator<Item = char>) -> u64 {
    chars.fold(0xcbf2_9ce4_8422_2325, |h, c| (h ^ u64::from(c)).wrapping_mul(0x0100_0000_01b3))
}

/// The suffixes of the names a channel generates after its type name.
const CHANNEL: &str = "Channel";
const MESSAGE: &str = "Message";
const PARAMS: &str = "Params";
const TOPICS: &str = "Topics";

/// The generated Rust type of a channel (`pipeline` → `PipelineChannel`).
pub fn channel_type(id: &str) -> String {
    format!("{}{CHANNEL}", type_name(id))
}

/// The generated per-channel message enum (`pipeline` → `PipelineMessage`).
pub fn message_enum(id: &str) -> String {
    format!("{}{MESSAGE}", type_name(id))
}

/// The payload type of a topic whose schema is written inline (`pipeline`, `status` →
/// `PipelineStatus`).
pub fn topic_payload(channel: &str, topic: &str) -> String {
    // Converted again as a whole, so the name is already in the form typify gives type names
    // (`c` + `t` → `Ct`, not `CT`).
    let base = type_name(channel);
    let name = type_name(&format!("{base}{}", type_name(topic)));
    // A topic called `message` (or `channel`, `params`, `topics`) would take a name its own
    // channel generates (`ChatMessage`, the channel's message type): its payload gives way.
    // Those names are the channel's type name and a suffix (`channel_type` and the like).
    let taken = [CHANNEL, MESSAGE, PARAMS, TOPICS].iter().any(|suffix| name.strip_suffix(suffix) == Some(&base));
    if taken { format!("{name}Payload") } else { name }
}

/// The TypeScript interface of a channel's params (`pipeline` → `PipelineParams`).
pub fn ts_params(id: &str) -> String {
    format!("{}{PARAMS}", type_name(id))
}

/// The TypeScript map from topic name to payload type (`pipeline` → `PipelineTopics`).
pub fn ts_topics(id: &str) -> String {
    format!("{}{TOPICS}", type_name(id))
}

/// The TypeScript decoder of a channel's messages (`pipeline` → `decodePipeline`).
pub fn ts_decoder(id: &str) -> String {
    format!("decode{}", type_name(id))
}

/// The TypeScript type guard of a named type (`PipelineStatus` → `isPipelineStatus`).
pub fn ts_guard(type_name: &str) -> String {
    format!("is{type_name}")
}

/// A property name as written in a TypeScript type or object literal: bare when it is an
/// identifier, quoted otherwise (`runId`, `"content-type"`). Reserved words are valid
/// property names and stay bare.
pub fn ts_property(name: &str) -> String {
    let mut chars = name.chars();
    let ident = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if ident { name.to_string() } else { serde_json::to_string(name).expect("strings serialize") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_and_escapes() {
        assert_eq!(type_name("user-id"), "UserId");
        assert_eq!(type_name("option"), "Option");
        assert_eq!(type_name("x-y_z"), "Xyz");
        assert_eq!(type_name("HTTPServer"), "HttpServer");
        assert_eq!(type_name("1st"), "X1st");
        assert_eq!(type_name("self"), "Self_");
        assert_eq!(rust_snake("runId"), "run_id");
        assert_eq!(rust_snake("type"), "r#type");
        assert_eq!(rust_snake("self"), "self_");
        assert_eq!(ts_binding("delete"), "delete_");
        assert_eq!(ts_binding("user-id"), "userId");
        assert_eq!(channel_type("pipeline"), "PipelineChannel");
        assert_eq!(topic_payload("pipeline", "status"), "PipelineStatus");
        assert_eq!(topic_payload("c", "t"), "Ct");
        assert_eq!(topic_payload("chat", "message"), "ChatMessagePayload");
        assert_eq!(topic_payload("chat", "params"), "ChatParamsPayload");
        assert_eq!(topic_payload("chat", "messages"), "ChatMessages");
        assert_eq!(ts_params("ci-run"), "CiRunParams");
        assert_eq!(ts_guard("Token"), "isToken");
        assert_eq!(ts_property("runId"), "runId");
        assert_eq!(ts_property("content-type"), "\"content-type\"");
        assert_eq!(ts_property("1a"), "\"1a\"");
    }

    #[test]
    fn fields_as_typify_names_them() {
        assert_eq!(rust_field("1a"), "x1a");
        assert_eq!(rust_field("x1a"), "x1a");
        assert_eq!(rust_field("type"), "type_");
        assert_eq!(rust_field("+1"), "plus1");
        assert_eq!(rust_field("user-id"), "user_id");
        assert_eq!(rust_field(""), "x");
        assert_eq!(letters_and_digits("xx1").collect::<String>(), "x1");
        assert_eq!(letters_and_digits("X-Ray's").collect::<String>(), "rays");
        assert_eq!(letters_and_digits("1a").collect::<String>(), "1a");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// A payload gives way exactly when its name is one its channel generates.
        #[test]
        fn payloads_give_way_to_channel_names(channel in "[a-zA-Z0-9_-]{1,8}", topic in "(message|params|channel|topics|[a-zA-Z0-9_-]{1,8})") {
            let name = type_name(&format!("{}{}", type_name(&channel), type_name(&topic)));
            let taken = [channel_type(&channel), message_enum(&channel), ts_params(&channel), ts_topics(&channel)];
            let expected = if taken.contains(&name) { format!("{name}Payload") } else { name };
            proptest::prop_assert_eq!(topic_payload(&channel, &topic), expected);
        }

        /// The hand-written ASCII conversion is heck's.
        #[test]
        fn upper_camel_is_hecks(id in "[a-zA-Z0-9_ .-]{0,16}", any in "(?s).{0,8}") {
            for id in [id, any] {
                proptest::prop_assert_eq!(upper_camel(&id), id.to_upper_camel_case(), "{:?}", id);
            }
        }

        /// The fingerprint of an ASCII name, taken byte by byte, is that of its letters and digits.
        #[test]
        fn fingerprints_hash_letters_and_digits(id in "[a-zA-Z0-9_ +'-]{0,12}", any in "(?s).{0,8}") {
            for id in [id, any, "+1".to_string(), "-1".to_string()] {
                proptest::prop_assert_eq!(letters_fingerprint(&id), fingerprint(letters_and_digits(&id)), "{:?}", id);
            }
        }

        /// The collision pre-filter relies on this: a field without its `_` and a leading `x`
        /// is the name's letters and digits.
        #[test]
        fn fields_keep_letters_and_digits(id in "(?s).{0,12}", ascii in "[a-zA-Z0-9_ +'-]{0,12}") {
            for id in [id, ascii] {
                let field: String = rust_field(&id).chars().filter(|&c| c != '_').collect();
                let field = field.replace('ς', "σ");
                let field = field.strip_prefix('x').unwrap_or(&field).to_string();
                proptest::prop_assert_eq!(field, letters_and_digits(&id).collect::<String>(), "{:?}", id);
            }
        }
    }
}
