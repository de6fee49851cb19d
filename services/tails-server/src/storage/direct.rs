//! Upload bytes written past the page cache (`O_DIRECT`). Every upload is fsynced before it
//! is published, so cached pages would only be written back and kept: under 16 concurrent
//! uploads the kernel's copy into fresh page-cache pages took 27 % of the machine, more than
//! SHA-256 (18 %). Here the bytes are copied once into an aligned buffer the upload reuses
//! and go to the disk from there. Where the file system refuses `O_DIRECT` (tmpfs, for one),
//! or a write comes back short, the rest goes through the page cache as before; on network
//! file systems ([`NETWORK_FILE_SYSTEMS`]) everything does.

use std::fs::File;
use std::io::{self, Write};

use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl, fstatfs};

/// Alignment of buffer address, file offset and length that every block device accepts.
const ALIGN: usize = 4096;
/// Bytes per direct write. Measured against 1 MiB: the same 16-client throughput, a quarter
/// of the memory per upload.
const BLOCK: usize = 256 * 1024;

/// `statfs` magic numbers of file systems whose writes cross a network: NFS, SMB/CIFS (three),
/// FUSE (sshfs and the like), Ceph, 9p, AFS. There `O_DIRECT` makes each block a synchronous
/// round trip to the server, where the page cache lets the early `fdatasync`s overlap the
/// upload; with no NFS on the machine this was measured on, they keep the page-cache path
/// (replicas on shared NFS among them).
const NETWORK_FILE_SYSTEMS: [u32; 9] = [
    0x6969,
    0x517B,
    0xFF53_4D42,
    0xFE53_4D42,
    0x6573_5546,
    0x00C3_6400,
    0x0102_1997,
    0x5346_414F,
    0x6B41_4653,
];

/// Writes a file from its start, past the page cache where it can.
pub(super) struct DirectWriter<'f> {
    file: &'f File,
    /// `BLOCK` bytes from `start` are the aligned block; `filled` of them are pending.
    buffer: Vec<u8>,
    start: usize,
    filled: usize,
    direct: bool,
}

impl<'f> DirectWriter<'f> {
    /// A writer for `file`, which must be empty and open for writing.
    pub(super) fn new(file: &'f File) -> io::Result<Self> {
        let local = !on_network(fstatfs(file)?.f_type as u32);
        let direct = local && set_direct(file, true).is_ok();
        Ok(Self::with_mode(file, direct))
    }

    fn with_mode(file: &'f File, direct: bool) -> Self {
        let buffer = vec![0; BLOCK + ALIGN];
        let start = buffer.as_ptr().align_offset(ALIGN);
        Self {
            file,
            buffer,
            start,
            filled: 0,
            direct,
        }
    }

    /// Whether the bytes still bypass the page cache (if not, they need writing back).
    pub(super) fn is_direct(&self) -> bool {
        self.direct
    }

    pub(super) fn write(&mut self, mut data: &[u8]) -> io::Result<()> {
        while !data.is_empty() {
            let taken = (BLOCK - self.filled).min(data.len());
            let (now, rest) = data.split_at(taken);
            let at = self.start + self.filled;
            self.buffer[at..at + taken].copy_from_slice(now);
            self.filled += taken;
            data = rest;
            if self.filled == BLOCK {
                self.flush(BLOCK)?;
            }
        }
        Ok(())
    }

    /// Writes what is pending: the aligned part directly, the tail through the page cache
    /// (a direct write must be a whole number of blocks). The file is then open as usual.
    pub(super) fn finish(mut self) -> io::Result<()> {
        let aligned = self.filled / ALIGN * ALIGN;
        if aligned > 0 {
            self.flush(aligned)?;
        }
        if self.direct {
            self.direct = false;
            set_direct(self.file, false)?;
        }
        self.flush(self.filled)
    }

    /// Writes the first `len` pending bytes and keeps the rest at the start of the block.
    fn flush(&mut self, len: usize) -> io::Result<()> {
        let mut file = self.file;
        let block = &self.buffer[self.start..self.start + len];
        let mut written = 0;
        if self.direct {
            match file.write(block) {
                Ok(n) => written = n,
                // Refused by the file system, or interrupted: written through the page
                // cache below.
                Err(err)
                    if matches!(
                        err.kind(),
                        io::ErrorKind::InvalidInput | io::ErrorKind::Interrupted
                    ) => {}
                Err(err) => return Err(err),
            }
            // After a short write the offset is no longer aligned: the rest goes through
            // the page cache.
            if written < len {
                self.direct = false;
                set_direct(file, false)?;
            }
        }
        file.write_all(&block[written..])?;
        self.buffer
            .copy_within(self.start + len..self.start + self.filled, self.start);
        self.filled -= len;
        Ok(())
    }
}

fn on_network(magic: u32) -> bool {
    NETWORK_FILE_SYSTEMS.contains(&magic)
}

fn set_direct(file: &File, on: bool) -> io::Result<()> {
    let flags = fcntl_getfl(file)?;
    let flags = if on {
        flags | OFlags::DIRECT
    } else {
        flags - OFlags::DIRECT
    };
    Ok(fcntl_setfl(file, flags)?)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn written(direct: bool, data: &[u8], chunk: usize) -> (Vec<u8>, bool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let file = File::create(&path).unwrap();
        let mut writer = if direct {
            DirectWriter::new(&file).unwrap()
        } else {
            DirectWriter::with_mode(&file, false)
        };
        for part in data.chunks(chunk) {
            writer.write(part).unwrap();
        }
        let was_direct = writer.is_direct();
        writer.finish().unwrap();
        // Back to buffered: an unaligned write succeeds.
        (&file).write_all(b"x").unwrap();
        let mut got = fs::read(&path).unwrap();
        assert_eq!(got.pop(), Some(b'x'));
        (got, was_direct)
    }

    #[test]
    fn every_byte_lands_in_order_in_both_modes() {
        let data: Vec<u8> = (0..3 * BLOCK + 12_345)
            .map(|i| (i * 31 % 253) as u8)
            .collect();
        for direct in [true, false] {
            for (len, chunk) in [(9_000, 1), (data.len(), 4095), (data.len(), 300_001)] {
                let (got, _) = written(direct, &data[..len], chunk);
                assert!(got == data[..len], "direct {direct}, chunks of {chunk}");
            }
        }
    }

    #[test]
    fn short_and_aligned_files() {
        for size in [0, 1, ALIGN - 1, ALIGN, BLOCK, BLOCK + 1] {
            let data = vec![7u8; size];
            assert_eq!(written(true, &data, 1000).0, data, "size {size}");
        }
    }

    #[test]
    fn network_file_systems_keep_the_page_cache() {
        let nfs = 0x6969;
        let ext4 = 0xEF53;
        assert!(on_network(nfs));
        assert!(!on_network(ext4));
    }

    /// The temp directory of the tests is on the machine's disk, which takes `O_DIRECT`; if
    /// it did not, the tests above would only have covered the page-cache path.
    #[test]
    fn the_test_disk_takes_direct_writes() {
        let (_, was_direct) = written(true, &vec![1u8; BLOCK * 2], BLOCK);
        assert!(was_direct, "O_DIRECT refused where the tests write");
    }
}
