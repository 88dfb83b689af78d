//! What chanspec does with each JSON Schema keyword. One table, read by validation (which
//! keywords are errors or warnings) and by the generators (which keywords they honour).
//! The README's "Schema support" section documents the same table.

/// How the generators treat a keyword.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Support {
    /// Shapes the generated types.
    Shape,
    /// Documentation or metadata: kept in doc comments, no effect on types.
    Annotation,
    /// Narrows the values a type accepts; generated types accept a superset. A warning.
    Narrowing,
    /// Cannot be represented faithfully by the generated types. An error.
    Unsupported,
}

/// The support for a keyword, or `None` for a keyword JSON Schema 2020-12 does not define.
pub fn support(keyword: &str) -> Option<Support> {
    use Support::*;
    Some(match keyword {
        "type"
        | "properties"
        | "required"
        | "additionalProperties"
        | "items"
        | "prefixItems"
        | "enum"
        | "const"
        | "oneOf"
        | "anyOf"
        | "allOf"
        | "$ref"
        | "$defs"
        | "definitions" => Shape,
        "title" | "description" | "default" | "examples" | "deprecated" | "readOnly" | "writeOnly" | "format"
        | "$comment" | "$schema" | "$id" | "$anchor" | "contentEncoding" | "contentMediaType" | "contentSchema"
        | "$vocabulary" => Annotation,
        "minLength" | "maxLength" | "pattern" | "minimum" | "maximum" | "exclusiveMinimum" | "exclusiveMaximum"
        | "multipleOf" | "minItems" | "maxItems" | "uniqueItems" | "minProperties" | "maxProperties" | "contains"
        | "minContains" | "maxContains" | "propertyNames" | "dependentRequired" => Narrowing,
        "if"
        | "then"
        | "else"
        | "not"
        | "patternProperties"
        | "unevaluatedProperties"
        | "unevaluatedItems"
        | "dependentSchemas"
        | "$dynamicRef"
        | "$dynamicAnchor"
        | "$recursiveRef"
        | "$recursiveAnchor"
        | "dependencies"
        | "additionalItems" => Unsupported,
        _ => return None,
    })
}

/// The JSON Schema instance type of a value (`"number"` for every number).
pub fn json_type(v: &crate::value::Value) -> &'static str {
    use crate::value::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Every keyword in the table, for "did you mean" suggestions.
pub const ALL: &[&str] = &[
    "type",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "prefixItems",
    "enum",
    "const",
    "oneOf",
    "anyOf",
    "allOf",
    "$ref",
    "$defs",
    "definitions",
    "title",
    "description",
    "default",
    "examples",
    "deprecated",
    "readOnly",
    "writeOnly",
    "format",
    "$comment",
    "$schema",
    "$id",
    "$anchor",
    "contentEncoding",
    "contentMediaType",
    "contentSchema",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
    "contains",
    "minContains",
    "maxContains",
    "propertyNames",
    "dependentRequired",
    "if",
    "then",
    "else",
    "not",
    "patternProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
    "dependentSchemas",
    "$dynamicRef",
    "$dynamicAnchor",
];

/// Why an unsupported keyword is refused, and what to write instead.
pub fn unsupported_hint(keyword: &str) -> &'static str {
    match keyword {
        "if" | "then" | "else" => {
            "conditional schemas have no counterpart in Rust or TypeScript types; model the cases as a `oneOf` of objects tagged by a `const` property"
        }
        "not" => "a type cannot exclude values; describe what is allowed instead",
        "patternProperties" => {
            "use `additionalProperties: <schema>` for a map, and document the key pattern in `description`"
        }
        "unevaluatedProperties" | "unevaluatedItems" => {
            "use `additionalProperties: false` (or `items`) on the schema that declares the properties"
        }
        "dependentSchemas" | "dependencies" => {
            "split the object into a `oneOf` of variants, each with its own required properties"
        }
        "$dynamicRef" | "$dynamicAnchor" | "$recursiveRef" | "$recursiveAnchor" => {
            "use a plain `$ref` to a named schema in `$defs`"
        }
        "additionalItems" => "this is a draft-07 keyword; in 2020-12 write `prefixItems` and `items`",
        _ => "remove it, or express the constraint with supported keywords",
    }
}

/// Where a schema keyword holds subschemas.
pub enum Children {
    /// One subschema (`items`, `not`, ...).
    One,
    /// An object of subschemas (`properties`, `$defs`, ...).
    Map,
    /// An array of subschemas (`allOf`, `prefixItems`, ...).
    List,
}

/// The subschemas a keyword holds, if any.
pub fn children(keyword: &str) -> Option<Children> {
    Some(match keyword {
        "additionalProperties"
        | "items"
        | "contains"
        | "propertyNames"
        | "not"
        | "if"
        | "then"
        | "else"
        | "unevaluatedItems"
        | "unevaluatedProperties"
        | "contentSchema"
        | "additionalItems" => Children::One,
        "properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas" => Children::Map,
        "allOf" | "anyOf" | "oneOf" | "prefixItems" => Children::List,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_keyword_is_classified() {
        for k in ALL {
            assert!(support(k).is_some(), "{k}");
        }
        assert_eq!(support("x-whatever"), None);
        assert_eq!(support("not"), Some(Support::Unsupported));
        assert_eq!(support("minLength"), Some(Support::Narrowing));
    }
}
