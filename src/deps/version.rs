//! Versions and version requirements as the three registries write them: Cargo's (`1.0`,
//! `^1.2`, `~1.2.3`, `>=1, <2`, `=1.0.5`, `1.*`), npm's (the same plus `||`, spaces between
//! comparators, `1.x` and hyphen ranges) and PEP 440's (`==2.31.0`, `~=2.28`, `>=2,<3`,
//! `!=2.0.*`). Enough to answer "does any published version satisfy this?" and "which is the
//! newest?"; pre-release labels order after their release numbers' absence (1.0.0-rc1 < 1.0.0).

use std::cmp::Ordering;

use super::manifest::Ecosystem;

/// A version: its numeric release parts and an optional pre-release label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    pub parts: Vec<u64>,
    pub pre: Option<String>,
}

impl Version {
    /// `1.2.3`, `v1.2`, `1.0.0-rc.1`, `2.0.0rc1`, `1.0.0+build` (build metadata ignored).
    pub fn parse(text: &str) -> Option<Version> {
        let t = text.trim().trim_start_matches(['v', 'V']);
        let t = t.split('+').next().unwrap_or("");
        if t.is_empty() {
            return None;
        }
        // The release numbers run until the first character that is neither digit nor dot.
        let end = t
            .char_indices()
            .find(|(_, c)| !c.is_ascii_digit() && *c != '.')
            .map(|(i, _)| i)
            .unwrap_or(t.len());
        let (release, rest) = t.split_at(end);
        let release = release.trim_end_matches('.');
        if release.is_empty() {
            return None;
        }
        let parts = release
            .split('.')
            .map(|p| p.parse::<u64>().ok())
            .collect::<Option<Vec<_>>>()?;
        let pre = rest.trim_start_matches(['-', '.', '_']);
        // PEP 440 post releases (`1.0.post1`) sort after the release; treat them as releases.
        let pre = (!pre.is_empty() && !pre.starts_with("post")).then(|| pre.to_string());
        Some(Version { parts, pre })
    }

    pub fn is_prerelease(&self) -> bool {
        self.pre.is_some()
    }

    fn part(&self, i: usize) -> u64 {
        self.parts.get(i).copied().unwrap_or(0)
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.parts.len().max(other.parts.len());
        for i in 0..n {
            match self.part(i).cmp(&other.part(i)) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        match (&self.pre, &other.pre) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(a), Some(b)) => a.cmp(b),
        }
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
    /// Cargo's default and npm's `^`.
    Caret,
    Tilde,
    /// PEP 440 `~=`.
    Compatible,
}

/// One comparator: an operator, a version and how many parts were written (`1.2` is 2; a
/// wildcard part stops the count).
#[derive(Debug, Clone)]
struct Comparator {
    op: Op,
    v: Version,
    written: usize,
    /// The release parts as written (PEP 440's `~=` drops the last of them).
    len: usize,
    wildcard: bool,
}

/// A requirement: alternatives (npm's `||`) of comparators that must all hold.
#[derive(Debug, Clone)]
pub struct Requirement {
    any_of: Vec<Vec<Comparator>>,
}

impl Requirement {
    /// Parses `text` as `eco` writes requirements; `None` when it is not a version
    /// requirement at all (a URL, a tag, a path).
    pub fn parse(eco: Ecosystem, text: &str) -> Option<Requirement> {
        let text = text.trim();
        let mut any_of = Vec::new();
        for alt in text.split("||") {
            any_of.push(parse_all(eco, alt.trim())?);
        }
        Some(Requirement { any_of })
    }

    pub fn matches(&self, v: &Version) -> bool {
        self.any_of.iter().any(|all| {
            // A pre-release only satisfies a requirement that names a pre-release (Cargo and npm
            // rules); PyPI resolvers behave the same by default.
            (!v.is_prerelease() || all.iter().any(|c| c.v.is_prerelease()))
                && all.iter().all(|c| c.matches(v))
        })
    }

    /// The version it pins exactly (`=1.2.3`, `==1.2.3`, npm's bare `1.2.3`), if it does.
    pub fn exact(&self) -> Option<&Version> {
        match self.any_of.as_slice() {
            [all] => match all.as_slice() {
                [c] if c.op == Op::Eq && !c.wildcard => Some(&c.v),
                _ => None,
            },
            _ => None,
        }
    }
}

fn parse_all(eco: Ecosystem, text: &str) -> Option<Vec<Comparator>> {
    if text.is_empty() || text == "*" || text.eq_ignore_ascii_case("latest") || text == "x" {
        return Some(Vec::new());
    }
    // npm's hyphen range `1.2.3 - 2.3.4`.
    if let Some((lo, hi)) = text.split_once(" - ") {
        return Some(vec![
            comparator(eco, Op::Ge, lo.trim())?,
            comparator(eco, Op::Le, hi.trim())?,
        ]);
    }
    let mut out = Vec::new();
    // Comparators are separated by commas (Cargo, PEP 440) or spaces (npm); an operator may
    // be followed by a space (`>= 1.2`), so glue those first.
    let glued = text
        .replace(", ", ",")
        .replace(">= ", ">=")
        .replace("<= ", "<=")
        .replace("> ", ">")
        .replace("< ", "<")
        .replace("== ", "==")
        .replace("~= ", "~=")
        .replace("^ ", "^")
        .replace("~ ", "~")
        .replace("= ", "=");
    for item in glued.split([',', ' ']).filter(|s| !s.is_empty()) {
        let (op, rest) = split_op(eco, item)?;
        if rest == "*" || rest == "x" || rest == "X" {
            continue;
        }
        out.push(comparator(eco, op, rest)?);
    }
    Some(out)
}

fn split_op(eco: Ecosystem, item: &str) -> Option<(Op, &str)> {
    const OPS: [(&str, Op); 10] = [
        ("===", Op::Eq),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("~=", Op::Compatible),
        (">=", Op::Ge),
        ("<=", Op::Le),
        (">", Op::Gt),
        ("<", Op::Lt),
        ("^", Op::Caret),
        ("~", Op::Tilde),
    ];
    for (s, op) in OPS {
        if let Some(rest) = item.strip_prefix(s) {
            return Some((op, rest));
        }
    }
    if let Some(rest) = item.strip_prefix('=') {
        return Some((Op::Eq, rest));
    }
    if !item.starts_with(|c: char| c.is_ascii_digit() || c == 'v') {
        return None;
    }
    // A bare version: Cargo reads it as `^`, npm and PEP 440 as exact.
    Some((
        match eco {
            Ecosystem::Cargo => Op::Caret,
            Ecosystem::Npm | Ecosystem::PyPI => Op::Eq,
        },
        item,
    ))
}

fn comparator(eco: Ecosystem, op: Op, text: &str) -> Option<Comparator> {
    let text = text.trim();
    // Wildcards: `1.*`, `1.x`, `1.2.X` stop the written parts.
    let mut written = 0;
    let mut wildcard = false;
    let mut clean = Vec::new();
    let (release, pre) = match text.find(['-', '+']) {
        Some(i) if eco != Ecosystem::PyPI => (&text[..i], Some(&text[i..])),
        _ => (text, None),
    };
    for p in release.trim_start_matches('v').split('.') {
        if p == "*" || p.eq_ignore_ascii_case("x") {
            wildcard = true;
            break;
        }
        clean.push(p);
        written += 1;
    }
    let mut joined = clean.join(".");
    if let Some(pre) = pre {
        joined.push_str(pre);
    }
    if joined.is_empty() {
        return None;
    }
    let v = Version::parse(&joined)?;
    let len = v.parts.len();
    // Cargo's and npm's partial versions are prefixes (`=1.0` is `1.0.*`); PEP 440 pads with
    // zeros (`==2.31` is `2.31.0`).
    let written = match (wildcard, eco) {
        (true, _) => written,
        (false, Ecosystem::PyPI) => len.max(3),
        (false, _) => len,
    };
    Some(Comparator {
        op,
        v,
        written,
        len,
        wildcard,
    })
}

impl Comparator {
    fn matches(&self, v: &Version) -> bool {
        let c = &self.v;
        match self.op {
            Op::Eq if self.wildcard || (self.written < 3 && c.pre.is_none()) => {
                prefix_eq(c, v, self.written)
            }
            Op::Eq => v.cmp(c) == Ordering::Equal,
            Op::Ne if self.wildcard => !prefix_eq(c, v, self.written),
            Op::Ne => v.cmp(c) != Ordering::Equal,
            Op::Gt => v > c,
            Op::Ge => v >= c,
            Op::Lt => v < c,
            Op::Le if self.wildcard || self.written < c.parts.len().max(3) => {
                v < c || prefix_eq(c, v, self.written)
            }
            Op::Le => v <= c,
            Op::Caret => v >= c && v < &caret_upper(c, self.written),
            Op::Tilde => v >= c && v < &bump(c, if self.written >= 2 { 1 } else { 0 }),
            Op::Compatible => v >= c && prefix_eq(c, v, self.len.saturating_sub(1).max(1)),
        }
    }
}

/// Whether `v` starts with the first `n` parts of `c`.
fn prefix_eq(c: &Version, v: &Version, n: usize) -> bool {
    (0..n).all(|i| c.part(i) == v.part(i))
}

/// `c` with part `i` incremented and everything after it dropped.
fn bump(c: &Version, i: usize) -> Version {
    let mut parts: Vec<u64> = (0..=i).map(|k| c.part(k)).collect();
    parts[i] += 1;
    Version { parts, pre: None }.with_pre_floor()
}

impl Version {
    /// The lowest version of this release line: an upper bound `< 2.0.0` must exclude
    /// `2.0.0-alpha` too, so the bound is the release's earliest pre-release.
    fn with_pre_floor(mut self) -> Version {
        self.pre = Some(String::new());
        self
    }
}

/// `^` keeps the leftmost non-zero written part.
fn caret_upper(c: &Version, written: usize) -> Version {
    let first_nonzero = (0..written.max(1)).find(|&i| c.part(i) != 0);
    match first_nonzero {
        Some(i) => bump(c, i),
        None => bump(c, written.saturating_sub(1)),
    }
}

/// The newest version that is not a pre-release, of those given.
pub fn newest<'a>(versions: impl Iterator<Item = &'a str>) -> Option<String> {
    versions
        .filter_map(|s| Version::parse(s).map(|v| (v, s)))
        .filter(|(v, _)| !v.is_prerelease())
        .max_by(|a, b| a.0.cmp(&b.0))
        .map(|(_, s)| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(eco: Ecosystem, req: &str, v: &str) -> bool {
        Requirement::parse(eco, req)
            .unwrap_or_else(|| panic!("{req}"))
            .matches(&Version::parse(v).unwrap())
    }

    #[test]
    fn cargo_requirements() {
        use Ecosystem::Cargo as C;
        assert!(m(C, "1", "1.0.229"));
        assert!(m(C, "1.0.100", "1.0.229"));
        assert!(!m(C, "1.0.100", "1.0.99"));
        assert!(!m(C, "1.0", "2.0.0"));
        assert!(m(C, "0.4", "0.4.3"));
        assert!(!m(C, "0.4", "0.5.0"));
        assert!(m(C, "~1.2.3", "1.2.9"));
        assert!(!m(C, "~1.2.3", "1.3.0"));
        assert!(m(C, ">=1, <2", "1.5.0"));
        assert!(!m(C, ">=1, <2", "2.0.0-alpha"));
        assert!(m(C, "=1.0.5", "1.0.5"));
        assert!(!m(C, "=1.0.5", "1.0.6"));
        assert!(m(C, "1.*", "1.9.0"));
        assert!(!m(C, "1", "1.1.0-rc.1"));
        assert!(m(C, "*", "7.0.0"));
    }

    #[test]
    fn npm_and_pep440_requirements() {
        use Ecosystem::{Npm as N, PyPI as P};
        assert!(m(N, "^1.1.0", "1.3.0"));
        assert!(m(N, "1.1.0", "1.1.0"));
        assert!(!m(N, "1.1.0", "1.3.0"));
        assert!(m(N, ">= 1.0.0 < 2", "1.5.0"));
        assert!(m(N, "^1 || ^2", "2.1.0"));
        assert!(m(N, "1.x", "1.7.0"));
        assert!(m(N, "1.0.0 - 1.2.0", "1.2.0"));
        assert!(m(P, "==2.31.0", "2.31.0"));
        assert!(!m(P, "==2.31.0", "2.31.1"));
        assert!(m(P, "~=2.28", "2.31.0"));
        assert!(!m(P, "~=2.28", "3.0"));
        assert!(m(P, ">=2,<3", "2.31.0"));
        assert!(m(P, "==2.*", "2.31.0"));
        assert!(!m(P, "!=2.31.*", "2.31.0"));
        assert!(m(P, "==2.31", "2.31.0"));
        assert_eq!(
            Requirement::parse(P, "==2.31.0").unwrap().exact(),
            Version::parse("2.31.0").as_ref()
        );
    }

    #[test]
    fn ordering_and_newest() {
        assert!(Version::parse("1.0.0-rc1").unwrap() < Version::parse("1.0.0").unwrap());
        assert!(Version::parse("1.10.0").unwrap() > Version::parse("1.9.9").unwrap());
        assert_eq!(
            newest(["1.0.0", "1.10.0", "2.0.0-beta.1", "1.9.0"].into_iter()).as_deref(),
            Some("1.10.0")
        );
        assert!(Version::parse("git+https://x").is_none());
    }
}
