//! What a tus request says in its headers: the protocol version, the
//! creation metadata, the content type of a PATCH and its checksum.

use super::*;

pub(super) fn protocol(status: u16, code: &str, message: impl Into<String>) -> AppError {
    AppError::Protocol {
        status,
        body: ErrorBody::new(code, message),
    }
}

pub(super) fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
}

pub(super) fn check_version(headers: &HeaderMap) -> Result<(), AppError> {
    match header_str(headers, "tus-resumable") {
        Some(TUS_VERSION) => Ok(()),
        other => Err(AppError::Protocol {
            status: 412,
            body: ErrorBody::new(
                "upload.unsupported_version",
                format!(
                    "this server speaks tus {TUS_VERSION}; the request said {}",
                    other.unwrap_or("nothing (Tus-Resumable header missing)")
                ),
            ),
        }),
    }
}

pub(super) fn http_date(ms: i64) -> String {
    httpdate::fmt_http_date(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64),
    )
}

/// `Upload-Metadata`: comma-separated `key base64value` pairs (value optional).
/// Largest `Upload-Metadata` header kept: a photo ID and a file name with
/// room to spare. The metadata is stored and echoed in every HEAD answer.
pub const MAX_METADATA_BYTES: usize = 2048;

/// Most keys in `Upload-Metadata` (photo_id, filename, filetype, name, …).
pub const MAX_METADATA_KEYS: usize = 16;

pub(super) fn parse_metadata(raw: &str) -> Result<Vec<(String, String)>, AppError> {
    if raw.len() > MAX_METADATA_BYTES {
        return Err(AppError::TooLarge {
            what: "Upload-Metadata header (bytes)",
            limit: MAX_METADATA_BYTES,
        });
    }
    let pairs: Vec<&str> = raw
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if pairs.len() > MAX_METADATA_KEYS {
        return Err(AppError::TooLarge {
            what: "Upload-Metadata keys",
            limit: MAX_METADATA_KEYS,
        });
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in pairs {
        let mut parts = pair.splitn(2, ' ');
        let key = parts.next().unwrap_or_default().to_string();
        // tus 1.0 allows any bytes in a value (clients send MD5s, file
        // names in legacy encodings): only the keys read here must be text,
        // and they are checked where they are read.
        let value = match parts.next() {
            Some(v) => base64::engine::general_purpose::STANDARD
                .decode(v.trim())
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .map_err(|_| {
                    AppError::BadRequest(format!(
                        "Upload-Metadata: the value of \"{key}\" is not base64"
                    ))
                })?,
            None => String::new(),
        };
        if key.is_empty() || key.contains(' ') {
            return Err(AppError::BadRequest(
                "Upload-Metadata: a key is empty".into(),
            ));
        }
        if out.iter().any(|(k, _)| *k == key) {
            return Err(AppError::BadRequest(format!(
                "Upload-Metadata: the key \"{key}\" appears twice"
            )));
        }
        out.push((key, value));
    }
    Ok(out)
}

pub(super) fn check_content_type(headers: &HeaderMap) -> Result<(), AppError> {
    let ct = header_str(headers, "content-type").unwrap_or_default();
    // Media types are case-insensitive (RFC 9110, 8.3.1).
    let media = ct.split(';').next().map(str::trim).unwrap_or_default();
    if !media.eq_ignore_ascii_case(OFFSET_OCTET_STREAM) {
        return Err(protocol(
            415,
            "upload.content_type",
            format!(
                "upload bytes must be sent as {OFFSET_OCTET_STREAM}, not {}",
                if ct.is_empty() { "nothing" } else { ct }
            ),
        ));
    }
    Ok(())
}

pub(super) enum Checksum {
    Sha1(sha1::Sha1, Vec<u8>),
    Sha256(sha2::Sha256, Vec<u8>),
}

impl Checksum {
    pub(super) fn parse(headers: &HeaderMap) -> Result<Option<Checksum>, AppError> {
        let Some(raw) = header_str(headers, "upload-checksum") else {
            return Ok(None);
        };
        let (algorithm, value) = raw.split_once(' ').unwrap_or((raw, ""));
        let expected = base64::engine::general_purpose::STANDARD
            .decode(value.trim())
            .map_err(|_| AppError::BadRequest("Upload-Checksum: the value is not base64".into()))?;
        let (checksum, bytes) = match algorithm {
            "sha1" => (Checksum::Sha1(sha1::Sha1::new(), expected), 20),
            "sha256" => (Checksum::Sha256(sha2::Sha256::new(), expected), 32),
            other => {
                return Err(AppError::BadRequest(format!(
                "Upload-Checksum: algorithm \"{other}\" is not supported; use one of {CHECKSUM_ALGORITHMS}"
            )))
            }
        };
        // A value of the wrong length is a malformed header (400), not a
        // mismatch of the bytes (460), which would make a client resend them.
        let sent = match &checksum {
            Checksum::Sha1(_, v) | Checksum::Sha256(_, v) => v.len(),
        };
        if sent != bytes {
            return Err(AppError::BadRequest(format!(
                "Upload-Checksum: a {algorithm} value is {bytes} bytes in base64; this one is {sent}"
            )));
        }
        Ok(Some(checksum))
    }

    pub(super) fn update(&mut self, bytes: &[u8]) {
        match self {
            Checksum::Sha1(h, _) => h.update(bytes),
            Checksum::Sha256(h, _) => h.update(bytes),
        }
    }

    pub(super) fn matches(self) -> bool {
        match self {
            Checksum::Sha1(h, want) => h.finalize().as_slice() == want.as_slice(),
            Checksum::Sha256(h, want) => h.finalize().as_slice() == want.as_slice(),
        }
    }
}
