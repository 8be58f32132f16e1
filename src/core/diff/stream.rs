//! A comparison's files diffed on all cores and handed on in git's order, one at a time: the
//! CLI prints each file as soon as it and the files before it are done, instead of building
//! the whole diff first. Each worker thread opens the repository itself (a `git2::Repository`
//! is not shared between threads) and takes the next chunk of files; the caller's thread puts
//! the chunks back in order.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use git2::Repository;

use super::files::{entries, Detail, Entry, Reader};
use super::sides::{git, DiffError, Side};
use crate::protocol::diff::FileDiff;

/// At most this many threads diff files.
const MAX_WORKERS: usize = 4;

/// How many worker threads for `files` files: one (the caller's thread) for a single file.
fn workers(files: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    cores.min(MAX_WORKERS).min(files).max(1)
}

/// Files per chunk a worker takes at a time: small enough that both cores stay busy to the
/// end, large enough that handing chunks over costs nothing next to diffing them.
fn chunk_len(files: usize, workers: usize) -> usize {
    (files / (workers * 16)).clamp(1, 32)
}

/// Diffs each changed file between `from` and `to` (at `detail`), turns it into a `T` with
/// `map` (on the worker threads: rendering a file's text is work too) and hands the results
/// to `sink` in git's file order. `sink` returning `Break` stops early (a closed pipe).
pub fn for_each_file<T: Send>(
    repo: &Repository,
    from: &Side,
    to: &Side,
    detail: Detail,
    map: impl Fn(FileDiff) -> T + Sync,
    mut sink: impl FnMut(T) -> ControlFlow<()>,
) -> Result<(), DiffError> {
    let list = entries(repo, from, to)?;
    let n = workers(list.len());
    if n <= 1 {
        let reader = Reader::new(repo)?.alone();
        for e in &list {
            if let Some(f) = reader.file(e, detail)? {
                if sink(map(f)).is_break() {
                    break;
                }
            }
        }
        return Ok(());
    }
    let chunk = chunk_len(list.len(), n);
    let chunks: Vec<&[Entry]> = list.chunks(chunk).collect();
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let git_dir = repo.path().to_path_buf();
    // Bounded: workers far ahead of a slow reader of the output wait instead of piling up.
    let (tx, rx) = mpsc::sync_channel::<(usize, Result<Vec<T>, DiffError>)>(n * 4);
    std::thread::scope(|s| {
        for _ in 0..n {
            let tx = tx.clone();
            let (chunks, next, stop, map, git_dir) = (&chunks, &next, &stop, &map, &git_dir);
            s.spawn(move || {
                let repo = Repository::open(git_dir).map_err(git);
                let reader = repo.as_ref().map_err(Clone::clone).and_then(Reader::new);
                loop {
                    let c = next.fetch_add(1, Ordering::Relaxed);
                    if c >= chunks.len() || stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let result = match &reader {
                        Ok(reader) => diff_chunk(reader, chunks[c], detail, map),
                        Err(e) => Err(e.clone()),
                    };
                    if tx.send((c, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let outcome = in_order(rx, chunks.len(), &mut sink);
        // Whatever ended the loop, the workers stop taking chunks (a send to the dropped
        // receiver fails too).
        stop.store(true, Ordering::Relaxed);
        outcome
    })
}

fn diff_chunk<T>(
    reader: &Reader<'_>,
    chunk: &[Entry],
    detail: Detail,
    map: &impl Fn(FileDiff) -> T,
) -> Result<Vec<T>, DiffError> {
    let mut out = Vec::with_capacity(chunk.len());
    for e in chunk {
        if let Some(f) = reader.file(e, detail)? {
            out.push(map(f));
        }
    }
    Ok(out)
}

/// Receives the workers' chunks in any order and hands their items to `sink` in chunk order;
/// the first error (in chunk order) ends it.
fn in_order<T>(
    rx: mpsc::Receiver<(usize, Result<Vec<T>, DiffError>)>,
    total: usize,
    sink: &mut impl FnMut(T) -> ControlFlow<()>,
) -> Result<(), DiffError> {
    let mut waiting: BTreeMap<usize, Result<Vec<T>, DiffError>> = BTreeMap::new();
    let mut due = 0;
    while due < total {
        let Ok((c, result)) = rx.recv() else {
            // Every worker is gone before the last chunk: one could not run.
            return Err(DiffError::Git("a diff worker stopped early".into()));
        };
        waiting.insert(c, result);
        while let Some(result) = waiting.remove(&due) {
            for item in result? {
                if sink(item).is_break() {
                    return Ok(());
                }
            }
            due += 1;
        }
    }
    Ok(())
}

/// Diffs every changed file on all cores into one list, in git's order.
pub fn collect(
    repo: &Repository,
    from: &Side,
    to: &Side,
    detail: Detail,
) -> Result<Vec<FileDiff>, DiffError> {
    let mut files = Vec::new();
    for_each_file(
        repo,
        from,
        to,
        detail,
        |f| f,
        |f| {
            files.push(f);
            ControlFlow::Continue(())
        },
    )?;
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(
        sent: Vec<(usize, Result<Vec<u32>, DiffError>)>,
        total: usize,
        stop_at: Option<u32>,
    ) -> (Vec<u32>, Result<(), DiffError>) {
        let (tx, rx) = mpsc::sync_channel(sent.len().max(1));
        for s in sent {
            tx.send(s).unwrap();
        }
        drop(tx);
        let mut got = Vec::new();
        let r = in_order(rx, total, &mut |x| {
            got.push(x);
            if Some(x) == stop_at {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        (got, r)
    }

    #[test]
    fn chunks_arriving_out_of_order_come_out_in_order() {
        let sent = vec![
            (2, Ok(vec![5])),
            (0, Ok(vec![1, 2])),
            (3, Ok(vec![])),
            (1, Ok(vec![3, 4])),
        ];
        let (got, r) = run(sent, 4, None);
        assert_eq!(got, [1, 2, 3, 4, 5]);
        assert!(r.is_ok());
    }

    #[test]
    fn the_first_error_in_file_order_ends_it_and_a_break_stops_early() {
        let bad = || Err(DiffError::Git("bad blob".into()));
        let (got, r) = run(
            vec![(1, bad()), (0, Ok(vec![1])), (2, Ok(vec![9]))],
            3,
            None,
        );
        assert_eq!(got, [1]);
        assert_eq!(r.unwrap_err().to_string(), "bad blob");
        let (got, r) = run(vec![(0, Ok(vec![1, 2, 3])), (1, Ok(vec![4]))], 2, Some(2));
        assert_eq!(got, [1, 2]);
        assert!(r.is_ok());
        // Workers gone before the last chunk: an error, not a hang.
        let (_, r) = run(vec![(0, Ok(vec![1]))], 2, None);
        assert!(r.is_err());
    }
}
