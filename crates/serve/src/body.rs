//! Reading an upload: bounded in size and time, raw bytes or multipart/form-data.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, Multipart};
use axum::http::{header, HeaderMap, Request};
use http_body_util::BodyExt;

use crate::api::ApiError;

/// One uploaded file: its name (for the format hint, messages and the item's name) and bytes.
pub(crate) struct Upload {
    pub name: String,
    pub bytes: Bytes,
}

/// Reads the whole body, refusing it early when its declared length is over `limit` (413),
/// as soon as it grows over `limit` otherwise (413), and when it has not arrived within
/// `timeout` (408).
pub(crate) async fn read_body(
    headers: &HeaderMap,
    mut body: Body,
    limit: usize,
    timeout: Duration,
) -> Result<Bytes, ApiError> {
    let too_big = || {
        ApiError::too_large(format!(
            "the upload is larger than this server accepts ({} MB)",
            limit as f64 / 1e6
        ))
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_big());
    }
    let read = async {
        let mut buf = Vec::with_capacity(declared.unwrap_or(0) as usize);
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|e| ApiError::bad_request(format!("the upload broke off: {e}")))?;
            if let Ok(data) = frame.into_data() {
                if buf.len() + data.len() > limit {
                    return Err(too_big());
                }
                buf.extend_from_slice(&data);
            }
        }
        Ok(Bytes::from(buf))
    };
    match tokio::time::timeout(timeout, read).await {
        Ok(r) => r,
        Err(_) => Err(ApiError::timeout(format!(
            "the upload did not arrive within {} s",
            timeout.as_secs()
        ))),
    }
}

/// The files of a request: a multipart/form-data body gives its file fields (a field without
/// a file name is named by `default_name`), any other body is one file named `default_name`.
/// Text formats (JSON, forms, plain text) are refused with 415: they are never media.
pub(crate) async fn uploads(
    headers: &HeaderMap,
    body: Bytes,
    default_name: &str,
) -> Result<Vec<Upload>, ApiError> {
    let ctype = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if ctype.starts_with("multipart/form-data") {
        let mut req = Request::new(Body::from(body));
        *req.headers_mut() = headers.clone();
        let mut mp = Multipart::from_request(req, &())
            .await
            .map_err(|e| ApiError::bad_request(format!("unreadable multipart body: {e}")))?;
        let mut files = Vec::new();
        while let Some(field) = mp
            .next_field()
            .await
            .map_err(|e| ApiError::bad_request(format!("unreadable multipart body: {e}")))?
        {
            let name = field
                .file_name()
                .map(str::to_string)
                .filter(|n| !n.is_empty());
            // Plain form fields (no file name, not called "file") are not uploads.
            if name.is_none() && field.name() != Some("file") {
                continue;
            }
            let bytes = field
                .bytes()
                .await
                .map_err(|e| ApiError::bad_request(format!("unreadable multipart body: {e}")))?;
            files.push(Upload {
                name: name.unwrap_or_else(|| default_name.to_string()),
                bytes,
            });
        }
        if files.is_empty() {
            return Err(ApiError::bad_request(
                "the multipart body holds no file (send it in a field called \"file\")",
            ));
        }
        return Ok(files);
    }
    let text = [
        "application/json",
        "application/x-www-form-urlencoded",
        "text/",
    ];
    if text.iter().any(|t| ctype.starts_with(t)) {
        return Err(ApiError::unsupported_type(format!(
            "a body of type {ctype} is not media: send the file's bytes (e.g. application/octet-stream) or multipart/form-data"
        )));
    }
    Ok(vec![Upload {
        name: default_name.to_string(),
        bytes: body,
    }])
}
