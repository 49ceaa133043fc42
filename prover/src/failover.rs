//! Choosing a backend: the best one this machine has, and a device backend
//! that steps aside for the CPU at its first failure.

use ark_bn254::{Fr, G1Affine, G1Projective, G2Affine, G2Projective};

use crate::backend::ProvingBackend;
use crate::errors::BackendError;
use crate::msm::CpuBackend;
#[cfg(feature = "gpu")]
use crate::msm::CudaBackend;
use crate::qap::QapEvaluations;

/// The fastest backend available: the first CUDA device when this build has
/// the `gpu` feature and a device opens, otherwise the CPU. The reason for a
/// fallback is returned for the caller to log; nothing here panics.
pub fn best_available() -> (Box<dyn ProvingBackend>, Option<String>) {
    #[cfg(feature = "gpu")]
    {
        match CudaBackend::new(0) {
            Ok(gpu) => return (Box::new(gpu), None),
            Err(e) => {
                return (
                    Box::new(CpuBackend),
                    Some(format!("GPU unavailable ({e}); proving on the CPU")),
                )
            }
        }
    }
    #[allow(unreachable_code)]
    (
        Box::new(CpuBackend),
        Some("built without the `gpu` feature; proving on the CPU".into()),
    )
}

/// A device backend that hands its work to the CPU, for good, at its first
/// failure: a [`BackendError::Device`], a panic (cudarc and kernel
/// launches can panic; a panic also poisons the device's buffers), or a
/// proof the caller found not to verify ([`ProvingBackend::distrust`]).
/// The call that failed is recomputed on the CPU, so a batch in progress
/// still gets its (identical) values. Errors that are the caller's
/// ([`BackendError::LengthMismatch`], [`BackendError::Domain`]) are
/// returned as they are: the CPU would refuse them too.
pub struct Failover {
    primary: Box<dyn ProvingBackend>,
    fallback: CpuBackend,
    failure: std::sync::OnceLock<String>,
}

impl Failover {
    /// `primary` until it fails, then the CPU.
    pub fn new(primary: Box<dyn ProvingBackend>) -> Failover {
        Failover {
            primary,
            fallback: CpuBackend,
            failure: std::sync::OnceLock::new(),
        }
    }

    /// Why the primary backend was given up, once it was.
    pub fn failure(&self) -> Option<&str> {
        self.failure.get().map(String::as_str)
    }

    fn give_up(&self, why: String) {
        let primary = self.primary.name();
        if self.failure.set(why).is_ok() {
            // Once: the operator learns the device is out of service.
            eprintln!(
                "coalition prover: {primary} failed ({}); proving on the CPU from now on",
                self.failure().unwrap_or_default()
            );
        }
    }

    fn run<T>(
        &self,
        call: impl Fn(&dyn ProvingBackend) -> Result<T, BackendError>,
    ) -> Result<T, BackendError> {
        if self.failure.get().is_none() {
            let attempt =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(&*self.primary)));
            match attempt {
                Ok(Ok(value)) => return Ok(value),
                Ok(Err(BackendError::Device(why))) => self.give_up(why),
                Ok(Err(caller)) => return Err(caller),
                Err(_) => self.give_up("it panicked".into()),
            }
        }
        call(&self.fallback)
    }
}

impl ProvingBackend for Failover {
    fn name(&self) -> String {
        match self.failure() {
            None => self.primary.name(),
            Some(_) => format!(
                "{} (after {} failed)",
                self.fallback.name(),
                self.primary.name()
            ),
        }
    }

    fn msm_g1(&self, bases: &[G1Affine], scalars: &[Fr]) -> Result<G1Projective, BackendError> {
        self.run(|b| b.msm_g1(bases, scalars))
    }

    fn msm_g2(&self, bases: &[G2Affine], scalars: &[Fr]) -> Result<G2Projective, BackendError> {
        self.run(|b| b.msm_g2(bases, scalars))
    }

    fn msm_g1_batch(
        &self,
        bases: &[G1Affine],
        sets: &[&[Fr]],
    ) -> Result<Vec<G1Projective>, BackendError> {
        self.run(|b| b.msm_g1_batch(bases, sets))
    }

    fn msm_g2_batch(
        &self,
        bases: &[G2Affine],
        sets: &[&[Fr]],
    ) -> Result<Vec<G2Projective>, BackendError> {
        self.run(|b| b.msm_g2_batch(bases, sets))
    }

    fn qap_quotients(
        &self,
        log_n: usize,
        evaluations: &[QapEvaluations],
    ) -> Result<Vec<Vec<Fr>>, BackendError> {
        self.run(|b| b.qap_quotients(log_n, evaluations))
    }

    fn distrust(&self, why: &str) -> bool {
        if self.failure.get().is_some() {
            return false;
        }
        self.give_up(why.to_string());
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ark_ec::PrimeGroup;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    /// Refuses every G1 MSM with `error`, counting the calls.
    struct Refusing(BackendError, Arc<AtomicUsize>);

    impl ProvingBackend for Refusing {
        fn name(&self) -> String {
            "refusing".into()
        }
        fn msm_g1(&self, _: &[G1Affine], _: &[Fr]) -> Result<G1Projective, BackendError> {
            self.1.fetch_add(1, Ordering::SeqCst);
            Err(self.0.clone())
        }
        fn msm_g2(&self, _: &[G2Affine], _: &[Fr]) -> Result<G2Projective, BackendError> {
            unreachable!("not asked")
        }
    }

    fn one_term() -> (Vec<G1Affine>, Vec<Fr>) {
        (vec![G1Projective::generator().into()], vec![Fr::from(3u64)])
    }

    #[test]
    fn the_callers_errors_pass_through_and_keep_the_device() {
        let calls = Arc::new(AtomicUsize::new(0));
        let refused = BackendError::LengthMismatch {
            bases: 1,
            scalars: 2,
        };
        let failover = Failover::new(Box::new(Refusing(refused.clone(), calls.clone())));
        let (bases, scalars) = one_term();
        assert_eq!(failover.msm_g1(&bases, &scalars), Err(refused));
        assert_eq!(failover.failure(), None);
        assert_eq!(failover.name(), "refusing");
        failover.msm_g1(&bases, &scalars).unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_device_error_is_recomputed_on_the_cpu_and_the_device_is_not_asked_again() {
        let calls = Arc::new(AtomicUsize::new(0));
        let device = Refusing(BackendError::Device("lost".into()), calls.clone());
        let failover = Failover::new(Box::new(device));
        let (bases, scalars) = one_term();
        let expected = G1Projective::generator() * Fr::from(3u64);
        assert_eq!(failover.msm_g1(&bases, &scalars), Ok(expected));
        assert_eq!(failover.failure(), Some("lost"));
        assert!(failover.name().contains("after refusing failed"));
        assert_eq!(failover.msm_g1(&bases, &scalars), Ok(expected));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Distrusting it again changes nothing: it already stepped aside.
        assert!(!failover.distrust("a proof did not verify"));
        assert!(!CpuBackend.distrust("a proof did not verify"));
    }
}
