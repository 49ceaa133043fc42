//! `Fr` vectors to and from device words for the conversions made while
//! the device lock is held, on scoped OS threads (never rayon's, which
//! could wait for themselves on the lock).

use ark_bn254::Fr;

use crate::error::GpuError;
use crate::layout::{fr_to_words, FR_WORDS};
use crate::ntt::fr_from_words_serial;

/// Elements a conversion thread gets at least: below that, spawning costs
/// more than it saves (a small MSM converts on the calling thread).
const MIN_ELEMENTS_PER_THREAD: usize = 1 << 14;

/// Host threads for a conversion of `elements` made while the device lock
/// is held. These are scoped OS threads, never rayon's: a rayon thread
/// waiting on its own jobs while it holds the lock can pick up a job that
/// asks for the lock (with `prove_batch_with_backend`, the batch's MSMs run
/// in a `rayon::join` beside the witness map; with any caller that proves
/// from inside a rayon loop, another proof) and would wait for itself.
fn scoped_threads(elements: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |p| p.get());
    elements.div_ceil(MIN_ELEMENTS_PER_THREAD).clamp(1, cores)
}

/// [`crate::layout::fr_words_into`] on [`scoped_threads`]: `vectors`, one after another,
/// as Montgomery words into `out` (exactly `FR_WORDS` per element), split
/// by elements, so one long vector (a single MSM's scalars) is shared out
/// as well as many short ones.
///
/// # Panics
/// If `out` has another length (a caller's sizing bug, never input).
pub(super) fn fr_words_into_scoped(vectors: &[&[Fr]], out: &mut [u32]) {
    let total: usize = vectors.iter().map(|v| v.len()).sum();
    assert_eq!(out.len(), total * FR_WORDS, "staging sized for the vectors");
    let per = total.div_ceil(scoped_threads(total)).max(1);
    let fill = |first: usize, out: &mut [u32]| {
        let mut words = out.chunks_exact_mut(FR_WORDS);
        let mut skip = first;
        for vector in vectors {
            if skip >= vector.len() {
                skip -= vector.len();
                continue;
            }
            for x in &vector[skip..] {
                let Some(w) = words.next() else { return };
                fr_to_words(x, w);
            }
            skip = 0;
        }
    };
    if per >= total {
        fill(0, out);
        return;
    }
    std::thread::scope(|scope| {
        for (t, chunk) in out.chunks_mut(per * FR_WORDS).enumerate() {
            scope.spawn(move || fill(t * per, chunk));
        }
    });
}

/// Device words back as `count` vectors of `n` elements each, on
/// [`scoped_threads`], each element checked below the modulus.
pub(super) fn fr_vectors_scoped(words: &[u32], n: usize) -> Result<Vec<Vec<Fr>>, GpuError> {
    let n = n.max(1);
    let count = words.len() / (n * FR_WORDS);
    // Whole vectors per thread.
    let threads = scoped_threads(count * n).min(count.max(1));
    let per = count.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = words
            .chunks(per * n * FR_WORDS)
            .map(|group| {
                scope.spawn(move || {
                    group
                        .chunks_exact(n * FR_WORDS)
                        .map(fr_from_words_serial)
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut out = Vec::with_capacity(count);
        for handle in handles {
            let vectors = handle
                .join()
                .map_err(|_| GpuError::Driver("a conversion thread panicked".into()))??;
            out.extend(vectors);
        }
        Ok(out)
    })
}

#[cfg(test)]
mod scoped_conversion_tests {
    use super::*;
    use crate::layout::fr_words;
    use ark_ff::UniformRand;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn scoped_conversions_match_the_rayon_ones_in_order() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let n = 16;
        // 3·count vectors (a, b, c of a batch), more and fewer than threads.
        for count in [1usize, 7, 40] {
            let vectors: Vec<Vec<Fr>> = (0..3 * count)
                .map(|_| (0..n).map(|_| Fr::rand(&mut rng)).collect())
                .collect();
            let refs: Vec<&[Fr]> = vectors.iter().map(Vec::as_slice).collect();
            let mut words = vec![u32::MAX; 3 * count * n * FR_WORDS];
            fr_words_into_scoped(&refs, &mut words);
            assert_eq!(words, fr_words(&refs));
            assert_eq!(fr_vectors_scoped(&words, n).unwrap(), vectors);
        }
        // Long vectors of uneven lengths: the threads' element ranges start
        // and end inside vectors (one MSM's scalars are one long vector).
        let lengths = [20_000usize, 7, 13_001, 3 * MIN_ELEMENTS_PER_THREAD + 5];
        let vectors: Vec<Vec<Fr>> = lengths
            .iter()
            .map(|&len| (0..len).map(|_| Fr::rand(&mut rng)).collect())
            .collect();
        let refs: Vec<&[Fr]> = vectors.iter().map(Vec::as_slice).collect();
        let mut words = vec![u32::MAX; lengths.iter().sum::<usize>() * FR_WORDS];
        fr_words_into_scoped(&refs, &mut words);
        assert_eq!(words, fr_words(&refs));
        // An unreduced element anywhere is an error, not an `Fr`.
        let vectors: Vec<Vec<Fr>> = (0..9).map(|_| vec![Fr::from(1u64); n]).collect();
        let refs: Vec<&[Fr]> = vectors.iter().map(Vec::as_slice).collect();
        let mut words = fr_words(&refs);
        let last = words.len() - FR_WORDS;
        words[last..].fill(u32::MAX);
        assert!(fr_vectors_scoped(&words, n).is_err());
    }
}
