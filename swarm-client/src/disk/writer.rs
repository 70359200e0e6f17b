//! The disk threads: verified pieces of every torrent are written by a few dedicated threads,
//! so hashing threads never wait on the file system. Direct (page-cache-bypassing) writes each
//! wait for the device, so several are kept in flight; buffered writes into one torrent's
//! files go one at a time (concurrent writes to one file only spin on its lock in the kernel).
//!
//! In [`DiskIo::Auto`] mode a torrent's writes start direct and go back to the page cache for
//! good when its disk falls behind the network (see [`Backlog`]): a fast disk is written
//! without the page-cache copy, a slow one gets the page cache's buffering.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::piece_buf::PieceBuf;
use crate::storage::{Storage, StorageError};

/// Writer threads: enough direct writes in flight to keep a device busy.
const THREADS: usize = 4;
/// How long the write queue must stay long before direct writes are given up.
const BEHIND_FOR: Duration = Duration::from_secs(2);

/// How downloaded data is written (`swarm get --disk-io`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum DiskIo {
    /// Direct writes while the disk keeps up, buffered from the first time it falls behind.
    Auto,
    /// Direct writes wherever the file system takes them.
    Direct,
    /// Always through the page cache (the default).
    // The default because each direct write waits for the device: on a disk that is busy or
    // slow to answer (writeback of other files, a VM's shared disk) that made a 1 GiB
    // download 1.7x and a 64 MiB one 2x slower than buffered writes, which the kernel writes
    // back at its own pace (every other client writes this way).
    #[default]
    Buffered,
}

/// What to do once a piece is written (or failed to be): gets the result and the buffer back.
pub type Written = Box<dyn FnOnce(Result<(), StorageError>, PieceBuf) + Send>;

struct WriteJob {
    target: Arc<Target>,
    index: u32,
    data: PieceBuf,
    done: Written,
}

/// One torrent's storage as the writer threads see it.
struct Target {
    storage: Arc<Storage>,
    /// Pieces queued or being written.
    pending: AtomicUsize,
    /// Held for a buffered write: one at a time per torrent.
    buffered: Mutex<()>,
}

/// The session's writer threads; they end when every handle is dropped and the queue is done.
pub struct DiskThreads {
    jobs: mpsc::Sender<WriteJob>,
}

impl DiskThreads {
    /// Starts the threads.
    pub fn start() -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<WriteJob>();
        let queue = Arc::new(Mutex::new(queue));
        for n in 0..THREADS {
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("swarm-disk-{n}"))
                .spawn(move || write_until_closed(&queue))?;
        }
        Ok(Self { jobs })
    }

    /// A handle that writes pieces into `storage` (directly if it uses direct writes). In
    /// auto mode, `max_queued` is the queue length that counts as falling behind.
    pub fn for_torrent(&self, storage: Arc<Storage>, auto: bool, max_queued: usize) -> TorrentDisk {
        let backlog =
            (auto && storage.uses_direct_writes()).then(|| Mutex::new(Backlog::new(max_queued)));
        TorrentDisk {
            jobs: self.jobs.clone(),
            target: Arc::new(Target {
                storage,
                pending: AtomicUsize::new(0),
                buffered: Mutex::new(()),
            }),
            backlog,
        }
    }
}

/// Writes one torrent's verified pieces through the session's disk threads.
pub struct TorrentDisk {
    jobs: mpsc::Sender<WriteJob>,
    target: Arc<Target>,
    /// In auto mode: watches the queue to stop direct writes when the disk lags.
    backlog: Option<Mutex<Backlog>>,
}

impl TorrentDisk {
    /// Queues piece `index` for writing; `done` runs on a disk thread afterwards.
    pub fn write(&self, index: u32, data: PieceBuf, done: Written) {
        let queued = self.target.pending.fetch_add(1, Ordering::Relaxed) + 1;
        self.watch_backlog(queued);
        let job = WriteJob {
            target: self.target.clone(),
            index,
            data,
            done,
        };
        if let Err(mpsc::SendError(job)) = self.jobs.send(job) {
            // The threads are gone (they cannot panic short of a bug): report, do not lose it.
            self.target.pending.fetch_sub(1, Ordering::Relaxed);
            let error = std::io::Error::other("the disk threads stopped");
            let storage = &self.target.storage;
            (job.done)(Err(StorageError::from_io(storage.root(), error)), job.data);
        }
    }

    fn watch_backlog(&self, queued: usize) {
        let Some(backlog) = &self.backlog else {
            return;
        };
        let storage = &self.target.storage;
        if !storage.uses_direct_writes() {
            return;
        }
        if backlog.lock().observe(queued, Instant::now()) {
            tracing::info!(queued, "the disk is behind: writing through the page cache");
            storage.stop_direct_writes("the disk fell behind the download");
        }
    }
}

/// Tells when direct writes fall behind: more than `limit` pieces waiting for the disk,
/// continuously for [`BEHIND_FOR`] (a short burst is no reason to give up direct writes).
#[derive(Debug)]
struct Backlog {
    limit: usize,
    long_since: Option<Instant>,
}

impl Backlog {
    fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            long_since: None,
        }
    }

    /// Notes the queue length now; true once it has been too long for too long.
    fn observe(&mut self, queued: usize, now: Instant) -> bool {
        if queued <= self.limit {
            self.long_since = None;
            return false;
        }
        let since = *self.long_since.get_or_insert(now);
        now.saturating_duration_since(since) >= BEHIND_FOR
    }
}

fn write_until_closed(queue: &Mutex<mpsc::Receiver<WriteJob>>) {
    loop {
        let next = queue.lock().recv();
        let Ok(job) = next else {
            return;
        };
        let target = &job.target;
        let result = if target.storage.uses_direct_writes() {
            target.storage.write_piece(job.index, &job.data)
        } else {
            let _one_at_a_time = target.buffered.lock();
            target.storage.write_piece(job.index, &job.data)
        };
        target.pending.fetch_sub(1, Ordering::Relaxed);
        (job.done)(result, job.data);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::piece_buf::ALIGN;
    use crate::storage::test_support::{payload, single_file_info};

    const PIECE: usize = 16 * ALIGN;

    /// A writer (with direct writes) into a fresh file of 32 pieces, and their data.
    fn direct_writer(auto: bool) -> (tempfile::TempDir, Arc<Storage>, TorrentDisk, Vec<u8>) {
        let dir = tempfile::tempdir().unwrap();
        let data = payload(32 * PIECE, 7);
        let info = single_file_info("f", PIECE as u64, &data);
        let mut storage = Storage::open(dir.path(), &info).unwrap();
        storage.use_direct_writes();
        let storage = Arc::new(storage);
        let writer = DiskThreads::start()
            .unwrap()
            .for_torrent(storage.clone(), auto, 4);
        (dir, storage, writer, data)
    }

    /// Queues every piece, one every BEHIND_FOR / 16; each job's callback waits until the
    /// sender of `gate` is dropped, so the disk threads are held up and the queue grows.
    fn queue_all(writer: &TorrentDisk, data: &[u8], gate: &Arc<Mutex<mpsc::Receiver<()>>>) {
        for (i, chunk) in data.chunks(PIECE).enumerate() {
            let mut buf = PieceBuf::with_capacity(PIECE);
            buf.set_len(PIECE);
            buf.copy_from_slice(chunk);
            let gate = gate.clone();
            writer.write(
                i as u32,
                buf,
                Box::new(move |result, _| {
                    result.unwrap();
                    let _ = gate.lock().recv();
                }),
            );
            std::thread::sleep(BEHIND_FOR / 16);
        }
    }

    #[test]
    fn auto_mode_leaves_direct_writes_when_the_queue_stays_long() {
        let (_dir, storage, writer, data) = direct_writer(true);
        if !storage.uses_direct_writes() {
            return; // this file system takes no direct I/O: nothing to switch
        }
        let (tx, rx) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(rx));
        queue_all(&writer, &data, &gate);
        assert!(!storage.uses_direct_writes(), "32 pieces queued over 2 s");
        drop(tx);
        drop(writer);
    }

    #[test]
    fn direct_mode_keeps_direct_writes_however_long_the_queue() {
        let (_dir, storage, writer, data) = direct_writer(false);
        let direct_before = storage.uses_direct_writes();
        let (tx, rx) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(rx));
        queue_all(&writer, &data, &gate);
        assert_eq!(storage.uses_direct_writes(), direct_before);
        drop(tx);
        drop(writer);
    }

    #[test]
    fn a_long_queue_must_last_before_it_counts() {
        let mut b = Backlog::new(8);
        let t0 = Instant::now();
        assert!(!b.observe(20, t0));
        assert!(!b.observe(20, t0 + BEHIND_FOR / 2));
        assert!(
            b.observe(9, t0 + BEHIND_FOR),
            "long for the whole grace time"
        );
    }

    #[test]
    fn a_short_queue_resets_the_clock() {
        let mut b = Backlog::new(8);
        let t0 = Instant::now();
        assert!(!b.observe(20, t0));
        assert!(
            !b.observe(8, t0 + BEHIND_FOR / 2),
            "at the limit is not behind"
        );
        assert!(!b.observe(20, t0 + BEHIND_FOR));
        assert!(!b.observe(20, t0 + BEHIND_FOR * 3 / 2));
        assert!(b.observe(20, t0 + BEHIND_FOR * 2));
    }
}
