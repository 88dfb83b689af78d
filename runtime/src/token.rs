//! Subscribe tokens: JWT, HS256 only. [`TokenIssuer`] mints them (the app, after it has
//! authorised the user); [`TokenVerifier`] checks them with a current and, during a rotation,
//! a previous secret.

use std::time::Duration;

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};

use crate::protocol::{Claims, ErrorCode};

/// Why a token was refused, with its protocol code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenError {
    pub code: ErrorCode,
    pub message: String,
}

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for TokenError {}

/// The shortest secret the hub accepts: HS256's key should be as long as its output.
pub const MIN_SECRET_BYTES: usize = 32;

/// Refuse a secret shorter than [`MIN_SECRET_BYTES`], saying how to make one.
pub fn check_secret(secret: &[u8], what: &str) -> Result<(), String> {
    if secret.len() < MIN_SECRET_BYTES {
        return Err(format!(
            "the {what} is {} bytes; use at least {MIN_SECRET_BYTES} random bytes (e.g. `openssl rand -hex 32`)",
            secret.len()
        ));
    }
    Ok(())
}

fn now_secs() -> u64 {
    crate::protocol::now_millis() / 1000
}

/// Mints subscribe tokens.
#[derive(Clone)]
pub struct TokenIssuer {
    key: EncodingKey,
}

impl TokenIssuer {
    pub fn new(secret: &[u8]) -> Self {
        TokenIssuer { key: EncodingKey::from_secret(secret) }
    }

    /// A token for one runtime channel and some of its topics, valid for `ttl`.
    pub fn mint(&self, channel: &str, topics: &[&str], ttl: Duration) -> String {
        let iat = now_secs();
        self.mint_claims(&Claims {
            chan: channel.to_string(),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            exp: iat.saturating_add(ttl.as_secs()),
            iat,
            jti: format!("{:032x}", rand::random::<u128>()),
            sub: None,
            nbf: None,
        })
    }

    /// A token with exactly these claims (for a `sub`, or a chosen `exp`).
    pub fn mint_claims(&self, claims: &Claims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.key).expect("HS256 claims always encode")
    }
}

/// Checks subscribe tokens against the current secret and, while rotating, the previous one.
#[derive(Clone)]
pub struct TokenVerifier {
    current: DecodingKey,
    previous: Option<DecodingKey>,
    validation: Validation,
    max_ttl: Option<Duration>,
}

impl TokenVerifier {
    pub fn new(current: &[u8], previous: Option<&[u8]>) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        TokenVerifier {
            current: DecodingKey::from_secret(current),
            previous: previous.map(DecodingKey::from_secret),
            validation,
            max_ttl: None,
        }
    }

    /// Refuse tokens that stay valid for longer than `max` from now (a leaked token with a
    /// far `exp` would otherwise never stop working).
    pub fn with_max_ttl(mut self, max: Duration) -> Self {
        self.max_ttl = Some(max);
        self
    }

    /// The token's claims, or why it is refused (`invalid_token` or `token_expired`).
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        match self.decode(token, &self.current) {
            Err(e) if e.code == ErrorCode::InvalidToken && e.message == SIGNATURE => match &self.previous {
                Some(previous) => self.decode(token, previous),
                None => Err(e),
            },
            other => other,
        }
    }

    fn decode(&self, token: &str, key: &DecodingKey) -> Result<Claims, TokenError> {
        let invalid = |message: &str| TokenError { code: ErrorCode::InvalidToken, message: message.to_string() };
        // A `crit` header names extensions the verifier must understand: it understands none.
        if header_has_crit(token) {
            return Err(invalid("the token's header has `crit` extensions, which this hub does not support"));
        }
        let claims = jsonwebtoken::decode::<Claims>(token, key, &self.validation).map_err(|e| {
            let (code, message) = match e.kind() {
                ErrorKind::ExpiredSignature => (ErrorCode::TokenExpired, "the token has expired"),
                ErrorKind::ImmatureSignature => {
                    (ErrorCode::InvalidToken, "the token is not valid yet (its `nbf` is in the future)")
                }
                ErrorKind::InvalidSignature => (ErrorCode::InvalidToken, SIGNATURE),
                ErrorKind::InvalidAlgorithm | ErrorKind::MissingAlgorithm => {
                    (ErrorCode::InvalidToken, "only HS256 tokens are accepted")
                }
                ErrorKind::MissingRequiredClaim(_) => (ErrorCode::InvalidToken, "the token has no `exp` claim"),
                ErrorKind::InvalidToken | ErrorKind::Base64(_) | ErrorKind::Utf8(_) => {
                    (ErrorCode::InvalidToken, "not a JWT: three base64url parts separated by dots")
                }
                ErrorKind::Json(_) => (
                    ErrorCode::InvalidToken,
                    "the token's header or claims are not what the hub reads (chan, topics, exp, iat, jti)",
                ),
                _ => (ErrorCode::InvalidToken, "the token cannot be verified"),
            };
            TokenError { code, message: message.to_string() }
        })?;
        // The header's algorithm is checked by the library; claims are checked here.
        let now = now_secs();
        if claims.claims.exp <= now {
            return Err(TokenError { code: ErrorCode::TokenExpired, message: "the token has expired".into() });
        }
        if let Some(max) = self.max_ttl
            && claims.claims.exp - now > max.as_secs()
        {
            return Err(invalid(&format!(
                "the token is valid for {} s more, longer than this hub's maximum of {} s",
                claims.claims.exp - now,
                max.as_secs()
            )));
        }
        Ok(claims.claims)
    }
}

const SIGNATURE: &str = "the token's signature does not match any accepted secret";

/// Does the token's (unverified) header carry a `crit` member?
fn header_has_crit(token: &str) -> bool {
    use base64::Engine;
    let Some(header) = token.split('.').next() else { return false };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header.trim_end_matches('='))
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|h| h.get("crit").is_some())
}

/// Parse a duration such as `60s`, `5m`, `2h`, `1d` or a number of seconds.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
    let n: u64 = digits.parse().map_err(|_| format!("`{text}` is not a duration such as 60s, 5m or 2h"))?;
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("`{text}`: unknown unit `{unit}` (use s, m, h or d)")),
    };
    n.checked_mul(scale).map(Duration::from_secs).ok_or_else(|| format!("`{text}` is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_parses() {
        assert_eq!(parse_ttl("60s").unwrap(), Duration::from_secs(60));
        assert_eq!(parse_ttl("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_ttl("90").unwrap(), Duration::from_secs(90));
        assert!(parse_ttl("5y").is_err());
        assert!(parse_ttl("").is_err());
        // Absurd lifetimes saturate instead of overflowing.
        let huge = Duration::from_secs(u64::MAX);
        let token = TokenIssuer::new(b"s").mint("c", &["t"], huge);
        assert_eq!(TokenVerifier::new(b"s", None).verify(&token).unwrap().exp, u64::MAX);
    }

    #[test]
    fn rotation_accepts_previous_secret() {
        let old = TokenIssuer::new(b"old").mint("c", &["t"], Duration::from_secs(60));
        assert!(TokenVerifier::new(b"new", Some(b"old")).verify(&old).is_ok());
        assert_eq!(TokenVerifier::new(b"new", None).verify(&old).unwrap_err().code, ErrorCode::InvalidToken);
    }
}
