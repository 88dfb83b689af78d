//! Findings as text: human (one block per finding), JSON lines, GitHub workflow commands, the
//! same three formats as `check`.

use serde_json::json;

use super::Finding;

pub enum Format {
    Human,
    Json,
    Github,
}

fn place(f: &Finding) -> String {
    match &f.topic {
        Some(t) => format!("{}/{t}", f.channel),
        None => f.channel.clone(),
    }
}

fn label(f: &Finding) -> String {
    match f.direction {
        Some(d) => format!("{}, {}", f.category.as_str(), d.as_str()),
        None => f.category.as_str().to_string(),
    }
}

/// Every finding, then (human) a summary line. `file` is named in GitHub annotations.
pub fn render(findings: &[Finding], format: Format, file: Option<&str>) -> String {
    let mut out = String::new();
    for f in findings {
        match format {
            Format::Human => {
                let level = if f.allowed { "allowed" } else { "breaking" };
                out.push_str(&format!("{level}[{}]: {}: {}\n", label(f), place(f), f.message));
                if let Some(w) = &f.witness {
                    out.push_str(&format!("  = witness: {w}\n"));
                }
                if f.allowed {
                    out.push_str("  = acknowledged with `x-chanspec-allow: [breaking-change]`\n");
                }
            }
            Format::Json => {
                let line = json!({
                    "category": f.category.as_str(),
                    "direction": f.direction.map(|d| d.as_str()),
                    "channel": f.channel,
                    "topic": f.topic,
                    "pointer": f.at,
                    "message": f.message,
                    "witness": f.witness,
                    "certain": f.certain,
                    "allowed": f.allowed,
                });
                out.push_str(&format!("{line}\n"));
            }
            Format::Github => {
                let level = if f.allowed { "notice" } else { "error" };
                let file = file.map(|p| format!("file={p},")).unwrap_or_default();
                let text = format!("{}: {}", place(f), f.message)
                    .replace('%', "%25")
                    .replace('\r', "%0D")
                    .replace('\n', "%0A");
                out.push_str(&format!("::{level} {file}title=chanspec diff ({})::{text}\n", label(f)));
            }
        }
    }
    out
}

/// `no breaking changes` or `2 breaking changes (wire: 1, names: 1), 1 acknowledged`.
pub fn summary(findings: &[Finding]) -> String {
    let breaking: Vec<&Finding> = findings.iter().filter(|f| !f.allowed).collect();
    let allowed = findings.len() - breaking.len();
    let mut text = if breaking.is_empty() {
        "no breaking changes".to_string()
    } else {
        let mut counts = std::collections::BTreeMap::new();
        for f in &breaking {
            *counts.entry(f.category.as_str()).or_insert(0) += 1;
        }
        let parts: Vec<String> = counts.iter().map(|(c, n)| format!("{c}: {n}")).collect();
        let plural = if breaking.len() == 1 { "" } else { "s" };
        format!("{} breaking change{plural} ({})", breaking.len(), parts.join(", "))
    };
    if allowed > 0 {
        text.push_str(&format!(", {allowed} acknowledged"));
    }
    text
}
