//! The signature store at scale (issue 4), through the public API users hit: `SledStore::create`
//! and `add_item` (sled writes, serial graph inserts, graph dump), `SledStore::open`, `search`,
//! `search_exact`, `stats`.
//!
//! `cargo bench -p latentid-store --bench store -- [--sizes 100000,1000000] [--queries 1000]
//! [--exact-queries N] [--ef 32,64,128,256,512] [--noise 0.05] [--rebuild] [--real DIR]`
//!
//! For each size: seeded uniform vectors in [-1, 1]^32, stored as items of 500 signatures (a
//! ~4 min track at one signature per 0.5 s). Two query sets: 1000 held-out random vectors, and
//! 1000 stored vectors plus Gaussian noise (a distorted copy of a stored signature). recall@10 is
//! measured against the exact top-10 of a flat in-memory scan, checked to equal `search_exact`'s
//! on the queries timed through it (`--exact-queries`, default all). `search` is timed at each
//! `--ef` (`SearchParams::ef`). Every timing is single-threaded. Open time is `SledStore::open` + the
//! first search (which loads the graph) in a fresh process. The built index is cached under
//! `CARGO_TARGET_TMPDIR`, keyed by its parameters, with its build time; `--rebuild` builds it
//! again. Figures: benches/RESULTS.md, issue 4.
//!
//! `--real DIR` (an absolute path: cargo runs benches in the crate's directory) measures an
//! existing index instead, copied first so the original is never written: its signatures,
//! queried as stored signatures plus noise scaled to their spread; with `--rebuild` the copy's
//! graph is rebuilt from its catalog first, timed.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use latentid_store::{ItemKind, Manifest, Neighbour, NewItem, SearchParams, SledStore, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use rayon::prelude::*;

const DIM: usize = 32;
const PER_ITEM: usize = 500;
const K: usize = 10;
const SEED: u64 = 4;

struct Args {
    sizes: Vec<usize>,
    queries: usize,
    exact_queries: Option<usize>,
    efs: Vec<usize>,
    noise: f32,
    rebuild: bool,
    real: Option<PathBuf>,
}

fn parse_list(s: &str) -> Result<Vec<usize>> {
    s.split(',')
        .map(|x| {
            x.trim()
                .parse::<usize>()
                .with_context(|| format!("bad number {x:?}"))
        })
        .collect()
}

fn parse_args(raw: &[String]) -> Result<Args> {
    let mut a = Args {
        sizes: vec![100_000, 1_000_000],
        queries: 1000,
        exact_queries: None,
        efs: vec![32, 64, 128, 256, 512],
        noise: 0.05,
        rebuild: false,
        real: None,
    };
    let mut it = raw.iter();
    while let Some(flag) = it.next() {
        let mut val = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--bench" => {}
            "--sizes" => a.sizes = parse_list(val()?)?,
            "--queries" => a.queries = val()?.parse()?,
            "--exact-queries" => a.exact_queries = Some(val()?.parse()?),
            "--ef" => a.efs = parse_list(val()?)?,
            "--noise" => a.noise = val()?.parse()?,
            "--rebuild" => a.rebuild = true,
            "--real" => a.real = Some(PathBuf::from(val()?)),
            other => bail!("unknown argument {other}"),
        }
    }
    Ok(a)
}

fn main() -> Result<()> {
    let raw: Vec<String> = std::env::args().skip(1).collect();
    if raw.first().map(String::as_str) == Some("--open-child") {
        return open_child(&raw[1..]);
    }
    let args = parse_args(&raw)?;
    println!("load average at start: {}", load_average());
    if let Some(dir) = &args.real {
        bench_real(dir, &args)?;
    } else {
        for &n in &args.sizes {
            bench_random(n, &args)?;
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

/// Exact top-k rows of `base` for each query by a flat scan (parallel: it only builds the
/// ground truth; the single-thread speed of a flat scan is timed separately).
fn brute_force(base: &[f32], dim: usize, queries: &[f32], k: usize) -> Vec<Vec<usize>> {
    queries
        .par_chunks_exact(dim)
        .map(|q| flat_top_k(base, dim, q, k))
        .collect()
}

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

// ---------------------------------------------------------------- index

fn new_item(i: usize) -> NewItem {
    NewItem {
        path: format!("/bench/track{i:07}.ogg").into(),
        name: format!("track{i:07}"),
        content_hash: format!("{i:064x}"),
        kind: ItemKind::Audio,
        duration_s: Some(PER_ITEM as f32 * 0.5),
        width: None,
        height: None,
    }
}

/// Which stored row a search hit is: items were added in order, `PER_ITEM` rows each, with the
/// row's place in its item as its offset.
struct RowMap {
    item_of_block: Vec<u64>,
    block_of_item: HashMap<u64, usize>,
    per_item: usize,
}

impl RowMap {
    fn key(&self, row: usize) -> (u64, u32) {
        (
            self.item_of_block[row / self.per_item],
            (row % self.per_item) as u32,
        )
    }

    fn row(&self, n: &Neighbour) -> Option<usize> {
        self.block_of_item
            .get(&n.item)
            .map(|b| b * self.per_item + n.offset as usize)
    }
}

fn build(dir: &Path, base: &[f32]) -> Result<(Duration, Vec<u64>)> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let t = Instant::now();
    let store = SledStore::create(dir, Manifest::new(ItemKind::Audio, DIM, "{}".into()))?;
    let offsets: Vec<u32> = (0..PER_ITEM as u32).collect();
    let mut ids = Vec::new();
    let blocks = base.len() / (DIM * PER_ITEM);
    for (i, chunk) in base.chunks_exact(DIM * PER_ITEM).enumerate() {
        match store.add_item(new_item(i), &offsets, chunk)? {
            latentid_store::AddOutcome::Added(id) => ids.push(id),
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
    let took = t.elapsed();
    drop(store);
    Ok((took, ids))
}

#[derive(serde::Serialize, serde::Deserialize)]
struct BuildRecord {
    vectors: usize,
    build_s: f64,
    ids: Vec<u64>,
}

/// The index for `base`, built (and timed) unless a cached one of the same parameters exists.
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
    let (took, ids) = build(dir, base)?;
    let r = BuildRecord {
        vectors: base.len() / DIM,
        build_s: took.as_secs_f64(),
        ids,
    };
    std::fs::write(&record, serde_json::to_vec(&r)?)?;
    Ok((r, false))
}

// ---------------------------------------------------------------- measurements

fn median(mut xs: Vec<f64>) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

struct Timed<T> {
    qps: f64,
    median_us: f64,
    results: Vec<T>,
}

/// Runs `f` on every query on this thread; QPS over the whole run, median per-query latency.
fn timed<T>(
    queries: &[f32],
    dim: usize,
    mut f: impl FnMut(&[f32]) -> Result<T>,
) -> Result<Timed<T>> {
    let mut lat = Vec::new();
    let mut results = Vec::new();
    let t = Instant::now();
    for q in queries.chunks_exact(dim) {
        let s = Instant::now();
        results.push(f(q)?);
        lat.push(s.elapsed().as_secs_f64() * 1e6);
    }
    let total = t.elapsed().as_secs_f64();
    Ok(Timed {
        qps: results.len() as f64 / total,
        median_us: median(lat),
        results,
    })
}

fn recall(found: &[Vec<Neighbour>], truth: &[Vec<(u64, u32)>]) -> f64 {
    let mut hit = 0;
    let mut all = 0;
    for (f, t) in found.iter().zip(truth) {
        all += t.len();
        hit += t
            .iter()
            .filter(|k| f.iter().take(t.len()).any(|n| (n.item, n.offset) == **k))
            .count();
    }
    hit as f64 / all.max(1) as f64
}

/// How many queries got exactly the same top-k list from both.
fn same_lists(a: &[Vec<(u64, u32)>], b: &[Vec<(u64, u32)>]) -> usize {
    a.iter().zip(b).filter(|(x, y)| x == y).count()
}

/// Only the keys are kept: a result of `search_exact` holds on to a buffer as large as the
/// whole index (its top-k is collected in place), so 1000 of them would take gigabytes.
fn keys(ns: &[Neighbour]) -> Vec<(u64, u32)> {
    ns.iter().map(|n| (n.item, n.offset)).collect()
}

struct QuerySet<'a> {
    name: &'a str,
    queries: Vec<f32>,
    /// The stored row each query was made from, for noisy copies.
    sources: Option<Vec<usize>>,
}

/// Recall and speed of one query set against a store; prints a table row per setting.
#[allow(clippy::too_many_arguments)]
fn measure_set(
    store: &mut Option<SledStore>,
    base: &[f32],
    dim: usize,
    map: &RowMap,
    set: &QuerySet,
    exact_queries: usize,
    efs: &[usize],
    out: &mut Vec<String>,
) -> Result<()> {
    let nq = set.queries.len() / dim;
    let m = exact_queries.min(nq);
    rss_note("before this query set");
    eprintln!("  [{}] exact search on {m} of {nq} queries", set.name);
    let exact = timed(&set.queries[..m * dim], dim, |q| {
        Ok(keys(&opened(store).search_exact(q, K)?))
    })?;
    rss_note("after search_exact");
    let t = Instant::now();
    let truth_rows = brute_force(base, dim, &set.queries, K);
    eprintln!(
        "  [{}] flat ground truth in {:.1} s (parallel)",
        set.name,
        t.elapsed().as_secs_f64()
    );
    let truth: Vec<Vec<(u64, u32)>> = truth_rows
        .iter()
        .map(|r| r.iter().map(|&i| map.key(i)).collect())
        .collect();
    // The flat scan must agree with the store's own exact search where both ran.
    let agree = same_lists(&exact.results, &truth);
    let flat_n = m.clamp(1, 200).min(nq);
    rss_note("after search_exact and the ground truth");
    let flat = timed(&set.queries[..flat_n * dim], dim, |q| {
        Ok(flat_top_k(base, dim, q, K))
    })?;
    println!(
        "[{}] search_exact: {m} queries, {:.2} QPS, median {:.0} µs; flat in-memory scan (1 thread): {flat_n} queries, {:.1} QPS; \
         search_exact == flat top-10 on {agree}/{m}",
        set.name, exact.qps, exact.median_us, flat.qps
    );
    for &ef in efs {
        let hnsw = timed_search(store, &set.queries, dim, ef)?;
        let r = recall(&hnsw.results, &truth);
        let top1 = set.sources.as_ref().map(|src| {
            hnsw.results
                .iter()
                .zip(src)
                .filter(|(res, &s)| res.first().and_then(|n| map.row(n)) == Some(s))
                .count() as f64
                / nq as f64
        });
        out.push(format!(
            "| {} | {} | {:.4} | {:.0} | {:.0} | {:.1}× | {:.1}× | {} |",
            set.name,
            search_label(ef),
            r,
            hnsw.qps,
            hnsw.median_us,
            hnsw.qps / exact.qps,
            hnsw.qps / flat.qps,
            top1.map(|t| format!("{t:.4}"))
                .unwrap_or_else(|| "–".into()),
        ));
    }
    out.push(format!(
        "| {} | search_exact ({m} queries) | 1 | {:.2} | {:.0} | 1× | – | – |",
        set.name, exact.qps, exact.median_us
    ));
    out.push(format!(
        "| {} | flat in-memory scan, not the store ({flat_n} queries) | 1 | {:.1} | {:.0} | – | 1× | – |",
        set.name, flat.qps, flat.median_us
    ));
    Ok(())
}

/// `search` with beam width `ef` on every query (a quarter of them first, to warm up); the
/// store is left at the default parameters.
fn timed_search(
    store: &mut Option<SledStore>,
    queries: &[f32],
    dim: usize,
    ef: usize,
) -> Result<Timed<Vec<Neighbour>>> {
    let with = |store: &mut Option<SledStore>, params| {
        *store = store.take().map(|s| s.with_search_params(params));
    };
    with(
        store,
        SearchParams {
            ef,
            ..SearchParams::default()
        },
    );
    let s = opened(store);
    let nq = queries.len() / dim;
    timed(&queries[..(nq / 4).max(1) * dim], dim, |q| {
        Ok(s.search(q, K)?)
    })?;
    let t = timed(queries, dim, |q| Ok(s.search(q, K)?));
    with(store, SearchParams::default());
    t
}

/// The store a `timed_search` hands back (an `Option` so that it can be re-parametrised).
fn opened(store: &Option<SledStore>) -> &SledStore {
    store.as_ref().expect("timed_search hands the store back")
}

fn search_label(ef: usize) -> String {
    if ef == SearchParams::default().ef {
        format!("search, ef {ef} (default)")
    } else {
        format!("search, ef {ef}")
    }
}

/// Share of `sample` stored rows (seeded pick) that `search` at the default parameters returns
/// as their own nearest neighbour when queried with their exact vector. A point the graph
/// cannot reach (orphaned by a parallel insert race) fails this.
fn self_retrieval(
    store: &SledStore,
    base: &[f32],
    dim: usize,
    sample: usize,
    is_row: impl Fn(&Neighbour, usize) -> bool,
) -> Result<(usize, usize)> {
    let rows = base.len() / dim;
    let mut rng = StdRng::seed_from_u64(SEED + 1);
    let mut found = 0;
    let m = sample.min(rows);
    for _ in 0..m {
        let r = rng.random_range(0..rows);
        let hits = store.search(&base[r * dim..(r + 1) * dim], 1)?;
        // Exact duplicates of a row would tie at distance 0; count those as found too.
        if hits
            .first()
            .is_some_and(|n| is_row(n, r) || n.distance == 0.0)
        {
            found += 1;
        }
    }
    Ok((found, m))
}

fn table_header() -> Vec<String> {
    vec![
        "| queries | method | recall@10 | QPS (1 thread) | median µs | × search_exact | × flat scan | top-1 = source |".into(),
        "| --- | --- | --- | --- | --- | --- | --- | --- |".into(),
    ]
}

/// `SledStore::open` + the first search in fresh processes: (median open ms, median first-search
/// ms, child peak RSS MB).
fn open_times(dir: &Path, query: &[f32], runs: usize) -> Result<(f64, f64, f64)> {
    let exe = std::env::current_exe()?;
    let q = query
        .iter()
        .map(|x| x.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let mut open = Vec::new();
    let mut first = Vec::new();
    let mut rss = Vec::new();
    for _ in 0..runs {
        let out = Command::new(&exe)
            .arg("--open-child")
            .arg(dir)
            .arg(&q)
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

fn open_child(args: &[String]) -> Result<()> {
    let dir = PathBuf::from(args.first().context("--open-child DIR QUERY")?);
    let q: Vec<f32> = args
        .get(1)
        .context("--open-child DIR QUERY")?
        .split(',')
        .map(|x| x.parse::<f32>())
        .collect::<std::result::Result<_, _>>()?;
    let t = Instant::now();
    let store = SledStore::open(&dir)?;
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

/// Bytes of the graph dump (flat files in DIR/graph; `Stats::bytes_on_disk` is the whole index).
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

fn bench_random(n: usize, args: &Args) -> Result<()> {
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
    let graph = graph_bytes(&dir);
    let (open_ms, first_ms, child_rss) = open_times(&dir, &held_out[..DIM], 3)?;

    let mut store = Some(SledStore::open(&dir)?);
    rss_note("after open");
    opened(&store).load_graph()?;
    rss_note("after loading the graph");
    let stats = opened(&store).stats()?;
    if stats.signatures != n {
        bail!("index holds {} signatures, not {n}", stats.signatures);
    }
    let map = RowMap {
        block_of_item: rec.ids.iter().enumerate().map(|(b, &id)| (id, b)).collect(),
        item_of_block: rec.ids.clone(),
        per_item: PER_ITEM,
    };
    let exact_queries = args.exact_queries.unwrap_or(args.queries);
    let mut rows = table_header();
    for set in [
        QuerySet {
            name: "held-out random",
            queries: held_out.clone(),
            sources: None,
        },
        QuerySet {
            name: &format!("stored + N(0, {}²) noise", args.noise),
            queries: noisy.clone(),
            sources: Some(sources.clone()),
        },
    ] {
        measure_set(
            &mut store,
            &base,
            DIM,
            &map,
            &set,
            exact_queries,
            &args.efs,
            &mut rows,
        )?;
    }
    let (found, sampled) = self_retrieval(opened(&store), &base, DIM, 10_000, |n, r| {
        map.row(n) == Some(r)
    })?;
    println!();
    for r in rows {
        println!("{r}");
    }
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
    println!(
        "open (fresh process, median of 3): SledStore::open {open_ms:.0} ms + first search {first_ms:.2} ms; child peak RSS {child_rss:.0} MB"
    );
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

fn bench_real(src: &Path, args: &Args) -> Result<()> {
    if !SledStore::exists(src) {
        bail!("no index at {}", src.display());
    }
    let dir = work_dir().join("real-copy");
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    copy_dir(src, &dir)?;
    // With --rebuild the copy's graph (built by whichever version made the index) is built
    // again from the catalog, timed.
    if args.rebuild {
        std::fs::remove_dir_all(dir.join("graph")).ok();
    }
    let store = SledStore::open(&dir)?;
    let t = Instant::now();
    store.load_graph()?;
    let graph_build = args.rebuild.then(|| t.elapsed());
    store.flush()?;
    let dim = store.manifest().latent_dim;
    let mut base = Vec::new();
    // Items hold different numbers of signatures: key every row directly.
    let mut row_key = Vec::new();
    let items = store.items()?;
    for item in &items {
        let (offsets, v) = store.signatures(item.id)?;
        for o in offsets {
            row_key.push((item.id, o));
        }
        base.extend(v);
    }
    let n = base.len() / dim;
    println!(
        "\n## real signatures: {} ({n} signatures of {dim} dims, {} items)\n",
        src.display(),
        items.len()
    );
    drop(store);
    let (open_ms, first_ms, child_rss) = open_times(&dir, &base[..dim], 3)?;
    let mut store = Some(SledStore::open(&dir)?);
    // Noise scaled to the data: sigma = noise × the mean per-coordinate standard deviation.
    let mean: Vec<f64> = (0..dim)
        .map(|j| {
            base.iter()
                .skip(j)
                .step_by(dim)
                .map(|&x| x as f64)
                .sum::<f64>()
                / n as f64
        })
        .collect();
    let sd = (0..dim)
        .map(|j| {
            (base
                .iter()
                .skip(j)
                .step_by(dim)
                .map(|&x| (x as f64 - mean[j]).powi(2))
                .sum::<f64>()
                / n as f64)
                .sqrt()
        })
        .sum::<f64>()
        / dim as f64;
    let sigma = (args.noise as f64 / 0.577 * sd) as f32;
    let mut rng = StdRng::seed_from_u64(SEED);
    let (noisy, sources) = noisy_copies(&mut rng, &base, dim, args.queries, sigma);
    let key_of_row: HashMap<(u64, u32), usize> =
        row_key.iter().enumerate().map(|(i, k)| (*k, i)).collect();
    let truth_rows = brute_force(&base, dim, &noisy, K);
    let truth: Vec<Vec<(u64, u32)>> = truth_rows
        .iter()
        .map(|r| r.iter().map(|&i| row_key[i]).collect())
        .collect();
    let m = args.exact_queries.unwrap_or(args.queries).min(args.queries);
    let exact = timed(&noisy[..m * dim], dim, |q| {
        Ok(keys(&opened(&store).search_exact(q, K)?))
    })?;
    let agree = same_lists(&exact.results, &truth);
    let mut rows = table_header();
    for &ef in &args.efs {
        let t = timed_search(&mut store, &noisy, dim, ef)?;
        let r = recall(&t.results, &truth);
        let top1 = t
            .results
            .iter()
            .zip(&sources)
            .filter(|(res, &s)| {
                res.first()
                    .and_then(|n| key_of_row.get(&(n.item, n.offset)))
                    == Some(&s)
            })
            .count() as f64
            / sources.len() as f64;
        rows.push(format!(
            "| stored + noise (σ {sigma:.3}) | {} | {r:.4} | {:.0} | {:.0} | {:.1}× | – | {top1:.4} |",
            search_label(ef),
            t.qps,
            t.median_us,
            t.qps / exact.qps
        ));
    }
    rows.push(format!(
        "| stored + noise (σ {sigma:.3}) | search_exact ({m} queries) | 1 | {:.2} | {:.0} | 1× | – | – |",
        exact.qps, exact.median_us
    ));
    let (found, sampled) = self_retrieval(opened(&store), &base, dim, 10_000, |n, r| {
        row_key[r] == (n.item, n.offset)
    })?;
    println!("search_exact == flat top-10 on {agree}/{m}");
    for r in rows {
        println!("{r}");
    }
    let stats = opened(&store).stats()?;
    println!(
        "self-retrieval (a stored vector as the query, default ef): {found}/{sampled} find themselves first"
    );
    if let Some(b) = graph_build {
        println!(
            "graph build from the catalog (parallel): {:.1} s = {:.0} vectors/s",
            b.as_secs_f64(),
            n as f64 / b.as_secs_f64()
        );
    }
    println!(
        "open (fresh process, median of 3): SledStore::open {open_ms:.0} ms + first search {first_ms:.2} ms; child peak RSS {child_rss:.0} MB"
    );
    println!(
        "on disk: {:.0} B/vector",
        stats.bytes_on_disk as f64 / n as f64
    );
    Ok(())
}
