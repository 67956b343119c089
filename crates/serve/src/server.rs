//! [`run`]: open the index once, serve until Ctrl-C or SIGTERM, flush, tidy the folder.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Instant;

use axum::routing::{get, post};
use axum::Router;
use latentid_index::Index;
use latentid_store::{ItemId, ItemKind, SearchParams};
use serde::{Deserialize, Serialize};

use crate::api::{self, ApiError};
use crate::files::{ensure_token, ServerFile, TOKEN_FILE};
use crate::limit::Limiter;
use crate::{page, Result, ServeConfig, ServeError};

/// What `GET /api/v1/health` answers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Health {
    /// "ok"
    pub status: String,
    /// latentid's version.
    pub version: String,
    /// The index served, as a canonical path (a client checks it is the one it means).
    pub index: PathBuf,
    pub kind: ItemKind,
    pub pid: u32,
    pub uptime_s: f64,
}

/// What removing an item answers (and `latentid remove --json` prints).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Removed {
    pub removed: ItemId,
    #[serde(with = "latentid_store::paths")]
    pub path: PathBuf,
    pub name: String,
}

/// A server that is listening: what [`run`] tells its caller once it is.
#[derive(Clone, Debug)]
pub struct Started {
    pub url: String,
    pub address: SocketAddr,
    /// Whether only this machine can reach it.
    pub loopback: bool,
    /// The write token's file.
    pub token_file: PathBuf,
    /// The index's items when it started.
    pub items: usize,
    pub kind: ItemKind,
}

/// What every handler shares.
pub(crate) struct App {
    /// Read-locked by every query, write-locked by additions and removals.
    index: RwLock<Index>,
    dir: PathBuf,
    canonical: PathBuf,
    kind: ItemKind,
    pub token: String,
    limiter: Limiter,
    /// One write at a time; a second one meanwhile gets 409.
    writing: tokio::sync::Mutex<()>,
    pub cfg: ServeConfig,
    started: Instant,
}

impl App {
    pub fn health(&self) -> Health {
        Health {
            status: "ok".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            index: self.canonical.clone(),
            kind: self.kind,
            pid: std::process::id(),
            uptime_s: self.started.elapsed().as_secs_f64(),
        }
    }

    pub fn token_file(&self) -> PathBuf {
        self.dir.join(TOKEN_FILE)
    }

    /// Runs `f` on the index on a blocking thread, once a worker is free (503 when none
    /// frees up in time).
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Index) -> std::result::Result<T, ApiError> + Send + 'static,
    ) -> std::result::Result<T, ApiError> {
        let permit = self.limiter.acquire().await?;
        let app = self.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            // A panic while a writer held the lock leaves the index as the store left it,
            // and every store write is atomic.
            let index = app.index.read().unwrap_or_else(|e| e.into_inner());
            f(&index)
        })
        .await
        .map_err(|e| ApiError::internal(format!("the request failed inside the server: {e}")))?
    }

    /// Runs `f` on the index alone (no query meanwhile) on a blocking thread; 409 while
    /// another write runs.
    pub async fn write<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut Index) -> std::result::Result<T, ApiError> + Send + 'static,
    ) -> std::result::Result<T, ApiError> {
        let Ok(guard) = self.writing.try_lock() else {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                "another write is in progress; try again when it is done",
            ));
        };
        let app = self.clone();
        let r = tokio::task::spawn_blocking(move || {
            let mut index = app.index.write().unwrap_or_else(|e| e.into_inner());
            f(&mut index)
        })
        .await
        .map_err(|e| ApiError::internal(format!("the write failed inside the server: {e}")));
        drop(guard);
        r?
    }
}

fn router(app: Arc<App>) -> Router {
    let api = Router::new()
        .route("/health", get(api::health))
        .route("/stats", get(api::stats))
        .route("/items", get(api::items).post(api::add))
        .route("/items/{item}", get(api::item).delete(api::remove))
        .route("/identify", post(api::identify))
        .route("/similar", get(api::similar))
        .route("/duplicates", get(api::duplicates))
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed);
    Router::new()
        .route("/", get(page::index))
        .route("/app.js", get(page::script))
        .route("/style.css", get(page::style))
        .nest("/api/v1", api)
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        // Uploads are bounded by `read_body`, which answers in JSON.
        .layer(axum::extract::DefaultBodyLimit::disable())
        .with_state(app)
}

/// Removes the address file however `run` ends.
struct AddressGuard<'a> {
    file: ServerFile,
    dir: &'a Path,
}

impl Drop for AddressGuard<'_> {
    fn drop(&mut self) {
        self.file.remove(self.dir);
    }
}

/// Serves the index at `dir` until Ctrl-C or SIGTERM, then flushes it and returns. Opens the
/// index once and loads its search graph before listening; `on_start` is told the address
/// once the server listens and the address file is written.
pub fn run(dir: &Path, cfg: &ServeConfig, on_start: impl FnOnce(&Started)) -> Result<()> {
    let index = Index::open(dir, SearchParams::default())?;
    if !index.has_model() {
        return Err(ServeError::NoModel {
            index: dir.to_path_buf(),
        });
    }
    index.store().warm()?;
    let items = index.store().stats()?.items;
    let token = ensure_token(dir)?;
    let kind = index.kind();
    let app = Arc::new(App {
        index: RwLock::new(index),
        dir: dir.to_path_buf(),
        canonical: fs_err::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf()),
        kind,
        token,
        limiter: Limiter::new(cfg.workers, cfg.queue, cfg.queue_wait),
        writing: tokio::sync::Mutex::new(()),
        cfg: cfg.clone(),
        started: Instant::now(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        // The async side only moves bytes; the work is on blocking threads.
        .worker_threads(2)
        .max_blocking_threads(cfg.workers.max(1) + 4)
        .enable_all()
        .build()
        .map_err(ServeError::Runtime)?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(cfg.bind)
            .await
            .map_err(|source| ServeError::Bind {
                address: cfg.bind,
                source,
            })?;
        let address = listener.local_addr().map_err(ServeError::Runtime)?;
        let url = format!("http://{address}");
        let file = ServerFile {
            url: url.clone(),
            address,
            pid: std::process::id(),
        };
        file.write(dir)?;
        let _guard = AddressGuard { file, dir };
        on_start(&Started {
            url,
            address,
            loopback: address.ip().is_loopback(),
            token_file: dir.join(TOKEN_FILE),
            items,
            kind,
        });
        axum::serve(listener, router(app.clone()))
            .with_graceful_shutdown(shutdown_signal())
            .await
            .map_err(ServeError::Runtime)?;
        tracing::info!("stopping: flushing the index");
        // Flushed before the address file goes: a command that then finds no server may
        // open the index itself.
        let app = app.clone();
        tokio::task::spawn_blocking(move || {
            app.index.read().unwrap_or_else(|e| e.into_inner()).flush()
        })
        .await
        .map_err(|e| ServeError::Runtime(std::io::Error::other(e.to_string())))??;
        Ok::<(), ServeError>(())
    })?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
