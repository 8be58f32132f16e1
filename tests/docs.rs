//! The docs keep up with the code: what a test can check of them.

use overlord::config::Config;

/// Every key of the configuration (with its default) is in docs/configuration.md, in its
/// section: a new key cannot go undocumented.
#[test]
fn every_configuration_key_is_documented_with_its_default() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/docs/configuration.md"
    ))
    .unwrap();
    let value = toml::Value::try_from(Config::default()).unwrap();
    let mut missing = Vec::new();
    fn walk(path: &str, v: &toml::Value, doc: &str, missing: &mut Vec<String>) {
        let toml::Value::Table(t) = v else { return };
        for (k, v) in t {
            let here = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            match v {
                toml::Value::Table(_) => walk(&here, v, doc, missing),
                _ => {
                    // The row: `key` | `default`.
                    let default = match v {
                        toml::Value::String(s) => format!("`\"{s}\"`"),
                        toml::Value::Array(a) if a.is_empty() => "`[]`".to_string(),
                        other => format!("`{other}`"),
                    };
                    let key = here.rsplit('.').next().unwrap();
                    let row = format!("| `{key}` | {default} |");
                    let channel =
                        format!("| `{}` | {default} |", here.trim_start_matches("discord."));
                    if !doc.contains(&row) && !doc.contains(&channel) {
                        missing.push(format!("{here} = {default}"));
                    }
                }
            }
        }
    }
    walk("", &value, &doc, &mut missing);
    assert!(
        missing.is_empty(),
        "undocumented keys or defaults: {missing:?}"
    );
    // The sections are all there.
    for section in [
        "[core]",
        "[git]",
        "[qa]",
        "[worktrees]",
        "[agents]",
        "[roles.<role>]",
        "[console]",
        "[metrics]",
        "[discord]",
        "[adapters.<name>]",
    ] {
        assert!(doc.contains(section), "{section}");
    }
}
