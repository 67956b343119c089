//! The HTTP API under `/api/v1/`: handlers, the JSON error type and status mapping.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use latentid_index::{Calibration, Index};
use latentid_ingest::{IngestConfig, IngestReport, NoProgress};
use latentid_media::{decode_audio_bytes, load_image_bytes, media_kind, MediaError, MediaKind};
use latentid_query::{
    calibrate_if_needed, Answer, CalibrationConfig, DuplicatesConfig, Matcher, QueryConfig,
    QueryError, QueryResult,
};
use latentid_store::{Item, ItemId, ItemKind};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::body::{read_body, uploads, Upload};
use crate::files::{upload_path, UPLOADS_DIR};
use crate::limit::Busy;
use crate::server::{App, Removed};

/// An error answer: `{"error": "..."}` with its status.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(m: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, m)
    }
    pub fn too_large(m: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, m)
    }
    pub fn timeout(m: impl Into<String>) -> Self {
        Self::new(StatusCode::REQUEST_TIMEOUT, m)
    }
    pub fn unsupported_type(m: impl Into<String>) -> Self {
        Self::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, m)
    }
    pub fn not_found(m: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, m)
    }
    pub fn internal(m: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, m)
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            Json(ErrorBody {
                error: &self.message,
            }),
        )
            .into_response();
        match self.status {
            StatusCode::UNAUTHORIZED => {
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            StatusCode::SERVICE_UNAVAILABLE => {
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        r
    }
}

impl From<Busy> for ApiError {
    fn from(b: Busy) -> Self {
        let why = match b {
            Busy::QueueFull => "too many requests are waiting",
            Busy::Waited => "every worker stayed busy while this request waited",
        };
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("the server is busy ({why}); try again in a moment"),
        )
    }
}

/// What went wrong with a query, as a status: the upload's fault (4xx) or the server's (5xx).
impl From<QueryError> for ApiError {
    fn from(e: QueryError) -> Self {
        let status = match &e {
            QueryError::Media(MediaError::Io { .. }) => StatusCode::INTERNAL_SERVER_ERROR,
            QueryError::Media(_) => StatusCode::BAD_REQUEST,
            QueryError::WrongKind { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            QueryError::Silent { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

/// Query-string parameters; a malformed one is a JSON 400 like every other error.
pub(crate) struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(t)| Params(t))
            .map_err(|e| ApiError::bad_request(e.body_text()))
    }
}

type ApiResult<T> = Result<T, ApiError>;

// ------------------------------------------------------------------ reads

pub(crate) async fn health(State(app): State<Arc<App>>) -> Json<crate::Health> {
    Json(app.health())
}

pub(crate) async fn items(State(app): State<Arc<App>>) -> ApiResult<Json<Vec<Item>>> {
    app.read(|index| index.store().items().map_err(store_err))
        .await
        .map(|items| Json(items.into_iter().map(Item::shown).collect()))
}

pub(crate) async fn item(
    State(app): State<Arc<App>>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> ApiResult<Json<Item>> {
    let id: ItemId = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{id}: not an item id")))?;
    app.read(move |index| {
        index
            .store()
            .item(id)
            .map_err(store_err)?
            .ok_or_else(|| ApiError::not_found(format!("no item {id} in this index")))
    })
    .await
    .map(|item| Json(item.shown()))
}

pub(crate) async fn stats(State(app): State<Arc<App>>) -> ApiResult<Json<latentid_index::Summary>> {
    app.read(|index| {
        index
            .summary()
            .map_err(|e| ApiError::internal(e.to_string()))
    })
    .await
    .map(Json)
}

#[derive(Deserialize)]
pub(crate) struct SimilarParams {
    item: String,
    /// The item as a canonical path, when `item` is not an id (the caller resolves relative
    /// paths against its own directory).
    path: Option<PathBuf>,
    top: Option<usize>,
}

pub(crate) async fn similar(
    State(app): State<Arc<App>>,
    Params(p): Params<SimilarParams>,
) -> ApiResult<Json<QueryResult>> {
    app.read(move |index| {
        let id = resolve(index, &p.item, p.path.as_deref())?;
        let cfg = QueryConfig {
            top: p.top.unwrap_or(5),
            ..QueryConfig::default()
        };
        Ok(Matcher::new(index)?.similar(id, &cfg)?)
    })
    .await
    .map(Json)
}

#[derive(Deserialize)]
pub(crate) struct DuplicatesParams {
    threshold: Option<f32>,
}

pub(crate) async fn duplicates(
    State(app): State<Arc<App>>,
    Params(p): Params<DuplicatesParams>,
) -> ApiResult<Json<latentid_query::Duplicates>> {
    app.read(move |index| {
        let cfg = DuplicatesConfig {
            threshold: p.threshold,
            ..Default::default()
        };
        Ok(latentid_query::duplicates(&Matcher::new(index)?, &cfg)?)
    })
    .await
    .map(Json)
}

#[derive(Deserialize)]
pub(crate) struct IdentifyParams {
    /// The file's name: its extension tells the format, and messages name it.
    name: Option<String>,
    top: Option<usize>,
    min_confidence: Option<f32>,
    max_distance: Option<f32>,
    neighbours: Option<usize>,
}

/// Identifies one uploaded clip or picture: the answer `latentid query --json` prints.
pub(crate) async fn identify(
    State(app): State<Arc<App>>,
    Params(p): Params<IdentifyParams>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Json<Answer>> {
    let bytes = read_body(
        &headers,
        body,
        app.cfg.max_upload_bytes,
        app.cfg.upload_timeout,
    )
    .await?;
    let default_name = p.name.clone().unwrap_or_else(|| "upload".into());
    let mut files = uploads(&headers, bytes, &default_name).await?;
    if files.len() != 1 {
        return Err(ApiError::bad_request(format!(
            "identify takes one file at a time; this request holds {}",
            files.len()
        )));
    }
    let Upload { name, bytes } = files.remove(0);
    let name = p.name.clone().unwrap_or(name);
    let defaults = QueryConfig::default();
    let cfg = QueryConfig {
        top: p.top.unwrap_or(defaults.top),
        min_confidence: p.min_confidence,
        max_distance: p.max_distance,
        neighbours: p.neighbours.unwrap_or(defaults.neighbours),
        ..defaults
    };
    app.read(move |index| {
        let result = identify_bytes(index, Path::new(&name), bytes, &cfg)?;
        Ok(Answer {
            query: PathBuf::from(name),
            result,
        })
    })
    .await
    .map(Json)
}

/// [`Matcher::query_path`] for bytes held in memory: the same kind check, decoding, matching
/// and timing, with `path` standing for the file in the format hint and in messages.
fn identify_bytes(
    index: &Index,
    path: &Path,
    bytes: Bytes,
    cfg: &QueryConfig,
) -> Result<QueryResult, QueryError> {
    let started = Instant::now();
    let matcher = Matcher::new(index)?;
    let mut result = match (index.kind(), media_kind(path)) {
        (ItemKind::Audio, Some(MediaKind::Image)) | (ItemKind::Image, Some(MediaKind::Audio)) => {
            return Err(QueryError::WrongKind {
                path: path.to_path_buf(),
                index_kind: index.kind().name(),
            })
        }
        (ItemKind::Audio, _) => {
            let rate = index.features().audio.sample_rate;
            let audio = decode_audio_bytes(bytes.to_vec(), path, rate)?;
            matcher
                .query_samples(&audio.samples, cfg)?
                .ok_or_else(|| QueryError::Silent {
                    path: path.to_path_buf(),
                })?
        }
        (ItemKind::Image, _) => matcher.query_image(&load_image_bytes(&bytes, path)?, cfg)?,
    };
    result.seconds = started.elapsed().as_secs_f32();
    Ok(result)
}

/// An item named by id, or by its stored path.
fn resolve(index: &Index, item: &str, path: Option<&Path>) -> ApiResult<ItemId> {
    let store = index.store();
    if let Ok(id) = item.parse::<ItemId>() {
        if store.item(id).map_err(store_err)?.is_some() {
            return Ok(id);
        }
    }
    let path = path.unwrap_or(Path::new(item));
    store
        .find_path(path)
        .map_err(store_err)?
        .ok_or_else(|| ApiError::not_found(format!("{item}: no such item in this index")))
}

fn store_err(e: latentid_store::StoreError) -> ApiError {
    ApiError::internal(e.to_string())
}

impl From<latentid_index::IndexError> for ApiError {
    fn from(e: latentid_index::IndexError) -> Self {
        ApiError::internal(e.to_string())
    }
}

// ------------------------------------------------------------------ writes

/// Checks `Authorization: Bearer <token>`: 401 without one, 403 with a wrong one.
fn authorise(app: &App, headers: &HeaderMap) -> ApiResult<()> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            format!(
                "writes need the token in {}: send it as Authorization: Bearer <token>",
                app.token_file().display()
            ),
        ));
    };
    let given = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("")
        .trim();
    // Compared in constant time: how long a refusal takes says nothing about the token.
    let expected = app.token.as_bytes();
    let same = given.len() == expected.len()
        && given
            .bytes()
            .zip(expected)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if same {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong token (see serve.token in the index folder)",
        ))
    }
}

#[derive(Deserialize)]
pub(crate) struct AddParams {
    name: Option<String>,
}

/// What adding files answers: the report `latentid index --json` prints.
#[derive(Serialize)]
pub(crate) struct Added {
    #[serde(flatten)]
    report: IngestReport,
    calibration: Option<Calibration>,
}

/// Adds uploaded files to the index (kept in the index folder's `uploads/`), then calibrates
/// again, as `latentid index` does.
pub(crate) async fn add(
    State(app): State<Arc<App>>,
    Params(p): Params<AddParams>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Response> {
    if let Err(refused) = authorise(&app, &headers) {
        // Read (bounded) before refusing: a client still sending would otherwise see its
        // connection reset instead of the answer.
        let _ = read_body(
            &headers,
            body,
            app.cfg.max_upload_bytes,
            app.cfg.upload_timeout,
        )
        .await;
        return Err(refused);
    }
    let bytes = read_body(
        &headers,
        body,
        app.cfg.max_upload_bytes,
        app.cfg.upload_timeout,
    )
    .await?;
    let default_name = p.name.unwrap_or_default();
    let files = uploads(&headers, bytes, &default_name).await?;
    for f in &files {
        if media_kind(Path::new(&f.name)).is_none() {
            return Err(ApiError::bad_request(format!(
                "{:?}: name each file with its extension (e.g. ?name=song.mp3 or a multipart file name)",
                f.name
            )));
        }
    }
    let added = app
        .write(move |index| {
            let dir = index.location().join(UPLOADS_DIR);
            fs_err::create_dir_all(&dir).map_err(|e| ApiError::internal(e.to_string()))?;
            let mut paths = Vec::new();
            for f in &files {
                let path = upload_path(index.location(), &f.name);
                fs_err::write(&path, &f.bytes).map_err(|e| ApiError::internal(e.to_string()))?;
                // Stored items keep canonical paths, as `latentid index` stores them.
                paths.push(fs_err::canonicalize(&path).unwrap_or(path));
            }
            let report =
                latentid_ingest::ingest_into(index, &paths, &IngestConfig::default(), &NoProgress)
                    .map_err(|e| ApiError::internal(e.to_string()));
            let report = match report {
                Ok(r) => r,
                Err(e) => {
                    for p in &paths {
                        let _ = std::fs::remove_file(p);
                    }
                    return Err(e);
                }
            };
            // Keep only the files that became items.
            for p in &paths {
                if !report.added.iter().any(|a| &a.path == p) {
                    let _ = std::fs::remove_file(p);
                }
            }
            let calibration = calibrate_if_needed(index, &CalibrationConfig::default())?;
            index.flush()?;
            Ok(Added {
                report,
                calibration,
            })
        })
        .await?;
    let status = if !added.report.added.is_empty() {
        StatusCode::CREATED
    } else if !added.report.failed.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    if status == StatusCode::UNPROCESSABLE_ENTITY {
        let reasons: Vec<String> = added.report.failed.iter().map(|f| f.to_string()).collect();
        return Err(ApiError::new(status, reasons.join("; ")));
    }
    Ok((status, Json(added)).into_response())
}

#[derive(Deserialize)]
pub(crate) struct RemoveParams {
    path: Option<PathBuf>,
}

/// Removes one item (by id, or by stored path with `?path=`); an uploaded file goes with it.
pub(crate) async fn remove(
    State(app): State<Arc<App>>,
    axum::extract::Path(item): axum::extract::Path<String>,
    Params(p): Params<RemoveParams>,
    headers: HeaderMap,
) -> ApiResult<Json<Removed>> {
    authorise(&app, &headers)?;
    app.write(move |index| {
        let id = resolve(index, &item, p.path.as_deref())?;
        let removed = index.store().remove(id).map_err(store_err)?;
        index.flush()?;
        if removed.path.starts_with(index.location().join(UPLOADS_DIR))
            || fs_err::canonicalize(index.location().join(UPLOADS_DIR))
                .is_ok_and(|d| removed.path.starts_with(d))
        {
            let _ = std::fs::remove_file(&removed.path);
        }
        Ok(Removed {
            removed: removed.id,
            path: removed.path,
            name: removed.name,
        })
    })
    .await
    .map(Json)
}

impl From<latentid_store::StoreError> for ApiError {
    fn from(e: latentid_store::StoreError) -> Self {
        store_err(e)
    }
}

// ------------------------------------------------------------------ the rest

pub(crate) async fn not_found() -> ApiError {
    ApiError::not_found("no such endpoint (see /api/v1/health and the README's API table)")
}

pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "this endpoint does not take that method",
    )
}
