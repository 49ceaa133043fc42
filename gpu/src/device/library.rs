//! Library detection: whether the CUDA driver (`libcuda`) and NVRTC
//! (`libnvrtc`) libraries can be loaded, checked before any other cudarc
//! call, because cudarc panics when a library is missing. Both are loaded
//! at run time, so nothing here needs CUDA to build.

use crate::error::GpuError;

/// Whether the CUDA driver and NVRTC libraries can be loaded. Checked
/// before any other cudarc call, because cudarc panics when a library is
/// missing.
#[allow(unsafe_code)]
pub fn libraries_present() -> Result<(), GpuError> {
    // SAFETY: both functions only try to dlopen the libraries by name and
    // drop the handle; no symbol is resolved or called.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(GpuError::NoDriver);
    }
    libraries_present_nvrtc()
}

#[allow(unsafe_code)]
pub(super) fn libraries_present_nvrtc() -> Result<(), GpuError> {
    // SAFETY: only tries to dlopen the library by name and drops the
    // handle; no symbol is resolved or called.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return Err(GpuError::NoNvrtc);
    }
    Ok(())
}
