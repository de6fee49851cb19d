//! API-token auth: `Authorization: <scheme> <token>` compared in constant time with a token
//! kept in a file. The file is re-read whenever its metadata changes, so rotating the token
//! needs no restart (Tahoe-LAFS rewrites `private/api_auth_token` in place). A rewrite is
//! seen half done (truncated, or briefly missing) now and then: the last good token stays in
//! force until the file holds a token again, so requests never fail for it. Only a service
//! that never had a token refuses requests ([`AuthError::NoToken`], answered 503).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;
use actix_web::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use subtle::ConstantTimeEq;

/// Why a request was not let in.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("missing Authorization header")]
    Missing,
    #[error("malformed Authorization header")]
    Malformed,
    #[error("wrong authorization scheme")]
    WrongScheme,
    #[error("invalid API token")]
    InvalidToken,
    /// The token file has never held a token since the service started.
    #[error("no API token yet: {0}")]
    NoToken(String),
}

/// Why the token file gave no token this time.
#[derive(Debug, thiserror::Error)]
enum Unreadable {
    #[error("cannot read the API token file {path}: {source}")]
    File {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the API token file {0} is empty")]
    Empty(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

#[derive(Debug)]
struct Cached {
    /// The file's stamp when last read (`None`: it was missing).
    stamp: Option<FileStamp>,
    /// The last good token, kept while the file is empty or missing.
    token: Option<Vec<u8>>,
    /// Why the file gave no token at its last read, if it did not.
    problem: Option<String>,
}

/// The expected token, its file, and the `WWW-Authenticate` challenge to answer 401 with.
#[derive(Debug, Clone)]
pub struct ApiToken {
    path: PathBuf,
    scheme: String,
    realm: String,
    cached: Arc<Mutex<Cached>>,
}

impl ApiToken {
    /// Reads the token file. A missing or empty file is not fatal (the file may be written
    /// after the service starts), but until it holds a token every request is refused, and
    /// [`ApiToken::has_token`] (a readiness check) says no.
    pub fn from_file(path: &Path, scheme: &str, realm: &str) -> Self {
        let token = Self {
            path: path.to_owned(),
            scheme: scheme.to_owned(),
            realm: realm.to_owned(),
            cached: Arc::new(Mutex::new(Cached {
                stamp: None,
                token: None,
                problem: None,
            })),
        };
        if let Err(err) = token.current_token() {
            log::warn!("{err}");
        }
        token
    }

    /// `Err(reason)` while no token has ever been read.
    pub fn has_token(&self) -> Result<(), String> {
        self.current_token().map(drop).map_err(|e| e.to_string())
    }

    /// Checks an `Authorization` header value. The scheme is case-insensitive (RFC 9110).
    pub fn check(&self, header: Option<&str>) -> Result<(), AuthError> {
        let header = header.ok_or(AuthError::Missing)?;
        let (scheme, presented) = header.trim().split_once(' ').ok_or(AuthError::Malformed)?;
        if !scheme.eq_ignore_ascii_case(&self.scheme) {
            return Err(AuthError::WrongScheme);
        }
        let expected = self.current_token()?;
        if bool::from(presented.trim().as_bytes().ct_eq(&expected)) {
            Ok(())
        } else {
            Err(AuthError::InvalidToken)
        }
    }

    /// Checks the request's `Authorization` header.
    pub fn check_request(&self, req: &actix_web::dev::ServiceRequest) -> Result<(), AuthError> {
        let header = req
            .headers()
            .get(AUTHORIZATION)
            .map(|v| v.to_str().map_err(|_| AuthError::Malformed))
            .transpose()?;
        self.check(header)
    }

    /// `<scheme> realm="<realm>"`.
    pub fn challenge(&self) -> String {
        format!("{} realm=\"{}\"", self.scheme, self.realm)
    }

    /// A 401 with the challenge; the body is left to the service's format.
    pub fn unauthorized(&self, body: HttpResponse) -> HttpResponse {
        let mut response = body;
        *response.status_mut() = StatusCode::UNAUTHORIZED;
        if let Ok(value) = self.challenge().parse() {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        response
    }

    fn current_token(&self) -> Result<Vec<u8>, AuthError> {
        let mut cached = self.cached.lock().unwrap_or_else(|e| e.into_inner());
        let stamp = stamp_of(&self.path).ok();
        if stamp.is_none() || stamp != cached.stamp {
            let read = read_token(&self.path);
            // A missing file is read again each time: its reappearance has no stamp to compare.
            cached.stamp = stamp;
            match read {
                Ok(token) => {
                    if cached.token.is_some() && cached.token.as_ref() != Some(&token) {
                        log::info!("API token file {} changed; reloaded", self.path.display());
                    }
                    cached.token = Some(token);
                    cached.problem = None;
                }
                Err(err) => {
                    let problem = err.to_string();
                    if cached.problem.as_ref() != Some(&problem) {
                        match cached.token {
                            Some(_) => log::warn!("{problem}; the last good token stays in force"),
                            None => {
                                log::warn!("{problem}; requests are refused until it holds one")
                            }
                        }
                    }
                    cached.problem = Some(problem);
                }
            }
        }
        match &cached.token {
            Some(token) => Ok(token.clone()),
            None => Err(AuthError::NoToken(
                cached.problem.clone().unwrap_or_default(),
            )),
        }
    }
}

fn stamp_of(path: &Path) -> std::io::Result<FileStamp> {
    let meta = fs::metadata(path)?;
    Ok(FileStamp {
        modified: meta.modified().ok(),
        len: meta.len(),
    })
}

fn read_token(path: &Path) -> Result<Vec<u8>, Unreadable> {
    let text = fs::read_to_string(path).map_err(|source| Unreadable::File {
        path: path.to_owned(),
        source,
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(Unreadable::Empty(path.to_owned()));
    }
    Ok(token.as_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_file(contents: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api_auth_token");
        fs::write(&path, contents).unwrap();
        (dir, path)
    }

    #[test]
    fn accepts_only_the_right_scheme_and_token() {
        let (_dir, path) = token_file("s3cret\n");
        let auth = ApiToken::from_file(&path, "tahoe-lafs", "tahoe-lafs");
        assert!(auth.check(Some("tahoe-lafs s3cret")).is_ok());
        assert!(auth.check(Some("Tahoe-LAFS s3cret")).is_ok());
        assert!(matches!(auth.check(None), Err(AuthError::Missing)));
        assert!(matches!(
            auth.check(Some("tahoe-lafs")),
            Err(AuthError::Malformed)
        ));
        assert!(matches!(
            auth.check(Some("Bearer s3cret")),
            Err(AuthError::WrongScheme)
        ));
        assert!(matches!(
            auth.check(Some("tahoe-lafs s3cre")),
            Err(AuthError::InvalidToken)
        ));
        assert!(matches!(
            auth.check(Some("tahoe-lafs s3cret2")),
            Err(AuthError::InvalidToken)
        ));
        assert_eq!(auth.challenge(), "tahoe-lafs realm=\"tahoe-lafs\"");
    }

    #[test]
    fn rereads_the_file_when_it_changes() {
        let (_dir, path) = token_file("first");
        let auth = ApiToken::from_file(&path, "tahoe-lafs", "tahoe-lafs");
        assert!(auth.check(Some("tahoe-lafs first")).is_ok());
        // A different length changes the stamp even where mtime granularity is coarse.
        fs::write(&path, "second-token").unwrap();
        assert!(matches!(
            auth.check(Some("tahoe-lafs first")),
            Err(AuthError::InvalidToken)
        ));
        assert!(auth.check(Some("tahoe-lafs second-token")).is_ok());
    }

    #[test]
    fn a_rewrite_seen_half_done_keeps_the_last_good_token() {
        let (_dir, path) = token_file("first");
        let auth = ApiToken::from_file(&path, "tahoe-lafs", "tahoe-lafs");
        // Truncated, then missing: the old token still works, a wrong one still does not.
        fs::write(&path, "").unwrap();
        assert!(auth.check(Some("tahoe-lafs first")).is_ok());
        fs::remove_file(&path).unwrap();
        assert!(auth.check(Some("tahoe-lafs first")).is_ok());
        assert!(matches!(
            auth.check(Some("tahoe-lafs other")),
            Err(AuthError::InvalidToken)
        ));
        assert!(auth.has_token().is_ok());
        // The new token, once written, replaces it.
        fs::write(&path, "second\n").unwrap();
        assert!(auth.check(Some("tahoe-lafs second")).is_ok());
        assert!(matches!(
            auth.check(Some("tahoe-lafs first")),
            Err(AuthError::InvalidToken)
        ));
    }

    #[test]
    fn without_any_token_yet_requests_are_refused_until_one_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("api_auth_token");
        let auth = ApiToken::from_file(&path, "x", "x");
        assert!(matches!(
            auth.check(Some("x anything")),
            Err(AuthError::NoToken(_))
        ));
        assert!(auth.has_token().is_err());
        fs::write(&path, "  \n").unwrap();
        assert!(matches!(
            auth.check(Some("x anything")),
            Err(AuthError::NoToken(_))
        ));
        fs::write(&path, "late\n").unwrap();
        assert!(auth.check(Some("x late")).is_ok());
        assert!(auth.has_token().is_ok());
    }
}
