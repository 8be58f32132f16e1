//! Deterministic inputs for the diff tests and the diff benchmark (included by both).

#![allow(dead_code)]

/// A deterministic pseudo-random source file of `n` lines.
pub fn source(n: usize, seed: u64) -> String {
    let mut x = seed;
    let mut s = String::new();
    for i in 0..n {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        match (x >> 33) % 6 {
            0 => s.push_str(&format!("fn f{i}(a: u32) -> u32 {{\n")),
            1 => s.push_str(&format!("    let v{i} = a * {};\n", x % 97)),
            2 => s.push_str("}\n"),
            3 => s.push('\n'),
            4 => s.push_str(&format!("    // note {}\n", x % 13)),
            _ => s.push_str(&format!("    call(v{}, {});\n", i % 50, x % 7)),
        }
    }
    s
}

/// About 2% of lines edited, inserted or removed, spread through the file.
pub fn scattered_edits(text: &str, seed: u64) -> String {
    let mut x = seed;
    let mut out = String::new();
    for line in text.lines() {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        match (x >> 33) % 150 {
            0 => out.push_str(&format!("{line} // edited\n")),
            1 => {}
            2 => out.push_str(&format!("{line}\n    inserted({});\n", x % 11)),
            _ => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

/// Moves a block of `len` lines from `from` to the end.
pub fn moved_block(text: &str, from: usize, len: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<&str> = Vec::new();
    out.extend(&lines[..from]);
    out.extend(&lines[from + len..]);
    out.extend(&lines[from..from + len]);
    out.join("\n") + "\n"
}
