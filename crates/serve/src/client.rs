//! A blocking client for a running server: what the command line uses to go through it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use latentid_index::Summary;
use latentid_query::{Duplicates, QueryConfig, QueryResult};
use latentid_store::{Item, ItemKind};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::{Health, Removed, ServerFile};

/// The server answered with an error for this request: its status and message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    pub status: u16,
    pub message: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why a request to the server got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server refused the request (its status and message).
    #[error("{0}")]
    Refused(Refused),
    #[error("the latentid server at {url} did not answer: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the latentid server at {url} gave an unreadable answer: {reason}")]
    Protocol { url: String, reason: String },
}

/// A server answering for one index.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    url: String,
    index: PathBuf,
    kind: ItemKind,
    /// The index the server says it serves (canonical).
    served: PathBuf,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("url", &self.url)
            .field("index", &self.index)
            .finish()
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    error: String,
}

/// Largest answer read (a list of a very large library).
const MAX_ANSWER: u64 = 1 << 30;

impl Client {
    /// The server that holds `index`, if one does: its address file is there, it answers,
    /// and it serves this very folder. `None` otherwise (no server, or a stale file left by
    /// one that was killed): the caller opens the index itself.
    pub fn discover(index: &Path) -> Option<Client> {
        let file = ServerFile::read(index)?;
        let client = Client::connect(&file.url, index, Duration::from_secs(2)).ok()?;
        let ours = std::fs::canonicalize(index).ok()?;
        (client.served == ours).then_some(client)
    }

    /// A client of the server at `url` (`http://host:port`) for `index`, once it has
    /// answered within `wait`.
    pub fn connect(url: &str, index: &Path, wait: Duration) -> Result<Client, ClientError> {
        let mut client = Client {
            agent: agent(Some(wait)),
            url: url.trim_end_matches('/').to_string(),
            index: index.to_path_buf(),
            kind: ItemKind::Audio,
            served: PathBuf::new(),
        };
        let health = client.health()?;
        client.kind = health.kind;
        client.served = health.index;
        // Queries on a busy server may wait for a worker; uploads may be large.
        client.agent = agent(Some(Duration::from_secs(600)));
        Ok(client)
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// What the served index holds.
    pub fn kind(&self) -> ItemKind {
        self.kind
    }

    fn endpoint(&self, path: &str) -> String {
        format!("{}/api/v1/{path}", self.url)
    }

    fn answer<T: DeserializeOwned>(
        &self,
        r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<T, ClientError> {
        let mut r = r.map_err(|e| ClientError::Unreachable {
            url: self.url.clone(),
            reason: e.to_string(),
        })?;
        let status = r.status().as_u16();
        let text = r
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_string()
            .map_err(|e| ClientError::Unreachable {
                url: self.url.clone(),
                reason: e.to_string(),
            })?;
        let protocol = |e: serde_json::Error| ClientError::Protocol {
            url: self.url.clone(),
            reason: format!("{e} (HTTP {status})"),
        };
        if (200..300).contains(&status) {
            return serde_json::from_str(&text).map_err(protocol);
        }
        let body: ErrorBody = serde_json::from_str(&text).map_err(protocol)?;
        Err(ClientError::Refused(Refused {
            status,
            message: body.error,
        }))
    }

    pub fn health(&self) -> Result<Health, ClientError> {
        self.answer(self.agent.get(self.endpoint("health")).call())
    }

    /// Every item, as `latentid list --json` prints them.
    pub fn items(&self) -> Result<Vec<Item>, ClientError> {
        self.answer(self.agent.get(self.endpoint("items")).call())
    }

    pub fn stats(&self) -> Result<Summary, ClientError> {
        self.answer(self.agent.get(self.endpoint("stats")).call())
    }

    /// Identifies a clip or picture given as bytes; `name` is what the answer and any error
    /// call it (and its extension the format).
    pub fn identify(
        &self,
        name: &str,
        bytes: &[u8],
        cfg: &QueryConfig,
    ) -> Result<QueryResult, ClientError> {
        let mut req = self
            .agent
            .post(self.endpoint("identify"))
            .query("name", name)
            .query("top", cfg.top.to_string())
            .query("neighbours", cfg.neighbours.to_string())
            .content_type("application/octet-stream");
        if let Some(c) = cfg.min_confidence {
            req = req.query("min_confidence", c.to_string());
        }
        if let Some(d) = cfg.max_distance {
            req = req.query("max_distance", d.to_string());
        }
        self.answer(req.send(bytes))
    }

    /// Items most like a stored one, named by id or by its canonical path.
    pub fn similar(&self, item: &str, path: &Path, top: usize) -> Result<QueryResult, ClientError> {
        let req = self
            .agent
            .get(self.endpoint("similar"))
            .query("item", item)
            .query("path", path.to_string_lossy())
            .query("top", top.to_string());
        self.answer(req.call())
    }

    pub fn duplicates(&self, threshold: Option<f32>) -> Result<Duplicates, ClientError> {
        let mut req = self.agent.get(self.endpoint("duplicates"));
        if let Some(t) = threshold {
            req = req.query("threshold", t.to_string());
        }
        self.answer(req.call())
    }

    /// Removes an item (by id, or by its canonical path) with the token from the index
    /// folder.
    pub fn remove(&self, item: &str, path: &Path, token: &str) -> Result<Removed, ClientError> {
        let id = item
            .parse::<u64>()
            .map_or("-".to_string(), |i| i.to_string());
        let req = self
            .agent
            .delete(self.endpoint(&format!("items/{id}")))
            .query("path", path.to_string_lossy())
            .header("Authorization", format!("Bearer {token}"));
        self.answer(req.call())
    }
}

fn agent(timeout: Option<Duration>) -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(2)))
        .timeout_global(timeout)
        .build()
        .into()
}
