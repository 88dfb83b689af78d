//! JSON Schema → TypeScript type guards: for every named type, a checker built from the small
//! combinators in `templates/typescript/helpers.ts` (`$all`, `$object`, `$string`, ...).
//!
//! Guards follow JSON Schema's semantics exactly, narrowing keywords included (`minLength`
//! counts code points, `pattern` is an ECMA-262 regular expression, as the specification
//! says): a guard accepts what a validator accepts. Only `format` is not checked, as in
//! 2020-12's default annotation vocabulary.

use std::collections::BTreeSet;

use crate::value::Value;

use crate::naming;

use super::types::ref_name;

/// A checker expression, laid out by [`Expr::print`].
pub enum Expr {
    Raw(String),
    Call(&'static str, Vec<Expr>),
    Array(Vec<Expr>),
    Object(Vec<(&'static str, Expr)>),
}

impl Expr {
    /// The expression, starting at column `start` on a line indented by `indent`: on one
    /// line when it fits in 100 columns, else one argument per line.
    pub fn print(&self, indent: usize, start: usize) -> String {
        let mut out = String::new();
        self.print_into(&mut out, indent, start);
        out
    }

    /// [`Expr::print`], appended to `out`.
    fn print_into(&self, out: &mut String, indent: usize, start: usize) {
        if self.fits(100usize.saturating_sub(start)) {
            self.write_flat(out);
            return;
        }
        // One item per line, indented by `indent + 2`, then the closing bracket on its own.
        let open = |out: &mut String, bracket: &str| {
            out.push_str(bracket);
            out.push('\n');
        };
        let item = |out: &mut String, key: Option<&str>, e: &Expr| {
            out.extend(std::iter::repeat_n(' ', indent + 2));
            let mut start = indent + 2;
            if let Some(k) = key {
                out.push_str(k);
                out.push_str(": ");
                start += k.len() + 2;
            }
            e.print_into(out, indent + 2, start);
            out.push_str(",\n");
        };
        let close = |out: &mut String, bracket: char| {
            out.extend(std::iter::repeat_n(' ', indent));
            out.push(bracket);
        };
        match self {
            Expr::Raw(s) => out.push_str(s),
            Expr::Call(f, args) => {
                out.push_str(f);
                if let [single @ (Expr::Array(_) | Expr::Object(_))] = args.as_slice() {
                    out.push('(');
                    single.print_into(out, indent, start + f.len() + 1);
                    out.push(')');
                    return;
                }
                open(out, "(");
                args.iter().for_each(|a| item(out, None, a));
                close(out, ')');
            }
            Expr::Array(items) => {
                open(out, "[");
                items.iter().for_each(|a| item(out, None, a));
                close(out, ']');
            }
            Expr::Object(fields) => {
                open(out, "{");
                fields.iter().for_each(|(k, v)| item(out, Some(k), v));
                close(out, '}');
            }
        }
    }

    /// Whether the one-line form is at most `budget` columns (stops counting past it).
    fn fits(&self, budget: usize) -> bool {
        self.flat_len(budget).is_some()
    }

    fn flat_len(&self, budget: usize) -> Option<usize> {
        let sum = |parts: &mut dyn Iterator<Item = Option<usize>>, mut used: usize| {
            for p in parts {
                used = used.checked_add(p?)?;
                if used > budget {
                    return None;
                }
            }
            Some(used)
        };
        let n = match self {
            // Longer than the budget, or over lines: not flat (the length first, which is cheap).
            Expr::Raw(s) if s.len() > budget || s.contains('\n') => return None,
            Expr::Raw(s) => s.len(),
            Expr::Call(f, args) => sum(&mut args.iter().map(|a| a.flat_len(budget).map(|l| l + 2)), f.len())?,
            // `[a, b]`: brackets plus ", " between items; `{ k: v }`: braces, spaces, ": ".
            Expr::Array(items) => sum(&mut items.iter().map(|a| a.flat_len(budget).map(|l| l + 2)), 0)?.max(2),
            Expr::Object(fields) => {
                sum(&mut fields.iter().map(|(k, v)| v.flat_len(budget).map(|l| l + k.len() + 4)), 2)?.max(4)
            }
        };
        (n <= budget).then_some(n)
    }

    fn write_flat(&self, out: &mut String) {
        let list = |items: &mut dyn Iterator<Item = &Expr>, out: &mut String| {
            for (i, item) in items.enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                item.write_flat(out);
            }
        };
        match self {
            Expr::Raw(s) => out.push_str(s),
            Expr::Call(f, args) => {
                out.push_str(f);
                out.push('(');
                list(&mut args.iter(), out);
                out.push(')');
            }
            Expr::Array(items) => {
                out.push('[');
                list(&mut items.iter(), out);
                out.push(']');
            }
            Expr::Object(fields) => {
                out.push_str("{ ");
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push_str(k);
                    out.push_str(": ");
                    v.write_flat(out);
                }
                out.push_str(" }");
            }
        }
    }
}

/// Builds checker expressions, recording which helpers they use.
#[derive(Default)]
pub struct Guards<'s> {
    pub used: BTreeSet<&'static str>,
    /// The IR's named types by name, for the runtime's rule of which unions are tagged
    /// (refusals of a tagged union are explained by the variant its tag selects, in both
    /// languages). Borrowed: the schemas are not copied.
    pub schemas: ahash::AHashMap<&'s str, &'s crate::value::Value>,
}

impl Guards<'_> {
    /// The union's tag and each variant's value, by the runtime's rule, which reads
    /// serde_json's values: given the variants and the named types their `$ref`s lead to, as
    /// far as the rule follows them.
    fn union_tag(&self, variants: &[Value]) -> Option<(String, Vec<serde_json::Value>)> {
        let mut definitions = serde_json::Map::new();
        for variant in variants {
            let mut schema = variant;
            for _ in 0..chanspec_runtime::check::REF_STEPS {
                let Some(name) = schema.get("$ref").and_then(Value::as_str).and_then(crate::ir::ref_name) else {
                    break;
                };
                let Some(target) = self.schemas.get(name) else { break };
                definitions.entry(name).or_insert_with(|| target.to_serde());
                schema = target;
            }
        }
        let list: Vec<serde_json::Value> = variants.iter().map(Value::to_serde).collect();
        chanspec_runtime::check::union_tag_values(&definitions, &list)
    }

    fn call(&mut self, f: &'static str, args: Vec<Expr>) -> Expr {
        self.used.insert(f);
        Expr::Call(f, args)
    }

    fn raw(&mut self, helper: &'static str) -> Expr {
        self.used.insert(helper);
        Expr::Raw(helper.to_string())
    }

    /// The checker of `schema`.
    pub fn check(&mut self, schema: &Value) -> Expr {
        let obj = match schema {
            Value::Bool(false) => return self.raw("$false"),
            Value::Object(obj) => obj,
            _ => return self.raw("$true"),
        };
        let mut parts = Vec::new();
        if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
            parts.push(Expr::Raw(naming::ts_guard(ref_name(r))));
        }
        match obj.get("type") {
            Some(Value::String(t)) => {
                parts.push(self.call("$type", vec![Expr::Raw(format!("[{}]", super::string_literal(t)))]))
            }
            Some(t @ Value::Array(_)) => parts.push(self.call("$type", vec![json(t)])),
            _ => {}
        }
        if let Some(c) = obj.get("const") {
            parts.push(self.call("$const", vec![json(c)]));
        }
        if let Some(e) = obj.get("enum") {
            parts.push(self.call("$enum", vec![json(e)]));
        }
        let string = self.fields(obj, &[("minLength", "minLength"), ("maxLength", "maxLength")]);
        let mut string = string;
        if let Some(p) = obj.get("pattern").and_then(Value::as_str) {
            let re = self.call("$regex", vec![Expr::Raw(super::string_literal(p))]);
            string.push(("pattern", re));
        }
        if !string.is_empty() {
            parts.push(self.call("$string", vec![Expr::Object(string)]));
        }
        let number = self.fields(
            obj,
            &[
                ("minimum", "minimum"),
                ("maximum", "maximum"),
                ("exclusiveMinimum", "exclusiveMinimum"),
                ("exclusiveMaximum", "exclusiveMaximum"),
                ("multipleOf", "multipleOf"),
            ],
        );
        if !number.is_empty() {
            parts.push(self.call("$number", vec![Expr::Object(number)]));
        }
        if let Some(array) = self.array(obj) {
            parts.push(array);
        }
        if let Some(object) = self.object(obj) {
            parts.push(object);
        }
        if let Some(all) = obj.get("allOf").and_then(Value::as_array) {
            parts.extend(all.iter().map(|s| self.check(s)));
        }
        for (key, helper) in [("anyOf", "$anyOf"), ("oneOf", "$oneOf")] {
            if let Some(variants) = obj.get(key).and_then(Value::as_array) {
                let checks = variants.iter().map(|s| self.check(s)).collect();
                let mut args = vec![Expr::Array(checks)];
                if let Some((tag, values)) = self.union_tag(variants) {
                    args.push(json(&crate::json!({ "tag": tag, "values": values })));
                }
                parts.push(self.call(helper, args));
            }
        }
        match parts.len() {
            0 => self.raw("$true"),
            1 => parts.pop().expect("one part"),
            _ => self.call("$all", vec![Expr::Array(parts)]),
        }
    }

    /// The numeric or boolean keywords of `obj` named in `keys`, as helper options.
    fn fields(&mut self, obj: &crate::value::Map, keys: &[(&str, &'static str)]) -> Vec<(&'static str, Expr)> {
        keys.iter().filter_map(|(k, name)| obj.get(k).map(|v| (*name, json(v)))).collect()
    }

    fn array(&mut self, obj: &crate::value::Map) -> Option<Expr> {
        let mut fields = self.fields(
            obj,
            &[
                ("minItems", "minItems"),
                ("maxItems", "maxItems"),
                ("uniqueItems", "uniqueItems"),
                ("minContains", "minContains"),
                ("maxContains", "maxContains"),
            ],
        );
        if let Some(prefix) = obj.get("prefixItems").and_then(Value::as_array) {
            let checks = prefix.iter().map(|s| self.check(s)).collect();
            fields.push(("prefixItems", Expr::Array(checks)));
        }
        if let Some(items) = obj.get("items") {
            let check = self.check(items);
            fields.push(("items", check));
        }
        if let Some(contains) = obj.get("contains") {
            let check = self.check(contains);
            fields.push(("contains", check));
        }
        (!fields.is_empty()).then(|| self.call("$array", vec![Expr::Object(fields)]))
    }

    fn object(&mut self, obj: &crate::value::Map) -> Option<Expr> {
        let mut fields = self.fields(
            obj,
            &[("required", "required"), ("minProperties", "minProperties"), ("maxProperties", "maxProperties")],
        );
        if let Some(props) = obj.get("properties").and_then(Value::as_object) {
            let pairs = props
                .iter()
                .map(|(name, s)| Expr::Array(vec![Expr::Raw(super::string_literal(name)), self.check(s)]))
                .collect();
            fields.push(("properties", Expr::Array(pairs)));
        }
        if let Some(additional) = obj.get("additionalProperties") {
            let check = self.check(additional);
            fields.push(("additionalProperties", check));
        }
        if let Some(names) = obj.get("propertyNames") {
            let check = self.check(names);
            fields.push(("propertyNames", check));
        }
        if let Some(dependent) = obj.get("dependentRequired").and_then(Value::as_object) {
            let pairs = dependent
                .iter()
                .map(|(k, v)| Expr::Array(vec![Expr::Raw(super::string_literal(k)), json(v)]))
                .collect();
            fields.push(("dependentRequired", Expr::Array(pairs)));
        }
        (!fields.is_empty()).then(|| self.call("$object", vec![Expr::Object(fields)]))
    }
}

/// A JSON value as a JavaScript literal (JSON is valid JavaScript).
fn json(v: &Value) -> Expr {
    Expr::Raw(super::js_literal(v))
}
