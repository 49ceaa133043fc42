// Radix-2 NTTs over Fr for the Groth16 witness map (the QAP quotient h),
// batched: `count` vectors of n = 2^log_n elements, vector v at data[v·n].
// Follows field.cu (element representation, compilation, emulation).
//
// Evaluations are at ω^i in natural order. A transform is ntt_bit_reverse
// followed by log_n rounds of ntt_butterflies (half = 1, 2, 4, …, n/2):
// decimation in time, twiddles[k] = ω^k for k < n/2 (ω^−k for the inverse
// transform). Multiplying by per-index factors (1/n, the coset shift g^±i)
// is ntt_scale; qap_combine forms (a·b − c)/Z on the coset. The host
// (device.rs) chains them into
//   h = coset_iNTT((coset_NTT(iNTT(a)) ∘ coset_NTT(iNTT(b)) − coset_NTT(iNTT(c))) / Z(g)),
// arkworks' LibsnarkReduction step for step, so h is the same vector.

DEVICE u32 bit_reverse(u32 i, u32 bits) {
  u32 r = 0;
  for (u32 b = 0; b < bits; b++) { r = (r << 1) | (i & 1); i >>= 1; }
  return r;
}

// total = count·n threads; each swaps its element with its bit-reversed
// partner once (the smaller index does it).
KERNEL void ntt_bit_reverse(Fr* data, u32 log_n, u32 total) {
  u32 idx = GLOBAL_INDEX;
  if (idx >= total) return;
  u32 n = 1u << log_n, base = idx & ~(n - 1), i = idx & (n - 1);
  u32 j = bit_reverse(i, log_n);
  if (i < j) {
    Fr t = data[base + i];
    data[base + i] = data[base + j];
    data[base + j] = t;
  }
}

// One round for every vector: total = count·n/2 threads, one butterfly
// each on (i, i + half) within blocks of 2·half, twiddle ω^(pos·n/(2·half)).
KERNEL void ntt_butterflies(Fr* data, u32 log_n, u32 log_half, const Fr* twiddles, u32 total) {
  u32 idx = GLOBAL_INDEX;
  if (idx >= total) return;
  u32 n = 1u << log_n, half = 1u << log_half;
  u32 v = idx >> (log_n - 1), k = idx & ((n >> 1) - 1);
  u32 pos = k & (half - 1), group = k >> log_half;
  u32 i = v * n + (group << (log_half + 1)) + pos, j = i + half;
  Fr t = mul(data[j], twiddles[pos << (log_n - 1 - log_half)]);
  Fr u = data[i];
  data[i] = add(u, t);
  data[j] = sub(u, t);
}

// data[v·n + i] ·= factors[i] for every vector.
KERNEL void ntt_scale(Fr* data, u32 log_n, const Fr* factors, u32 total) {
  u32 idx = GLOBAL_INDEX;
  if (idx >= total) return;
  data[idx] = mul(data[idx], factors[idx & ((1u << log_n) - 1)]);
}

// a ← (a·b − c)·z_inv elementwise, z_inv = 1/Z(g) = 1/(g^n − 1), the
// vanishing polynomial's (constant) value on the coset.
KERNEL void qap_combine(Fr* a, const Fr* b, const Fr* c, const Fr* z_inv, u32 total) {
  u32 idx = GLOBAL_INDEX;
  if (idx >= total) return;
  a[idx] = mul(sub(mul(a[idx], b[idx]), c[idx]), z_inv[0]);
}
