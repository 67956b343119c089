//! latentid-store
