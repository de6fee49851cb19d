//! A tmpfs of a few MiB for disk-full tests (mounting needs root; the tests are named
//! `small_disk_*` so `make test` can leave them out elsewhere and say so). [`SmallDisk::fill`]
//! takes every free byte; [`SmallDisk::free`] gives them back.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    pub fn mount(mebibytes: u32) -> io::Result<Self> {
        let dir = tempfile::tempdir()?;
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={mebibytes}m"), "tmpfs"])
            .arg(dir.path())
            .status()?;
        if !status.success() {
            return Err(io::Error::other(format!(
                "mount -t tmpfs failed ({status}); disk-full tests need root"
            )));
        }
        Ok(Self { dir })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    fn filler(&self) -> PathBuf {
        self.dir.path().join("filler")
    }

    /// Writes a file until the disk is full.
    pub fn fill(&self) -> io::Result<()> {
        let mut file = File::create(self.filler())?;
        let block = vec![0u8; 64 * 1024];
        loop {
            match file.write(&block) {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(err) if err.kind() == io::ErrorKind::StorageFull => return Ok(()),
                Err(err) => return Err(err),
            }
        }
    }

    /// Removes what [`SmallDisk::fill`] wrote.
    pub fn free(&self) -> io::Result<()> {
        std::fs::remove_file(self.filler())
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}
