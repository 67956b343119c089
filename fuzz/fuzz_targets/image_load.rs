//! Image bytes -> decode (image, with latentid's limits) -> the encoder's input tensors.
//! A panic inside the decoder is contained by latentid (`latentid_media::contain`) and is
//! an error for that file, as in `latentid index`; what this target finds is what cannot
//! be contained: a panic outside containment, an abort, an allocation past libFuzzer's
//! -rss_limit_mb / -malloc_limit_mb, or a run past -timeout.
#![no_main]

use libfuzzer_sys::fuzz_target;

static QUIET: std::sync::Once = std::sync::Once::new();

fuzz_target!(|data: &[u8]| {
    // libFuzzer's panic hook aborts on every panic, contained or not; latentid's own
    // containment is what is under test, so contained panics stay quiet.
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    latentid_media::fuzzing::image(data);
});
