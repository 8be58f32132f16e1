//! The demo's scratch project: where it goes (DIR or a temporary directory), the sandboxed
//! environment, and its making — `git init`, the sample crate (`assets/demo/project`) as the
//! first commit, `overlord-tui init` and the demo's configuration, QA policy, plan and
//! scripts (`assets/demo/overlord`).

use std::path::{Path, PathBuf};

use crate::cli::output::{fail, Failed};
use crate::workspace::Workspace;

/// The sample crate, committed as the project's first commit.
const PROJECT: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../../assets/demo/project/Cargo.toml"),
    ),
    (
        ".gitignore",
        include_str!("../../../assets/demo/project/gitignore"),
    ),
    (
        "README.md",
        include_str!("../../../assets/demo/project/README.md"),
    ),
    (
        "src/lib.rs",
        include_str!("../../../assets/demo/project/src/lib.rs"),
    ),
    (
        "src/mean.rs",
        include_str!("../../../assets/demo/project/src/mean.rs"),
    ),
    (
        "src/median.rs",
        include_str!("../../../assets/demo/project/src/median.rs"),
    ),
];

/// Overlord's side, under `.overlord/` (not committed): configuration, QA policy, the plan
/// and one script per task.
const OVERLORD: &[(&str, &str)] = &[
    (
        "config.toml",
        include_str!("../../../assets/demo/overlord/config.toml"),
    ),
    (
        "QA_POLICY.yaml",
        include_str!("../../../assets/demo/overlord/QA_POLICY.yaml"),
    ),
    (
        "demo-plan.json",
        include_str!("../../../assets/demo/overlord/plan.json"),
    ),
    (
        "scripts/design.toml",
        include_str!("../../../assets/demo/overlord/scripts/design.toml"),
    ),
    (
        "scripts/impl-mean.toml",
        include_str!("../../../assets/demo/overlord/scripts/impl-mean.toml"),
    ),
    (
        "scripts/impl-median.toml",
        include_str!("../../../assets/demo/overlord/scripts/impl-median.toml"),
    ),
    (
        "scripts/tests.toml",
        include_str!("../../../assets/demo/overlord/scripts/tests.toml"),
    ),
    (
        "scripts/tests-fix-1.toml",
        include_str!("../../../assets/demo/overlord/scripts/tests-fix-1.toml"),
    ),
    (
        "scripts/impl-mode.toml",
        include_str!("../../../assets/demo/overlord/scripts/impl-mode.toml"),
    ),
];

/// Where the project goes: DIR (new or empty, kept) or a fresh temporary directory.
pub(super) fn place(dir: Option<&Path>) -> Result<(PathBuf, bool), Failed> {
    match dir {
        Some(dir) => {
            if dir.exists() {
                if !dir.is_dir() {
                    return Err(fail(format!(
                        "{} is not a directory: the demo needs a new or empty directory",
                        dir.display()
                    )));
                }
                let mut entries =
                    std::fs::read_dir(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
                if entries.next().is_some() {
                    return Err(fail(format!(
                        "{} is not empty: the demo makes its project in a new or empty directory (nothing in it was touched)",
                        dir.display()
                    )));
                }
            }
            std::fs::create_dir_all(dir).map_err(|e| fail(format!("{}: {e}", dir.display())))?;
            let root = dir
                .canonicalize()
                .map_err(|e| fail(format!("{}: {e}", dir.display())))?;
            Ok((root, true))
        }
        None => {
            let nanos = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or_default();
            let root = std::env::temp_dir()
                .join(format!("overlord-demo-{}-{nanos:09}", std::process::id()));
            std::fs::create_dir(&root).map_err(|e| fail(format!("{}: {e}", root.display())))?;
            let root = root.canonicalize().map_err(fail)?;
            Ok((root, false))
        }
    }
}

/// The demo never depends on the user's git configuration (identity, signing, hooks) and
/// keeps cargo's build output inside the project. Set before any thread starts.
pub(super) fn sandbox_env(root: &Path) {
    std::env::set_var("GIT_CONFIG_GLOBAL", "/dev/null");
    std::env::set_var("GIT_CONFIG_NOSYSTEM", "1");
    for var in [
        "GIT_DIR",
        "GIT_WORK_TREE",
        "OVERLORD_AGENT",
        "OVERLORD_ROLE",
    ] {
        std::env::remove_var(var);
    }
    std::env::set_var("CARGO_TARGET_DIR", root.join(".overlord/cargo-target"));
}

fn write(path: &Path, text: &str) -> Result<(), Failed> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| fail(format!("{}: {e}", parent.display())))?;
    }
    std::fs::write(path, text).map_err(|e| fail(format!("{}: {e}", path.display())))
}

/// `git init` (on `main`), the sample crate as the first commit, `overlord-tui init`, and the
/// demo's configuration, policy, plan and scripts.
pub(super) fn prepare(root: &Path) -> Result<Workspace, Failed> {
    let git_err = |e: git2::Error| fail(format!("git: {}", e.message()));
    let mut opts = git2::RepositoryInitOptions::new();
    opts.initial_head("main");
    let repo = git2::Repository::init_opts(root, &opts).map_err(git_err)?;
    for (path, text) in PROJECT {
        write(&root.join(path), text)?;
    }
    let mut index = repo.index().map_err(git_err)?;
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .map_err(git_err)?;
    index.write().map_err(git_err)?;
    let tree = repo
        .find_tree(index.write_tree().map_err(git_err)?)
        .map_err(git_err)?;
    let who = git2::Signature::now("Overlord demo", "demo@overlord.local").map_err(git_err)?;
    repo.commit(
        Some("HEAD"),
        &who,
        &who,
        "tally: the empty crate",
        &tree,
        &[],
    )
    .map_err(git_err)?;
    let ws = Workspace::discover(root).map_err(fail)?;
    ws.init().map_err(fail)?;
    for (path, text) in OVERLORD {
        write(&ws.dir.join(path), text)?;
    }
    Ok(ws)
}
