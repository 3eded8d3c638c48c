// SPDX-License-Identifier: GPL-2.0

//! Small files carpctl writes: metrics for node_exporter, the tracker's
//! and the maintenance mode's records, the maintenance file.

use std::path::Path;

/// Writes `text` to `path` atomically: a temporary file beside it, synced,
/// renamed over it, the directory synced; after a crash the file is the
/// old one or the new one, never empty. The error names the path.
pub fn write_atomically(path: &Path, text: &str) -> Result<(), String> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| format!("{}: not a file name", path.display()))?;
    let tmp = dir.join(format!(
        ".{}.{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        std::io::Write::write_all(&mut f, text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok::<(), std::io::Error>(())
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        format!("{}: {e}", path.display())
    })
}

/// Records a number in `path` (its directory created), atomically; a
/// failure is logged, not fatal (the record only helps the next run).
pub fn record(path: &Path, v: i32) {
    if let Some(d) = path.parent() {
        let _ = std::fs::create_dir_all(d);
    }
    if let Err(e) = write_atomically(path, &format!("{v}\n")) {
        eprintln!("{e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_write() {
        let d = std::env::temp_dir().join(format!("carpctl-file-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir(&d).unwrap();
        let f = d.join("carp.prom");
        write_atomically(&f, "a 1\n").unwrap();
        write_atomically(&f, "a 2\n").unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "a 2\n");
        assert_eq!(
            std::fs::read_dir(&d).unwrap().count(),
            1,
            "no temporary file left"
        );
        let e = write_atomically(&d.join("no/such/dir/x.prom"), "").unwrap_err();
        assert!(e.contains("no/such/dir/x.prom: "), "{e}");
        record(&d.join("sub/n"), 7);
        assert_eq!(std::fs::read_to_string(d.join("sub/n")).unwrap(), "7\n");
        std::fs::remove_dir_all(&d).unwrap();
    }
}
