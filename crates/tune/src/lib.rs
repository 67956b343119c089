//! latentid-tune: how small can a signature be? Sweeps the latent size from 2 upward.
//!
//! The founding idea of latentid is a table of two coordinates per song: if the songs do
//! not separate on a plane, grow the latent space until they do. A song's signatures are
//! one latent vector per patch, so "separate" means that distorted clips still land on
//! their own song. For each size (2, 3, 4, 6, 8, 12, …) [`tune`] indexes the library
//! (less a fixed, seeded share of held-out items) into a temporary index with the real
//! ingest, calibrates it with the real calibration, and asks the real matcher:
//!
//! - item level: top-1 accuracy on distorted clips (5 s with pink noise at 10 dB, at fixed
//!   seeded offsets; transformed copies for images), and how often clips of held-out items
//!   are named (false matches);
//! - signature level: the share of distorted signatures whose nearest stored signature is
//!   their own clean one, and the median ratio of the nearest other item's distance to the
//!   clean–distorted distance;
//! - the same for PCA of the same size on the same sample (the linear baseline), and the
//!   training time and index size.
//!
//! It stops at the first size where the autoencoder meets the target. [`write_plot`] draws
//! the rows and the 2-D scatter; [`apply`] re-indexes an index at the chosen size.
//!
//! It uses ingest and query and copies neither; it knows nothing of the command line.
//!
//! ```no_run
//! use latentid_tune::{tune, write_plot, TuneConfig};
//! use latentid_ingest::NoProgress;
//! let cfg = TuneConfig { to: 16, ..TuneConfig::default() };
//! let report = tune(&["/music".into()], &cfg, &NoProgress)?;
//! for r in &report.rows {
//!     println!("{:>3} {:<3} top-1 {:.3}", r.latent_dim, r.encoder.name(), r.top1);
//! }
//! println!("smallest size that separates: {:?}", report.chosen);
//! write_plot(&report, "sweep.svg".as_ref())?;
//! # Ok::<(), latentid_tune::TuneError>(())
//! ```

mod config;
mod error;
mod plot;
mod probes;
mod separation;
mod sweep;

pub use config::{sizes, Encoder, TuneConfig};
pub use error::{Result, TuneError};
pub use plot::write_plot;
pub use separation::Separation;
pub use sweep::{apply, apply_new, tune, Row, Scatter, Step, TuneProgress, TuneReport};
