//! latentid-serve: one index opened once, answering over HTTP, and a web page.
//!
//! [`run`] opens an index, loads its search graph once, and answers a versioned JSON API under
//! `/api/v1/` with the same objects the command line prints (`query --json` answers, `list
//! --json` items, `stats --json`, `similar`, `duplicates`), plus a page at `/` where people
//! drop a song or a picture or let it listen through the microphone. Decoding, encoding and
//! search run on blocking threads, a few at a time ([`ServeConfig::workers`]); a request
//! that finds them all busy waits a moment in a bounded queue and then gets 503, so a burst
//! never takes the server down. Uploads are bounded in size (413) and time (408), and every
//! error is JSON `{"error": "..."}` with its status.
//!
//! Writes (adding uploaded files, removing items) need the bearer token that the server keeps
//! in the index folder (`serve.token`, readable by its owner only). While it runs, the server
//! leaves its address in the index folder (`serve.json`); [`Client::discover`] finds it there,
//! checks that the server answers for that index, and lets the command line go through it
//! instead of failing on an index in use. A file left by a killed server is ignored.
//!
//! It sits on index, ingest and query and knows nothing of the command line.
//!
//! ```no_run
//! use latentid_serve::{run, ServeConfig};
//! let cfg = ServeConfig { bind: "127.0.0.1:7878".parse().unwrap(), ..ServeConfig::default() };
//! run("indexes/music".as_ref(), &cfg, |started| println!("serving at {}", started.url))?;
//! # Ok::<(), latentid_serve::ServeError>(())
//! ```

mod api;
mod body;
mod client;
mod config;
mod error;
mod files;
mod limit;
mod page;
mod server;

pub use client::{Client, ClientError, Refused};
pub use config::ServeConfig;
pub use error::{Result, ServeError};
pub use files::{read_token, ServerFile, ADDRESS_FILE, TOKEN_FILE, UPLOADS_DIR};
pub use server::{run, Health, Removed, Started};
