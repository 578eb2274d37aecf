//! Taking an uploaded file to disk as it arrives: never held in memory whole, refused as soon as
//! it passes the size limit, and never left behind half-written.

use std::path::{Path, PathBuf};

use futures::{Stream, StreamExt};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

/// The default most an upload may hold.
pub const DEFAULT_LIMIT: u64 = 100 * 1024 * 1024;

/// Why an upload was not kept, in words for the person who sent it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UploadError {
    #[error("The file is larger than the limit of {} MB.", limit / (1024 * 1024))]
    TooLarge { limit: u64 },
    #[error("The upload stopped before the end of the file. Nothing was kept: upload it again.")]
    Cut,
    #[error("The file is empty.")]
    Empty,
    #[error("The server could not store the file.")]
    Disk,
}

/// An upload on disk. The file is removed when this is dropped, unless it was kept.
#[derive(Debug)]
pub struct SavedUpload {
    pub path: PathBuf,
    pub size: u64,
    /// SHA-256 of the content, hex: the same file uploaded twice has the same digest.
    pub sha256: String,
    kept: bool,
}

impl SavedUpload {
    /// Leaves the file on disk for whoever takes it over.
    pub fn keep(mut self) -> PathBuf {
        self.kept = true;
        std::mem::take(&mut self.path)
    }
}

impl Drop for SavedUpload {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Removes a half-written file when the upload fails part-way.
struct Partial(Option<PathBuf>);

impl Drop for Partial {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

fn disk_error(err: std::io::Error) -> UploadError {
    tracing::error!(error = %err, "writing an upload to disk failed");
    UploadError::Disk
}

/// Writes `body` to a new file in `dir`, chunk by chunk, hashing it on the way. More than
/// `limit` bytes stop the upload at once ("too large"); a body that fails part-way (the
/// connection dropped, the browser cancelled) is "cut". Either way nothing stays on disk.
pub async fn save<S, B, E>(mut body: S, dir: &Path, limit: u64) -> Result<SavedUpload, UploadError>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
    E: std::fmt::Display,
{
    let path = dir.join(format!("crm-upload-{}.part", uuid_like()));
    let mut partial = Partial(Some(path.clone()));
    let mut file = tokio::fs::File::create(&path).await.map_err(disk_error)?;
    let (mut size, mut hash) = (0u64, Sha256::new());
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|err| {
            tracing::warn!(error = %err, "an upload stopped part-way");
            UploadError::Cut
        })?;
        let bytes = chunk.as_ref();
        size += bytes.len() as u64;
        if size > limit {
            return Err(UploadError::TooLarge { limit });
        }
        hash.update(bytes);
        file.write_all(bytes).await.map_err(disk_error)?;
    }
    file.flush().await.map_err(disk_error)?;
    drop(file);
    if size == 0 {
        return Err(UploadError::Empty);
    }
    partial.0 = None;
    let sha256 = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(SavedUpload { path, size, sha256, kept: false })
}

/// A name no other upload on this machine has: the process, the time and a counter.
fn uuid_like() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("{}-{now}-{n}", std::process::id())
}
