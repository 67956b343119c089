//! The Milvus backend on a real index: recall@10 of its searches against exact search, and
//! upload and search speed, beside the local HNSW graph on the same signatures.
//!
//! `cargo bench -p latentid-store --bench milvus_recall -- --index /abs/path/to/index
//! --backend milvus://127.0.0.1:19530 [--queries 2000] [--noise 0.1] [--ef N]`
//!
//! The index is copied twice under `CARGO_TARGET_TMPDIR` (never written): one copy opened with
//! the Milvus backend (a new collection: its first open uploads every signature, timed), one
//! searched locally (its graph rebuilt from the catalog, timed). Queries: stored signatures
//! picked by a seeded draw, plus Gaussian noise of `--noise` times the signatures' spread (a
//! distorted copy of a stored frame). recall@10: the share of `search_exact`'s top 10 (item,
//! offset) that a backend's `search` returns. Search speed: all queries through one
//! `search_batch`, and one by one. Prints one JSON object.

#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Parser;
use latentid_store::{Backend, MilvusStore, Neighbour, SearchParams, SledStore, Store};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};

#[derive(Parser)]
struct Args {
    /// The index to measure (absolute path; it is copied, never written).
    #[arg(long)]
    index: PathBuf,
    /// `milvus://host:port`
    #[arg(long)]
    backend: String,
    #[arg(long, default_value_t = 2000)]
    queries: usize,
    /// Noise, relative to the signatures' standard deviation.
    #[arg(long, default_value_t = 0.1)]
    noise: f32,
    /// The Milvus backend's search `ef` (default: what `SearchParams::default()` gives it).
    #[arg(long)]
    ef: Option<usize>,
    /// Passed by `cargo bench`.
    #[arg(long, hide = true)]
    bench: bool,
}

fn copy_dir(src: &Path, dst: &Path) -> Result<()> {
    std::fs::create_dir_all(dst)?;
    for e in std::fs::read_dir(src)? {
        let e = e?;
        let to = dst.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &to)?;
        } else if e.file_name() != "milvus.json" {
            std::fs::copy(e.path(), &to)?;
        }
    }
    Ok(())
}

fn keys(hits: &[Neighbour]) -> HashSet<(u64, u32)> {
    hits.iter().map(|n| (n.item, n.offset)).collect()
}

fn main() -> Result<()> {
    let args = Args::parse();
    let Backend::Milvus { address } = args
        .backend
        .parse::<Backend>()
        .map_err(anyhow::Error::msg)?
    else {
        anyhow::bail!("--backend must be milvus://host:port");
    };
    let tmp = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    let (m_dir, l_dir) = (tmp.path().join("milvus"), tmp.path().join("local"));
    copy_dir(&args.index, &m_dir).context("copying the index")?;
    copy_dir(&args.index, &l_dir).context("copying the index")?;

    let t = Instant::now();
    let params = match args.ef {
        Some(ef) => SearchParams {
            ef,
            ..SearchParams::default()
        },
        None => SearchParams::default(),
    };
    let milvus = MilvusStore::open(&m_dir, Some(&address), params)?;
    let upload_s = t.elapsed().as_secs_f64();
    let local = SledStore::open(&l_dir)?;
    let t = Instant::now();
    local.load_graph()?;
    let graph_s = t.elapsed().as_secs_f64();
    let stats = milvus.stats()?;

    // Queries: stored signatures plus noise.
    let dim = stats.latent_dim;
    let mut all = Vec::new();
    for item in milvus.items()? {
        all.extend(milvus.signatures(item.id)?.1);
    }
    let n = all.len() / dim;
    let mean = all.iter().sum::<f32>() / all.len() as f32;
    let sd = (all.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / all.len() as f32).sqrt();
    let noise = Normal::new(0.0, args.noise * sd)?;
    let mut rng = StdRng::seed_from_u64(21);
    let mut queries = Vec::with_capacity(args.queries * dim);
    for _ in 0..args.queries {
        let i = rng.random_range(0..n);
        queries.extend(
            all[i * dim..(i + 1) * dim]
                .iter()
                .map(|x| x + noise.sample(&mut rng)),
        );
    }

    let mut recall = [0usize; 2];
    let mut total = 0;
    let mut one_by_one = [0.0f64; 2];
    for q in queries.chunks_exact(dim) {
        let exact = keys(&milvus.search_exact(q, 10)?);
        total += exact.len();
        for (i, store) in [&milvus as &dyn Store, &local].into_iter().enumerate() {
            let t = Instant::now();
            let found = store.search(q, 10)?;
            one_by_one[i] += t.elapsed().as_secs_f64();
            recall[i] += keys(&found).intersection(&exact).count();
        }
    }
    let mut batch = [0.0f64; 2];
    for (i, store) in [&milvus as &dyn Store, &local].into_iter().enumerate() {
        let t = Instant::now();
        store.search_batch(&queries, 10)?;
        batch[i] = t.elapsed().as_secs_f64();
    }
    let q = args.queries as f64;
    let out = serde_json::json!({
        "index": args.index,
        "items": stats.items,
        "signatures": stats.signatures,
        "latent_dim": dim,
        "backend": stats.backend,
        "queries": args.queries,
        "noise_sd": args.noise * sd,
        "milvus_ef": params.ef,
        "milvus": {
            "upload_s": upload_s,
            "upload_signatures_per_s": stats.signatures as f64 / upload_s,
            "recall_at_10": recall[0] as f64 / total as f64,
            "ms_per_query_one_by_one": one_by_one[0] * 1e3 / q,
            "queries_per_s_batched": q / batch[0],
        },
        "local": {
            "graph_build_s": graph_s,
            "recall_at_10": recall[1] as f64 / total as f64,
            "ms_per_query_one_by_one": one_by_one[1] * 1e3 / q,
            "queries_per_s_batched": q / batch[1],
        },
    });
    println!("{out}");
    Ok(())
}
