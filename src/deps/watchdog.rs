//! The dependency watchdog: every manifest in the working tree read, each registry package
//! looked up, and a finding for each version that is outdated, yanked or deprecated — and, from
//! an OSV export given as a file, known to be vulnerable. Findings are plain data with a title,
//! a priority, their evidence and the manifests they concern; `findings_to_ticket_drafts`
//! turns them into chore tickets. Packages whose registry could not be asked are listed as
//! unknown (offline), never guessed.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::manifest::{self, Dependency, Ecosystem};
use super::registry::{Answer, Lookup, Registries};
use super::version::{Requirement, Version};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    Outdated,
    Yanked,
    Deprecated,
    Vulnerable,
}

/// One thing the watchdog found about one package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable across runs (dedup key): `deps-<ecosystem>-<name>-<kind>`.
    pub id: String,
    pub kind: FindingKind,
    pub title: String,
    /// Always `chore` (seed 002's ticket types).
    #[serde(rename = "type")]
    pub ticket_type: String,
    /// `high` (vulnerable, yanked), `medium` (deprecated, a major version behind), `low`.
    pub priority: String,
    pub ecosystem: Ecosystem,
    pub name: String,
    /// The version in use (locked or pinned), or the requirement.
    pub current: String,
    pub latest: Option<String>,
    pub evidence: Vec<String>,
    pub manifests: Vec<String>,
}

/// A ticket as seed 002 §5.1 writes it, ready for the ticket queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketDraft {
    pub id: String,
    #[serde(rename = "type")]
    pub ticket_type: String,
    pub priority: String,
    pub title: String,
    pub context: TicketContext,
    pub acceptance_criteria: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketContext {
    pub repo: String,
    pub filepaths: Vec<String>,
    pub error_logs: Vec<String>,
}

/// What a scan found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchReport {
    pub manifests: Vec<String>,
    pub packages: usize,
    pub findings: Vec<Finding>,
    /// Packages with no answer: `<registry> <name>: why`.
    pub unknown: Vec<String>,
    /// Manifests that could not be read.
    pub errors: Vec<String>,
}

/// Every manifest under `root` (not inside `.git`, `.overlord`, `node_modules`, `target`,
/// virtual environments).
pub fn manifests_in(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            let path = e.path();
            let Ok(kind) = e.file_type() else { continue };
            if kind.is_dir() {
                let skip = [
                    ".git",
                    ".overlord",
                    "node_modules",
                    "target",
                    ".venv",
                    "venv",
                ];
                if !skip.contains(&name.as_str()) && !name.starts_with('.') {
                    stack.push(path);
                }
            } else if kind.is_file() {
                let rel = path
                    .strip_prefix(root)
                    .map(|p| p.to_string_lossy().replace('\\', "/"))
                    .unwrap_or(name);
                if manifest::is_manifest(&rel) {
                    out.push(rel);
                }
            }
        }
    }
    out.sort();
    out
}

/// Reads the project's manifests under `root` and looks every package up.
pub fn scan(root: &Path, registries: &Registries) -> WatchReport {
    let manifests = manifests_in(root);
    let mut deps: Vec<Dependency> = Vec::new();
    let mut errors = Vec::new();
    for m in &manifests {
        match std::fs::read_to_string(root.join(m)) {
            Ok(text) => match manifest::parse(m, &text) {
                Ok(d) => deps.extend(d),
                Err(e) => errors.push(e),
            },
            Err(e) => errors.push(format!("{m}: {e}")),
        }
    }
    let mut by_package: BTreeMap<(Ecosystem, String), Vec<Dependency>> = BTreeMap::new();
    for d in deps {
        by_package
            .entry((d.ecosystem, d.name.clone()))
            .or_default()
            .push(d);
    }
    let wanted: Vec<(Ecosystem, String)> = by_package.keys().cloned().collect();
    let answers = registries.lookup_all(&wanted);
    let mut findings = Vec::new();
    let mut unknown = Vec::new();
    for (((eco, name), uses), lookup) in by_package.iter().zip(&answers) {
        match lookup.answer() {
            Some(Answer::Found(p)) => findings.extend(judge(*eco, name, uses, p, lookup)),
            Some(Answer::Missing) => unknown.push(format!(
                "{} {name}: the registry has no such package{}",
                eco.registry(),
                lookup.provenance()
            )),
            None => unknown.push(format!(
                "{} {name}: unknown{}",
                eco.registry(),
                lookup.provenance()
            )),
        }
    }
    WatchReport {
        manifests,
        packages: by_package.len(),
        findings,
        unknown,
        errors,
    }
}

/// The version in use: the lock file's, else an exact pin; else the requirement's text.
fn in_use(eco: Ecosystem, uses: &[Dependency]) -> (Option<String>, String) {
    if let Some(l) = uses.iter().find(|d| d.locked) {
        return (
            Some(l.requirement.trim_start_matches('=').to_string()),
            l.requirement.clone(),
        );
    }
    for d in uses {
        if let Some(v) = Requirement::parse(eco, &d.requirement).and_then(|r| r.exact().cloned()) {
            let text = v
                .parts
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(".");
            let text = match &v.pre {
                Some(pre) => format!("{text}-{pre}"),
                None => text,
            };
            return (Some(text), d.requirement.clone());
        }
    }
    let req = uses
        .first()
        .map(|d| d.requirement.clone())
        .unwrap_or_default();
    (None, req)
}

/// What every finding says, whatever it is.
struct About<'a> {
    eco: Ecosystem,
    name: &'a str,
    current: &'a str,
    latest: Option<&'a str>,
    uses: &'a [Dependency],
}

fn finding(
    a: &About<'_>,
    kind: FindingKind,
    priority: &str,
    title: String,
    evidence: Vec<String>,
) -> Finding {
    let About {
        eco,
        name,
        current,
        latest,
        uses,
    } = *a;
    let mut manifests: Vec<String> = uses.iter().map(|d| d.manifest.clone()).collect();
    manifests.sort();
    manifests.dedup();
    let kind_name = serde_json::to_value(kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    Finding {
        id: format!(
            "deps-{}-{}-{kind_name}",
            eco.name(),
            name.replace(['/', '@'], "-")
        ),
        kind,
        title,
        ticket_type: "chore".into(),
        priority: priority.into(),
        ecosystem: eco,
        name: name.into(),
        current: current.into(),
        latest: latest.map(str::to_string),
        evidence,
        manifests,
    }
}

fn judge(
    eco: Ecosystem,
    name: &str,
    uses: &[Dependency],
    p: &super::registry::Package,
    lookup: &Lookup,
) -> Vec<Finding> {
    let mut out = Vec::new();
    let (version, requirement) = in_use(eco, uses);
    let from = format!("{}{}", eco.registry(), lookup.provenance());
    let current = version.clone().unwrap_or_else(|| requirement.clone());
    let latest = p.latest.as_deref();
    let about = About {
        eco,
        name,
        current: &current,
        latest,
        uses,
    };
    let declared: Vec<String> = uses
        .iter()
        .map(|d| format!("{} declares {name} {:?}", d.manifest, d.requirement))
        .collect();
    if let Some(latest_v) = latest.and_then(Version::parse) {
        let behind = match &version {
            Some(v) => Version::parse(v).is_some_and(|v| v < latest_v),
            None => Requirement::parse(eco, &requirement).is_some_and(|r| !r.matches(&latest_v)),
        };
        if behind {
            let major = match version.as_deref().and_then(Version::parse) {
                Some(v) => v.parts.first() != latest_v.parts.first(),
                None => true,
            };
            let mut evidence = declared.clone();
            evidence.push(format!("latest on {from}: {}", latest.unwrap_or("")));
            out.push(finding(
                &about,
                FindingKind::Outdated,
                if major { "medium" } else { "low" },
                format!("Update {name} from {current} to {}", latest.unwrap_or("")),
                evidence,
            ));
        }
    }
    if let Some(v) = version.as_deref().and_then(|v| p.find(v)) {
        if v.yanked {
            let mut evidence = declared.clone();
            evidence.push(format!("{name} {} is yanked on {from}", v.version));
            out.push(finding(
                &about,
                FindingKind::Yanked,
                "high",
                format!("Replace yanked {name} {}", v.version),
                evidence,
            ));
        }
        if let Some(msg) = &v.deprecated {
            let mut evidence = declared;
            evidence.push(format!(
                "{name} {} is deprecated on {from}: {msg}",
                v.version
            ));
            out.push(finding(
                &about,
                FindingKind::Deprecated,
                "medium",
                format!("Replace deprecated {name} {}", v.version),
                evidence,
            ));
        }
    }
    out
}

/// Findings for the packages an OSV export (a JSON array of OSV records, or `{"vulns": […]}`,
/// or osv-scanner's `{"results": [{"packages": [{"package", "vulnerabilities"}]}]}`) says are
/// affected at the version in use.
pub fn osv_findings(root: &Path, text: &str, file: &str) -> Result<Vec<Finding>, String> {
    let doc: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("{file}: not OSV JSON: {e}"))?;
    let mut records: Vec<&serde_json::Value> = Vec::new();
    match &doc {
        serde_json::Value::Array(a) => records.extend(a),
        v if v.get("vulns").is_some() => {
            records.extend(v["vulns"].as_array().into_iter().flatten())
        }
        v if v.get("results").is_some() => {
            for r in v["results"].as_array().into_iter().flatten() {
                for p in r["packages"].as_array().into_iter().flatten() {
                    records.extend(p["vulnerabilities"].as_array().into_iter().flatten());
                }
            }
        }
        v if v.get("id").is_some() => records.push(v),
        _ => return Err(format!("{file}: no OSV records found")),
    }
    let mut uses: BTreeMap<(Ecosystem, String), Vec<Dependency>> = BTreeMap::new();
    for m in manifests_in(root) {
        if let Ok(text) = std::fs::read_to_string(root.join(&m)) {
            for d in manifest::parse(&m, &text).unwrap_or_default() {
                uses.entry((d.ecosystem, d.name.clone()))
                    .or_default()
                    .push(d);
            }
        }
    }
    let mut out = Vec::new();
    for rec in records {
        let id = rec["id"].as_str().unwrap_or("OSV");
        let summary = rec["summary"].as_str().unwrap_or("");
        for a in rec["affected"].as_array().into_iter().flatten() {
            let eco = match a["package"]["ecosystem"].as_str() {
                Some("crates.io") => Ecosystem::Cargo,
                Some("npm") => Ecosystem::Npm,
                Some("PyPI") => Ecosystem::PyPI,
                _ => continue,
            };
            let mut name = a["package"]["name"].as_str().unwrap_or("").to_string();
            if eco == Ecosystem::PyPI {
                name = manifest::normalize_pypi(&name);
            }
            let Some(ds) = uses.get(&(eco, name.clone())) else {
                continue;
            };
            let (Some(version), _) = in_use(eco, ds) else {
                continue;
            };
            let listed = a["versions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|v| v.as_str() == Some(version.as_str()));
            if listed {
                let about = About {
                    eco,
                    name: &name,
                    current: &version,
                    latest: None,
                    uses: ds,
                };
                let mut f = finding(
                    &about,
                    FindingKind::Vulnerable,
                    "high",
                    format!("Fix {id} in {name} {version}"),
                    vec![format!("{file}: {id} affects {name} {version}: {summary}")],
                );
                f.id = format!("{}-{}", f.id, id.to_ascii_lowercase());
                out.push(f);
            }
        }
    }
    Ok(out)
}

/// The findings as seed 002 tickets (type `chore`), one per finding, with the finding's id so
/// the queue can deduplicate them against the open ones.
pub fn findings_to_ticket_drafts(repo: &str, findings: &[Finding]) -> Vec<TicketDraft> {
    findings
        .iter()
        .map(|f| {
            let check = match f.kind {
                FindingKind::Outdated => format!(
                    "{} {} is at {} or later and the project's tests pass",
                    f.ecosystem.registry(),
                    f.name,
                    f.latest.as_deref().unwrap_or("the latest")
                ),
                FindingKind::Yanked => format!("{} no longer uses a yanked version", f.name),
                FindingKind::Deprecated => {
                    format!(
                        "{} is replaced or upgraded past the deprecated version",
                        f.name
                    )
                }
                FindingKind::Vulnerable => {
                    format!(
                        "{} is upgraded to a version the advisory does not affect",
                        f.name
                    )
                }
            };
            TicketDraft {
                id: f.id.clone(),
                ticket_type: f.ticket_type.clone(),
                priority: f.priority.clone(),
                title: f.title.clone(),
                context: TicketContext {
                    repo: repo.to_string(),
                    filepaths: f.manifests.clone(),
                    error_logs: f.evidence.clone(),
                },
                acceptance_criteria: vec![check],
            }
        })
        .collect()
}
