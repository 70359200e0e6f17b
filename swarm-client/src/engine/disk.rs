//! The disk threads: verified pieces are written to storage by dedicated threads, so hashing
//! threads never wait on the file system. Buffered writes go one at a time (concurrent writes
//! to one file only spin on its lock in the kernel); direct (page-cache-bypassing) writes each
//! wait for the device, so a few are kept in flight.

use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, mpsc};

use crate::piece_buf::PieceBuf;
use crate::storage::{Storage, StorageError};

/// Writes in flight at once with direct I/O.
const DIRECT_WRITES_IN_FLIGHT: usize = 4;

/// What to do once a piece is written (or failed to be): gets the result and the buffer back.
pub(crate) type Written = Box<dyn FnOnce(Result<(), StorageError>, PieceBuf) + Send>;

struct WriteJob {
    index: u32,
    data: PieceBuf,
    done: Written,
}

/// Handle to the disk threads; they end when the handle is dropped and the queue is done.
pub(crate) struct DiskWriter {
    jobs: mpsc::Sender<WriteJob>,
    root: PathBuf,
}

impl DiskWriter {
    /// Starts the threads writing into `storage`.
    pub fn start(storage: Arc<Storage>) -> std::io::Result<Self> {
        let (jobs, queue) = mpsc::channel::<WriteJob>();
        let queue = Arc::new(Mutex::new(queue));
        let threads = if storage.uses_direct_writes() {
            DIRECT_WRITES_IN_FLIGHT
        } else {
            1
        };
        for n in 0..threads {
            let storage = storage.clone();
            let queue = queue.clone();
            std::thread::Builder::new()
                .name(format!("swarm-disk-{n}"))
                .spawn(move || write_until_closed(&storage, &queue))?;
        }
        let root = storage.root().to_path_buf();
        Ok(Self { jobs, root })
    }

    /// Queues piece `index` for writing; `done` runs on a disk thread afterwards.
    pub fn write(&self, index: u32, data: PieceBuf, done: Written) {
        if let Err(mpsc::SendError(job)) = self.jobs.send(WriteJob { index, data, done }) {
            // The threads are gone (they cannot panic short of a bug): report, do not lose it.
            let error = std::io::Error::other("the disk threads stopped");
            (job.done)(Err(StorageError::from_io(&self.root, error)), job.data);
        }
    }
}

fn write_until_closed(storage: &Storage, queue: &Mutex<mpsc::Receiver<WriteJob>>) {
    loop {
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(job) = next else {
            return;
        };
        let result = storage.write_piece(job.index, &job.data);
        (job.done)(result, job.data);
    }
}
