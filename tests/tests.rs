//! Integration tests: the real `latentid` binary on the checked-in fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod util;

mod audio;
mod bad_input;
mod browser;
mod cli;
mod demo;
mod hostile;
mod images;
mod milvus;
mod outliers;
mod serve;
mod tune;
mod variants;
