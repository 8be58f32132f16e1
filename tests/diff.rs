//! The diff model: hunks rebuild the new text exactly, match `git diff --histogram` hunk for
//! hunk on realistic inputs, word-level spans, and the repository side (task branches,
//! checkpoints, renames, binaries, bad names) on real temporary repositories.

use std::process::Command as Proc;

use overlord::core::diff::text::{diff_text, word_diff, CONTEXT, WORD_DIFF_WORDS};
use overlord::core::diff::{self, unified};
use overlord::protocol::diff::{FileContent, FileStatus, Hunk, LineKind};
use proptest::prelude::*;
use serde_json::Value;

use crate::common::generate::{moved_block, scattered_edits, source};
use crate::common::*;

/// Applies hunks to the old lines; must give the new lines.
fn apply(old: &str, hunks: &[Hunk]) -> String {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let mut out = String::new();
    let mut next = 0usize; // 0-based index of the next old line to copy
    for h in hunks {
        let start = if h.old_len == 0 {
            h.old_start as usize
        } else {
            h.old_start as usize - 1
        };
        for l in &old_lines[next..start] {
            out.push_str(l);
        }
        next = start;
        for l in &h.lines {
            match l.kind {
                LineKind::Context | LineKind::Removed => {
                    assert_eq!(
                        old_lines[next].trim_end_matches('\n'),
                        l.text,
                        "context mismatch"
                    );
                    next += 1;
                    if l.kind == LineKind::Context {
                        out.push_str(old_lines[next - 1]);
                    }
                }
                LineKind::Added => {
                    out.push_str(&l.text);
                    if !l.no_newline {
                        out.push('\n');
                    }
                }
            }
        }
    }
    for l in &old_lines[next..] {
        out.push_str(l);
    }
    out
}

fn lines_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "a",
            "b",
            "c",
            "fn x() {",
            "}",
            "",
            "  let y = 1;",
            "d e f",
        ]),
        0..40,
    )
    .prop_flat_map(|lines| (Just(lines), any::<bool>()))
    .prop_map(|(lines, trailing)| {
        let mut s = lines.join("\n");
        if trailing && !s.is_empty() {
            s.push('\n');
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, ..ProptestConfig::default() })]
    #[test]
    fn hunks_rebuild_the_new_text(old in lines_text(), new in lines_text()) {
        let d = diff_text(&old, &new, CONTEXT);
        prop_assert_eq!(apply(&old, &d.hunks), new.clone());
        let added = d.hunks.iter().flat_map(|h| &h.lines).filter(|l| l.kind == LineKind::Added).count();
        prop_assert_eq!(added as u32, d.additions);
        for h in &d.hunks {
            let old_side = h.lines.iter().filter(|l| l.kind != LineKind::Added).count() as u32;
            let new_side = h.lines.iter().filter(|l| l.kind != LineKind::Removed).count() as u32;
            prop_assert_eq!((old_side, new_side), (h.old_len, h.new_len));
        }
        // The patch's diff (no word spans) has the same hunks and lines.
        let patch = overlord::core::diff::text::diff_lines(&old, &new, CONTEXT);
        prop_assert_eq!(patch.hunks.len(), d.hunks.len());
        for (p, h) in patch.hunks.iter().zip(&d.hunks) {
            prop_assert_eq!((p.old_start, p.old_len, p.new_start, p.new_len), (h.old_start, h.old_len, h.new_start, h.new_len));
            let texts = |h: &overlord::protocol::diff::Hunk| h.lines.iter().map(|l| (l.kind, l.text.clone())).collect::<Vec<_>>();
            prop_assert_eq!(texts(p), texts(h));
            prop_assert!(p.lines.iter().all(|l| l.words.is_empty()));
        }
        // `--stat`'s counts-only diff counts the same lines as the full one.
        prop_assert_eq!(
            overlord::core::diff::text::count_changes(&old, &new),
            (d.additions, d.deletions)
        );
    }

    #[test]
    fn word_spans_stay_inside_their_lines(a in "\\PC{0,60}", b in "\\PC{0,60}") {
        if let Some((os, ns)) = word_diff(&a, &b) {
            for s in &os { prop_assert!(s.start < s.end && s.end as usize <= a.len() && a.is_char_boundary(s.start as usize) && a.is_char_boundary(s.end as usize)); }
            for s in &ns { prop_assert!(s.start < s.end && s.end as usize <= b.len() && b.is_char_boundary(s.start as usize) && b.is_char_boundary(s.end as usize)); }
        }
    }
}

/// The hunks of `git diff --no-index --histogram`, as text from the first `@@` on.
fn git_hunks(old: &str, new: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old"), old).unwrap();
    std::fs::write(dir.path().join("new"), new).unwrap();
    let mut cmd = Proc::new("git");
    cmd.args([
        "diff",
        "--no-index",
        "--histogram",
        "--no-color",
        "old",
        "new",
    ])
    .current_dir(dir.path());
    sandbox(&mut cmd, dir.path());
    let out = String::from_utf8(cmd.output().unwrap().stdout).unwrap();
    out.find("\n@@")
        .map(|i| out[i + 1..].to_string())
        .unwrap_or_default()
}

fn our_hunks(old: &str, new: &str) -> String {
    let mut s = String::new();
    for h in &diff_text(old, new, CONTEXT).hunks {
        unified::write_hunk(&mut s, h);
    }
    s
}

/// `git diff` headers may carry a function-context suffix after `@@`; drop it.
fn strip_context(s: &str) -> String {
    s.lines()
        .map(|l| {
            if l.starts_with("@@ ") {
                l.rsplit_once(" @@")
                    .map(|(h, _)| format!("{h} @@"))
                    .unwrap_or(l.to_string())
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn matches_git_histogram_hunk_for_hunk() {
    let base = source(20_000, 7);
    for (name, new) in [
        ("scattered edits", scattered_edits(&base, 11)),
        ("moved block", moved_block(&base, 3_000, 1_000)),
        (
            "no trailing newline",
            base.trim_end().to_string() + " // end",
        ),
    ] {
        let ours = strip_context(&our_hunks(&base, &new));
        let theirs = strip_context(&git_hunks(&base, &new));
        assert!(!ours.is_empty(), "{name}: no hunks");
        if ours != theirs {
            let at = ours
                .lines()
                .zip(theirs.lines())
                .position(|(a, b)| a != b)
                .unwrap_or(0);
            panic!(
                "{name}: differs from git at line {at}:\nours:   {:?}\ntheirs: {:?}",
                ours.lines().nth(at),
                theirs.lines().nth(at)
            );
        }
    }
}

#[test]
fn word_spans_mark_what_changed() {
    let (o, n) = word_diff(
        "let total = price * quantity;",
        "let total = price * count;",
    )
    .unwrap();
    assert_eq!(
        &"let total = price * quantity;"[o[0].start as usize..o[0].end as usize],
        "quantity"
    );
    assert_eq!(
        &"let total = price * count;"[n[0].start as usize..n[0].end as usize],
        "count"
    );
    assert!(
        word_diff("completely different", "nothing alike here at all").is_none(),
        "no confetti"
    );
    let d = diff_text("a\nlet x = 1;\nb\n", "a\nlet x = 2;\nb\n", 3);
    let changed: Vec<_> = d.hunks[0]
        .lines
        .iter()
        .filter(|l| l.kind != LineKind::Context)
        .collect();
    assert_eq!(changed.len(), 2);
    assert!(changed.iter().all(|l| l.words.len() == 1));
}

fn git_in(repo: &Repo, args: &[&str]) {
    let mut cmd = Proc::new("git");
    cmd.args(["-c", "user.name=Tester", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(repo.path());
    sandbox(&mut cmd, repo.home.path());
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

#[test]
fn repository_diffs_task_branches_checkpoints_renames_binaries() {
    let repo = Repo::new();
    repo.write("src/lib.rs", "fn a() {}\nfn b() {}\n");
    repo.write("docs/old.md", &"line\n".repeat(40));
    repo.write("logo.bin", "\0\x01\x02");
    git_in(&repo, &["add", "."]);
    git_in(&repo, &["commit", "-qm", "one"]);
    git_in(
        &repo,
        &["tag", "-a", "checkpoint/20261121-001", "-m", "QA passed"],
    );
    git_in(&repo, &["checkout", "-qb", "session/s1/task/t1"]);
    repo.write("src/lib.rs", "fn a() {}\nfn b2() {}\n");
    git_in(&repo, &["mv", "docs/old.md", "docs/new.md"]);
    repo.write("logo.bin", "\0\x01\x03");
    git_in(&repo, &["commit", "-qam", "task work"]);
    git_in(&repo, &["checkout", "-q", "-"]);

    let git = git2::Repository::open(repo.path()).unwrap();
    // A task id alone: its branch against where it forked.
    let (a, b) = diff::sides(&git, Some("t1"), None).unwrap();
    let set = diff::diff(&git, &a, &b).unwrap();
    assert_eq!(set.to, "session/s1/task/t1");
    let by_path = |p: &str| {
        set.files
            .iter()
            .find(|f| f.path() == p)
            .unwrap_or_else(|| panic!("{p} missing: {:?}", set.files))
    };
    let lib = by_path("src/lib.rs");
    assert_eq!((lib.additions, lib.deletions), (1, 1));
    let renamed = by_path("docs/new.md");
    assert_eq!(renamed.status, FileStatus::Renamed);
    assert_eq!(renamed.old_path.as_deref(), Some("docs/old.md"));
    assert!(matches!(
        by_path("logo.bin").content,
        FileContent::Binary { .. }
    ));

    // Checkpoint names, with or without their prefix, and the task id as the second side.
    for cp in ["checkpoint/20261121-001", "20261121-001"] {
        let (a, b) = diff::sides(&git, Some(cp), Some("t1")).unwrap();
        assert_eq!(diff::diff(&git, &a, &b).unwrap().files.len(), 3);
    }

    // Unknown names suggest; dangerous names are refused before git sees them.
    let e = diff::sides(&git, Some("sesion/s1/task/t1"), Some("HEAD"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("did you mean session/s1/task/t1?"), "{e}");
    for bad in ["main..t1", "a b", "x\x1b[2J"] {
        let e = diff::sides(&git, Some(bad), None).unwrap_err().to_string();
        assert!(e.contains("not a valid revision name"), "{e}");
    }

    // The CLI prints the same model.
    let o = repo.run(&["diff", "checkpoint/20261121-001", "t1", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["diff"]["files"].as_array().unwrap().len(), 3);
    let o = repo.run(&["diff", "t1"]);
    assert!(
        stdout(&o).contains("-fn b() {}\n+fn b2() {}"),
        "{}",
        stdout(&o)
    );
    assert!(stdout(&o).contains("rename from docs/old.md"));
    assert!(stdout(&o).contains("Binary files a/logo.bin and b/logo.bin differ"));
    let o = repo.run(&["diff", "--stat", "t1"]);
    assert!(
        stdout(&o).contains("3 files changed, 1 insertion(+), 1 deletion(-)"),
        "{}",
        stdout(&o)
    );
    let o = repo.run(&["diff", "nope"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("unknown revision, task or checkpoint 'nope'"));
}

#[test]
fn working_tree_and_empty_repositories() {
    let repo = Repo::new();
    repo.write("a.txt", "one\n");
    // No commits yet: everything is new.
    let o = repo.run(&["diff"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("+++ b/a.txt\n@@ -0,0 +1 @@\n+one"),
        "{}",
        stdout(&o)
    );
    git_in(&repo, &["add", "."]);
    git_in(&repo, &["commit", "-qm", "one"]);
    std::fs::remove_file(repo.path().join("a.txt")).unwrap();
    repo.write("b.txt", "two");
    let o = repo.run(&["diff", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let files = v["diff"]["files"].as_array().unwrap();
    let statuses: Vec<&str> = files
        .iter()
        .map(|f| f["status"].as_str().unwrap())
        .collect();
    assert!(
        statuses.contains(&"deleted") && statuses.contains(&"added"),
        "{statuses:?}"
    );
    let o = repo.run(&["diff"]);
    assert!(
        stdout(&o).contains("+two\n\\ No newline at end of file"),
        "{}",
        stdout(&o)
    );
    // A backslash is an ordinary character in a Unix file name and stays one.
    repo.write("odd\\name.txt", "x\n");
    let o = repo.run(&["diff", "--json"]);
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    let paths: Vec<&str> = v["diff"]["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["new_path"].as_str().unwrap_or(""))
        .collect();
    assert!(paths.contains(&"odd\\name.txt"), "{paths:?}");
    std::fs::remove_file(repo.path().join("odd\\name.txt")).unwrap();
    // Overlord's own folder is never part of the diff.
    repo.run(&["init"]);
    let o = repo.run(&["diff", "--stat"]);
    assert!(!stdout(&o).contains(".overlord"), "{}", stdout(&o));
}

/// What the one-shot model prints for `overlord-tui diff A B [--stat|--json]` (B `None`: the
/// working tree), computed on one thread in this process.
fn one_shot(git: &git2::Repository, a: &str, b: Option<&str>, mode: &str) -> Vec<u8> {
    use overlord::protocol::visible;
    let (from, to) = diff::sides(git, Some(a), b).unwrap();
    let text = match mode {
        "--stat" => {
            visible::text(&unified::stat(&diff::diff_stat(git, &from, &to).unwrap())).into_owned()
        }
        "--json" => {
            let set = diff::diff(git, &from, &to).unwrap();
            let doc = overlord::core::diff::json::Document {
                schema_version: 1,
                diff: &set,
            };
            visible::json(serde_json::to_string_pretty(&doc).unwrap()) + "\n"
        }
        _ => visible::text(&unified::unified(
            &diff::diff_patch(git, &from, &to).unwrap(),
        ))
        .into_owned(),
    };
    text.into_bytes()
}

/// The CLI diffs files on all cores and prints them as they are done: its bytes must be the
/// one-shot model's, in every mode.
fn assert_streamed_equals_one_shot(repo: &Repo, a: &str, b: Option<&str>) {
    let git = git2::Repository::open(repo.path()).unwrap();
    for mode in ["", "--stat", "--json"] {
        let mut args = vec!["diff", a];
        args.extend(b);
        if !mode.is_empty() {
            args.push(mode);
        }
        let o = repo.run(&args);
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let expected = one_shot(&git, a, b, mode);
        assert!(
            o.stdout == expected,
            "{args:?} differs from the one-shot model ({} against {} bytes)",
            o.stdout.len(),
            expected.len()
        );
    }
}

#[test]
fn streamed_parallel_output_equals_the_one_shot_model_for_many_files() {
    let repo = Repo::new();
    let body = |n: usize, edited: bool| -> String {
        (0..30)
            .map(|l| match (edited, l) {
                (true, 5 | 21) => format!("let v{l} = f({n}, {l}) + 1;\n"),
                _ => format!("let v{l} = f({n}, {l});\n"),
            })
            .collect()
    };
    for n in 0..400 {
        repo.write(&format!("d{}/f{n:03}.rs", n % 7), &body(n, false));
    }
    repo.write("gone.txt", "old\n");
    repo.write("moved/from.md", &"a line to move\n".repeat(30));
    repo.write("image.bin", "\0\x01\x02");
    repo.write("no_newline.txt", "one\ntwo");
    git_in(&repo, &["add", "."]);
    git_in(&repo, &["commit", "-qm", "one"]);
    for n in (0..400).filter(|n| n % 3 != 0) {
        repo.write(&format!("d{}/f{n:03}.rs", n % 7), &body(n, true));
    }
    std::fs::remove_file(repo.path().join("gone.txt")).unwrap();
    git_in(&repo, &["mv", "moved/from.md", "moved/to.md"]);
    repo.write("image.bin", "\0\x01\x03");
    repo.write("no_newline.txt", "one\nthree");
    // Text a terminal would act on, in contents and a name: shown visibly, the same either way.
    repo.write(
        "esc\x1b[31m.txt",
        "red \x1b]0;title\x07 \u{9b}2J \u{202e}txt\n",
    );
    repo.write("new/file.txt", "fresh\n");
    // The working tree against HEAD first (the new side read from disk), then two commits.
    assert_streamed_equals_one_shot(&repo, "HEAD", None);
    git_in(&repo, &["add", "-A"]);
    git_in(&repo, &["commit", "-qm", "two"]);
    assert_streamed_equals_one_shot(&repo, "HEAD~1", Some("HEAD"));
    // Nothing changed: an empty patch, `0 files changed` and an empty files array.
    assert_streamed_equals_one_shot(&repo, "HEAD", Some("HEAD"));
    let o = repo.run(&["diff", "HEAD~1", "HEAD", "--stat"]);
    assert!(
        stdout(&o).contains("272 files changed"),
        "{}",
        stdout(&o).lines().last().unwrap_or("")
    );
}

#[test]
fn streamed_output_equals_the_one_shot_model_for_a_big_file() {
    let repo = Repo::new();
    let base = source(100_000, 7);
    repo.write("big.rs", &base);
    git_in(&repo, &["add", "."]);
    git_in(&repo, &["commit", "-qm", "one"]);
    repo.write("big.rs", &scattered_edits(&base, 11));
    git_in(&repo, &["commit", "-qam", "two"]);
    assert_streamed_equals_one_shot(&repo, "HEAD~1", Some("HEAD"));
}

/// A blob over the 64 MiB limit is summarized with both sizes, loose (refused from its
/// header, never inflated) or packed (measured after libgit2's read), on either side, in
/// every mode; the files beside it are diffed as usual.
#[test]
fn a_blob_over_the_size_limit_is_summarized_loose_or_packed() {
    let repo = Repo::new();
    repo.write("huge.txt", "small\n");
    repo.write("other.txt", "a\n");
    git_in(&repo, &["add", "."]);
    git_in(&repo, &["commit", "-qm", "one"]);
    let line = "0123456789abcdef\n";
    let big = line.repeat(diff::MAX_TEXT_BYTES as usize / line.len() + 1_000);
    let big_len = big.len();
    repo.write("huge.txt", &big);
    drop(big);
    repo.write("other.txt", "b\n");
    git_in(&repo, &["commit", "-qam", "two"]);
    let git = git2::Repository::open(repo.path()).unwrap();
    let huge = git
        .revparse_single("HEAD:huge.txt")
        .unwrap()
        .id()
        .to_string();
    let loose = repo
        .path()
        .join(".git/objects")
        .join(&huge[..2])
        .join(&huge[2..]);
    for packed in [false, true] {
        if packed {
            git_in(&repo, &["repack", "-adq"]);
            git_in(&repo, &["prune-packed"]);
        }
        assert_eq!(
            loose.exists(),
            !packed,
            "the big blob is loose, then packed"
        );
        for (a, b, old_size, new_size) in [
            ("HEAD~1", "HEAD", 6, big_len),
            ("HEAD", "HEAD~1", big_len, 6),
        ] {
            let (minus, plus) = ("a/huge.txt", "b/huge.txt");
            let o = repo.run(&["diff", a, b]);
            assert!(o.status.success(), "{}", stderr(&o));
            let text = stdout(&o);
            let summary = format!(
                "Large files {minus} ({old_size} bytes) and {plus} ({new_size} bytes) differ (not diffed line by line)"
            );
            assert!(text.contains(&summary), "packed {packed}: {text}");
            assert!(text.contains("other.txt") && text.contains("\n+"), "{text}");
            let o = repo.run(&["diff", a, b, "--stat"]);
            assert!(
                stdout(&o).contains(&format!("huge.txt  | Bin {old_size} -> {new_size} bytes")),
                "{}",
                stdout(&o)
            );
            let o = repo.run(&["diff", a, b, "--json"]);
            let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
            let file = doc["diff"]["files"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["new_path"] == "huge.txt")
                .unwrap()
                .clone();
            assert_eq!(file["content"]["type"], "too_large", "{file}");
            assert_eq!(file["content"]["old_size"], old_size as u64);
            assert_eq!(file["content"]["new_size"], new_size as u64);
        }
    }
}

/// A long line with scattered edits: every changed word is marked, exactly, however busy the
/// machine (the bound is on the words, not the time); past the bound the middle is one
/// change.
#[test]
fn word_spans_of_a_long_line_do_not_depend_on_the_machine() {
    let line = |n: usize, edited: std::ops::Range<usize>| -> String {
        (0..n)
            .map(|i| match edited.contains(&i) && i % 10 == 5 {
                true => format!("new{i}"),
                false => format!("w{i}"),
            })
            .collect::<Vec<_>>()
            .join(" ")
    };
    // Words and the spaces between them: the middle, from the first edit to the last, is
    // 2 × 481 − 1 tokens a side, under the bound.
    let (old, new) = (line(490, 0..0), line(490, 0..490));
    let (o, n) = word_diff(&old, &new).expect("a few words changed");
    let marked: Vec<&str> = n
        .iter()
        .map(|s| &new[s.start as usize..s.end as usize])
        .collect();
    let expected: Vec<String> = (0..490)
        .filter(|i| i % 10 == 5)
        .map(|i| format!("new{i}"))
        .collect();
    assert_eq!(marked, expected);
    assert_eq!(o.len(), expected.len());
    for _ in 0..3 {
        assert_eq!(word_diff(&old, &new), Some((o.clone(), n.clone())));
    }
    // Past the bound (2 × 1,191 − 1 tokens a side): the changed middle, from the first edit
    // to the last, as one span.
    let (old, new) = (
        line(6_000, 0..0),
        line(6_000, 2_000..2_000 + WORD_DIFF_WORDS * 3 / 5),
    );
    let (o, n) = word_diff(&old, &new).expect("a sixth of the line changed");
    assert_eq!((o.len(), n.len()), (1, 1));
    assert!(new[n[0].start as usize..].starts_with("new2005 "));
    assert!(new[..n[0].end as usize].ends_with(" new3195"));
}
