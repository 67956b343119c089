//! The signature store at scale, through the API users hit: `SledStore::create` and `add_item`
//! (catalog writes; the graph built in parallel batches at the final flush), `SledStore::open`,
//! `search` at several beam widths, `search_exact`.
//!
//! `cargo bench -p latentid-store --bench store -- [--sizes 100000,1000000] [--queries 1000]
//! [--exact-queries N] [--ef 32,64,128,256,512] [--noise 0.05] [--rebuild] [--real DIR]
//! [--samples 20] [--measure-s 3]`
//!
//! For each size: seeded uniform vectors in [-1, 1]^32, stored as items of 500 signatures (a
//! ~4 min track at one signature per 0.5 s). Two query sets: held-out random vectors, and stored
//! vectors plus Gaussian noise (a distorted copy of a stored signature). recall@10 is measured
//! against the exact top 10 of a flat in-memory scan, itself checked against `search_exact` on
//! the first `--exact-queries` queries (default all). Per-query times are criterion's (one query
//! per iteration, cycling through the set, single-threaded): QPS is 1 / its mean, and its median
//! is reported too. Build and open are one-off timings: the build is cached under
//! `CARGO_TARGET_TMPDIR`, keyed by its parameters, with its time (`--rebuild` builds again); open
//! is `SledStore::open` + the first search (which loads the graph) in fresh processes, median of
//! 3. Figures: benches/RESULTS.md, "Signature store".
//!
//! `--real DIR` (an absolute path: cargo runs benches in the crate's directory) measures an
//! existing index instead, copied first so the original is never written (a format-1 copy is
//! upgraded): its signatures, queried as stored signatures plus noise scaled to their spread;
//! with `--rebuild` the copy's graph is rebuilt from its catalog first, timed.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use criterion::Criterion;
use latentid_store::{
    AddOutcome, ItemId, ItemKind, Manifest, Neighbour, NewItem, SearchParams, SledStore, Store,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;

const DIM: usize = 32;
const PER_ITEM: usize = 500;
const K: usize = 10;
const SEED: u64 = 4;

/// The signature store at scale: recall against exact search, query speed, build and open.
#[derive(Parser)]
struct Args {
    /// Index sizes in signatures (uniform random, 32 dims), multiples of 500.
    #[arg(long, value_delimiter = ',', default_values_t = [100_000, 1_000_000])]
    sizes: Vec<usize>,
    /// Queries per query set.
    #[arg(long, default_value_t = 1000)]
    queries: usize,
    /// How many of them `search_exact` answers (checked against the flat scan, and timed).
    #[arg(long)]
    exact_queries: Option<usize>,
    /// Search beam widths to measure.
    #[arg(long = "ef", value_delimiter = ',', default_values_t = [32, 64, 128, 256, 512])]
    efs: Vec<usize>,
    /// Standard deviation of the noise added to stored vectors (relative to uniform [-1, 1]).
    #[arg(long, default_value_t = 0.05)]
    noise: f32,
    /// Build the index (or, with --real, the copy's graph) again rather than reuse it.
    #[arg(long)]
    rebuild: bool,
    /// Measure this existing index (absolute path) instead of random vectors.
    #[arg(long)]
    real: Option<PathBuf>,
    /// criterion samples per timing.
    #[arg(long, default_value_t = 20)]
    samples: usize,
    /// criterion measuring time per timing, seconds.
    #[arg(long, default_value_t = 3.0)]
    measure_s: f64,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
    /// Internal: open DIR and search QUERY (comma-separated) in this fresh process.
    #[arg(long, hide = true, num_args = 2, allow_hyphen_values = true, value_names = ["DIR", "QUERY"])]
    open_child: Option<Vec<String>>,
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(child) = &args.open_child {
        return open_child(Path::new(&child[0]), &child[1]);
    }
    let mut c = Criterion::default()
        .sample_size(args.samples)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs_f64(args.measure_s))
        .without_plots();
    println!("load average at start: {}", load_average());
    if let Some(dir) = &args.real {
        bench_real(&mut c, dir, &args)?;
    } else {
        for &n in &args.sizes {
            bench_random(&mut c, n, &args)?;
        }
    }
    println!("load average at end: {}", load_average());
    println!("peak RSS of this process: {} MB", peak_rss_kb() / 1024);
    Ok(())
}

// ---------------------------------------------------------------- data

fn uniform(rng: &mut StdRng, n: usize) -> Vec<f32> {
    (0..n * DIM)
        .map(|_| rng.random_range(-1.0f32..1.0))
        .collect()
}

/// `count` rows of `base` picked at random, each plus N(0, sigma) per coordinate; also returns
/// which row each copy came from.
fn noisy_copies(
    rng: &mut StdRng,
    base: &[f32],
    dim: usize,
    count: usize,
    sigma: f32,
) -> (Vec<f32>, Vec<usize>) {
    let rows = base.len() / dim;
    let normal = Normal::new(0.0f32, sigma).unwrap();
    let mut out = Vec::with_capacity(count * dim);
    let mut src = Vec::with_capacity(count);
    for _ in 0..count {
        let r = rng.random_range(0..rows);
        src.push(r);
        out.extend(
            base[r * dim..(r + 1) * dim]
                .iter()
                .map(|x| x + normal.sample(rng)),
        );
    }
    (out, src)
}

/// Exact top-k rows of `base` by a flat scan.
fn flat_top_k(base: &[f32], dim: usize, q: &[f32], k: usize) -> Vec<usize> {
    let mut best: Vec<(f32, usize)> = Vec::with_capacity(k + 1);
    for (i, v) in base.chunks_exact(dim).enumerate() {
        let d: f32 = v.iter().zip(q).map(|(a, b)| (a - b) * (a - b)).sum();
        if best.len() < k || d < best[best.len() - 1].0 {
            let pos = best.partition_point(|x| x.0 <= d);
            best.insert(pos, (d, i));
            best.truncate(k);
        }
    }
    best.into_iter().map(|x| x.1).collect()
}

// ---------------------------------------------------------------- the random index

fn new_item(i: usize) -> NewItem {
    NewItem {
        path: format!("/bench/track{i:07}.ogg").into(),
        name: format!("track{i:07}"),
        content_hash: format!("{i:064x}"),
        kind: ItemKind::Audio,
        duration_s: Some(PER_ITEM as f32 * 0.5),
        width: None,
        height: None,
        title: None,
        artist: None,
        album: None,
        sketch: None,
        tint: None,
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct BuildRecord {
    vectors: usize,
    build_s: f64,
    /// Item ids in the order their blocks of `PER_ITEM` rows were added.
    ids: Vec<ItemId>,
}

/// The index of `base`, built (and timed) unless a cached one of the same size exists.
fn cached_index(dir: &Path, base: &[f32], rebuild: bool) -> Result<(BuildRecord, bool)> {
    let record = dir.with_extension("build.json");
    if !rebuild && SledStore::exists(dir) {
        if let Some(r) = std::fs::read(&record)
            .ok()
            .and_then(|b| serde_json::from_slice::<BuildRecord>(&b).ok())
            .filter(|r| r.vectors * DIM == base.len())
        {
            return Ok((r, true));
        }
    }
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let t = Instant::now();
    let store = SledStore::create(dir, Manifest::new(ItemKind::Audio, DIM, "{}".into()))?;
    let offsets: Vec<u32> = (0..PER_ITEM as u32).collect();
    let blocks = base.len() / (DIM * PER_ITEM);
    let mut ids = Vec::new();
    for (i, chunk) in base.chunks_exact(DIM * PER_ITEM).enumerate() {
        match store.add_item(new_item(i), &offsets, chunk)? {
            AddOutcome::Added(id) => ids.push(id),
            other => bail!("item {i} was not added: {other:?}"),
        }
        if (i + 1) % (blocks / 10).max(1) == 0 {
            eprintln!(
                "  added {} / {blocks} items, {:.0} s",
                i + 1,
                t.elapsed().as_secs_f64()
            );
        }
    }
    store.flush()?;
    let r = BuildRecord {
        vectors: base.len() / DIM,
        build_s: t.elapsed().as_secs_f64(),
        ids,
    };
    std::fs::write(&record, serde_json::to_vec(&r)?)?;
    Ok((r, false))
}

// ---------------------------------------------------------------- measurements

/// A query set, and for noisy copies the stored row each query was made from.
struct QuerySet {
    /// For criterion's ids and file names: `[a-z0-9-]`.
    id: String,
    label: String,
    queries: Vec<f32>,
    sources: Option<Vec<usize>>,
}

/// What one search method achieved on one query set.
struct Row {
    method: String,
    recall: f64,
    timing: Timing,
    /// Share of queries whose first hit is the row they were made from.
    top1: Option<f64>,
}

#[derive(Clone, Copy)]
struct Timing {
    qps: f64,
    median_us: f64,
}

/// Where criterion writes its results, as criterion finds it.
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(
        || Path::new(env!("CARGO_TARGET_TMPDIR")).join(".."),
        PathBuf::from,
    );
    target.join("criterion")
}

/// Times `f` with criterion, one query per iteration, cycling through `queries`; reads back
/// criterion's mean and median.
fn time<T>(
    c: &mut Criterion,
    group: &str,
    name: &str,
    queries: &[f32],
    dim: usize,
    mut f: impl FnMut(&[f32]) -> T,
) -> Result<Timing> {
    let nq = queries.len() / dim;
    let mut g = c.benchmark_group(group);
    g.bench_function(name, |b| {
        let mut i = 0;
        b.iter(|| {
            let q = &queries[(i % nq) * dim..][..dim];
            i += 1;
            f(q)
        })
    });
    g.finish();
    let path = criterion_dir()
        .join(group)
        .join(name)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read(&path).with_context(|| format!("criterion's {}", path.display()))?;
    let est: serde_json::Value = serde_json::from_slice(&text)?;
    let ns = |stat: &str| {
        est[stat]["point_estimate"]
            .as_f64()
            .with_context(|| format!("no {stat} in {}", path.display()))
    };
    Ok(Timing {
        qps: 1e9 / ns("mean")?,
        median_us: ns("median")? / 1e3,
    })
}

fn keys(ns: &[Neighbour]) -> Vec<(ItemId, u32)> {
    ns.iter().map(|n| (n.item, n.offset)).collect()
}

fn recall(found: &[Vec<(ItemId, u32)>], truth: &[Vec<(ItemId, u32)>]) -> f64 {
    let mut hit = 0;
    let mut all = 0;
    for (f, t) in found.iter().zip(truth) {
        all += t.len();
        hit += t.iter().filter(|k| f.contains(k)).count();
    }
    hit as f64 / all.max(1) as f64
}

/// Recall and speed of every method on every query set. `row_key[r]` is stored row `r`'s
/// (item, offset). The store comes back searching at the default parameters.
fn measure(
    c: &mut Criterion,
    mut store: SledStore,
    base: &[f32],
    dim: usize,
    row_key: &[(ItemId, u32)],
    sets: &[QuerySet],
    args: &Args,
) -> Result<(SledStore, Vec<Vec<Row>>)> {
    let mut rows: Vec<Vec<Row>> = sets.iter().map(|_| Vec::new()).collect();
    let mut truths = Vec::new();
    for (set, out) in sets.iter().zip(&mut rows) {
        let t = Instant::now();
        let truth: Vec<Vec<(ItemId, u32)>> = set
            .queries
            .par_chunks_exact(dim)
            .map(|q| {
                flat_top_k(base, dim, q, K)
                    .into_iter()
                    .map(|i| row_key[i])
                    .collect()
            })
            .collect();
        eprintln!(
            "  [{}] flat ground truth in {:.1} s (parallel)",
            set.label,
            t.elapsed().as_secs_f64()
        );
        let m = args.exact_queries.unwrap_or(args.queries).min(truth.len());
        let exact: Vec<_> = set.queries[..m * dim]
            .chunks_exact(dim)
            .map(|q| Ok(keys(&store.search_exact(q, K)?)))
            .collect::<Result<_>>()?;
        let agree = exact.iter().zip(&truth).filter(|(a, b)| a == b).count();
        println!("[{}] search_exact == flat top-10 on {agree}/{m}", set.label);
        rss_note("after search_exact");
        let timing = time(
            c,
            &set.id,
            "search-exact",
            &set.queries[..m * dim],
            dim,
            |q| store.search_exact(q, K),
        )?;
        out.push(Row {
            method: format!("search_exact ({m} queries)"),
            recall: recall(&exact, &truth[..m]),
            timing,
            top1: None,
        });
        let timing = time(c, &set.id, "flat-scan", &set.queries, dim, |q| {
            flat_top_k(base, dim, q, K)
        })?;
        out.push(Row {
            method: "flat in-memory scan, not the store".into(),
            recall: 1.0,
            timing,
            top1: None,
        });
        truths.push(truth);
    }
    for &ef in &args.efs {
        store = store.with_search_params(SearchParams {
            ef,
            ..SearchParams::default()
        });
        for ((set, out), truth) in sets.iter().zip(&mut rows).zip(&truths) {
            let found: Vec<Vec<Neighbour>> = set
                .queries
                .chunks_exact(dim)
                .map(|q| store.search(q, K))
                .collect::<latentid_store::Result<_>>()?;
            let top1 = set.sources.as_ref().map(|src| {
                let first = found.iter().zip(src);
                first
                    .filter(|(res, &s)| res.first().map(|n| (n.item, n.offset)) == Some(row_key[s]))
                    .count() as f64
                    / src.len() as f64
            });
            let found: Vec<_> = found.iter().map(|f| keys(f)).collect();
            let timing = time(
                c,
                &set.id,
                &format!("search-ef{ef}"),
                &set.queries,
                dim,
                |q| store.search(q, K),
            )?;
            let default = if ef == SearchParams::default().ef {
                " (default)"
            } else {
                ""
            };
            out.push(Row {
                method: format!("search, ef {ef}{default}"),
                recall: recall(&found, truth),
                timing,
                top1,
            });
        }
    }
    Ok((store.with_search_params(SearchParams::default()), rows))
}

fn print_table(sets: &[QuerySet], rows: &[Vec<Row>]) {
    println!("\n| queries | method | recall@10 | QPS (1 thread) | median µs | × search_exact | × flat scan | top-1 = source |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- |");
    for (set, rows) in sets.iter().zip(rows) {
        let exact = rows[0].timing.qps;
        let flat = rows[1].timing.qps;
        for r in rows.iter().skip(2).chain(&rows[..2]) {
            println!(
                "| {} | {} | {:.4} | {:.1} | {:.0} | {:.1}× | {:.1}× | {} |",
                set.label,
                r.method,
                r.recall,
                r.timing.qps,
                r.timing.median_us,
                r.timing.qps / exact,
                r.timing.qps / flat,
                r.top1.map_or("–".into(), |t| format!("{t:.4}")),
            );
        }
    }
}

/// Share of `sample` stored rows (seeded pick) that `search` returns as their own nearest
/// neighbour when queried with their exact vector. A point the graph cannot reach (orphaned by
/// a parallel insert race) fails this; exact duplicates tie at distance 0 and count as found.
fn self_retrieval(
    store: &SledStore,
    base: &[f32],
    dim: usize,
    row_key: &[(ItemId, u32)],
    sample: usize,
) -> Result<(usize, usize)> {
    let rows = base.len() / dim;
    let mut rng = StdRng::seed_from_u64(SEED + 1);
    let m = sample.min(rows);
    let mut found = 0;
    for _ in 0..m {
        let r = rng.random_range(0..rows);
        let hits = store.search(&base[r * dim..(r + 1) * dim], 1)?;
        if hits
            .first()
            .is_some_and(|n| (n.item, n.offset) == row_key[r] || n.distance == 0.0)
        {
            found += 1;
        }
    }
    Ok((found, m))
}

/// `SledStore::open` + the first search in fresh processes: (median open ms, median
/// first-search ms, median child peak RSS MB).
fn open_times(dir: &Path, query: &[f32], runs: usize) -> Result<(f64, f64, f64)> {
    let q: Vec<String> = query.iter().map(|x| x.to_string()).collect();
    let mut open = Vec::new();
    let mut first = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..runs {
        let out = Command::new(std::env::current_exe()?)
            .arg("--open-child")
            .arg(dir)
            .arg(q.join(","))
            .output()?;
        if !out.status.success() {
            bail!(
                "open child failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let s = String::from_utf8_lossy(&out.stdout);
        let f: Vec<f64> = s
            .split_whitespace()
            .map(|x| x.parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .with_context(|| format!("open child said {s:?}"))?;
        open.push(f[0]);
        first.push(f[1]);
        rss.push(f[2]);
    }
    Ok((median(open), median(first), median(rss)))
}

fn open_child(dir: &Path, query: &str) -> Result<()> {
    let q: Vec<f32> = query
        .split(',')
        .map(|x| x.parse::<f32>())
        .collect::<std::result::Result<_, _>>()?;
    let t = Instant::now();
    let store = SledStore::open(dir)?;
    let open = t.elapsed();
    let t = Instant::now();
    let hits = store.search(&q, K)?;
    let first = t.elapsed();
    if hits.is_empty() {
        bail!("no hits from {}", dir.display());
    }
    println!(
        "{} {} {}",
        open.as_secs_f64() * 1e3,
        first.as_secs_f64() * 1e3,
        peak_rss_kb() as f64 / 1024.0
    );
    Ok(())
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

// ---------------------------------------------------------------- the process

/// Bytes of the graph dump (`Stats::bytes_on_disk` is the whole index).
fn graph_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir.join("graph"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

fn peak_rss_kb() -> u64 {
    status_kb("VmHWM:")
}

fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn rss_note(when: &str) {
    eprintln!(
        "  RSS {when}: {} MB (peak {} MB)",
        status_kb("VmRSS:") / 1024,
        peak_rss_kb() / 1024
    );
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn work_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("store-bench")
}

fn print_open(dir: &Path, query: &[f32]) -> Result<()> {
    let (open_ms, first_ms, child_rss) = open_times(dir, query, 3)?;
    println!(
        "open (fresh process, median of 3): SledStore::open {open_ms:.0} ms + first search {first_ms:.2} ms; child peak RSS {child_rss:.0} MB"
    );
    Ok(())
}

// ---------------------------------------------------------------- the two benchmarks

fn bench_random(c: &mut Criterion, n: usize, args: &Args) -> Result<()> {
    if n % PER_ITEM != 0 {
        bail!("--sizes must be multiples of {PER_ITEM}");
    }
    println!("\n## {n} uniform random vectors of {DIM} dims\n");
    let mut rng = StdRng::seed_from_u64(SEED);
    let base = uniform(&mut rng, n);
    let held_out = uniform(&mut rng, args.queries);
    let (noisy, sources) = noisy_copies(&mut rng, &base, DIM, args.queries, args.noise);

    std::fs::create_dir_all(work_dir())?;
    let dir = work_dir().join(format!("uniform-d{DIM}-n{n}-per{PER_ITEM}-seed{SEED}"));
    let (rec, cached) = cached_index(&dir, &base, args.rebuild)?;
    let row_key: Vec<(ItemId, u32)> = (0..n)
        .map(|r| (rec.ids[r / PER_ITEM], (r % PER_ITEM) as u32))
        .collect();

    let store = SledStore::open(&dir)?;
    rss_note("after open");
    store.load_graph()?;
    rss_note("after loading the graph");
    let stats = store.stats()?;
    if stats.signatures != n {
        bail!("index holds {} signatures, not {n}", stats.signatures);
    }
    let sets = [
        QuerySet {
            id: format!("store-n{n}-held-out"),
            label: "held-out random".into(),
            queries: held_out,
            sources: None,
        },
        QuerySet {
            id: format!("store-n{n}-noisy"),
            label: format!("stored + N(0, {}²) noise", args.noise),
            queries: noisy,
            sources: Some(sources),
        },
    ];
    let (store, rows) = measure(c, store, &base, DIM, &row_key, &sets, args)?;
    let (found, sampled) = self_retrieval(&store, &base, DIM, &row_key, 10_000)?;
    drop(store);
    print_table(&sets, &rows);
    println!(
        "\nself-retrieval (a stored vector as the query, default ef): {found}/{sampled} find themselves first"
    );
    println!(
        "build (add {} items of {PER_ITEM} + flush): {:.1} s = {:.0} vectors/s{}",
        n / PER_ITEM,
        rec.build_s,
        n as f64 / rec.build_s,
        if cached {
            " (cached from an earlier run)"
        } else {
            ""
        }
    );
    print_open(&dir, &sets[0].queries[..DIM])?;
    let graph = graph_bytes(&dir);
    println!(
        "on disk: {} bytes = {:.0} B/vector (catalog {:.0} B/vector, graph {:.0} B/vector; raw f32 vector = {} B)",
        stats.bytes_on_disk,
        stats.bytes_on_disk as f64 / n as f64,
        stats.bytes_on_disk.saturating_sub(graph) as f64 / n as f64,
        graph as f64 / n as f64,
        DIM * 4
    );
    Ok(())
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), &target)?;
        }
    }
    Ok(())
}

/// Sigma for noise of `noise` relative to uniform [-1, 1] (sd 0.577), scaled to the data's
/// mean per-coordinate standard deviation.
fn scaled_sigma(base: &[f32], dim: usize, noise: f32) -> f32 {
    let n = (base.len() / dim) as f64;
    let sd = (0..dim)
        .map(|j| {
            let col = || base.iter().skip(j).step_by(dim).map(|&x| x as f64);
            let mean = col().sum::<f64>() / n;
            (col().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt()
        })
        .sum::<f64>()
        / dim as f64;
    (noise as f64 / 0.577 * sd) as f32
}

fn bench_real(c: &mut Criterion, src: &Path, args: &Args) -> Result<()> {
    if !SledStore::exists(src) {
        bail!("no index at {}", src.display());
    }
    let dir = work_dir().join("real-copy");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    copy_dir(src, &dir)?;
    if args.rebuild {
        std::fs::remove_dir_all(dir.join("graph")).ok();
    }
    let store = SledStore::open(&dir)?;
    let t = Instant::now();
    store.load_graph()?;
    let graph_build = args.rebuild.then(|| t.elapsed());
    store.flush()?;
    let dim = store.manifest().latent_dim;
    // Items hold different numbers of signatures: key every row directly.
    let mut base = Vec::new();
    let mut row_key = Vec::new();
    let items = store.items()?;
    for item in &items {
        let (offsets, v) = store.signatures(item.id)?;
        row_key.extend(offsets.into_iter().map(|o| (item.id, o)));
        base.extend(v);
    }
    let n = row_key.len();
    println!(
        "\n## real signatures: {} ({n} signatures of {dim} dims, {} items)\n",
        src.display(),
        items.len()
    );
    let sigma = scaled_sigma(&base, dim, args.noise);
    let mut rng = StdRng::seed_from_u64(SEED);
    let (noisy, sources) = noisy_copies(&mut rng, &base, dim, args.queries, sigma);
    let sets = [QuerySet {
        id: "store-real-noisy".into(),
        label: format!("stored + noise (σ {sigma:.3})"),
        queries: noisy,
        sources: Some(sources),
    }];
    let (store, rows) = measure(c, store, &base, dim, &row_key, &sets, args)?;
    let (found, sampled) = self_retrieval(&store, &base, dim, &row_key, 10_000)?;
    let stats = store.stats()?;
    drop(store);
    print_table(&sets, &rows);
    println!(
        "\nself-retrieval (a stored vector as the query, default ef): {found}/{sampled} find themselves first"
    );
    if let Some(b) = graph_build {
        println!(
            "graph build from the catalog (parallel): {:.1} s = {:.0} vectors/s",
            b.as_secs_f64(),
            n as f64 / b.as_secs_f64()
        );
    }
    print_open(&dir, &base[..dim])?;
    println!(
        "on disk: {:.0} B/vector",
        stats.bytes_on_disk as f64 / n as f64
    );
    Ok(())
}
