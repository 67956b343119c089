//! How a server runs; the binary builds it from its flags.

use std::net::SocketAddr;
use std::time::Duration;

/// How [`crate::run`] serves.
#[derive(Clone, Debug, PartialEq)]
pub struct ServeConfig {
    /// Where to listen; loopback by default. Port 0 picks a free port (see
    /// [`crate::Started::address`]).
    pub bind: SocketAddr,
    /// Requests that decode, encode or search at once (each on its own blocking thread).
    pub workers: usize,
    /// Requests that may wait for a worker; beyond that a request gets 503 at once.
    pub queue: usize,
    /// How long a request waits for a worker before it gets 503.
    pub queue_wait: Duration,
    /// Largest upload accepted (413 beyond).
    pub max_upload_bytes: usize,
    /// An upload must arrive within this time (408 beyond): a slow or stalled client cannot
    /// hold a connection and its buffer for ever.
    pub upload_timeout: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 7878)),
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            queue: 256,
            queue_wait: Duration::from_secs(10),
            // A 5-minute CD-quality WAV is 53 MB.
            max_upload_bytes: 64 << 20,
            upload_timeout: Duration::from_secs(60),
        }
    }
}
