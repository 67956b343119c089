//! latentid-media
