//! latentid-tune
