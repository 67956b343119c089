//! latentid-model
