//! latentid-query
