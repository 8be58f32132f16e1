//! Pointing a CLI at another model API: `[adapters.<name>] base_url` and `api_key_env` turned
//! into each CLI's own mechanism, and the signs in a CLI's output that it cannot reach its
//! API at all.
//!
//! | kind | `base_url` | `api_key_env` |
//! |---|---|---|
//! | codex | a model provider of its own: `-c model_provider=<p>`, `-c model_providers.<p>.base_url=…`, `….wire_api="responses"` (codex 0.169.0 ignores `OPENAI_BASE_URL`) | `-c model_providers.<p>.env_key=<VAR>` (codex reads the variable itself); without `base_url`, `OPENAI_API_KEY` |
//! | claude | `ANTHROPIC_BASE_URL` | `ANTHROPIC_API_KEY` |
//! | gemini | `GOOGLE_GEMINI_BASE_URL`, and a Gemini home of the adapter's own (`GEMINI_CLI_HOME`) whose `.gemini/settings.json` selects API-key auth: the user's `~/.gemini` is left alone | `GEMINI_API_KEY` |
//! | aider | `--openai-api-base <url>` | `OPENAI_API_KEY` |
//!
//! A key is copied from Overlord's environment into the variable the CLI reads, at spawn,
//! never onto the command line (which is logged and shown by `ps`).

use super::classify::http_status;
use super::kind::AdapterKind;

/// The environment variable that moves Gemini CLI's `~/.gemini` (settings, sessions) to
/// `$GEMINI_CLI_HOME/.gemini`. (Its system settings file, `GEMINI_CLI_SYSTEM_SETTINGS_PATH`,
/// is no use: Gemini CLI 0.61.0 skips one that is not owned by root in root-owned folders.)
pub const GEMINI_HOME_ENV: &str = "GEMINI_CLI_HOME";

/// An adapter's endpoint keys, checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Endpoint {
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
}

impl Endpoint {
    /// Checks `base_url` (an `http://` or `https://` URL) and `api_key_env` (a variable's
    /// name); the error names the adapter and the key.
    pub fn from_config(
        adapter: &str,
        kind: AdapterKind,
        base_url: &str,
        api_key_env: &str,
    ) -> Result<Endpoint, String> {
        let base_url = base_url.trim();
        let api_key_env = api_key_env.trim();
        if !base_url.is_empty() {
            let rest = base_url
                .strip_prefix("http://")
                .or_else(|| base_url.strip_prefix("https://"));
            if rest.is_none_or(|r| r.is_empty() || r.starts_with('/'))
                || base_url.chars().any(|c| c.is_whitespace() || c == '"')
            {
                return Err(format!(
                    "[adapters.{adapter}] base_url must be an http:// or https:// URL, not \"{base_url}\""
                ));
            }
        }
        if !api_key_env.is_empty()
            && (api_key_env.starts_with(|c: char| c.is_ascii_digit())
                || !api_key_env
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Err(format!(
                "[adapters.{adapter}] api_key_env is the name of an environment variable (letters, digits, _), not \"{api_key_env}\""
            ));
        }
        let e = Endpoint {
            base_url: (!base_url.is_empty()).then(|| base_url.to_string()),
            api_key_env: (!api_key_env.is_empty()).then(|| api_key_env.to_string()),
        };
        if e.is_set()
            && matches!(
                kind,
                AdapterKind::Command | AdapterKind::Scripted | AdapterKind::Acp
            )
        {
            return Err(format!(
                "[adapters.{adapter}] base_url and api_key_env are for codex, claude, gemini and aider; a {kind} adapter gets its settings through env"
            ));
        }
        Ok(e)
    }

    pub fn is_set(&self) -> bool {
        self.base_url.is_some() || self.api_key_env.is_some()
    }

    /// The arguments that point the CLI at the endpoint (codex's provider, aider's base).
    /// `adapter` names codex's provider.
    pub fn args(&self, kind: AdapterKind, adapter: &str) -> Vec<String> {
        match (kind, &self.base_url) {
            (AdapterKind::Codex, Some(url)) => {
                let p = codex_provider(adapter);
                let mut args = Vec::new();
                let mut set = |key: &str, value: &str| {
                    args.push("-c".to_string());
                    args.push(format!("{key}={}", toml_quote(value)));
                };
                set("model_provider", &p);
                set(&format!("model_providers.{p}.name"), &p);
                set(&format!("model_providers.{p}.base_url"), url);
                if let Some(var) = &self.api_key_env {
                    set(&format!("model_providers.{p}.env_key"), var);
                }
                set(&format!("model_providers.{p}.wire_api"), "responses");
                args
            }
            (AdapterKind::Aider, Some(url)) => vec!["--openai-api-base".into(), url.clone()],
            _ => Vec::new(),
        }
    }

    /// The environment that points the CLI at the endpoint (no secrets: see
    /// [`Endpoint::key_env`]).
    pub fn env(&self, kind: AdapterKind) -> Vec<(String, String)> {
        let Some(url) = &self.base_url else {
            return Vec::new();
        };
        match kind {
            AdapterKind::Claude => vec![("ANTHROPIC_BASE_URL".into(), url.clone())],
            AdapterKind::Gemini => vec![("GOOGLE_GEMINI_BASE_URL".into(), url.clone())],
            _ => Vec::new(),
        }
    }

    /// The API key copied from `api_key_env` into the variable the CLI reads; `lookup` reads
    /// Overlord's environment. An unset or empty variable is an error naming it (the run
    /// does not start: it could only fail on credentials).
    pub fn key_env(
        &self,
        kind: AdapterKind,
        adapter: &str,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<(String, String)>, String> {
        let Some(var) = &self.api_key_env else {
            return Ok(Vec::new());
        };
        let value = lookup(var).filter(|v| !v.trim().is_empty()).ok_or_else(|| {
            format!(
                "[adapters.{adapter}] api_key_env: ${var} is not set in Overlord's environment; export it before starting Overlord"
            )
        })?;
        let target = match (kind, &self.base_url) {
            // Codex reads the provider's env_key itself (it inherits the variable).
            (AdapterKind::Codex, Some(_)) => return Ok(Vec::new()),
            (AdapterKind::Codex, None) | (AdapterKind::Aider, _) => "OPENAI_API_KEY",
            (AdapterKind::Claude, _) => "ANTHROPIC_API_KEY",
            (AdapterKind::Gemini, _) => "GEMINI_API_KEY",
            (AdapterKind::Command | AdapterKind::Scripted | AdapterKind::Acp, _) => {
                return Ok(Vec::new())
            }
        };
        if target == var {
            return Ok(Vec::new());
        }
        Ok(vec![(target.to_string(), value)])
    }

    /// Gemini CLI's settings for this endpoint (its `.gemini/settings.json` in the adapter's
    /// own [`gemini_home`]): API-key authentication — with `GOOGLE_GEMINI_BASE_URL` set and
    /// no auth type chosen, Gemini CLI 0.61.0 picks a "gateway" auth it then refuses
    /// ("Invalid auth method selected", exit 41) — and no usage statistics sent to Google
    /// about runs against another endpoint. `None`: no settings needed.
    pub fn gemini_settings(&self, kind: AdapterKind) -> Option<String> {
        if kind != AdapterKind::Gemini || !self.is_set() {
            return None;
        }
        let settings = serde_json::json!({
            "security": {"auth": {"selectedType": "gemini-api-key"}},
            "privacy": {"usageStatisticsEnabled": false},
        });
        Some(serde_json::to_string_pretty(&settings).unwrap_or_default())
    }
}

/// Where a gemini adapter with an endpoint keeps its Gemini home (`GEMINI_CLI_HOME`: its
/// settings and sessions), `~` being the home directory; also its default `state_dirs`.
pub fn gemini_home(adapter: &str) -> String {
    let clean: String = adapter
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("~/.local/state/overlord-tui/gemini/{clean}/")
}

/// Codex's provider id for an adapter: `overlord_<adapter>` with anything but letters,
/// digits and `_` made `_` (it is a key in codex's configuration).
pub fn codex_provider(adapter: &str) -> String {
    let clean: String = adapter
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("overlord_{clean}")
}

/// A TOML basic string (codex parses a `-c` value as TOML).
fn toml_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether a line a CLI printed (a warning, an error, a line of stderr) says it cannot reach
/// its model API at all: codex's `Reconnecting... waiting for network`, a refused or failed
/// connection, a name that does not resolve. A reconnect caused by an HTTP answer (a 429, a
/// 5xx) is the API answering, not this.
pub fn unreachable(line: &str) -> bool {
    let l = line.to_ascii_lowercase();
    if l.contains("waiting for network") {
        return true;
    }
    // Claude Code retrying a request that got no HTTP answer at all (its `api_retry` event
    // with `error_status: null`, `error: "unknown"`: a refused or failed connection).
    if l.contains("\"subtype\":\"api_retry\"") && l.contains("\"error_status\":null") {
        return true;
    }
    const NEEDLES: [&str; 14] = [
        "connection refused",
        "econnrefused",
        "fetch failed",
        "connection failed",
        "error sending request",
        "failed to connect",
        "could not connect",
        "enotfound",
        "getaddrinfo",
        "could not resolve host",
        "network is unreachable",
        "enetunreach",
        "ehostunreach",
        "apiconnectionerror",
    ];
    let connection_error = l.contains("connection error") && !l.contains("connection errors: 0");
    (connection_error || NEEDLES.iter().any(|n| l.contains(n))) && http_status(line).is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(url: &str, key: &str) -> Endpoint {
        Endpoint::from_config("local", AdapterKind::Codex, url, key).unwrap()
    }

    #[test]
    fn codex_gets_a_model_provider_of_its_own() {
        let e = endpoint("http://127.0.0.1:8080/v1", "LOCAL_KEY");
        assert_eq!(
            e.args(AdapterKind::Codex, "local"),
            [
                "-c",
                "model_provider=\"overlord_local\"",
                "-c",
                "model_providers.overlord_local.name=\"overlord_local\"",
                "-c",
                "model_providers.overlord_local.base_url=\"http://127.0.0.1:8080/v1\"",
                "-c",
                "model_providers.overlord_local.env_key=\"LOCAL_KEY\"",
                "-c",
                "model_providers.overlord_local.wire_api=\"responses\"",
            ]
        );
        assert!(e.env(AdapterKind::Codex).is_empty());
        let lookup = |_: &str| Some("sk-1".to_string());
        assert!(e
            .key_env(AdapterKind::Codex, "local", lookup)
            .unwrap()
            .is_empty());
        assert_eq!(codex_provider("my-llm.2"), "overlord_my_llm_2");
        assert_eq!(
            gemini_home("g/../x"),
            "~/.local/state/overlord-tui/gemini/g____x/"
        );
    }

    #[test]
    fn each_cli_gets_its_own_variables() {
        let e = endpoint("https://gw.example/api", "MY_KEY");
        let lookup = |v: &str| (v == "MY_KEY").then(|| "sk-x".to_string());
        let claude = e.key_env(AdapterKind::Claude, "c", lookup).unwrap();
        assert_eq!(claude, [("ANTHROPIC_API_KEY".into(), "sk-x".into())]);
        assert_eq!(
            e.env(AdapterKind::Claude),
            [("ANTHROPIC_BASE_URL".into(), "https://gw.example/api".into())]
        );
        assert_eq!(
            e.env(AdapterKind::Gemini),
            [(
                "GOOGLE_GEMINI_BASE_URL".into(),
                "https://gw.example/api".into()
            )]
        );
        let gemini = e.key_env(AdapterKind::Gemini, "g", lookup).unwrap();
        assert_eq!(gemini, [("GEMINI_API_KEY".into(), "sk-x".into())]);
        assert_eq!(
            e.args(AdapterKind::Aider, "a"),
            ["--openai-api-base", "https://gw.example/api"]
        );
        let aider = e.key_env(AdapterKind::Aider, "a", lookup).unwrap();
        assert_eq!(aider, [("OPENAI_API_KEY".into(), "sk-x".into())]);
        let settings = e.gemini_settings(AdapterKind::Gemini).unwrap();
        let v: serde_json::Value = serde_json::from_str(&settings).unwrap();
        assert_eq!(v["security"]["auth"]["selectedType"], "gemini-api-key");
        assert!(e.gemini_settings(AdapterKind::Claude).is_none());
        // The variable the CLI reads already: nothing to copy.
        let same = endpoint("", "ANTHROPIC_API_KEY");
        assert!(same
            .key_env(AdapterKind::Claude, "c", |_| Some("k".into()))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn a_missing_key_or_a_bad_setting_is_named() {
        let e = endpoint("http://h:1", "NOPE_KEY");
        let err = e.key_env(AdapterKind::Claude, "c", |_| None).unwrap_err();
        assert!(err.contains("$NOPE_KEY is not set"), "{err}");
        for bad in ["localhost:8080", "ftp://x", "http://", "http://a b"] {
            let err = Endpoint::from_config("x", AdapterKind::Codex, bad, "").unwrap_err();
            assert!(err.contains("[adapters.x] base_url"), "{err}");
        }
        let err = Endpoint::from_config("x", AdapterKind::Codex, "", "MY-KEY").unwrap_err();
        assert!(err.contains("api_key_env"), "{err}");
        let err = Endpoint::from_config("x", AdapterKind::Command, "http://h:1", "").unwrap_err();
        assert!(err.contains("through env"), "{err}");
        assert_eq!(
            toml_quote("a\"b\\c\n"),
            "\"a\\\"b\\\\c\\u000A\"".to_string()
        );
    }

    #[test]
    fn unreachable_lines_of_the_real_clis() {
        for line in [
            // codex 0.169.0, tests/fixtures/agent-cli/codex-0.169.0/exec_unreachable.jsonl
            "Reconnecting... waiting for network (Connection failed: error sending request)",
            "Reconnecting... 2/5 (stream disconnected before completion: error sending request for url (http://127.0.0.1:9/v1/responses))",
            "API retry 1/10: Connection error. (cause: connect ECONNREFUSED 127.0.0.1:9)",
            "Attempt 1 failed: fetch failed. Retrying after 5000ms...",
            "litellm.APIConnectionError: OpenAIException - Connection error.",
            "getaddrinfo ENOTFOUND api.example.invalid",
            // Claude Code 2.1.329 against a closed port (`make real-agents`).
            r#"{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":549,"error_status":null,"error":"unknown","session_id":"45a4198c"}"#,
            "API Error: Connection refused — a firewall or proxy may be blocking it (ECONNREFUSED)",
            // Gemini CLI 0.61.0's stderr, the same.
            "Attempt 1 failed. Retrying with backoff... Error: exception TypeError: fetch failed sending request",
        ] {
            assert!(unreachable(line), "{line}");
        }
        for line in [
            "Reconnecting... 1/5 (unexpected status 429 Too Many Requests: rate limited)",
            "API retry 1/10: Rate limited (HTTP 429), next try in 1000 ms",
            "wrote 14 bytes to src/lib.rs",
            "Attempt 1 failed with status 503. Retrying after 5469ms...",
            // A retried 429 answered by the API (`input_rate_limit_retry.jsonl`).
            r#"{"type":"system","subtype":"api_retry","attempt":1,"max_retries":10,"retry_delay_ms":1249,"error_status":429,"error":"rate_limit"}"#,
        ] {
            assert!(!unreachable(line), "{line}");
        }
    }
}
