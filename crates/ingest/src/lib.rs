//! latentid-ingest
