//! Asking the public registries about a package: whether it exists, its published versions
//! (yanked on crates.io and PyPI, deprecated on npm) and the latest. Answers are cached under
//! `.overlord/cache/registry/<ecosystem>/`; when the registry cannot be reached the cached
//! answer is used and says how old it is, and without one the answer is `Unknown` — never a
//! guess.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::http::{self, Fetched};
use super::manifest::{normalize_pypi, Ecosystem};
use super::version::{newest, Requirement, Version};
use crate::config::DepsConfig;

/// One published version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    pub version: String,
    #[serde(default)]
    pub yanked: bool,
    /// npm's deprecation message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deprecated: Option<String>,
}

/// What the registry says about a package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Package {
    pub versions: Vec<Published>,
    /// The registry's own latest (npm's `latest` tag, PyPI's `info.version`), else the
    /// newest release that is not yanked.
    pub latest: Option<String>,
}

impl Package {
    /// The published versions satisfying `requirement` (as `eco` writes it).
    pub fn matching(&self, eco: Ecosystem, requirement: &str) -> Option<Vec<&Published>> {
        let req = Requirement::parse(eco, requirement)?;
        Some(
            self.versions
                .iter()
                .filter(|p| Version::parse(&p.version).is_some_and(|v| req.matches(&v)))
                .collect(),
        )
    }

    pub fn find(&self, version: &str) -> Option<&Published> {
        let want = Version::parse(version)?;
        self.versions
            .iter()
            .find(|p| Version::parse(&p.version).is_some_and(|v| v.cmp(&want).is_eq()))
    }
}

/// A registry's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Answer {
    Found(Package),
    /// The registry says there is no such package.
    Missing,
}

/// A lookup's result: the answer and where it came from, or why there is none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Lookup {
    /// Asked the registry just now (or within the cache's freshness window).
    Live { answer: Answer },
    /// The registry could not be reached: the cached answer, as of `fetched_at`.
    Cached {
        answer: Answer,
        fetched_at: String,
        why: String,
    },
    /// No answer: unreachable and nothing cached.
    Unknown { why: String },
}

impl Lookup {
    pub fn answer(&self) -> Option<&Answer> {
        match self {
            Lookup::Live { answer } | Lookup::Cached { answer, .. } => Some(answer),
            Lookup::Unknown { .. } => None,
        }
    }

    /// "", or " (cached as of …: why)" for an answer that did not come live.
    pub fn provenance(&self) -> String {
        match self {
            Lookup::Live { .. } => String::new(),
            Lookup::Cached {
                fetched_at, why, ..
            } => {
                format!(" (offline: cached answer of {fetched_at}; {why})")
            }
            Lookup::Unknown { why } => format!(" (offline: {why})"),
        }
    }
}

#[derive(Serialize, Deserialize)]
struct CacheEntry {
    fetched_at: String,
    /// Unix seconds, for the freshness window.
    fetched_unix: u64,
    answer: Answer,
}

/// The three registries, with their cache.
#[derive(Debug, Clone)]
pub struct Registries {
    pub crates: String,
    pub npm: String,
    pub pypi: String,
    pub cache: PathBuf,
    pub ttl_secs: u64,
    pub timeout: Duration,
}

impl Registries {
    /// From `[deps]` (environment variables win), caching under `overlord_dir/cache/registry`.
    pub fn from_config(config: &DepsConfig, overlord_dir: &Path) -> Registries {
        let pick = |var: &str, configured: &str, default: &str| {
            std::env::var(var)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .or_else(|| crate::config::non_empty(configured))
                .unwrap_or_else(|| default.to_string())
                .trim_end_matches('/')
                .to_string()
        };
        Registries {
            crates: pick(
                "OVERLORD_REGISTRY_CRATES",
                &config.crates_index,
                "https://index.crates.io",
            ),
            npm: pick(
                "OVERLORD_REGISTRY_NPM",
                &config.npm_registry,
                "https://registry.npmjs.org",
            ),
            pypi: pick("OVERLORD_REGISTRY_PYPI", &config.pypi, "https://pypi.org"),
            cache: overlord_dir.join("cache").join("registry"),
            ttl_secs: config.cache_ttl_secs,
            timeout: Duration::from_secs(config.timeout_secs.max(1)),
        }
    }

    /// The URL of a package's document.
    pub fn url(&self, eco: Ecosystem, name: &str) -> String {
        match eco {
            Ecosystem::Cargo => {
                let n = name.to_ascii_lowercase();
                let prefix = match n.len() {
                    1 => "1".to_string(),
                    2 => "2".to_string(),
                    3 => format!("3/{}", &n[..1]),
                    _ => format!("{}/{}", &n[..2], &n[2..4]),
                };
                format!("{}/{prefix}/{n}", self.crates)
            }
            Ecosystem::Npm => format!("{}/{}", self.npm, name.replace('/', "%2f")),
            Ecosystem::PyPI => format!("{}/pypi/{}/json", self.pypi, normalize_pypi(name)),
        }
    }

    fn cache_file(&self, eco: Ecosystem, name: &str) -> PathBuf {
        let safe: String = name
            .to_ascii_lowercase()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                    c
                } else {
                    '+'
                }
            })
            .collect();
        self.cache.join(eco.name()).join(format!("{safe}.json"))
    }

    /// Looks several packages up (one request each), off any async runtime the caller is on.
    pub fn lookup_all(&self, wanted: &[(Ecosystem, String)]) -> Vec<Lookup> {
        let me = self.clone();
        let n = wanted.len();
        let wanted = wanted.to_vec();
        let joined = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            match rt {
                Ok(rt) => rt.block_on(async {
                    // A registry that could not be reached once is not asked again in this
                    // batch: a black-holed network would otherwise cost a timeout per package.
                    let mut down: BTreeMap<Ecosystem, String> = BTreeMap::new();
                    let mut out = Vec::new();
                    for (eco, name) in &wanted {
                        let l = me.lookup_unless(*eco, name, down.get(eco).cloned()).await;
                        if let Lookup::Unknown { why } | Lookup::Cached { why, .. } = &l {
                            if !down.contains_key(eco) && !why.contains("unreadable answer") {
                                let why = format!("unreachable earlier in this check ({why})");
                                down.insert(*eco, why);
                            }
                        }
                        out.push(l);
                    }
                    out
                }),
                Err(e) => wanted
                    .iter()
                    .map(|_| Lookup::Unknown {
                        why: format!("no runtime for the requests: {e}"),
                    })
                    .collect(),
            }
        })
        .join();
        joined.unwrap_or_else(|_| {
            vec![
                Lookup::Unknown {
                    why: "the registry lookup stopped unexpectedly".into()
                };
                n
            ]
        })
    }

    /// One package: fresh cache, else the registry, else the cache, else unknown.
    pub async fn lookup(&self, eco: Ecosystem, name: &str) -> Lookup {
        self.lookup_unless(eco, name, None).await
    }

    /// A lookup; with `down` (why the registry is known to be unreachable) it is not asked.
    async fn lookup_unless(&self, eco: Ecosystem, name: &str, down: Option<String>) -> Lookup {
        let cached = self.read_cache(eco, name);
        if let Some(c) = &cached {
            if now_unix().saturating_sub(c.fetched_unix) < self.ttl_secs {
                return Lookup::Live {
                    answer: c.answer.clone(),
                };
            }
        }
        let url = self.url(eco, name);
        let fetched = match down {
            Some(why) => Err(why),
            None => http::get(&url, self.timeout).await,
        };
        let why = match fetched {
            Ok(Fetched::NotFound) => return self.store(eco, name, Answer::Missing),
            Ok(Fetched::Body(body)) => match parse_answer(eco, &body) {
                Ok(p) => return self.store(eco, name, Answer::Found(p)),
                Err(e) => format!("{url}: unreadable answer: {e}"),
            },
            Err(e) => e,
        };
        match cached {
            Some(c) => Lookup::Cached {
                answer: c.answer,
                fetched_at: c.fetched_at,
                why,
            },
            None => Lookup::Unknown { why },
        }
    }

    fn read_cache(&self, eco: Ecosystem, name: &str) -> Option<CacheEntry> {
        let text = std::fs::read(self.cache_file(eco, name)).ok()?;
        serde_json::from_slice(&text).ok()
    }

    fn store(&self, eco: Ecosystem, name: &str, answer: Answer) -> Lookup {
        let entry = CacheEntry {
            fetched_at: crate::core::now(),
            fetched_unix: now_unix(),
            answer,
        };
        let path = self.cache_file(eco, name);
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        // A cache that cannot be written only costs a later offline answer.
        if let Ok(json) = serde_json::to_vec(&entry) {
            let tmp = path.with_extension("json.tmp");
            if std::fs::write(&tmp, json).is_ok() {
                let _ = std::fs::rename(&tmp, &path);
            }
        }
        Lookup::Live {
            answer: entry.answer,
        }
    }
}

fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Reads a registry's document into the versions and the latest.
pub fn parse_answer(eco: Ecosystem, body: &[u8]) -> Result<Package, String> {
    match eco {
        Ecosystem::Cargo => {
            #[derive(Deserialize)]
            struct Line {
                vers: String,
                #[serde(default)]
                yanked: bool,
            }
            let text = std::str::from_utf8(body).map_err(|e| e.to_string())?;
            let mut versions = Vec::new();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let l: Line = serde_json::from_str(line).map_err(|e| e.to_string())?;
                versions.push(Published {
                    version: l.vers,
                    yanked: l.yanked,
                    deprecated: None,
                });
            }
            let latest = newest(
                versions
                    .iter()
                    .filter(|p| !p.yanked)
                    .map(|p| p.version.as_str()),
            );
            Ok(Package { versions, latest })
        }
        Ecosystem::Npm => {
            let doc: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
            let versions: Vec<Published> = doc
                .get("versions")
                .and_then(|v| v.as_object())
                .into_iter()
                .flatten()
                .map(|(v, meta)| Published {
                    version: v.clone(),
                    yanked: false,
                    deprecated: meta
                        .get("deprecated")
                        .and_then(|d| d.as_str())
                        .filter(|d| !d.is_empty())
                        .map(str::to_string),
                })
                .collect();
            let latest = doc
                .pointer("/dist-tags/latest")
                .and_then(|l| l.as_str())
                .map(str::to_string)
                .or_else(|| newest(versions.iter().map(|p| p.version.as_str())));
            Ok(Package { versions, latest })
        }
        Ecosystem::PyPI => {
            let doc: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
            let versions: Vec<Published> = doc
                .get("releases")
                .and_then(|r| r.as_object())
                .into_iter()
                .flatten()
                .map(|(v, files)| {
                    let files = files.as_array().cloned().unwrap_or_default();
                    Published {
                        version: v.clone(),
                        // A release is yanked when every file of it is.
                        yanked: !files.is_empty()
                            && files
                                .iter()
                                .all(|f| f.get("yanked").and_then(|y| y.as_bool()) == Some(true)),
                        deprecated: None,
                    }
                })
                .collect();
            let latest = doc
                .pointer("/info/version")
                .and_then(|l| l.as_str())
                .map(str::to_string)
                .or_else(|| {
                    newest(
                        versions
                            .iter()
                            .filter(|p| !p.yanked)
                            .map(|p| p.version.as_str()),
                    )
                });
            Ok(Package { versions, latest })
        }
    }
}
