//! A PATCH's bytes written block by block from the upload's offset, each
//! block acknowledged as it lands (or, with a checksum, all at once), and the
//! upload finished when its last byte arrives.

use super::*;

/// Reads and drops a creation's bytes the server has already (at most
/// `length`, then stops): a client still sending its body when the answer
/// comes may take the closed connection for a failure and never read it.
pub(super) async fn discard(mut body: Body, length: i64) {
    let mut read = 0_i64;
    while read <= length {
        match body.frame().await {
            Some(Ok(frame)) => read += frame.data_ref().map_or(0, |d| d.len() as i64),
            _ => return,
        }
    }
}

/// Writes a request's bytes from the upload's offset; returns the new offset.
/// Finishes the upload when the last byte has arrived.
pub(super) async fn receive(
    state: &AppState,
    upload: &Upload,
    headers: &HeaderMap,
    mut body: Body,
) -> Result<i64, AppError> {
    let _active = crate::telemetry::ActiveUpload::start();
    let Some(_writing) = Writing::claim(&upload.id) else {
        return Err(crate::photo_bytes::busy(upload.offset));
    };
    // The offset this request was checked against may have moved between
    // that read and the claim (another request finished writing): writing
    // from it would cut bytes already acknowledged. Read it again, claimed.
    match upload_store::upload(&state.db, &upload.id).await? {
        Some(now) if now.ended_at.is_some() => {
            return Err(protocol(
                404,
                "upload.gone",
                "this upload was ended; create a new one",
            ))
        }
        Some(now) if now.offset != upload.offset => {
            return Err(AppError::Protocol {
                status: 409,
                body: ErrorBody::new(
                    "upload.offset_mismatch",
                    format!(
                        "the upload is at byte {}, not {}: ask HEAD and continue from there",
                        now.offset, upload.offset
                    ),
                )
                .with("offset", now.offset),
            })
        }
        Some(_) => {}
        None => return Err(AppError::NotFound("upload".into())),
    }
    let mut checksum = Checksum::parse(headers)?;
    let start = upload.offset;
    // `written`: on storage; `acked`: in the database (without a checksum the
    // two move together, block by block).
    let (mut written, mut acked) = (start, start);
    let mut pending: Vec<u8> = Vec::with_capacity(BLOCK);
    let mut cut = false;
    loop {
        match body.frame().await {
            Some(Ok(frame)) => {
                let Ok(data) = frame.into_data() else {
                    continue;
                };
                if written + (pending.len() + data.len()) as i64 > upload.length {
                    return Err(AppError::TooLarge {
                        what: "bytes past the declared Upload-Length",
                        limit: upload.length as usize,
                    });
                }
                if let Some(c) = checksum.as_mut() {
                    c.update(&data);
                }
                pending.extend_from_slice(&data);
                if pending.len() >= BLOCK {
                    written =
                        write_block(state, upload, written, std::mem::take(&mut pending)).await?;
                    if checksum.is_none() {
                        acked = advance(state, upload, acked, written).await?;
                    }
                }
            }
            Some(Err(_)) => {
                cut = true;
                break;
            }
            None => break,
        }
    }
    if cut && checksum.is_some() {
        // A checksum covers the whole request: none of a cut request counts.
        return Ok(acked);
    }
    if !pending.is_empty() {
        written = write_block(state, upload, written, pending).await?;
    }
    if let Some(c) = checksum {
        if !c.matches() {
            return Err(AppError::Protocol {
                status: 460,
                body: ErrorBody::new(
                    "upload.checksum_mismatch",
                    "the bytes of this request do not match its Upload-Checksum; send them again",
                )
                .with("offset", acked),
            });
        }
    }
    if written != acked {
        acked = advance(state, upload, acked, written).await?;
    }
    if !cut && acked == upload.length {
        finish_detached(state, upload).await?;
    }
    Ok(acked)
}

pub(super) async fn write_block(
    state: &AppState,
    upload: &Upload,
    at: i64,
    bytes: Vec<u8>,
) -> Result<i64, AppError> {
    let id = upload.id.clone();
    let len = bytes.len() as i64;
    on_storage(state, "storing upload bytes", move |s| {
        s.write_partial(&id, at as u64, &bytes)
    })
    .await?;
    crate::telemetry::upload_bytes(len as usize);
    Ok(at + len)
}

pub(super) async fn advance(
    state: &AppState,
    upload: &Upload,
    from: i64,
    to: i64,
) -> Result<i64, AppError> {
    if upload_store::advance(&state.db, &upload.id, from, to).await? {
        Ok(to)
    } else if upload_store::upload(&state.db, &upload.id)
        .await?
        .is_none_or(|u| u.ended_at.is_some())
    {
        // Terminated (or expired) while this request was writing: the block
        // it wrote re-made the partial file the termination removed.
        drop_partial(state, &upload.id).await;
        Err(protocol(
            404,
            "upload.gone",
            "this upload was ended while the request was sending; create a new one",
        ))
    } else {
        Err(protocol(
            409,
            "upload.offset_mismatch",
            "another request moved this upload; ask HEAD",
        ))
    }
}

/// Removes an ended upload's partial bytes. The request's answer does not
/// depend on it, so a failure is only logged.
pub(super) async fn drop_partial(state: &AppState, id: &str) {
    let key = id.to_string();
    if let Err(e) = on_storage(state, "dropping an ended upload's bytes", move |s| {
        s.delete_partial(&key)
    })
    .await
    {
        tracing::warn!(upload = id, error = %e, "partial bytes of an ended upload stay on disk");
    }
}
