//! The project's package manager: detected from `packageManager` in package.json, else from
//! its lockfile, else npm; and had when it is not installed — the pinned version through
//! corepack, else `npx <pm>@<version>` — behind a shim on `PATH`, so that the project's own
//! scripts calling `pnpm …` find it too.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::core::shell;

/// The package managers Overlord knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PmKind {
    Npm,
    Pnpm,
    Yarn,
    Bun,
}

impl PmKind {
    pub fn name(self) -> &'static str {
        match self {
            PmKind::Npm => "npm",
            PmKind::Pnpm => "pnpm",
            PmKind::Yarn => "yarn",
            PmKind::Bun => "bun",
        }
    }

    fn parse(s: &str) -> Option<PmKind> {
        Some(match s {
            "npm" => PmKind::Npm,
            "pnpm" => PmKind::Pnpm,
            "yarn" => PmKind::Yarn,
            "bun" => PmKind::Bun,
            _ => return None,
        })
    }

    /// Its lockfiles.
    pub fn lockfiles(self) -> &'static [&'static str] {
        match self {
            PmKind::Npm => &["package-lock.json", "npm-shrinkwrap.json"],
            PmKind::Pnpm => &["pnpm-lock.yaml"],
            PmKind::Yarn => &["yarn.lock"],
            PmKind::Bun => &["bun.lock", "bun.lockb"],
        }
    }
}

/// The detected package manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageManager {
    pub kind: PmKind,
    /// The pinned version (`packageManager: "pnpm@9.15.0+sha512…"` gives `9.15.0`).
    pub version: Option<String>,
    /// What it was detected from (`packageManager in package.json`, `pnpm-lock.yaml`, …).
    pub source: String,
    /// The lockfile at the root, when there is one.
    pub lockfile: Option<String>,
}

impl PackageManager {
    /// `packageManager` first, then the lockfiles (pnpm, yarn, bun, npm), else npm.
    pub fn detect(manifest: &Value, has_file: impl Fn(&str) -> bool) -> PackageManager {
        let lock_of = |k: PmKind| {
            k.lockfiles()
                .iter()
                .find(|f| has_file(f))
                .map(|f| f.to_string())
        };
        if let Some(field) = manifest.get("packageManager").and_then(Value::as_str) {
            let (name, version) = field.split_once('@').unwrap_or((field, ""));
            if let Some(kind) = PmKind::parse(name.trim()) {
                let version = version.split('+').next().unwrap_or("").trim();
                return PackageManager {
                    kind,
                    version: (!version.is_empty()).then(|| version.to_string()),
                    source: format!("packageManager \"{field}\" in package.json"),
                    lockfile: lock_of(kind),
                };
            }
        }
        for kind in [PmKind::Pnpm, PmKind::Yarn, PmKind::Bun, PmKind::Npm] {
            if let Some(lock) = lock_of(kind) {
                return PackageManager {
                    kind,
                    version: None,
                    source: lock.clone(),
                    lockfile: Some(lock),
                };
            }
        }
        PackageManager {
            kind: PmKind::Npm,
            version: None,
            source: "no packageManager field and no lockfile: npm".into(),
            lockfile: None,
        }
    }

    /// `pnpm@9.15.0`, or the bare name.
    pub fn spec(&self) -> String {
        match &self.version {
            Some(v) => format!("{}@{v}", self.kind.name()),
            None => self.kind.name().to_string(),
        }
    }

    /// The command that installs the dependencies as the lockfile pins them (or resolves
    /// them, with no lockfile).
    pub fn install_command(&self) -> String {
        let locked = self.lockfile.is_some();
        match (self.kind, locked) {
            (PmKind::Npm, true) => "npm ci --no-audit --no-fund".into(),
            (PmKind::Npm, false) => "npm install --no-audit --no-fund".into(),
            (PmKind::Pnpm, true) => "pnpm install --frozen-lockfile".into(),
            (PmKind::Pnpm, false) => "pnpm install".into(),
            (PmKind::Yarn, true) if self.berry() => "yarn install --immutable".into(),
            (PmKind::Yarn, true) => "yarn install --frozen-lockfile".into(),
            (PmKind::Yarn, false) => "yarn install".into(),
            (PmKind::Bun, true) => "bun install --frozen-lockfile".into(),
            (PmKind::Bun, false) => "bun install".into(),
        }
    }

    /// Yarn 2 or later.
    fn berry(&self) -> bool {
        self.version
            .as_deref()
            .and_then(|v| v.split('.').next())
            .and_then(|m| m.parse::<u32>().ok())
            .is_some_and(|m| m >= 2)
    }

    /// `<pm> run <script>` (`npm run build`, `bun run build`: `bun build` is Bun's bundler).
    pub fn run_script(&self, script: &str) -> String {
        format!("{} run {script}", self.kind.name())
    }

    /// The project's test script in every workspace package that has one.
    pub fn workspaces_test(&self) -> String {
        match self.kind {
            PmKind::Npm => "npm test --workspaces --if-present".into(),
            PmKind::Pnpm => "pnpm -r --if-present test".into(),
            PmKind::Yarn if self.berry() => "yarn workspaces foreach -A run test".into(),
            PmKind::Yarn => "yarn workspaces run test".into(),
            PmKind::Bun => "bun run --filter '*' test".into(),
        }
    }
}

/// How the package manager is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// `pnpm 9.15.0 (installed)`, `pnpm 9.15.0 through npx`, ….
    pub how: String,
    /// A directory with a shim for it, to put first on `PATH` (none when the installed one
    /// is used).
    pub shim_dir: Option<PathBuf>,
}

fn probe(command: &str, dir: &Path, env: &[(&str, &str)]) -> Result<String, String> {
    match shell::run(command, dir, env, Some(Duration::from_secs(180)), None) {
        Ok(r) if r.success() => Ok(version_line(&r.tail)),
        Ok(r) => Err(format!("`{command}` {}: {}", r.describe(), r.tail_lines(2))),
        Err(e) => Err(format!("`{command}` cannot start: {e}")),
    }
}

/// The version a `--version` printed: its last line that reads as one (npx and corepack may
/// add notices around it, e.g. `npm notice New major version of npm available!`), else its
/// last line.
fn version_line(output: &str) -> String {
    let lines: Vec<&str> = output
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .iter()
        .rev()
        .find(|l| {
            let v = l.strip_prefix('v').unwrap_or(l);
            v.starts_with(|c: char| c.is_ascii_digit()) && !v.contains(' ')
        })
        .or(lines.last())
        .map(|l| l.to_string())
        .unwrap_or_default()
}

/// Finds the package manager: installed at the pinned version (or any, when none is pinned),
/// else the pinned version through corepack, else through `npx -y <pm>@<version>`; a shim
/// in `shims` then makes the name run it. The error says what was tried.
pub fn resolve(pm: &PackageManager, dir: &Path, shims: &Path) -> Result<Resolved, String> {
    let name = pm.kind.name();
    let installed = probe(&format!("{name} --version"), dir, &[]);
    if let Ok(v) = &installed {
        // npm comes with node; a pinned npm version is not worth a download.
        let fits = pm.version.as_deref().is_none_or(|want| want == v) || pm.kind == PmKind::Npm;
        if fits {
            return Ok(Resolved {
                how: format!("{name} {v} (installed)"),
                shim_dir: None,
            });
        }
    }
    let spec = match &pm.version {
        Some(v) => format!("{name}@{v}"),
        None => format!("{name}@latest"),
    };
    let corepack_env = [("COREPACK_ENABLE_DOWNLOAD_PROMPT", "0")];
    let mut tried = Vec::new();
    for (via, prefix, env) in [
        ("corepack", format!("corepack {spec}"), &corepack_env[..]),
        ("npx", format!("npx -y {spec}"), &[][..]),
    ] {
        match probe(&format!("{prefix} --version"), dir, env) {
            Ok(v) => {
                let shim_dir = shims.join(spec.replace('@', "-"));
                write_shim(&shim_dir, name, &prefix, env)
                    .map_err(|e| format!("{}: {e}", shim_dir.display()))?;
                return Ok(Resolved {
                    how: format!("{name} {v} through {via}"),
                    shim_dir: Some(shim_dir),
                });
            }
            Err(e) => tried.push(e),
        }
    }
    let have = match installed {
        Ok(v) => format!("{name} {v} is installed, not {spec}"),
        Err(_) => format!("{name} is not installed"),
    };
    Err(format!(
        "{spec} ({}) cannot be had: {have}; {}",
        pm.source,
        tried.join("; ")
    ))
}

fn write_shim(dir: &Path, name: &str, prefix: &str, env: &[(&str, &str)]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let exports: String = env
        .iter()
        .map(|(k, v)| format!("export {k}={v}\n"))
        .collect();
    let path = dir.join(name);
    let text = format!("#!/bin/sh\n# Written by overlord-tui: {name} as package.json pins it.\n{exports}exec {prefix} \"$@\"\n");
    let tmp = dir.join(format!(".{name}.tmp"));
    std::fs::write(&tmp, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    }
    std::fs::rename(&tmp, &path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(manifest: &str, files: &[&str]) -> PackageManager {
        let v: Value = serde_json::from_str(manifest).unwrap();
        PackageManager::detect(&v, |f| files.contains(&f))
    }

    #[test]
    fn the_version_is_read_past_the_notices_around_it() {
        let npx = "10.14.0-0\nnpm notice\nnpm notice New major version of npm available! 10.8.2 -> 11.6.2\nnpm notice To update run: npm install -g npm@11.6.2\nnpm notice\n";
        assert_eq!(version_line(npx), "10.14.0-0");
        assert_eq!(version_line("v20.20.2\n"), "v20.20.2");
        assert_eq!(version_line("Preparing pnpm@9.15.0...\n9.15.0\n"), "9.15.0");
        assert_eq!(version_line("something else\n"), "something else");
        assert_eq!(version_line(""), "");
    }

    #[test]
    fn the_field_wins_then_the_lockfiles() {
        let p = detect(
            r#"{"packageManager":"pnpm@9.15.0+sha512.abc"}"#,
            &["package-lock.json"],
        );
        assert_eq!(
            (p.kind, p.version.as_deref()),
            (PmKind::Pnpm, Some("9.15.0"))
        );
        assert_eq!(p.lockfile, None);
        assert_eq!(p.install_command(), "pnpm install");
        let p = detect("{}", &["yarn.lock", "package-lock.json"]);
        assert_eq!(p.kind, PmKind::Yarn);
        assert_eq!(p.install_command(), "yarn install --frozen-lockfile");
        let p = detect(r#"{"packageManager":"yarn@4.1.0"}"#, &["yarn.lock"]);
        assert_eq!(p.install_command(), "yarn install --immutable");
        assert_eq!(detect("{}", &["bun.lockb"]).kind, PmKind::Bun);
        let p = detect("{}", &["package-lock.json"]);
        assert_eq!(p.install_command(), "npm ci --no-audit --no-fund");
        let p = detect(r#"{"packageManager":"nonsense"}"#, &[]);
        assert_eq!((p.kind, p.lockfile), (PmKind::Npm, None));
    }
}
