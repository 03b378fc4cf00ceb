//! Photos in S3-compatible object storage (`--photo-store s3://bucket/prefix`),
//! for several processes that share no disk.
//!
//! Layout under the prefix: `photos/<key>` for finished objects (originals,
//! display copies and thumbnails, all named by content hash, so each is
//! written once whoever writes it), `uploads/<id>/<offset>` for the parts of a
//! tus upload, and `store-id` for the store's identity marker.
//!
//! Partial uploads. tusd's S3 store writes a PATCH's bytes as multipart parts
//! of at least 5 MiB (S3's minimum for every part but the last) and keeps a
//! shorter tail as a separate object until more bytes come. khaosat
//! acknowledges an upload block by block (256 KiB, `api::uploads::BLOCK`), and
//! any process may receive the next PATCH, so the state must be in the bucket
//! after every block. Each acknowledged block is its own object named by its
//! offset; a write at offset `n` first removes blocks at or past `n` (bytes an
//! interrupted request wrote but never acknowledged) and cuts one straddling
//! `n`. When the last byte is in, the blocks are streamed in order into one
//! multipart upload of 5 MiB parts (once the caller has checked the
//! photo's SHA-256 on them) and deleted. No block is ever held whole in memory
//! beyond its 256 KiB, and nothing depends on which process wrote which block.
//!
//! The trait is synchronous (callers run it on blocking threads); the object
//! store client is async, so each call runs on this store's own small runtime
//! and the calling thread waits for it. Reads stream through a bounded channel.
//!
//! One file (about 495 lines): one implementation of `PhotoStorage`, with the
//! runtime bridge and the streaming reader only it uses; the design above
//! reads best next to the code it describes.

use super::storage::PhotoStorage;
use bytes::Bytes;
use futures::StreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use std::future::Future;
use std::io::{self, Read};
use std::sync::Arc;

/// Parts of the final object: S3's minimum part size.
const PART: usize = 5 * 1024 * 1024;
/// Blocks a streaming read holds ahead of its reader.
const READ_AHEAD: usize = 4;

/// Where an `s3://bucket/prefix` store is, and how to reach it. Endpoint,
/// region and credentials come from the usual `AWS_*` variables
/// (`AWS_ENDPOINT_URL`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
/// `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP` for a plain-HTTP endpoint).
#[derive(Debug, Clone)]
pub struct S3Location {
    pub bucket: String,
    pub prefix: String,
}

impl S3Location {
    pub fn parse(url: &str) -> Result<S3Location, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{url:?} is not an s3://bucket/prefix location"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(format!("{url:?} names no bucket: write s3://bucket/prefix"));
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            prefix: prefix.trim_matches('/').to_string(),
        })
    }
}

/// The store's runtime, stopped without waiting when the store goes (it may
/// be dropped inside another runtime, where a blocking shutdown panics).
struct OwnRuntime(Option<tokio::runtime::Runtime>);

impl Drop for OwnRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

pub struct S3Store {
    store: Arc<AmazonS3>,
    location: S3Location,
    endpoint: String,
    rt: Arc<OwnRuntime>,
}

impl S3Store {
    /// Connects with the `AWS_*` settings of the environment; the bucket must
    /// exist (checked by the first call, at start-up's identity check).
    pub fn from_env(location: S3Location) -> io::Result<S3Store> {
        let builder = AmazonS3Builder::from_env().with_bucket_name(&location.bucket);
        S3Store::build(location, builder)
    }

    /// Connects to `endpoint` with static credentials (tests, and operators
    /// who prefer flags).
    pub fn with_credentials(
        location: S3Location,
        endpoint: &str,
        region: &str,
        key: &str,
        secret: &str,
    ) -> io::Result<S3Store> {
        let builder = AmazonS3Builder::new()
            .with_bucket_name(&location.bucket)
            .with_endpoint(endpoint)
            .with_allow_http(endpoint.starts_with("http://"))
            .with_region(region)
            .with_access_key_id(key)
            .with_secret_access_key(secret);
        S3Store::build(location, builder)
    }

    fn build(location: S3Location, builder: AmazonS3Builder) -> io::Result<S3Store> {
        // HTTPS to the endpoint goes through rustls with ring, the provider the
        // server's own TLS uses (installed once per process; a second call is
        // a no-op).
        let _ = rustls::crypto::ring::default_provider().install_default();
        let endpoint = builder
            .get_config_value(&object_store::aws::AmazonS3ConfigKey::Endpoint)
            .unwrap_or_else(|| "AWS".to_string());
        let store = builder.build().map_err(io::Error::other)?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("khaosat-s3")
            .enable_all()
            .build()?;
        Ok(S3Store {
            store: Arc::new(store),
            location,
            endpoint,
            rt: Arc::new(OwnRuntime(Some(rt))),
        })
    }

    /// Runs `work` on the store's runtime and waits for it.
    fn run<T: Send + 'static>(&self, work: impl Future<Output = T> + Send + 'static) -> T {
        let (tell, answer) = std::sync::mpsc::sync_channel(1);
        self.runtime().spawn(async move {
            let _ = tell.send(work.await);
        });
        answer
            .recv()
            .expect("the storage runtime runs while the store lives")
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.rt.0.as_ref().expect("taken only on drop")
    }

    fn path(&self, rest: &str) -> StorePath {
        if self.location.prefix.is_empty() {
            StorePath::from(rest)
        } else {
            StorePath::from(format!("{}/{rest}", self.location.prefix))
        }
    }

    fn object(&self, key: &str) -> io::Result<StorePath> {
        // The same rule as on disk: content-hash names with one folder level.
        let ok = !key.is_empty()
            && key.split('/').count() <= 2
            && key.split('/').all(|p| {
                !p.is_empty()
                    && p != "."
                    && p != ".."
                    && p.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
            });
        if !ok {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not a photo key: {key:?}"),
            ));
        }
        Ok(self.path(&format!("photos/{key}")))
    }

    fn upload_dir(&self, upload_id: &str) -> io::Result<StorePath> {
        if upload_id.is_empty()
            || !upload_id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("not an upload id: {upload_id:?}"),
            ));
        }
        Ok(self.path(&format!("uploads/{upload_id}")))
    }

    /// The blocks of an upload, in offset order, with their sizes.
    fn blocks(&self, upload_id: &str) -> io::Result<Vec<(u64, u64, StorePath)>> {
        let dir = self.upload_dir(upload_id)?;
        let store = self.store.clone();
        let metas = self.run(async move {
            store
                .list(Some(&dir))
                .collect::<Vec<_>>()
                .await
                .into_iter()
                .collect::<Result<Vec<_>, _>>()
        });
        let mut blocks: Vec<(u64, u64, StorePath)> = metas
            .map_err(to_io)?
            .into_iter()
            .filter_map(|m| {
                let offset = m.location.filename()?.parse().ok()?;
                Some((offset, m.size, m.location))
            })
            .collect();
        blocks.sort_by_key(|b| b.0);
        Ok(blocks)
    }

    fn exists_at(&self, path: StorePath) -> io::Result<bool> {
        let store = self.store.clone();
        match self.run(async move { store.head(&path).await }) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(to_io(e)),
        }
    }

    /// Streams the given objects, one after another, into a reader.
    fn stream(&self, paths: Vec<StorePath>) -> Box<dyn Read + Send> {
        let (tell, chunks) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(READ_AHEAD);
        let store = self.store.clone();
        self.runtime().spawn(async move {
            for path in paths {
                let mut body = match store.get(&path).await {
                    Ok(got) => got.into_stream(),
                    Err(e) => {
                        let _ = tell.send(Err(to_io(e))).await;
                        return;
                    }
                };
                while let Some(chunk) = body.next().await {
                    let failed = chunk.is_err();
                    if tell.send(chunk.map_err(to_io)).await.is_err() || failed {
                        return;
                    }
                }
            }
        });
        Box::new(ChannelReader {
            chunks,
            current: Bytes::new(),
        })
    }
}

/// The reading end of `stream`: blocks on the channel (callers are on
/// blocking threads, as for every storage call).
struct ChannelReader {
    chunks: tokio::sync::mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => self.current = chunk?,
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

fn to_io(e: object_store::Error) -> io::Error {
    match e {
        object_store::Error::NotFound { .. } => io::Error::new(io::ErrorKind::NotFound, e),
        other => io::Error::other(other),
    }
}

impl PhotoStorage for S3Store {
    fn write_partial(&self, upload_id: &str, offset: u64, bytes: &[u8]) -> io::Result<()> {
        let dir = self.upload_dir(upload_id)?;
        let stale = self.blocks(upload_id)?;
        let store = self.store.clone();
        let block = dir.clone().join(format!("{offset:020}"));
        let payload = PutPayload::from(Bytes::copy_from_slice(bytes));
        self.run(async move {
            for (start, size, path) in stale {
                if start >= offset {
                    store.delete(&path).await?;
                } else if start + size > offset {
                    // Written past what the database acknowledged: cut it there.
                    let kept = store
                        .get(&path)
                        .await?
                        .bytes()
                        .await?
                        .slice(..(offset - start) as usize);
                    store.put(&path, kept.into()).await?;
                }
            }
            // A PUT is durable once answered: S3 acknowledges stored bytes.
            store.put(&block, payload).await.map(drop)
        })
        .map_err(to_io)
    }

    fn read_partial(&self, upload_id: &str) -> io::Result<Box<dyn Read + Send>> {
        let blocks = self.blocks(upload_id)?;
        // As on disk: no partial left is NotFound, which is how a restarted
        // finish knows an earlier one moved the bytes into storage already.
        if blocks.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("upload {upload_id} holds no bytes here"),
            ));
        }
        // Blocks are deleted from the first on: a store left without its
        // first block is a cleanup cut short after a promotion (or a restart
        // from byte 0), not bytes to hash. NotFound lets the finish find the
        // stored original instead of failing on the gap until the upload expires.
        if blocks[0].0 != 0 {
            return Err(io::Error::new(
                io::ErrorKind::NotFound,
                format!("upload {upload_id} holds no bytes from its start here"),
            ));
        }
        let mut expected = 0;
        for (start, size, _) in &blocks {
            if *start != expected {
                return Err(io::Error::other(format!(
                    "upload {upload_id} has a gap at byte {expected}"
                )));
            }
            expected += size;
        }
        Ok(self.stream(blocks.into_iter().map(|b| b.2).collect()))
    }

    fn delete_partial(&self, upload_id: &str) -> io::Result<()> {
        let blocks = self.blocks(upload_id)?;
        let store = self.store.clone();
        self.run(async move {
            for (_, _, path) in blocks {
                match store.delete(&path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            Ok(())
        })
        .map_err(to_io)
    }

    fn promote_partial(&self, upload_id: &str, key: &str) -> io::Result<()> {
        let to = self.object(key)?;
        if self.exists_at(to.clone())? {
            return self.delete_partial(upload_id);
        }
        let blocks = self.blocks(upload_id)?;
        let store = self.store.clone();
        self.run(async move {
            let upload = store.put_multipart(&to).await?;
            let mut writer = WriteMultipart::new_with_chunk_size(upload, PART);
            for (_, _, path) in &blocks {
                let mut body = store.get(path).await?.into_stream();
                while let Some(chunk) = body.next().await {
                    writer.wait_for_capacity(2).await?;
                    writer.put(chunk?);
                }
            }
            writer.finish().await?;
            Ok::<_, object_store::Error>(())
        })
        .map_err(to_io)?;
        self.delete_partial(upload_id)
    }

    fn put(&self, key: &str, bytes: &[u8]) -> io::Result<()> {
        let to = self.object(key)?;
        if self.exists_at(to.clone())? {
            return Ok(());
        }
        let store = self.store.clone();
        let payload = PutPayload::from(Bytes::copy_from_slice(bytes));
        self.run(async move { store.put(&to, payload).await.map(drop) })
            .map_err(to_io)
    }

    fn get(&self, key: &str) -> io::Result<Vec<u8>> {
        let path = self.object(key)?;
        let store = self.store.clone();
        self.run(async move { store.get(&path).await?.bytes().await })
            .map(|b| b.to_vec())
            .map_err(to_io)
    }

    fn open(&self, key: &str) -> io::Result<(u64, Box<dyn Read + Send>)> {
        let path = self.object(key)?;
        let store = self.store.clone();
        let head = path.clone();
        let meta = self
            .run(async move { store.head(&head).await })
            .map_err(to_io)?;
        Ok((meta.size, self.stream(vec![path])))
    }

    fn exists(&self, key: &str) -> io::Result<bool> {
        self.exists_at(self.object(key)?)
    }

    fn list(&self) -> io::Result<Vec<String>> {
        let root = self.path("photos");
        let store = self.store.clone();
        let metas = self
            .run(async move {
                store
                    .list(Some(&root))
                    .collect::<Vec<_>>()
                    .await
                    .into_iter()
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(to_io)?;
        let root = self.path("photos");
        let mut keys: Vec<String> = metas
            .into_iter()
            .filter_map(|m| {
                m.location.prefix_match(&root).map(|parts| {
                    parts
                        .map(|p| p.as_ref().to_string())
                        .collect::<Vec<_>>()
                        .join("/")
                })
            })
            .collect();
        keys.sort();
        Ok(keys)
    }

    fn identity(&self) -> io::Result<Option<String>> {
        let path = self.path(IDENTITY);
        let store = self.store.clone();
        match self.run(async move { store.get(&path).await?.bytes().await }) {
            Ok(bytes) => {
                Ok(Some(String::from_utf8_lossy(&bytes).trim().to_string())
                    .filter(|t| !t.is_empty()))
            }
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(to_io(e)),
        }
    }

    fn set_identity(&self, id: &str) -> io::Result<()> {
        let path = self.path(IDENTITY);
        let store = self.store.clone();
        let payload = PutPayload::from(Bytes::from(format!("{id}\n")));
        self.run(async move { store.put(&path, payload).await.map(drop) })
            .map_err(to_io)
    }

    fn describe(&self) -> String {
        let prefix = if self.location.prefix.is_empty() {
            String::new()
        } else {
            format!("/{}", self.location.prefix)
        };
        format!("s3://{}{prefix} at {}", self.location.bucket, self.endpoint)
    }
}

/// The marker object at the top of the prefix.
const IDENTITY: &str = "store-id";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_read_bucket_and_prefix() {
        let l = S3Location::parse("s3://photos/khaosat/bac-ninh/").unwrap();
        assert_eq!(
            (l.bucket.as_str(), l.prefix.as_str()),
            ("photos", "khaosat/bac-ninh")
        );
        let l = S3Location::parse("s3://photos").unwrap();
        assert_eq!((l.bucket.as_str(), l.prefix.as_str()), ("photos", ""));
        assert!(S3Location::parse("s3:///x").is_err());
        assert!(S3Location::parse("/srv/photos").is_err());
    }
}
