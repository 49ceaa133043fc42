//! The on-disk PTX cache: where it lives (`$COALITION_CUDA_CACHE`, else
//! under `$HOME`, never a shared directory), and reading and writing a
//! compiled module only where no other user could have placed or replaced
//! it (a private directory, a regular file owned by this user, bounded in
//! size, written through a temporary file and a rename).

use std::path::PathBuf;

/// `$COALITION_CUDA_CACHE`, else `$HOME/.cache/coalition/cuda`; `None` when
/// neither is set: the kernels are then compiled at every start rather
/// than cached in a shared directory such as `/tmp`, where another user
/// could leave a module for this process to load.
pub fn ptx_cache_dir() -> Option<PathBuf> {
    cache_dir(
        std::env::var_os("COALITION_CUDA_CACHE"),
        std::env::var_os("HOME"),
    )
}

fn cache_dir(
    explicit: Option<std::ffi::OsString>,
    home: Option<std::ffi::OsString>,
) -> Option<PathBuf> {
    match (explicit, home) {
        (Some(dir), _) if !dir.is_empty() => Some(PathBuf::from(dir)),
        (_, Some(home)) if !home.is_empty() => {
            Some(PathBuf::from(home).join(".cache/coalition/cuda"))
        }
        _ => None,
    }
}

/// Largest cached module read back: the kernels' PTX is a few MiB.
const MAX_CACHED_PTX_BYTES: u64 = 64 << 20;

/// This process's effective user: the owner of `/proc/self` (Linux). `None`
/// where that cannot be read: nothing is then cached.
#[cfg(unix)]
fn own_uid() -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// Whether a file or directory belongs to this user and no one else may
/// write to it (nobody else could have put a module there).
#[cfg(unix)]
fn private(meta: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    own_uid() == Some(meta.uid()) && meta.mode() & 0o022 == 0
}

#[cfg(not(unix))]
fn private(_: &std::fs::Metadata) -> bool {
    true
}

/// Whether `dir` exists, is a directory (not a link to one) and private.
fn private_dir(dir: &std::path::Path) -> bool {
    std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir() && private(&m))
}

/// A cached module, if `path` is a regular file (not a link) of at most
/// [`MAX_CACHED_PTX_BYTES`] in a private directory, owned by this user and
/// writable by no one else: a module anyone else could have placed or
/// replaced is compiled afresh instead, since it is code this process hands
/// the device along with its witnesses.
pub(super) fn read_cached_ptx(path: &std::path::Path) -> Option<String> {
    use std::io::Read;
    if !private_dir(path.parent()?) {
        return None;
    }
    let file = std::fs::File::open(path).ok()?;
    let meta = file.metadata().ok()?;
    let named = std::fs::symlink_metadata(path).ok()?;
    if !named.is_file() || !meta.is_file() || !private(&meta) || meta.len() > MAX_CACHED_PTX_BYTES {
        return None;
    }
    #[cfg(unix)]
    {
        // The file opened is the one named (no link swapped in between).
        use std::os::unix::fs::MetadataExt;
        if (meta.dev(), meta.ino()) != (named.dev(), named.ino()) {
            return None;
        }
    }
    let mut src = String::new();
    file.take(MAX_CACHED_PTX_BYTES + 1)
        .read_to_string(&mut src)
        .ok()?;
    (src.len() as u64 <= MAX_CACHED_PTX_BYTES).then_some(src)
}

/// Writes `src` to `path` through a new temporary file (never one already
/// there) and a rename, so a crash mid-write never leaves a truncated
/// module under the cache's name, in a directory created private to this
/// user; a directory that is not private is not written to. A failure only
/// costs a recompilation next time.
pub(super) fn write_cached_ptx(path: &std::path::Path, src: &str) {
    use std::io::Write;
    let Some(dir) = path.parent() else { return };
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    if builder.create(dir).is_err() || !private_dir(dir) {
        return;
    }
    let temp = path.with_extension(format!("ptx.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let Ok(mut file) = options.open(&temp) else {
        return;
    };
    let written = file.write_all(src.as_bytes()).is_ok();
    drop(file);
    if !written || std::fs::rename(&temp, path).is_err() {
        let _ = std::fs::remove_file(&temp);
    }
}

#[cfg(test)]
mod ptx_cache_tests {
    use super::*;

    #[test]
    fn the_cache_is_explicit_or_in_home_never_a_shared_directory() {
        let some = |s: &str| Some(std::ffi::OsString::from(s));
        assert_eq!(
            cache_dir(some("/srv/cuda"), some("/home/op")),
            Some("/srv/cuda".into())
        );
        assert_eq!(
            cache_dir(None, some("/home/op")),
            Some("/home/op/.cache/coalition/cuda".into())
        );
        assert_eq!(
            cache_dir(some(""), some("/home/op")),
            Some("/home/op/.cache/coalition/cuda".into())
        );
        assert_eq!(cache_dir(None, None), None);
        assert_eq!(cache_dir(some(""), some("")), None);
    }

    #[test]
    fn a_cached_module_is_read_back_only_if_private_and_bounded() {
        let dir = std::env::temp_dir().join(format!("coalition-ptx-test-{}", std::process::id()));
        let cache = dir.join("cache");
        let path = cache.join("kernels-test.ptx");
        write_cached_ptx(&path, "// ptx");
        assert_eq!(read_cached_ptx(&path).as_deref(), Some("// ptx"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode();
            let chmod = |p: &std::path::Path, m: u32| {
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap()
            };
            assert_eq!(mode(&path) & 0o777, 0o600);
            assert_eq!(mode(&cache) & 0o777, 0o700);
            // A module others could write, or in a directory others could
            // write to: not trusted, and nothing is written there either.
            chmod(&path, 0o666);
            assert_eq!(read_cached_ptx(&path), None);
            chmod(&path, 0o600);
            chmod(&cache, 0o777);
            assert_eq!(read_cached_ptx(&path), None);
            let other = cache.join("kernels-other.ptx");
            write_cached_ptx(&other, "// other");
            assert!(!other.exists());
            chmod(&cache, 0o700);
            // A link to a module, even a private one: not followed.
            let link = cache.join("kernels-link.ptx");
            std::os::unix::fs::symlink(&path, &link).unwrap();
            assert_eq!(read_cached_ptx(&link), None);
            // Another user's module (only root can make one to test with).
            if own_uid() == Some(0) {
                std::os::unix::fs::chown(&path, Some(1), None).unwrap();
                assert_eq!(read_cached_ptx(&path), None);
                std::os::unix::fs::chown(&path, Some(0), None).unwrap();
            }
            assert_eq!(read_cached_ptx(&path).as_deref(), Some("// ptx"));
        }
        // Larger than any module: not read.
        let big = cache.join("big.ptx");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(MAX_CACHED_PTX_BYTES + 1).unwrap();
        assert_eq!(read_cached_ptx(&big), None);
        // Missing, or a directory.
        assert_eq!(read_cached_ptx(&cache.join("none.ptx")), None);
        assert_eq!(read_cached_ptx(&cache), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
