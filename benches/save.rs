//! Save overhead, side by side in one run (see docs/PERFORMANCE.md, "Save overhead"): on a
//! repository of 5,000 files with 8, 32, 128 and 512 finished task branches (each changing
//! 2–3 files no other branch touches, in one or two commits),
//! - the real `/save` through `Core::execute` with no gate configured: the merges into the
//!   integration branch, the QA record, the documents commit, main fast-forwarded, the
//!   annotated checkpoint tag, the notes ref, the user's work tree following main, every
//!   step in the audit trail;
//! - `benches/save_baseline.sh` (`git merge-tree --write-tree` + `git commit-tree` per
//!   branch, `git update-ref` of main, `git tag -a`), process starts included;
//! - Overlord's merge on git objects (`git::merge::merge_trees` + commit, each merge base
//!   taken against main as the Save does) for the same merges, no ref moves and no audit
//!   trail — the merge share of a Save;
//! - up to 32 branches, libgit2's index-based `merge_commits` + `write_tree_to` + commit.
//!
//! The Save and the script are timed round by round, in turn first, and each round's ratio
//! kept: the table reports the median of those ratios (the machine's load moves both sides
//! of a round together), the medians per side and the marginal cost of a branch between two
//! counts. A Save changes the repository and the store, so every timed run gets a fresh copy
//! of a template prepared once per branch count; copying, refreshing the copy's index and
//! opening the core happen outside the timing. Copies are hard links and stay until the run
//! ends (see `Template::copy`): run it on a quiet machine, a few minutes after anything that
//! deleted many files.
//!
//! `cargo bench --bench save` (5–10 minutes; `OVERLORD_BENCH_SAVE_BRANCHES=8,32` and
//! `OVERLORD_BENCH_SAVE_ROUNDS=3` for trials). `cargo test --bench save` is the quick mode CI
//! runs: 8 and 32 branches, every check, one round each.

use std::cell::Cell;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command as Proc, Stdio};
use std::time::{Duration, Instant, SystemTime};

use git2::{build::TreeUpdateBuilder, FileMode, Oid, Repository, Signature};
use overlord::config::Config;
use overlord::core::Core;
use overlord::protocol::model::OperationOutcome;
use overlord::protocol::{parse, Command, Origin, Reply, ReplyData};
use overlord::workspace::Workspace;
use tempfile::TempDir;

const DIRS: usize = 50;
const FILES_PER_DIR: usize = 100;
const LINES: usize = 20;
const MAIN: &str = "main";
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/save_baseline.sh");
const SCRIPT_TAG: &str = "checkpoint/bench-001";

fn file_path(n: usize) -> String {
    format!("d{:02}/f{:03}.txt", n % DIRS, n / DIRS)
}

fn original(n: usize) -> String {
    (0..LINES)
        .map(|l| {
            format!("file {n:04} line {l:02}: let value_{l} = compute({n}, {l}); // original\n")
        })
        .collect()
}

/// File `n` as task `task` leaves it: one line changed, one line added.
fn changed(n: usize, task: &str) -> String {
    let mut lines: Vec<String> = original(n).lines().map(str::to_string).collect();
    lines[5] = format!("file {n:04} line 05: let value_5 = compute({n}, 5) + 1; // {task}");
    lines.push(format!("// reviewed by {task}"));
    lines.join("\n") + "\n"
}

/// The files task `k` changes, per commit: two in the first, a third in a second commit for
/// every other task. No two tasks share a file.
fn task_commits(k: usize) -> Vec<Vec<usize>> {
    let first = vec![3 * k, 3 * k + 1];
    if k.is_multiple_of(2) {
        vec![first]
    } else {
        vec![first, vec![3 * k + 2]]
    }
}

/// Keeps the host's git configuration out of a git process.
fn sandbox<'c>(cmd: &'c mut Proc, home: &Path) -> &'c mut Proc {
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .env_remove("GIT_INDEX_FILE")
}

fn git(dir: &Path, home: &Path, args: &[&str]) -> String {
    let mut cmd = Proc::new("git");
    cmd.args(["-c", "user.name=B", "-c", "user.email=b@example.com"])
        .args(args)
        .current_dir(dir);
    let out = sandbox(&mut cmd, home).output().expect("git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn git_input(dir: &Path, home: &Path, args: &[&str], input: &[u8]) {
    let mut cmd = Proc::new("git");
    cmd.args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null());
    let mut child = sandbox(&mut cmd, home).spawn().expect("git");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("git stdin");
    let status = child.wait().expect("git");
    assert!(status.success(), "git {args:?} failed");
}

fn human() -> Origin {
    Origin::Cli {
        user: "bench".into(),
    }
}

fn run_line(core: &mut Core, line: &str) {
    let reply = core.execute(human(), parse(line).expect("parse"));
    assert!(reply.ok, "{line}: {}", reply.message);
}

/// A prepared repository, copied afresh for every timed iteration.
struct Template {
    /// Holds `template/`, the plan and the per-iteration copies.
    root: TempDir,
    home: PathBuf,
    branches: Vec<String>,
    main_before: Oid,
    copies: Cell<u64>,
}

impl Template {
    fn path(&self) -> PathBuf {
        self.root.path().join("template")
    }

    /// A fresh copy, its index refreshed (the links changed the files' change times).
    ///
    /// The work tree files and the git objects are hard links to the template's (nothing
    /// writes them in place: git writes new objects to new files, and Save replaces the
    /// files it updates); everything else in `.git` and `.overlord` is a real copy.
    ///
    /// Copies are removed when the run ends (with the template's directory), not one by one:
    /// on ext4 mounted without a journal (as here) a new inode is never one freed in the last
    /// 1–6 minutes, and finding a free one scans past every inode recently freed. With
    /// copies removed as the run went, every loose object, lock and work-tree file a Save or
    /// git creates cost more the longer the run went (a third of Save's time was in the
    /// kernel's `recently_deleted`, measured with `perf`). The hard-linked copies take a few
    /// MB each.
    fn copy(&self) -> PathBuf {
        let n = self.copies.get() + 1;
        self.copies.set(n);
        let dst = self.root.path().join(format!("iter-{n}"));
        let status = Proc::new("cp")
            .arg("-al")
            .arg(self.path())
            .arg(&dst)
            .status()
            .expect("cp");
        assert!(status.success(), "cp -al failed");
        unshare(&dst.join(".overlord"));
        for entry in std::fs::read_dir(dst.join(".git")).expect("read .git") {
            let entry = entry.expect("entry");
            if entry.file_name() != "objects" && entry.file_name() != "hooks" {
                unshare(&entry.path());
            }
        }
        git(&dst, &self.home, &["update-index", "-q", "--refresh"]);
        dst
    }
}

/// Replaces every file under `path` (hard links) with a copy of its own.
fn unshare(path: &Path) {
    let meta = std::fs::symlink_metadata(path).expect("metadata");
    if meta.is_dir() {
        for entry in std::fs::read_dir(path).expect("read dir") {
            unshare(&entry.expect("entry").path());
        }
    } else if meta.is_file() {
        let tmp = path.with_file_name(".unshare.tmp");
        std::fs::copy(path, &tmp).expect("copy");
        std::fs::rename(&tmp, path).expect("rename");
    }
}

/// 5,000 files of 20 lines in one commit on `main`, Overlord initialized, a plan with one
/// task per branch, each task's branch committed and the task marked done; HEAD on a clean
/// `main`.
fn prepare(branches: usize, home: &Path) -> Template {
    let root = tempfile::Builder::new()
        .prefix("ovl-save-bench")
        .tempdir()
        .expect("tempdir");
    let path = root.path().join("template");
    std::fs::create_dir(&path).expect("mkdir");
    git(&path, home, &["init", "-q", "-b", MAIN]);
    // Written a day ago, so no copy's index is ever racily clean.
    let written = SystemTime::now() - Duration::from_secs(86_400);
    for d in 0..DIRS {
        std::fs::create_dir(path.join(format!("d{d:02}"))).expect("mkdir");
    }
    for n in 0..DIRS * FILES_PER_DIR {
        let mut f = std::fs::File::create(path.join(file_path(n))).expect("create");
        f.write_all(original(n).as_bytes()).expect("write");
        f.set_modified(written).expect("mtime");
    }
    // The initial commit goes straight into a pack: `git add` + `git repack` would write,
    // then delete, 5,000 loose objects just before the timing (see `Template::copy`).
    let mut stream = Vec::new();
    for n in 0..DIRS * FILES_PER_DIR {
        let text = original(n);
        write!(
            stream,
            "blob\nmark :{}\ndata {}\n{text}\n",
            n + 1,
            text.len()
        )
        .expect("stream");
    }
    let message = "initial";
    write!(
        stream,
        "commit refs/heads/{MAIN}\ncommitter B <b@example.com> 1767225600 +0000\ndata {}\n{message}\n",
        message.len()
    )
    .expect("stream");
    for n in 0..DIRS * FILES_PER_DIR {
        writeln!(stream, "M 100644 :{} {}", n + 1, file_path(n)).expect("stream");
    }
    git_input(&path, home, &["fast-import", "--quiet"], &stream);
    git(&path, home, &["reset", "-q"]);

    let ws = Workspace::discover(&path).expect("discover");
    ws.init().expect("init");
    // No gate to run (a 5,000-file tree with no project): measure the integration itself.
    std::fs::write(
        path.join(".overlord/QA_POLICY.yaml"),
        "auto_merge_if: {}\ngates:\n  reproducibility_runs: 1\n  not_measured: ignore\n",
    )
    .expect("policy");
    let mut core = Core::open(&ws, &Config::default()).expect("open core");
    let tasks: Vec<String> = (0..branches).map(|k| format!("task-{k:02}")).collect();
    let plan = serde_json::json!({
        "todo_list_id": "save-bench",
        "title": "Save benchmark",
        "phases": [{
            "id": "phase-1",
            "name": "Everything",
            "tasks": tasks.iter().map(|t| serde_json::json!({
                "id": t,
                "title": format!("Work of {t}"),
                "agent_role": "implementer",
                "dependencies": [],
            })).collect::<Vec<_>>(),
        }],
    });
    let plan_path = root.path().join("plan.json");
    std::fs::write(&plan_path, plan.to_string()).expect("plan");
    run_line(&mut core, &format!("/import {}", plan_path.display()));
    let session = core.git_session().expect("git session");

    let repo = Repository::open(&path).expect("repo");
    let sig = Signature::now("B", "b@example.com").expect("sig");
    let main = repo.head().expect("head").peel_to_commit().expect("main");
    let mut names = Vec::new();
    for (k, task) in tasks.iter().enumerate() {
        let mut tip = main.clone();
        for files in task_commits(k) {
            let mut update = TreeUpdateBuilder::new();
            for &n in &files {
                let blob = repo.blob(changed(n, task).as_bytes()).expect("blob");
                update.upsert(file_path(n), blob, FileMode::Blob);
            }
            let tree = update
                .create_updated(&repo, &tip.tree().expect("tree"))
                .expect("tree update");
            let tree = repo.find_tree(tree).expect("tree");
            let message = format!("{task}: change {} file(s)", files.len());
            let id = repo
                .commit(None, &sig, &sig, &message, &tree, &[&tip])
                .expect("commit");
            tip = repo.find_commit(id).expect("commit");
        }
        let branch = session.task_branch(task);
        repo.reference(&format!("refs/heads/{branch}"), tip.id(), false, "bench")
            .expect("branch");
        names.push(branch);
        run_line(&mut core, &format!("/task {task} done"));
    }
    drop(core);
    let dirty = git(
        &path,
        home,
        &["status", "--porcelain", "--untracked-files=no"],
    );
    assert!(dirty.is_empty(), "template not clean: {dirty}");
    Template {
        root,
        home: home.to_path_buf(),
        branches: names,
        main_before: main.id(),
        copies: Cell::new(0),
    }
}

fn open_core(copy: &Path) -> Core {
    let ws = Workspace::discover(copy).expect("discover");
    Core::open(&ws, &Config::default()).expect("open core")
}

fn save(core: &mut Core) -> Reply {
    core.execute(human(), Command::Save)
}

fn assert_checkpointed(reply: &Reply, tasks: usize) {
    assert!(reply.ok, "save failed: {}", reply.message);
    let ReplyData::Operation(report) = &reply.data else {
        panic!("save replied without a report: {}", reply.message);
    };
    assert_eq!(
        report.outcome,
        Some(OperationOutcome::Checkpointed),
        "{}",
        reply.message
    );
    let checkpoint = report.checkpoint.as_ref().expect("checkpoint");
    assert_eq!(checkpoint.tasks.len(), tasks, "{}", reply.message);
}

fn run_script(t: &Template, copy: &Path) -> Duration {
    let mut cmd = Proc::new("sh");
    cmd.arg(SCRIPT)
        .arg(MAIN)
        .arg(SCRIPT_TAG)
        .args(&t.branches)
        .current_dir(copy)
        .stdout(Stdio::null());
    sandbox(&mut cmd, &t.home);
    let start = Instant::now();
    let status = cmd.status().expect("sh");
    let took = start.elapsed();
    assert!(status.success(), "save_baseline.sh failed");
    took
}

/// libgit2's index-based merge of every branch, one merge commit each; the final commit.
fn libgit2_index_merge(t: &Template, copy: &Path) -> Oid {
    let repo = Repository::open(copy).expect("repo");
    let sig = Signature::now("B", "b@example.com").expect("sig");
    let mut integ = repo
        .find_reference(&format!("refs/heads/{MAIN}"))
        .and_then(|r| r.peel_to_commit())
        .expect("main");
    for b in &t.branches {
        let theirs = repo
            .find_reference(&format!("refs/heads/{b}"))
            .and_then(|r| r.peel_to_commit())
            .expect("branch");
        let mut index = repo.merge_commits(&integ, &theirs, None).expect("merge");
        assert!(!index.has_conflicts(), "{b} conflicts");
        let tree = index.write_tree_to(&repo).expect("write tree");
        let tree = repo.find_tree(tree).expect("tree");
        let id = repo
            .commit(
                None,
                &sig,
                &sig,
                &format!("merge {b}"),
                &tree,
                &[&integ, &theirs],
            )
            .expect("commit");
        integ = repo.find_commit(id).expect("commit");
    }
    integ.id()
}

/// Overlord's merge on git objects for every branch, one merge commit each; the final commit.
fn overlord_tree_merge(t: &Template, copy: &Path) -> Oid {
    let repo = Repository::open(copy).expect("repo");
    let sig = Signature::now("B", "b@example.com").expect("sig");
    let mut integ = repo
        .refname_to_id(&format!("refs/heads/{MAIN}"))
        .expect("main");
    let tree_of = |c: Oid| repo.find_commit(c).expect("commit").tree_id();
    for b in &t.branches {
        let tip = repo.refname_to_id(&format!("refs/heads/{b}")).expect("tip");
        // As a Save does when no two tasks share a commit (they never do here): the merge
        // base against main as it was, not down the growing chain of merges.
        let base = repo.merge_base(t.main_before, tip).expect("merge base");
        let out = overlord::git::merge::merge_trees(
            &repo,
            tree_of(base),
            tree_of(integ),
            tree_of(tip),
            "integration",
            b,
        )
        .expect("merge");
        let tree = out.tree.unwrap_or_else(|| panic!("{b} conflicts"));
        integ = overlord::git::commit(&repo, tree, &[integ, tip], &format!("merge {b}"), &sig)
            .expect("commit");
    }
    integ
}

/// Checks that main moved to a commit holding every branch, with one annotated tag matching
/// `tags` on it; returns its tree.
fn assert_published(t: &Template, copy: &Path, tags: &str) -> Oid {
    let repo = Repository::open(copy).expect("repo");
    let main = repo
        .refname_to_id(&format!("refs/heads/{MAIN}"))
        .expect("main");
    assert_ne!(main, t.main_before, "main did not move");
    for b in &t.branches {
        let tip = repo.refname_to_id(&format!("refs/heads/{b}")).expect("tip");
        assert!(
            repo.graph_descendant_of(main, tip).expect("graph"),
            "{b} is not on main"
        );
    }
    let names = repo.tag_names(Some(tags)).expect("tags");
    assert_eq!(names.len(), 1, "expected one tag matching {tags}");
    let name = names.get(0).expect("tag name");
    let tag = repo
        .find_reference(&format!("refs/tags/{name}"))
        .and_then(|r| r.peel_to_tag())
        .expect("annotated tag");
    assert_eq!(tag.target_id(), main, "{name} is not on main");
    repo.find_commit(main).map(|c| c.tree_id()).expect("main")
}

/// Every file of `tree` in the repository at `copy`, by path, with its blob.
fn files_of(copy: &Path, tree: Oid) -> std::collections::BTreeMap<String, Oid> {
    let repo = Repository::open(copy).expect("repo");
    let tree = repo.find_tree(tree).expect("tree");
    let mut out = std::collections::BTreeMap::new();
    tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
        if entry.kind() == Some(git2::ObjectType::Blob) {
            out.insert(format!("{dir}{}", entry.name().unwrap_or("")), entry.id());
        }
        git2::TreeWalkResult::Ok
    })
    .expect("walk");
    out
}

/// One run of each side outside the timing: every side must produce the same tree.
fn check(t: &Template) {
    let copy = t.copy();
    let mut core = open_core(&copy);
    assert_checkpointed(&save(&mut core), t.branches.len());
    drop(core);
    let ours = files_of(&copy, assert_published(t, &copy, "checkpoint/*"));
    let repo = Repository::open(&copy).expect("repo");
    let main = repo.refname_to_id("refs/heads/main").expect("main");
    assert!(
        repo.find_note(Some("refs/notes/overlord"), main).is_ok(),
        "no overlord note on main"
    );
    let status = git(
        &copy,
        &t.home,
        &["status", "--porcelain", "--untracked-files=no"],
    );
    assert!(
        status.is_empty(),
        "the work tree did not follow main: {status}"
    );
    drop(repo);

    let copy = t.copy();
    run_script(t, &copy);
    let script = files_of(&copy, assert_published(t, &copy, SCRIPT_TAG));
    // A Save also commits the Project Manager's documents and the QA reports with the
    // checkpoint (the script only merges): every other file must be the same.
    let own = |path: &str| {
        let name = path.strip_prefix("docs/").unwrap_or(path);
        overlord::protocol::documents::NAMES.contains(&name)
            || overlord::core::qa::OWN_REPORTS.contains(&name)
    };
    let ours: std::collections::BTreeMap<_, _> =
        ours.into_iter().filter(|(p, _)| !own(p)).collect();
    assert_eq!(
        ours, script,
        "overlord and the script merged different trees"
    );

    let copy = t.copy();
    let repo = Repository::open(&copy).expect("repo");
    let merge_only = repo
        .find_commit(overlord_tree_merge(t, &copy))
        .expect("commit")
        .tree_id();
    // libgit2's index merge reads all 5,000 entries per merge: checked up to 128 branches.
    if t.branches.len() <= 128 {
        let libgit2 = repo
            .find_commit(libgit2_index_merge(t, &copy))
            .expect("commit")
            .tree_id();
        assert_eq!(
            ours,
            files_of(&copy, libgit2),
            "libgit2 merged a different tree"
        );
    }
    drop(repo);
    assert_eq!(
        ours,
        files_of(&copy, merge_only),
        "the tree merge differs from Save's"
    );
}

/// The branch counts measured: `OVERLORD_BENCH_SAVE_BRANCHES` (e.g. `8,32`), else 8, 32, 128
/// and 512 (8 and 32 in the quick mode).
fn sizes(quick: bool) -> Vec<usize> {
    if let Ok(list) = std::env::var("OVERLORD_BENCH_SAVE_BRANCHES") {
        return list
            .split(',')
            .map(|n| {
                n.trim()
                    .parse()
                    .expect("OVERLORD_BENCH_SAVE_BRANCHES: numbers")
            })
            .collect();
    }
    if quick {
        vec![8, 32]
    } else {
        vec![8, 32, 128, 512]
    }
}

/// Rounds per branch count: `OVERLORD_BENCH_SAVE_ROUNDS`, else 11 (5 at 512 branches, whose
/// script round takes seconds); 1 in the quick mode.
fn rounds(quick: bool, branches: usize) -> usize {
    if quick {
        return 1;
    }
    if let Ok(n) = std::env::var("OVERLORD_BENCH_SAVE_ROUNDS") {
        return n
            .trim()
            .parse()
            .expect("OVERLORD_BENCH_SAVE_ROUNDS: a number");
    }
    if branches >= 512 {
        5
    } else {
        11
    }
}

/// The milliseconds of each round, per side.
#[derive(Default)]
struct Row {
    branches: usize,
    save: Vec<f64>,
    script: Vec<f64>,
    /// Save ÷ script, round by round.
    ratios: Vec<f64>,
    merge_only: Vec<f64>,
    libgit2: Vec<f64>,
    load: (String, String),
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn spread(v: &[f64]) -> String {
    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{:.1} ms [{lo:.1}, {hi:.1}]", median(v))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// One timed Save on a fresh copy (copying and opening the core outside the timing).
fn time_save(t: &Template) -> Duration {
    let copy = t.copy();
    let mut core = open_core(&copy);
    let start = Instant::now();
    let reply = save(&mut core);
    let took = start.elapsed();
    assert_checkpointed(&reply, t.branches.len());
    took
}

fn time_on_copy(t: &Template, side: fn(&Template, &Path) -> Oid) -> Duration {
    let copy = t.copy();
    let start = Instant::now();
    side(t, &copy);
    start.elapsed()
}

/// The rounds of one branch count, the Save and the script side by side: each round times
/// both (in turn first), then Overlord's tree merge alone (and libgit2's index merge, up to
/// 32 branches: 4–5× the script, it would take minutes further on).
fn measure(t: &Template, rounds: usize) -> Row {
    let branches = t.branches.len();
    let mut row = Row {
        branches,
        ..Row::default()
    };
    let before = loadavg();
    for r in 0..rounds {
        let (save, script) = if r % 2 == 0 {
            let save = time_save(t);
            (save, run_script(t, &t.copy()))
        } else {
            let script = run_script(t, &t.copy());
            (time_save(t), script)
        };
        row.save.push(ms(save));
        row.script.push(ms(script));
        row.ratios.push(ms(save) / ms(script));
        row.merge_only
            .push(ms(time_on_copy(t, overlord_tree_merge)));
        if branches <= 32 {
            row.libgit2.push(ms(time_on_copy(t, libgit2_index_merge)));
        }
        eprintln!(
            "  {branches} branches, round {}/{rounds}: Save {:.1} ms, script {:.1} ms ({:.2}×)",
            r + 1,
            ms(save),
            ms(script),
            ms(save) / ms(script)
        );
    }
    row.load = (before, loadavg());
    row
}

/// The table for docs/PERFORMANCE.md, and the marginal cost of a branch between two counts.
fn report(rows: &[Row]) {
    println!();
    println!("| 5,000 files | git CLI script | overlord Save | Save ÷ script, median of rounds [min, max] (target ≤ 0.8×) | tree merge alone | libgit2 index merge | rounds | load average (before → after) |");
    println!("|---|---|---|---|---|---|---|---|");
    for r in rows {
        let lo = r.ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = r.ratios.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        println!(
            "| {} task branches | {} | {} | **{:.2}×** [{lo:.2}, {hi:.2}] | {} | {} | {} | {} → {} |",
            r.branches,
            spread(&r.script),
            spread(&r.save),
            median(&r.ratios),
            spread(&r.merge_only),
            if r.libgit2.is_empty() {
                "—".to_string()
            } else {
                spread(&r.libgit2)
            },
            r.ratios.len(),
            r.load.0,
            r.load.1
        );
    }
    if rows.len() > 1 {
        println!();
        println!("| marginal cost per branch | git CLI script | overlord Save |");
        println!("|---|---|---|");
        for w in rows.windows(2) {
            let n = (w[1].branches - w[0].branches) as f64;
            println!(
                "| {} → {} branches | {:.2} ms | {:.2} ms |",
                w[0].branches,
                w[1].branches,
                (median(&w[1].script) - median(&w[0].script)) / n,
                (median(&w[1].save) - median(&w[0].save)) / n
            );
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --bench save` (CI) does not: the quick
    // mode, 8 and 32 branches, every check and one round each.
    let quick = !std::env::args().any(|a| a == "--bench");
    let home = tempfile::tempdir().expect("home");
    // libgit2 in this process reads no host configuration either.
    std::env::set_var("HOME", home.path());
    std::env::set_var("XDG_CONFIG_HOME", home.path().join(".config"));
    // Every template and copy stays until the end of the run (see `Template::copy`).
    let mut templates = Vec::new();
    let mut rows = Vec::new();
    for branches in sizes(quick) {
        eprintln!("preparing 5,000 files with {branches} task branches…");
        templates.push(prepare(branches, home.path()));
        let t = templates.last().expect("template");
        check(t);
        rows.push(measure(t, rounds(quick, branches)));
    }
    report(&rows);
    for t in &templates {
        assert_untouched(t);
    }
    let copies: u64 = templates.iter().map(|t| t.copies.get()).sum();
    eprintln!("removing the templates and {copies} copies…");
}

/// The copies shared the template's files through hard links: it must be as prepared.
fn assert_untouched(t: &Template) {
    let repo = Repository::open(t.path()).expect("template");
    let main = repo
        .refname_to_id(&format!("refs/heads/{MAIN}"))
        .expect("main");
    assert_eq!(main, t.main_before, "the template's main moved");
    assert!(repo.tag_names(None).expect("tags").is_empty());
    assert!(repo.find_reference("refs/notes/overlord").is_err());
    let status = git(
        &t.path(),
        &t.home,
        &["status", "--porcelain", "--untracked-files=no"],
    );
    assert!(status.is_empty(), "the template changed: {status}");
}
