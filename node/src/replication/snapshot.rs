//! Snapshots: the chain itself, kept in files (spec §20.4).
//!
//! A snapshot is every committed block, in order:
//!
//! ```text
//! snapshot = "CSNAP1" ‖ chain ID (32) ‖ count (u64 BE) ‖ (length (u32 BE) ‖ block)*
//! ```
//!
//! No snapshot is ever held whole in memory, on either side: the chain
//! grows without bound while memory does not. A node writes its snapshot
//! block by block from its store into a file under `<data_dir>/snapshots`;
//! openraft sends it in chunks read from that file; the receiver writes the
//! chunks into a new file in the same directory and installs from it block
//! by block. Installing reads the file twice: first its framing alone
//! (every length bounded, the count bounded by the file's size, nothing
//! after the last block), so a snapshot with bad framing changes nothing;
//! then the blocks, one at a time (a block that fails stops the install
//! there, keeping the valid blocks before it). Memory in use is one block,
//! whatever the chain's length. The installed file is then kept, renamed,
//! as the node's current snapshot; a refused one is removed, and so is a
//! file whose transfer openraft abandoned for a new one.
//!
//! A node keeps one snapshot file, the current one (files it replaces are
//! removed; a send still reading one keeps its open handle). Snapshots do
//! not outlive a restart: the directory is emptied when the state machine
//! opens, and openraft has a snapshot rebuilt from the chain when it needs
//! one.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::engine::Node;

/// Identifies the snapshot format.
pub const SNAPSHOT_MAGIC: &[u8; 6] = b"CSNAP1";
/// Largest block inside a snapshot (the stored-value bound).
pub const MAX_SNAPSHOT_BLOCK: usize = 80 * 1024 * 1024;
/// Magic, chain ID and block count.
const HEAD_LEN: u64 = 6 + 32 + 8;

/// The directory of a node's snapshot files. One state machine per data
/// directory: opening it empties the directory.
#[derive(Debug)]
pub(crate) struct SnapshotDir {
    dir: PathBuf,
    /// Files handed out to receive a snapshot into, by (device, inode):
    /// the one installed is kept by renaming it, not copied.
    receiving: Mutex<Vec<(FileId, PathBuf)>>,
}

/// A file's device and inode numbers.
type FileId = (u64, u64);

fn file_id(file: &File) -> io::Result<FileId> {
    use std::os::unix::fs::MetadataExt;
    let meta = file.metadata()?;
    Ok((meta.dev(), meta.ino()))
}

impl SnapshotDir {
    /// `<data_dir>/snapshots`, created, and emptied of what an earlier run
    /// left there.
    pub(crate) fn open(data_dir: &Path) -> io::Result<Self> {
        let dir = data_dir.join("snapshots");
        std::fs::create_dir_all(&dir)?;
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                std::fs::remove_file(entry.path())?;
            }
        }
        Ok(SnapshotDir {
            dir,
            receiving: Mutex::new(Vec::new()),
        })
    }

    fn receiving(&self) -> std::sync::MutexGuard<'_, Vec<(FileId, PathBuf)>> {
        self.receiving
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes the blocks `1..=height` of `node` into a new snapshot file;
    /// returns its path and a handle on it at its start. Blocking.
    pub(crate) fn write_chain(&self, node: &Node, height: u64) -> Result<(PathBuf, File), String> {
        self.keep(|out| {
            out.write_all(SNAPSHOT_MAGIC).map_err(io_err)?;
            out.write_all(&node.genesis().chain_id().0)
                .map_err(io_err)?;
            out.write_all(&height.to_be_bytes()).map_err(io_err)?;
            for h in 1..=height {
                let block = node
                    .store()
                    .raw_block(h)
                    .map_err(|e| e.to_string())?
                    .ok_or_else(|| format!("block {h} is missing from the store"))?;
                out.write_all(&(block.len() as u32).to_be_bytes())
                    .map_err(io_err)?;
                out.write_all(&block).map_err(io_err)?;
            }
            Ok(())
        })
    }

    /// A new file to receive a snapshot into. Files handed out earlier
    /// and never installed (openraft abandoned their transfer for a new
    /// one) are removed.
    pub(crate) fn begin_receiving(&self) -> io::Result<File> {
        let mut receiving = self.receiving();
        for (_, abandoned) in receiving.drain(..) {
            remove_quietly(&abandoned);
        }
        let (file, path) = self.part()?.keep().map_err(|e| e.error)?;
        match file_id(&file) {
            Ok(id) => receiving.push((id, path)),
            Err(e) => {
                remove_quietly(&path);
                return Err(e);
            }
        }
        Ok(file)
    }

    /// Installs the snapshot in `received` on `node` ([`install_chain`])
    /// and keeps it as a snapshot file: the received file itself, renamed,
    /// when this directory handed it out; otherwise (a file from
    /// elsewhere, as openraft's conformance suite passes) a copy. A refused
    /// snapshot's file is removed. Failing to keep an installed snapshot
    /// is said and gives `None`, never an error: the install stands.
    /// Blocking.
    pub(crate) fn install(
        &self,
        node: &Node,
        received: &mut File,
        applied: &[u8],
        last_applied: &[u8],
    ) -> Result<Option<PathBuf>, String> {
        let received_path = self.take_received(received);
        if let Err(e) = install_chain(node, received, applied, last_applied) {
            if let Some(path) = received_path {
                remove_quietly(&path);
            }
            return Err(e);
        }
        let kept = match received_path {
            Some(part) => {
                let kept = part.with_extension("snap");
                std::fs::rename(&part, &kept).map(|()| kept).map_err(|e| {
                    remove_quietly(&part);
                    io_err(e)
                })
            }
            None => received
                .seek(SeekFrom::Start(0))
                .map_err(io_err)
                .and_then(|_| self.keep(|out| io::copy(received, out).map(drop).map_err(io_err)))
                .map(|(path, _)| path),
        };
        Ok(kept
            .map_err(|e| tracing::error!(error = %e, "an installed snapshot was not kept"))
            .ok())
    }

    /// The path of `file` if it is one this directory handed out to
    /// receive into, no longer counted as receiving.
    fn take_received(&self, file: &File) -> Option<PathBuf> {
        let id = file_id(file).ok()?;
        let mut receiving = self.receiving();
        let at = receiving.iter().position(|(held, _)| *held == id)?;
        Some(receiving.swap_remove(at).1)
    }

    /// A new uniquely named file in the directory, `.part` until kept.
    fn part(&self) -> io::Result<tempfile::NamedTempFile> {
        tempfile::Builder::new()
            .prefix("snapshot-")
            .suffix(".part")
            .tempfile_in(&self.dir)
    }

    /// Writes a file through `fill` and gives it its kept name (`.snap`);
    /// a failure leaves nothing behind. Not synced: snapshots do not
    /// outlive a restart.
    fn keep(
        &self,
        fill: impl FnOnce(&mut BufWriter<&File>) -> Result<(), String>,
    ) -> Result<(PathBuf, File), String> {
        let part = self.part().map_err(io_err)?;
        let mut out = BufWriter::new(part.as_file());
        fill(&mut out)?;
        out.flush().map_err(io_err)?;
        drop(out);
        let path = part.path().with_extension("snap");
        let mut file = part.persist_noclobber(&path).map_err(|e| io_err(e.error))?;
        file.seek(SeekFrom::Start(0)).map_err(io_err)?;
        Ok((path, file))
    }
}

/// Removes a snapshot file, saying so if that fails (it is only disk
/// space until the next start, which empties the directory).
pub(crate) fn remove_quietly(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!(error = %e, path = %path.display(), "could not remove a snapshot file");
        }
    }
}

fn io_err(e: io::Error) -> String {
    format!("snapshot file: {e}")
}

/// Reads exactly `buf.len()` bytes; a short read means a truncated snapshot.
fn read_exact(reader: &mut impl Read, buf: &mut [u8]) -> Result<(), String> {
    reader.read_exact(buf).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => "snapshot truncated".to_string(),
        _ => io_err(e),
    })
}

fn read_u32(reader: &mut impl Read) -> Result<u32, String> {
    let mut bytes = [0u8; 4];
    read_exact(reader, &mut bytes)?;
    Ok(u32::from_be_bytes(bytes))
}

/// Checks a snapshot's framing and chain without reading its blocks, and
/// returns its block count: the magic and chain ID, a count that the
/// size can hold (each block takes at least its 4-byte length), every
/// block within its bound and the size, nothing after the last block.
/// Leaves the reader just after the head, at the first block.
pub fn check_framing<R: Read + Seek>(
    snapshot: &mut BufReader<R>,
    chain: &[u8; 32],
) -> Result<u64, String> {
    let size = snapshot.seek(SeekFrom::End(0)).map_err(io_err)?;
    snapshot.seek(SeekFrom::Start(0)).map_err(io_err)?;
    if size < HEAD_LEN {
        return Err("not a coalition snapshot".into());
    }
    let mut head = [0u8; HEAD_LEN as usize];
    read_exact(snapshot, &mut head)?;
    if &head[..6] != SNAPSHOT_MAGIC {
        return Err("not a coalition snapshot".into());
    }
    if &head[6..38] != chain {
        return Err("snapshot of another chain".into());
    }
    let mut count = [0u8; 8];
    count.copy_from_slice(&head[38..]);
    let count = u64::from_be_bytes(count);
    if count > (size - HEAD_LEN) / 4 {
        return Err("snapshot block count exceeds its size".into());
    }
    let mut at = HEAD_LEN;
    for _ in 0..count {
        if size - at < 4 {
            return Err("snapshot truncated".into());
        }
        let len = u64::from(read_u32(snapshot)?);
        at += 4;
        if len > MAX_SNAPSHOT_BLOCK as u64 || size - at < len {
            return Err("snapshot truncated or a block exceeds its bound".into());
        }
        // Within the buffer when blocks are small: no system call.
        snapshot.seek_relative(len as i64).map_err(io_err)?;
        at += len;
    }
    if at != size {
        return Err("trailing bytes after the snapshot's blocks".into());
    }
    snapshot.seek(SeekFrom::Start(HEAD_LEN)).map_err(io_err)?;
    Ok(count)
}

/// Brings `node` up to the snapshot's chain: the blocks it holds must be
/// byte-equal to the snapshot's; the others are applied with full
/// validation, the last with the apply position `last_applied`, those
/// before with `applied`. A snapshot that is a prefix of the node's chain
/// (a node that crashed while installing a later one) changes nothing. The
/// framing is checked whole before any block is applied. Blocking.
fn install_chain(
    node: &Node,
    snapshot: &mut File,
    applied: &[u8],
    last_applied: &[u8],
) -> Result<(), String> {
    let mut reader = BufReader::new(snapshot);
    let count = check_framing(&mut reader, &node.genesis().chain_id().0)?;
    let tip = node.tip().height;
    let mut raw = Vec::new();
    for height in 1..=count {
        // Bounded by check_framing (and read again here, in case the
        // file changed in between).
        let len = read_u32(&mut reader)? as usize;
        if len > MAX_SNAPSHOT_BLOCK {
            return Err("snapshot block exceeds its bound".into());
        }
        raw.resize(len, 0);
        read_exact(&mut reader, &mut raw)?;
        if height <= tip {
            let held = node
                .store()
                .raw_block(height)
                .map_err(|e| e.to_string())?
                .ok_or_else(|| format!("block {height} is missing from the store"))?;
            if held != raw {
                return Err(format!(
                    "the snapshot's block {height} differs from this node's: refusing a fork"
                ));
            }
            continue;
        }
        let block = coalition_ledger::block::decode_block(&raw)
            .map_err(|e| format!("snapshot block {height}: {e}"))?;
        let position = if height == count {
            last_applied
        } else {
            applied
        };
        match node.apply_replicated(&block, position) {
            Ok(Ok(())) => {}
            Ok(Err(refusal)) => return Err(format!("snapshot block {height} refused: {refusal}")),
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    const CHAIN: [u8; 32] = [7; 32];

    fn framed(blocks: &[Vec<u8>]) -> Vec<u8> {
        let mut out = SNAPSHOT_MAGIC.to_vec();
        out.extend_from_slice(&CHAIN);
        out.extend_from_slice(&(blocks.len() as u64).to_be_bytes());
        for block in blocks {
            out.extend_from_slice(&(block.len() as u32).to_be_bytes());
            out.extend_from_slice(block);
        }
        out
    }

    fn check(bytes: &[u8]) -> Result<u64, String> {
        check_framing(&mut BufReader::new(Cursor::new(bytes)), &CHAIN)
    }

    /// Blocks empty, small and larger than the reader's buffer: the
    /// framing is read across buffer refills, and every truncation, an
    /// extra byte, an inflated count or length, another chain or magic
    /// is refused.
    #[test]
    fn framing_is_checked_whole_and_every_truncation_refused() {
        let blocks = vec![vec![], vec![1; 5], vec![2; 20_000], vec![3; 9]];
        let bytes = framed(&blocks);
        assert_eq!(check(&bytes), Ok(4));
        let mut reader = BufReader::new(Cursor::new(&bytes));
        check_framing(&mut reader, &CHAIN).unwrap();
        assert_eq!(reader.stream_position().unwrap(), HEAD_LEN);
        assert_eq!(check(&framed(&[])), Ok(0));

        for len in 0..bytes.len() {
            assert!(check(&bytes[..len]).is_err(), "truncated to {len}");
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(check(&trailing).is_err());
        for count in [5u64, 1 << 40, u64::MAX] {
            let mut inflated = bytes.clone();
            inflated[38..46].copy_from_slice(&count.to_be_bytes());
            assert!(check(&inflated).is_err(), "count {count}");
        }
        let mut fewer = bytes.clone();
        fewer[38..46].copy_from_slice(&3u64.to_be_bytes());
        assert_eq!(
            check(&fewer),
            Err("trailing bytes after the snapshot's blocks".into())
        );
        let mut long_block = bytes.clone();
        let at = HEAD_LEN as usize + 4 + 4 + 5;
        long_block[at..at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(check(&long_block).is_err());
        // A block one byte over the bound, in a file large enough to hold
        // it: zeroed (untouched) memory but for the head and the length.
        let mut over_bound = vec![0u8; HEAD_LEN as usize + 4 + MAX_SNAPSHOT_BLOCK + 1];
        over_bound[..HEAD_LEN as usize]
            .copy_from_slice(&framed(&[Vec::new()])[..HEAD_LEN as usize]);
        over_bound[HEAD_LEN as usize..HEAD_LEN as usize + 4]
            .copy_from_slice(&(MAX_SNAPSHOT_BLOCK as u32 + 1).to_be_bytes());
        assert_eq!(
            check(&over_bound),
            Err("snapshot truncated or a block exceeds its bound".into())
        );
        let mut foreign = bytes.clone();
        foreign[6] ^= 1;
        assert_eq!(check(&foreign), Err("snapshot of another chain".into()));
        let mut magic = bytes;
        magic[5] = b'2';
        assert_eq!(check(&magic), Err("not a coalition snapshot".into()));
    }
}
