//! Buffers kept from call to call: the MSM's device scratch, grown to the
//! largest size asked for, and the page-locked host staging memory both
//! pipelines copy their vectors through.

use std::sync::Arc;

use ark_bn254::Fr;
use cudarc::driver::{CudaContext, CudaSlice, CudaStream, PinnedHostSlice};

use super::conversion::fr_words_into_scoped;
use crate::error::{driver, GpuError};
use crate::layout::FR_WORDS;

/// Device buffers reused from one MSM to the next (allocating and freeing
/// them per call cost more than the kernels at small sizes). Each grows to
/// the largest size asked for and stays; kernels only ever index the prefix
/// the current call needs.
pub(super) struct Scratch {
    /// The stream the copies and kernels run on, synchronised before the
    /// buffers are freed (see `Drop`).
    pub(super) stream: Arc<CudaStream>,
    /// Page-locked host memory the MSM's scalars and the witness map's
    /// `a, b, c` are written into and its `h` read back through, so each
    /// copy is one DMA at the bus's rate rather than the driver's copy
    /// through a bounce buffer; `None` until first needed, or where the
    /// host refused to lock memory (then copies go through a `Vec`). It
    /// holds the last call's witness-derived values until the next call
    /// overwrites them (papers/protocol.md §14.3).
    pub(super) staging: Option<PinnedHostSlice<u32>>,
    pub(super) scalars: CudaSlice<u32>,
    pub(super) keys: CudaSlice<u32>,
    pub(super) vals: CudaSlice<u32>,
    pub(super) sorted: CudaSlice<u32>,
    pub(super) counts: CudaSlice<u32>,
    pub(super) cursors: CudaSlice<u32>,
    pub(super) bucket_sums: CudaSlice<u32>,
    pub(super) partial: CudaSlice<u32>,
    pub(super) window_sums: CudaSlice<u32>,
}

impl Scratch {
    pub(super) fn empty(stream: &Arc<CudaStream>) -> Result<Self, GpuError> {
        let e = || stream.null::<u32>().map_err(driver);
        Ok(Scratch {
            stream: stream.clone(),
            staging: None,
            scalars: e()?,
            keys: e()?,
            vals: e()?,
            sorted: e()?,
            counts: e()?,
            cursors: e()?,
            bucket_sums: e()?,
            partial: e()?,
            window_sums: e()?,
        })
    }
}

impl Drop for Scratch {
    /// The copies out of and into `staging` go through plain slices, so
    /// cudarc records no event on the pinned buffer: synchronising here is
    /// what keeps a copy still in flight (after a call that failed
    /// half-way) from touching freed host memory.
    fn drop(&mut self) {
        let _ = self.stream.synchronize();
    }
}

/// `buf` with room for at least `len` words: kept if large enough, else
/// replaced by a fresh, uninitialised allocation.
#[allow(unsafe_code)]
pub(super) fn reserve(
    stream: &Arc<CudaStream>,
    buf: &mut CudaSlice<u32>,
    len: usize,
) -> Result<(), GpuError> {
    if buf.len() < len {
        // SAFETY: the memory is uninitialised. Every buffer is either
        // written in full by a kernel before any kernel reads it (digits
        // writes every key and value, scatter every sorted slot a bucket
        // range covers, scan every cursor, accumulate / reduce / window_sum
        // every output) or zeroed before use (counts), or overwritten by a
        // host copy (scalars).
        *buf = unsafe { stream.alloc::<u32>(len) }.map_err(driver)?;
    }
    Ok(())
}

/// `len` words of page-locked staging memory (`staging` grown to fit and
/// kept), or `None` where the host cannot lock that much. The stream is
/// synchronised first: no copy out of or into the staging memory can
/// still be in flight when it is written again or freed. (cudarc tracks
/// copies from a `PinnedHostSlice` by an event, but these copies pass plain
/// sub-slices of it, so that synchronisation and `Scratch`'s `Drop` are the
/// only guards.)
#[allow(unsafe_code)]
fn staging_words<'a>(
    ctx: &Arc<CudaContext>,
    stream: &Arc<CudaStream>,
    staging: &'a mut Option<PinnedHostSlice<u32>>,
    len: usize,
) -> Result<Option<&'a mut [u32]>, GpuError> {
    stream.synchronize().map_err(driver)?;
    if staging.as_ref().is_none_or(|p| p.len() < len) {
        // Free the smaller one first.
        *staging = None;
        // SAFETY: the memory is uninitialised; it is zeroed below before
        // any slice of it exists.
        *staging = match unsafe { ctx.alloc_pinned::<u32>(len) } {
            Ok(mut pinned) => {
                let ptr = pinned.as_mut_ptr().map_err(driver)?;
                // SAFETY: `ptr` points to `len` u32 the allocation owns.
                unsafe { std::ptr::write_bytes(ptr, 0, len) };
                Some(pinned)
            }
            Err(_) => None,
        };
    }
    match staging {
        Some(pinned) => Ok(Some(&mut pinned.as_mut_slice().map_err(driver)?[..len])),
        None => Ok(None),
    }
}

/// The words of `sets`, one vector after another, in the staging memory
/// ([`staging_words`]), or in `fallback` where the host cannot lock that
/// much; returned as the slice to upload (and, for the witness map, to
/// download into).
pub(super) fn stage_words<'a>(
    ctx: &Arc<CudaContext>,
    stream: &Arc<CudaStream>,
    staging: &'a mut Option<PinnedHostSlice<u32>>,
    fallback: &'a mut Vec<u32>,
    sets: &[&[Fr]],
) -> Result<&'a mut [u32], GpuError> {
    let len = sets.iter().map(|s| s.len()).sum::<usize>() * FR_WORDS;
    let words = match staging_words(ctx, stream, staging, len)? {
        Some(words) => words,
        None => {
            *fallback = vec![0u32; len];
            fallback
        }
    };
    fr_words_into_scoped(sets, words);
    Ok(words)
}
