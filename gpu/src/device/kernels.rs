//! The kernels as the pipelines call them: every function of `msm.cu` and
//! `ntt.cu`, looked up once when the device opens, and the launch
//! geometry both pipelines use.

use std::sync::Arc;

use cudarc::driver::{CudaFunction, CudaModule, LaunchConfig};

use crate::error::{driver, GpuError};
use crate::layout::DeviceCurve;

/// The kernels of one curve.
pub(super) struct CurveKernels {
    pub(super) accumulate: CudaFunction,
    pub(super) reduce: CudaFunction,
    pub(super) fold: CudaFunction,
    pub(super) window_sum: CudaFunction,
}

/// Every kernel of `msm.cu` and `ntt.cu`, looked up once when the device
/// opens.
pub(super) struct Kernels {
    pub(super) digits: CudaFunction,
    pub(super) histogram: CudaFunction,
    pub(super) scan: CudaFunction,
    pub(super) scatter: CudaFunction,
    pub(super) g1: CurveKernels,
    pub(super) g2: CurveKernels,
    pub(super) bit_reverse: CudaFunction,
    pub(super) butterflies: CudaFunction,
    pub(super) scale: CudaFunction,
    pub(super) qap_combine: CudaFunction,
}

impl Kernels {
    pub(super) fn load(module: &Arc<CudaModule>) -> Result<Self, GpuError> {
        let f = |name: &str| module.load_function(name).map_err(driver);
        let curve = |suffix: &str| -> Result<CurveKernels, GpuError> {
            Ok(CurveKernels {
                accumulate: f(&format!("msm_accumulate_{suffix}"))?,
                reduce: f(&format!("msm_reduce_{suffix}"))?,
                fold: f(&format!("msm_fold_{suffix}"))?,
                window_sum: f(&format!("msm_window_sum_{suffix}"))?,
            })
        };
        Ok(Kernels {
            digits: f("msm_digits")?,
            histogram: f("msm_histogram")?,
            scan: f("msm_scan")?,
            scatter: f("msm_scatter")?,
            g1: curve("g1")?,
            g2: curve("g2")?,
            bit_reverse: f("ntt_bit_reverse")?,
            butterflies: f("ntt_butterflies")?,
            scale: f("ntt_scale")?,
            qap_combine: f("qap_combine")?,
        })
    }

    pub(super) fn curve<C: DeviceCurve>(&self) -> &CurveKernels {
        if C::SUFFIX == "g2" {
            &self.g2
        } else {
            &self.g1
        }
    }
}

pub(super) const BLOCK: u32 = 256;

pub(super) fn grid(items: usize, block: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim: ((items as u32).div_ceil(block).max(1), 1, 1),
        block_dim: (block, 1, 1),
        shared_mem_bytes: 0,
    }
}
