//! What a run needs for its adapter's endpoint besides its command line (`base_url`,
//! `api_key_env`; see `crate::agent::endpoint`): the API key copied from Overlord's
//! environment into the variable the CLI reads, and Gemini CLI's home of the adapter's own
//! (`GEMINI_CLI_HOME`, under `~/.local/state/overlord-tui/gemini/<adapter>/`) with the
//! settings that select API-key auth — the user's own `~/.gemini` is neither read nor changed.

use std::path::{Path, PathBuf};

use crate::agent::adapter::AdapterSpec;
use crate::agent::endpoint::{gemini_home, GEMINI_HOME_ENV};

/// The extra environment of one run of `spec`; `home` is the user's home directory (`None`
/// when `$HOME` is not set). The error says why the run cannot start (a key variable that is
/// not set, a settings file that cannot be written).
pub fn run_env(spec: &AdapterSpec, home: Option<&Path>) -> Result<Vec<(String, String)>, String> {
    let mut env = spec
        .endpoint
        .key_env(spec.endpoint_kind(), &spec.name, |v| std::env::var(v).ok())?;
    if let Some(settings) = spec.endpoint.gemini_settings(spec.endpoint_kind()) {
        let dir = gemini_dir(&spec.name, home)?;
        let path = dir.join(".gemini").join("settings.json");
        write_settings(&path, &settings)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        env.push((GEMINI_HOME_ENV.to_string(), dir.display().to_string()));
    }
    Ok(env)
}

/// The home directory as the environment gives it.
pub fn user_home() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}

/// The adapter's Gemini home, `~` expanded.
fn gemini_dir(adapter: &str, home: Option<&Path>) -> Result<PathBuf, String> {
    let rel = gemini_home(adapter);
    let rel = rel.trim_start_matches("~/").trim_end_matches('/');
    home.map(|h| h.join(rel)).ok_or_else(|| {
        format!("[adapters.{adapter}]: $HOME is not set, so Gemini CLI's home for this endpoint has no place")
    })
}

/// Writes the settings (owner-only) unless the file already says exactly that.
fn write_settings(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    if std::fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    let tmp = dir.join(".settings.json.overlord-tmp");
    std::fs::write(&tmp, text)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::AdapterConfig;

    #[test]
    fn gemini_gets_a_home_of_its_own() {
        let home = tempfile::tempdir().unwrap();
        let spec = AdapterSpec::from_config(
            "gem",
            &AdapterConfig {
                kind: "gemini".into(),
                base_url: "http://127.0.0.1:7/".into(),
                ..AdapterConfig::default()
            },
        )
        .unwrap();
        assert_eq!(spec.state_dirs, ["~/.local/state/overlord-tui/gemini/gem/"]);
        let env = run_env(&spec, Some(home.path())).unwrap();
        let dir = home.path().join(".local/state/overlord-tui/gemini/gem");
        assert_eq!(
            env,
            [(GEMINI_HOME_ENV.to_string(), dir.display().to_string())]
        );
        let settings = dir.join(".gemini/settings.json");
        let text = std::fs::read_to_string(&settings).unwrap();
        assert!(text.contains("gemini-api-key"), "{text}");
        // Again: the same file, nothing else left behind; the user's ~/.gemini untouched.
        run_env(&spec, Some(home.path())).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.join(".gemini"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["settings.json"]);
        assert!(!home.path().join(".gemini").exists());
        let err = run_env(&spec, None).unwrap_err();
        assert!(err.contains("$HOME is not set"), "{err}");
    }
}
