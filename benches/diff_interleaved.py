#!/usr/bin/env python3
"""Whole `overlord-tui diff` processes against git, interleaved round by round (for a shared
machine: both sides see the same load), as docs/PERFORMANCE.md reports them.

Builds the two repositories benches/diff.rs builds (one 100,000-line file with ~2% scattered
edits committed twice, loose objects; a commit changing each of 5,000 files by two lines,
packed by fast-import), then for each case runs git and each given overlord-tui binary once per
round, output read from a pipe, and prints the medians and the median of the per-round ratios
(ours / git), with the load average.

    python3 benches/diff_interleaved.py [--rounds N] [--work DIR] BINARY [BINARY...]
"""
import argparse, os, statistics, subprocess, sys, time

M = (1 << 64) - 1


def source(n, seed):  # tests/common/generate.rs `source`
    x, out = seed, []
    for i in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) & M
        k = (x >> 33) % 6
        out.append([f"fn f{i}(a: u32) -> u32 {{\n", f"    let v{i} = a * {x % 97};\n", "}\n", "\n",
                    f"    // note {x % 13}\n", f"    call(v{i % 50}, {x % 7});\n"][k])
    return "".join(out)


def scattered_edits(text, seed):  # tests/common/generate.rs `scattered_edits`
    x, out = seed, []
    for line in text.splitlines():
        x = (x * 6364136223846793005 + 1442695040888963407) & M
        k = (x >> 33) % 150
        if k == 0:
            out.append(f"{line} // edited\n")
        elif k == 2:
            out.append(f"{line}\n    inserted({x % 11});\n")
        elif k != 1:
            out.append(line + "\n")
    return "".join(out)


ENV = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL="/dev/null")


def git(d, *args, **kw):
    subprocess.run(["git", *args], cwd=d, env=ENV, check=True, **kw)


def make(work):
    big, many = os.path.join(work, "big"), os.path.join(work, "many")
    if not os.path.isdir(big):
        os.makedirs(big)
        git(big, "init", "-q", "-b", "main")
        base = source(100_000, 7)
        for content, msg in [(base, "one"), (scattered_edits(base, 11), "two")]:
            with open(os.path.join(big, "big.rs"), "w") as f:
                f.write(content)
            git(big, "add", "big.rs")
            git(big, "-c", "user.name=B", "-c", "user.email=b@example.com", "commit", "-qm", msg)
    if not os.path.isdir(many):
        os.makedirs(many)
        git(many, "init", "-q", "-b", "main")
        files, s = 5_000, []
        text = lambda n, ed: "".join(
            f"let v{l} = f({n}, {l}) + 1; // edited\n" if ed and l in (7, 29) else f"let v{l} = f({n}, {l});\n"
            for l in range(40))
        for c, ed in [(1, False), (2, True)]:
            for n in range(files):
                t = text(n, ed)
                s.append(f"blob\nmark :{c * files + n}\ndata {len(t)}\n{t}\n")
            msg = f"commit {c}"
            s.append(f"commit refs/heads/main\ncommitter B <b@example.com> 1767225600 +0000\ndata {len(msg)}\n{msg}\n")
            s.extend(f"M 100644 :{c * files + n} d{n % 50:02}/f{n:04}.txt\n" for n in range(files))
        git(many, "fast-import", "--quiet", input="".join(s).encode())
        git(many, "reset", "-q", "--hard")
    return big, many


def run(d, cmd):
    t = time.perf_counter()
    p = subprocess.run(cmd, cwd=d, env=dict(ENV, HOME=d), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    elapsed = time.perf_counter() - t
    assert p.returncode == 0, cmd
    return elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--work", default="/tmp/overlord-diff-bench")
    ap.add_argument("--only", help="run only the cases whose name contains this")
    ap.add_argument("binaries", nargs="+")
    a = ap.parse_args()
    big, many = make(a.work)
    cases = [
        ("stat 5000", many, ["git", "diff", "--stat", "HEAD~1", "HEAD"], ["diff", "HEAD~1", "HEAD", "--stat"]),
        ("text 5000", many, ["git", "diff", "--histogram", "--no-color", "HEAD~1", "HEAD"], ["diff", "HEAD~1", "HEAD"]),
        ("json 5000 vs patch", many, ["git", "diff", "--histogram", "--no-color", "HEAD~1", "HEAD"],
         ["diff", "HEAD~1", "HEAD", "--json"]),
        ("100k file", big, ["git", "diff", "--histogram", "--no-color", "HEAD~1", "HEAD"], ["diff", "HEAD~1", "HEAD"]),
    ]
    for name, d, git_cmd, ours in cases:
        if a.only and a.only not in name:
            continue
        cmds = [git_cmd] + [[b] + ours for b in a.binaries]
        for c in cmds:
            run(d, c)  # warm the page cache
        times = [[] for _ in cmds]
        for _ in range(a.rounds):
            for i, c in enumerate(cmds):
                times[i].append(run(d, c))
        load = open("/proc/loadavg").read().split()[:3]
        print(f"{name}: git {statistics.median(times[0]) * 1e3:.1f} ms", end="")
        for b, t in zip(a.binaries, times[1:]):
            ratio = statistics.median(x / g for x, g in zip(t, times[0]))
            print(f"; {os.path.basename(b)} {statistics.median(t) * 1e3:.1f} ms, ratio {ratio:.2f}x", end="")
        print(f" (load {' '.join(load)})")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
