//! Raw command-line values. No I/O here: `main` turns these into the library crates' configs.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use latentid_model::TrainConfig;

#[derive(Debug, Parser)]
#[command(
    name = "latentid",
    version,
    about = "Identify songs and images by learned latent signatures",
    long_about = "latentid trains an autoencoder on your own music or photo library, stores every item's \
                  latent signatures in an index, and tells you what an unknown clip or picture is."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

fn parse_backend(s: &str) -> Result<latentid_store::Backend, String> {
    s.parse()
}

#[derive(Debug, Args, Clone)]
pub struct IndexArg {
    /// Index directory [default: $LATENTID_INDEX, else indexes/default]
    #[arg(
        long,
        global = true,
        env = "LATENTID_INDEX",
        default_value = "indexes/default"
    )]
    pub index: PathBuf,
    /// Where signatures are searched: `local` (the index folder's graph) or
    /// `milvus://host:port` (a Milvus collection per index; catalog, model and calibration
    /// stay in the folder) [default: $LATENTID_BACKEND, else what the index was last used
    /// with, else local]
    #[arg(long, global = true, env = "LATENTID_BACKEND", value_parser = parse_backend)]
    pub backend: Option<latentid_store::Backend>,
    /// Search effort: cells of ~32 stored signatures scored per query frame (default 128;
    /// more finds more of the true nearest signatures, slower); 0 scores every signature
    /// (exact search; local backend)
    #[arg(long, global = true, env = "LATENTID_NPROBE")]
    pub nprobe: Option<usize>,
    /// Machine-readable output (JSON; JSON Lines for per-item output)
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Index a music or image library (trains the encoder on first use)
    #[command(after_help = "Example:\n  latentid index ~/Music --index indexes/music")]
    Index(IndexCmd),
    /// Identify clips or pictures against an index
    #[command(after_help = "Example:\n  latentid query phone-recording.m4a --index indexes/music")]
    Query(QueryCmd),
    /// List the items of an index
    #[command(after_help = "Example:\n  latentid list --index indexes/music --json")]
    List(ListCmd),
    /// Remove items (by id or stored path, as `list` shows them)
    #[command(
        after_help = "Example:\n  latentid remove 12 ~/Music/old-take.flac --index indexes/music"
    )]
    Remove(RemoveCmd),
    /// Show what an index holds
    #[command(after_help = "Example:\n  latentid stats --index indexes/music")]
    Stats(StatsCmd),
    /// Items most like one already in the index
    #[command(after_help = "Example:\n  latentid similar 3 --top 5 --index indexes/photos")]
    Similar(SimilarCmd),
    /// Sweep the latent size from 2 upward until the library's items separate
    #[command(
        after_help = "Output: a table of rows (latent size x encoder), the chosen size marked with '*'. \
With --json, JSON Lines: one object per row as it completes ({\"latent_dim\", \"encoder\": \"ae\"|\"pca\", \
\"top1\", \"top1_candidate\", \"wrong_item\", \"false_match\", \"sig_nn_own\", \"sig_nn_item\", \"sig_ratio_median\", \
\"train_seconds\", \"index_bytes\", \"meets_target\", ...}), then one {\"summary\": {...}} object \
(chosen size, held-out items, seconds).\n\n\
Example:\n  latentid tune ~/Music --to 32 --budget 60 --plot sweep.svg\n  \
latentid tune --index indexes/music --apply"
    )]
    Tune(TuneCmd),
    /// Serve the index over HTTP: a JSON API and a web page (drop a file, or listen)
    #[command(
        after_help = "While it runs, `query`, `list`, `stats`, `similar`, `duplicates` and `remove` on this \
index go through it. Writes over the API need the token it keeps in the index folder (serve.token).\n\n\
Example:\n  latentid serve --index indexes/music\n  latentid serve --index indexes/music --bind 0.0.0.0:7878"
    )]
    Serve(ServeCmd),
    /// Groups of near-duplicate items in the index
    #[command(
        after_help = "Example:\n  latentid duplicates --index indexes/photos\n  latentid duplicates --threshold 0.8 --json --index indexes/photos"
    )]
    Duplicates(DuplicatesCmd),
    /// Items the model reconstructs worst: what does not belong in the library
    #[command(
        after_help = "Output: rank, score, error, for audio the worst moment, id, name and path. The score is \
a robust z-score of the item's reconstruction error against the library's (median and median absolute \
deviation of log error; above 3.5 is far out), under the index's model or under a model trained without \
the item (the library split in two halves, each half's model measuring the other; trained with --epochs, \
--train-examples and --seed, and kept in the index folder until the library changes), whichever is \
higher. With --json, JSON Lines: {\"rank\", \"id\", \"name\", \"path\", \"score\", \
\"reconstruction_score\", \"held_out_score\", \"held_out_error\", \"error\", \"worst_error\", \
\"worst_at_s\" (audio)}. Items indexed before the error was kept are measured from their files first.\n\n\
Example:\n  latentid outliers --top 20 --index indexes/music"
    )]
    Outliers(OutliersCmd),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KindArg {
    Audio,
    Image,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EncoderArg {
    /// The denoising autoencoder (default)
    Ae,
    /// PCA of the same size: the linear baseline
    Pca,
}

#[derive(Debug, Args)]
pub struct IndexCmd {
    /// Files and folders to index (folders are walked recursively)
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub common: IndexArg,
    /// What the index holds [default: chosen from the files]
    #[arg(long)]
    pub kind: Option<KindArg>,
    /// Signature size for a new model [default: 32]
    #[arg(long)]
    pub latent_dim: Option<usize>,
    /// Train a new model and re-encode every stored item
    #[arg(long)]
    pub retrain: bool,
    /// Which encoder to train
    #[arg(long, value_enum, default_value = "ae")]
    pub encoder: EncoderArg,
    #[command(flatten)]
    pub training: TrainArgs,
    /// Training: stop after this many seconds [default: 150 for audio, 600 for images]
    #[arg(long)]
    pub train_budget: Option<f32>,
    /// Training: weight of the term that keeps a corrupted patch's code near the clean one's
    /// (0 = plain denoising autoencoder) [default: 0 for audio, 1 for images]
    #[arg(long, hide = true)]
    pub invariance_weight: Option<f32>,
    /// Training: weight of the contrastive term (0 = none; signatures are stored at unit
    /// length when it is on) [default: 1 for audio, 0 for images]
    #[arg(long, hide = true)]
    pub contrastive_weight: Option<f32>,
}

#[derive(Debug, Args)]
pub struct QueryCmd {
    /// Clips (audio index) or pictures (image index) to identify
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub common: IndexArg,
    /// Candidates to show per query
    #[arg(long, default_value_t = 5)]
    pub top: usize,
    /// Audio: a match needs at least this confidence (0..1) [default: 0.5, the calibrated threshold]
    #[arg(long)]
    pub min_confidence: Option<f32>,
    /// Images: a match must be at most this signature distance [default: calibrated]
    #[arg(long)]
    pub max_distance: Option<f32>,
    /// Audio: stored neighbours looked up per query patch
    #[arg(long, hide = true)]
    pub neighbours: Option<usize>,
}

#[derive(Debug, Args)]
pub struct ListCmd {
    #[command(flatten)]
    pub common: IndexArg,
}

#[derive(Debug, Args)]
pub struct RemoveCmd {
    /// Item ids or stored paths
    #[arg(required = true)]
    pub items: Vec<String>,
    #[command(flatten)]
    pub common: IndexArg,
}

#[derive(Debug, Args)]
pub struct StatsCmd {
    #[command(flatten)]
    pub common: IndexArg,
}

#[derive(Debug, Args)]
pub struct SimilarCmd {
    /// Item id or stored path
    pub item: String,
    #[command(flatten)]
    pub common: IndexArg,
    #[arg(long, default_value_t = 5)]
    pub top: usize,
}

#[derive(Debug, Args)]
pub struct DuplicatesCmd {
    #[command(flatten)]
    pub common: IndexArg,
    /// Images: largest signature distance between near-duplicates [default: the calibrated
    /// "no match" distance]. Audio: smallest confidence that one item is the other [default: 0.5]
    #[arg(long)]
    pub threshold: Option<f32>,
}

#[derive(Debug, Args)]
pub struct ServeCmd {
    #[command(flatten)]
    pub common: IndexArg,
    /// Address to listen on; anything but loopback makes the server reachable from other
    /// machines (port 0 picks a free port)
    #[arg(long, default_value = "127.0.0.1:7878")]
    pub bind: SocketAddr,
    /// Largest upload accepted, in MB
    #[arg(long, default_value_t = 64)]
    pub max_upload_mb: usize,
    /// Requests identified at once [default: the number of cores]
    #[arg(long)]
    pub workers: Option<usize>,
    /// Requests that may wait for a worker (more get 503 at once)
    #[arg(long, hide = true)]
    pub queue: Option<usize>,
    /// Milliseconds a request waits for a worker before it gets 503
    #[arg(long, hide = true)]
    pub queue_wait_ms: Option<u64>,
    /// Seconds an upload may take to arrive (408 beyond)
    #[arg(long, hide = true)]
    pub upload_timeout_s: Option<u64>,
}

#[derive(Debug, Args)]
pub struct OutliersCmd {
    #[command(flatten)]
    pub common: IndexArg,
    /// How many items to show, worst first
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// Rank by the index model's error only: skip training the two held-out models (each
    /// item measured by a model that never saw it; kept in the index folder until the library
    /// changes)
    #[arg(long)]
    pub no_held_out: bool,
    /// Training of the held-out models
    #[command(flatten)]
    pub training: TrainArgs,
}

#[derive(Debug, Args)]
pub struct TuneCmd {
    /// Library files and folders [default: the items of --index]
    pub paths: Vec<PathBuf>,
    #[command(flatten)]
    pub common: IndexArg,
    /// Smallest latent size tried
    #[arg(long, default_value_t = 2)]
    pub from: usize,
    /// Largest latent size tried
    #[arg(long, default_value_t = 64)]
    pub to: usize,
    /// Top-1 accuracy on 5 s clips with pink noise at 10 dB that a size must reach (with at
    /// most 1% false matches on held-out items)
    #[arg(long, default_value_t = 0.99)]
    pub target: f32,
    /// Largest share of clips of held-out songs (not in the library) a size may name
    #[arg(long, default_value_t = 0.01)]
    pub max_false_match: f32,
    /// Training seconds per latent size
    #[arg(long, default_value_t = 60.0)]
    pub budget: f32,
    /// Draw accuracy and separation against latent size, and the 2-D signatures (.png or .svg)
    #[arg(long)]
    pub plot: Option<PathBuf>,
    /// Re-index --index with the chosen latent size (trains again, re-encodes every item)
    #[arg(long)]
    pub apply: bool,
    #[command(flatten)]
    pub training: TrainArgs,
}

/// Training flags shared by `index` and `tune` (tune: for every latent size).
#[derive(Debug, Args)]
pub struct TrainArgs {
    /// Training: at most this many epochs [default: 40 for audio, 60 for images]
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Training: at most this many examples sampled from the library [default: 4000 for
    /// audio, 12000 for images]
    #[arg(long)]
    pub train_examples: Option<usize>,
    /// Seed for sampling, corruption and initialisation (tune: also the held-out split and
    /// the distorted clips)
    #[arg(long)]
    pub seed: Option<u64>,
}

impl TrainArgs {
    /// Overrides what was given on the command line.
    pub fn apply(&self, tc: &mut TrainConfig) {
        if let Some(e) = self.epochs {
            tc.max_epochs = Some(e);
        }
        if let Some(n) = self.train_examples {
            tc.max_examples = Some(n);
        }
        if let Some(s) = self.seed {
            tc.seed = s;
        }
    }
}

impl Command {
    /// The index options every command takes.
    pub fn common(&self) -> &IndexArg {
        match self {
            Command::Index(c) => &c.common,
            Command::Query(c) => &c.common,
            Command::List(c) => &c.common,
            Command::Remove(c) => &c.common,
            Command::Stats(c) => &c.common,
            Command::Similar(c) => &c.common,
            Command::Tune(c) => &c.common,
            Command::Serve(c) => &c.common,
            Command::Duplicates(c) => &c.common,
            Command::Outliers(c) => &c.common,
        }
    }
}
