//! API-token auth: `Authorization: <scheme> <token>` compared in constant time with a token
//! kept in a file. The file is re-read whenever its metadata changes, so rotating the token
//! needs no restart (Tahoe-LAFS rewrites `private/api_auth_token` in place).

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
    #[error("cannot read the API token file {path}: {source}")]
    TokenFile {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the API token file {0} is empty")]
    EmptyTokenFile(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    modified: Option<SystemTime>,
    len: u64,
}

#[derive(Debug)]
struct Cached {
    stamp: FileStamp,
    token: Vec<u8>,
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
    /// Reads the token file once, so a missing or empty file is a start-up error.
    pub fn from_file(path: &Path, scheme: &str, realm: &str) -> Result<Self, AuthError> {
        let (stamp, token) = read_token(path)?;
        Ok(Self {
            path: path.to_owned(),
            scheme: scheme.to_owned(),
            realm: realm.to_owned(),
            cached: Arc::new(Mutex::new(Cached { stamp, token })),
        })
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
        let stamp = stamp_of(&self.path)?;
        if stamp != cached.stamp {
            let (stamp, token) = read_token(&self.path)?;
            log::info!("API token file {} changed; reloaded", self.path.display());
            *cached = Cached { stamp, token };
        }
        Ok(cached.token.clone())
    }
}

fn stamp_of(path: &Path) -> Result<FileStamp, AuthError> {
    let meta = fs::metadata(path).map_err(|source| AuthError::TokenFile {
        path: path.to_owned(),
        source,
    })?;
    Ok(FileStamp {
        modified: meta.modified().ok(),
        len: meta.len(),
    })
}

fn read_token(path: &Path) -> Result<(FileStamp, Vec<u8>), AuthError> {
    let stamp = stamp_of(path)?;
    let text = fs::read_to_string(path).map_err(|source| AuthError::TokenFile {
        path: path.to_owned(),
        source,
    })?;
    let token = text.trim();
    if token.is_empty() {
        return Err(AuthError::EmptyTokenFile(path.to_owned()));
    }
    Ok((stamp, token.as_bytes().to_vec()))
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
        let auth = ApiToken::from_file(&path, "tahoe-lafs", "tahoe-lafs").unwrap();
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
        let auth = ApiToken::from_file(&path, "tahoe-lafs", "tahoe-lafs").unwrap();
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
    fn missing_or_empty_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            ApiToken::from_file(&dir.path().join("nope"), "x", "x"),
            Err(AuthError::TokenFile { .. })
        ));
        let (_dir, path) = token_file("  \n");
        assert!(matches!(
            ApiToken::from_file(&path, "x", "x"),
            Err(AuthError::EmptyTokenFile(_))
        ));
    }
}
