//! `cargo fuzz run token`: arbitrary text as a subscribe token. Verifying never panics, and
//! nothing but a token minted with the secret is accepted.
#![no_main]

use chanspec_runtime::token::{TokenIssuer, TokenVerifier};
use libfuzzer_sys::fuzz_target;

const SECRET: &[u8] = b"fuzz-secret-of-at-least-32-bytes-long";

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let verifier = TokenVerifier::new(SECRET, None);
    if let Ok(claims) = verifier.verify(&text) {
        // Only a token signed with the secret verifies; it names what it was minted for.
        let minted = TokenIssuer::new(SECRET).mint(&claims.chan, &claims.topics.iter().map(String::as_str).collect::<Vec<_>>(), std::time::Duration::from_secs(60));
        assert!(verifier.verify(&minted).is_ok());
    }
});
