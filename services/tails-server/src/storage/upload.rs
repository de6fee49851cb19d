//! Writing an upload: chunks go from the request to a blocking writer that hashes them and
//! writes them to a locked temp file past the page cache ([`super::direct`]), and fsyncs at
//! the end. The chunks are whatever buffers the caller received (`C`).

use std::fs::File;
use std::io;
use std::path::Path;

use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Storage;
use super::direct::DirectWriter;
use super::files::create_temp;
use crate::domain::{TailsHash, TailsHead};

/// Batches in flight between the request and its writer; with [`BATCH`] this bounds the
/// memory of one upload to about `(CHANNEL_DEPTH + 2) * BATCH` and the writer's block.
const CHANNEL_DEPTH: usize = 2;
/// Bytes of payload chunks handed to the writer at once (one wake-up).
const BATCH: usize = 256 * 1024;
/// Bytes written through the page cache (where the file system refuses `O_DIRECT`) between
/// two early `fdatasync`s of an upload in progress. Measured back to back without it:
/// single-upload median latency about 2 ms worse (11.4-12.5 -> 13.8-14.6 ms for 8.4 MB),
/// 16-client throughput and server CPU per upload better only within noise (about 3 % and
/// 0.5-1 ms), so it stays.
pub(super) const WRITEBACK_EVERY: u64 = 1024 * 1024;

/// A complete, fsynced upload not yet published; dropping it deletes the temp file.
#[derive(Debug)]
pub struct Staged {
    pub(super) file: NamedTempFile,
    pub hash: TailsHash,
    pub head: TailsHead,
}

pub(super) enum Message<C> {
    Chunks(Vec<C>),
    Finish,
}

/// An upload being written.
pub struct Upload<C> {
    pub(super) chunks: mpsc::Sender<Message<C>>,
    pub(super) writer: JoinHandle<io::Result<Staged>>,
    pending: Vec<C>,
    pending_len: usize,
}

impl Storage {
    /// Starts writing an upload to a new temp file.
    pub fn begin<C>(&self) -> Upload<C>
    where
        C: AsRef<[u8]> + Send + 'static,
    {
        let (chunks, mut received) = mpsc::channel(CHANNEL_DEPTH);
        let dir = self.tmp.clone();
        let writer = tokio::task::spawn_blocking(move || write_upload(&dir, &mut received));
        Upload {
            chunks,
            writer,
            pending: Vec::new(),
            pending_len: 0,
        }
    }
}

impl<C: AsRef<[u8]>> Upload<C> {
    /// Queues `chunk`; chunks go to the writer in batches of about [`BATCH`] bytes, so the
    /// blocking side wakes once per batch rather than once per network read.
    pub async fn write(&mut self, chunk: C) -> io::Result<()> {
        self.pending_len += chunk.as_ref().len();
        self.pending.push(chunk);
        if self.pending_len >= BATCH {
            self.send_pending().await?;
        }
        Ok(())
    }

    async fn send_pending(&mut self) -> io::Result<()> {
        let batch = std::mem::take(&mut self.pending);
        self.pending_len = 0;
        if self.chunks.send(Message::Chunks(batch)).await.is_err() {
            // The writer stopped; its result says why.
            return Err(match self.writer_result().await {
                Err(err) => err,
                Ok(_) => io::Error::other("upload writer stopped early"),
            });
        }
        Ok(())
    }

    /// Waits until everything is written and synced.
    pub async fn finish(mut self) -> io::Result<Staged> {
        if !self.pending.is_empty() {
            self.send_pending().await?;
        }
        // A failed send means the writer already stopped; its result says why.
        let _ = self.chunks.send(Message::Finish).await;
        self.writer_result().await
    }

    async fn writer_result(&mut self) -> io::Result<Staged> {
        (&mut self.writer)
            .await
            .map_err(|e| io::Error::other(format!("upload writer failed: {e}")))?
    }
}

/// The blocking side of an upload: hash and write each batch; where the writes go through
/// the page cache, a second thread pushes what is written so far to disk (`fdatasync` every
/// [`WRITEBACK_EVERY`] bytes), so the final `fsync` only waits for the tail. Returns an
/// error (and deletes the temp file) when the request side goes away without `Finish`.
fn write_upload<C: AsRef<[u8]>>(
    dir: &Path,
    received: &mut mpsc::Receiver<Message<C>>,
) -> io::Result<Staged> {
    let temp = create_temp(dir)?;
    let syncing = temp.as_file().try_clone()?;
    let (kick, kicks) = std::sync::mpsc::channel::<()>();
    let (hash, head) = std::thread::scope(|scope| {
        let syncer = scope.spawn(move || write_back(&syncing, &kicks));
        let written = hash_and_write(temp.as_file(), received, &kick);
        drop(kick);
        // An error seen by the syncer is not reported again to our `fsync` (Linux reports a
        // writeback error once per open file description), so it counts as the upload's.
        let synced = syncer
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("writeback thread panicked")));
        let written = written?;
        synced?;
        Ok::<_, io::Error>(written)
    })?;
    temp.as_file().sync_all()?;
    Ok(Staged {
        file: temp,
        hash,
        head,
    })
}

fn hash_and_write<C: AsRef<[u8]>>(
    file: &File,
    received: &mut mpsc::Receiver<Message<C>>,
    kick: &std::sync::mpsc::Sender<()>,
) -> io::Result<(TailsHash, TailsHead)> {
    let mut hasher = Sha256::new();
    let mut first = Vec::with_capacity(2);
    let mut size: u64 = 0;
    let mut unsynced: u64 = 0;
    let mut writer = DirectWriter::new(file)?;
    loop {
        match received.blocking_recv() {
            Some(Message::Chunks(batch)) => {
                for chunk in &batch {
                    let chunk = chunk.as_ref();
                    hasher.update(chunk);
                    if first.len() < 2 {
                        let wanted = (2 - first.len()).min(chunk.len());
                        first.extend_from_slice(chunk.get(..wanted).unwrap_or_default());
                    }
                    writer.write(chunk)?;
                    size += chunk.len() as u64;
                    if !writer.is_direct() {
                        unsynced += chunk.len() as u64;
                    }
                }
                if unsynced >= WRITEBACK_EVERY {
                    unsynced = 0;
                    // The syncer only stops early on an error, which `write_upload` reports.
                    let _ = kick.send(());
                }
            }
            Some(Message::Finish) => {
                writer.finish()?;
                break;
            }
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::Interrupted,
                    "upload abandoned",
                ));
            }
        }
    }
    let mut head = [0u8; 2];
    for (slot, byte) in head.iter_mut().zip(&first) {
        *slot = *byte;
    }
    Ok((
        TailsHash::from_digest(hasher.finalize()),
        TailsHead { first: head, size },
    ))
}

/// `fdatasync` once per kick (kicks that queued up meanwhile count once) until the writer
/// hangs up.
fn write_back(file: &File, kicks: &std::sync::mpsc::Receiver<()>) -> io::Result<()> {
    while kicks.recv().is_ok() {
        while kicks.try_recv().is_ok() {}
        file.sync_data()?;
    }
    Ok(())
}
