// Pippenger MSM over BN254 G1 and G2 for Coalition's GPU prover.
//
// Follows field.cu (element representation, compilation, emulation).
// Points: affine inputs (x, y), (0, 0) meaning the identity; accumulators
// in XYZZ coordinates (x = X/ZZ, y = Y/ZZZ, ZZ^3 = ZZZ^2),
// ZZ = 0 meaning the identity. Formulas: EFD "xyzz" for a = 0
// (add-2008-s, madd-2008-s, dbl-2008-s-1, mdbl-2008-s-1).
//
// Pipeline per batch of MSMs over shared bases (c-bit windows,
// B = 2^(c-1) buckets, W windows per MSM, batch·W windows in all):
//   msm_digits     each scalar out of Montgomery form, then its signed
//                  digits: key |d| (0 = none), value point index | sign bit
//   msm_histogram  count keys per (window, bucket)
//   msm_scan       exclusive prefix sums: bucket start offsets
//   msm_scatter    counting sort of (window, bucket) entries
//   msm_accumulate one thread per (window, bucket), top windows first: sum its
//                  points
//   msm_reduce     T threads per window: chunked running sums, weighted
//   msm_fold       log2(T) − 1 launches: tree sum of the T partial results
//   msm_window_sum one thread per window: the last two
// The host combines the W window sums with c doublings between windows.

template <class F> DEVICE F zero_of();
template <> DEVICE Fq zero_of<Fq>() { return fq_zero(); }
template <> DEVICE Fq2 zero_of<Fq2>() { Fq2 r; r.c0 = fq_zero(); r.c1 = fq_zero(); return r; }
template <class F> DEVICE F one_of();
template <> DEVICE Fq one_of<Fq>() { return fq_one(); }
template <> DEVICE Fq2 one_of<Fq2>() { Fq2 r; r.c0 = fq_one(); r.c1 = fq_zero(); return r; }

template <class F> struct Affine { F x, y; };
template <class F> struct Xyzz { F x, y, zz, zzz; };

template <class F> DEVICE Xyzz<F> xyzz_identity() {
  Xyzz<F> r; r.x = zero_of<F>(); r.y = zero_of<F>(); r.zz = zero_of<F>(); r.zzz = zero_of<F>(); return r;
}
template <class F> DEVICE bool affine_is_identity(const Affine<F>& p) { return is_zero(p.x) && is_zero(p.y); }

// 2·(x, y) for affine (x, y), y ≠ 0.
template <class F> DEVICE Xyzz<F> mdbl(const F& x1, const F& y1) {
  F u = add(y1, y1), v = mul(u, u), w = mul(u, v), s = mul(x1, v);
  F x2 = mul(x1, x1), m = add(add(x2, x2), x2);
  Xyzz<F> r;
  r.x = sub(sub(mul(m, m), s), s);
  r.y = sub(mul(m, sub(s, r.x)), mul(w, y1));
  r.zz = v; r.zzz = w;
  return r;
}
template <class F> DEVICE Xyzz<F> dbl(const Xyzz<F>& p) {
  if (is_zero(p.zz)) return p;
  F u = add(p.y, p.y), v = mul(u, u), w = mul(u, v), s = mul(p.x, v);
  F x2 = mul(p.x, p.x), m = add(add(x2, x2), x2);
  Xyzz<F> r;
  r.x = sub(sub(mul(m, m), s), s);
  r.y = sub(mul(m, sub(s, r.x)), mul(w, p.y));
  r.zz = mul(v, p.zz); r.zzz = mul(w, p.zzz);
  return r;
}
// p + (x2, y2), the affine point not the identity.
template <class F> DEVICE Xyzz<F> madd(const Xyzz<F>& p, const F& x2, const F& y2) {
  if (is_zero(p.zz)) {
    Xyzz<F> r; r.x = x2; r.y = y2; r.zz = one_of<F>(); r.zzz = one_of<F>(); return r;
  }
  F u2 = mul(x2, p.zz), s2 = mul(y2, p.zzz);
  F pp_ = sub(u2, p.x), r_ = sub(s2, p.y);
  if (is_zero(pp_)) {
    if (is_zero(r_)) return mdbl(x2, y2);
    return xyzz_identity<F>();
  }
  F pp = mul(pp_, pp_), ppp = mul(pp_, pp), q = mul(p.x, pp);
  Xyzz<F> r;
  r.x = sub(sub(sub(mul(r_, r_), ppp), q), q);
  r.y = sub(mul(r_, sub(q, r.x)), mul(p.y, ppp));
  r.zz = mul(p.zz, pp); r.zzz = mul(p.zzz, ppp);
  return r;
}
template <class F> DEVICE Xyzz<F> add(const Xyzz<F>& p, const Xyzz<F>& q) {
  if (is_zero(p.zz)) return q;
  if (is_zero(q.zz)) return p;
  F u1 = mul(p.x, q.zz), u2 = mul(q.x, p.zz);
  F s1 = mul(p.y, q.zzz), s2 = mul(q.y, p.zzz);
  F pp_ = sub(u2, u1), r_ = sub(s2, s1);
  if (is_zero(pp_)) {
    if (is_zero(r_)) return dbl(p);
    return xyzz_identity<F>();
  }
  F pp = mul(pp_, pp_), ppp = mul(pp_, pp), qq = mul(u1, pp);
  Xyzz<F> r;
  r.x = sub(sub(sub(mul(r_, r_), ppp), qq), qq);
  r.y = sub(mul(r_, sub(qq, r.x)), mul(s1, ppp));
  r.zz = mul(mul(p.zz, q.zz), pp); r.zzz = mul(mul(p.zzz, q.zzz), ppp);
  return r;
}
template <class F> DEVICE Xyzz<F> mul_small(const Xyzz<F>& p, u32 k) {
  Xyzz<F> acc = xyzz_identity<F>();
  for (int bit = 31; bit >= 0; bit--) {
    acc = dbl(acc);
    if ((k >> bit) & 1) acc = add(acc, p);
  }
  return acc;
}

// --- digits, counting sort -------------------------------------------------

// `count` scalars = `count / n` MSMs over the same `n` bases (a batch of
// proofs sharing a proving key). MSM p's window j is batch window
// p·windows + j; every later kernel sees batch·windows independent windows.
KERNEL void msm_digits(const u32* scalars, u32 n, u32 count, u32 c, u32 windows, u32* keys, u32* vals) {
  u32 i = GLOBAL_INDEX;
  if (i >= count) return;
  u32 msm = i / n, point = i % n;
  // Scalars arrive in Montgomery form (arkworks' limbs, copied): a product
  // by the plain integer 1 gives x·R·1·R^−1 = x, canonical and below r.
  Fr mont, plain_one = fp_zero<FrParams>();
  for (int k = 0; k < 8; k++) mont.l[k] = scalars[8 * i + k];
  plain_one.l[0] = 1;
  Fr canonical = mul(mont, plain_one);
  u32 s[9];
  for (int k = 0; k < 8; k++) s[k] = canonical.l[k];
  s[8] = 0;
  u32 half = 1u << (c - 1), mask = (1u << c) - 1, carry = 0;
  for (u32 j = 0; j < windows; j++) {
    u32 bit = j * c, limb = bit >> 5, shift = bit & 31;
    u32 raw = 0;
    if (limb < 8) {
      u64 two = (u64)s[limb] | ((u64)s[limb + 1] << 32);
      raw = (u32)(two >> shift) & mask;
    }
    u32 d = raw + carry;
    carry = 0;
    u32 key, sign = 0;
    if (d > half) { key = (1u << c) - d; sign = 0x80000000u; carry = 1; }
    else key = d;
    u32 slot = (msm * windows + j) * n + point;
    keys[slot] = key;
    vals[slot] = point | sign;
  }
}

// counts: windows × stride u32 (stride = B + 2), zeroed.
KERNEL void msm_histogram(const u32* keys, u32 total, u32 n, u32 stride, u32* counts) {
  u32 idx = GLOBAL_INDEX;
  if (idx >= total) return;
  u32 key = keys[idx];
  if (key) atomicAdd(&counts[(idx / n) * stride + key], 1u);
}

// One block of SCAN_THREADS threads per window: exclusive prefix sums of
// counts[0..stride) in place (stride − 1 = B + 1 keys; the last slot becomes
// the window's total), copied to cursors.
#define SCAN_THREADS 256
KERNEL void msm_scan(u32* counts, u32* cursors, u32 stride) {
#ifndef COALITION_HOST_EMULATION
  __shared__ u32 partial[SCAN_THREADS];
  u32 t = threadIdx.x;
  u32* row = counts + blockIdx.x * stride;
  u32* cur = cursors + blockIdx.x * stride;
  u32 per = (stride + SCAN_THREADS - 1) / SCAN_THREADS;
  u32 lo = t * per, hi = lo + per < stride ? lo + per : stride;
  u32 sum = 0;
  for (u32 k = lo; k < hi; k++) sum += row[k];
  partial[t] = sum;
  __syncthreads();
  if (t == 0) {
    u32 run = 0;
    for (u32 k = 0; k < SCAN_THREADS; k++) { u32 v = partial[k]; partial[k] = run; run += v; }
  }
  __syncthreads();
  u32 run = partial[t];
  for (u32 k = lo; k < hi; k++) { u32 v = row[k]; row[k] = run; cur[k] = run; run += v; }
#endif
}

KERNEL void msm_scatter(const u32* keys, const u32* vals, u32 total, u32 n, u32 stride, u32* cursors, u32* sorted) {
  u32 idx = GLOBAL_INDEX;
  if (idx >= total) return;
  u32 key = keys[idx];
  if (!key) return;
  u32 window = idx / n;
  u32 pos = atomicAdd(&cursors[window * stride + key], 1u);
  sorted[window * n + pos] = vals[idx];
}

// --- bucket accumulation and reduction, templated on the field -------------

// Threads are numbered top window first: window j of every MSM in the
// batch, for j = W − 1 down to 0. The top window holds the scalars' last
// few bits, so its used buckets are few and each holds several times the
// points of a lower window's (and a batch of proofs' witnesses, mostly
// random, does not change that); blocks start roughly in index order, so
// its long-running threads start first and finish under the rest instead
// of trailing after them.
template <class F>
DEVICE void accumulate(const Affine<F>* bases, const u32* sorted, const u32* starts, u32 n, u32 stride, u32 buckets, u32 windows, u32 per_msm, Xyzz<F>* out, u32 idx) {
  if (idx >= windows * buckets) return;
  u32 slot = idx / buckets, key = idx % buckets + 1;
  u32 msms = windows / per_msm;
  u32 window = (slot % msms) * per_msm + (per_msm - 1 - slot / msms);
  u32 begin = starts[window * stride + key], end = starts[window * stride + key + 1];
  Xyzz<F> acc = xyzz_identity<F>();
  for (u32 e = begin; e < end; e++) {
    u32 v = sorted[window * n + e];
    Affine<F> p = bases[v & 0x7fffffffu];
    if (affine_is_identity(p)) continue;
    F y = (v >> 31) ? neg(p.y) : p.y;
    acc = madd(acc, p.x, y);
  }
  out[window * buckets + key - 1] = acc;
}

// T threads per window; thread t sums buckets [lo, hi) with weights m + 1.
template <class F>
DEVICE void reduce(const Xyzz<F>* bucket_sums, u32 buckets, u32 windows, u32 threads, Xyzz<F>* out, u32 idx) {
  if (idx >= windows * threads) return;
  u32 window = idx / threads, t = idx % threads;
  u32 per = (buckets + threads - 1) / threads;
  u32 lo = t * per, hi = lo + per < buckets ? lo + per : buckets;
  Xyzz<F> running = xyzz_identity<F>(), acc = xyzz_identity<F>();
  for (u32 m = hi; m > lo; m--) {
    running = add(running, bucket_sums[window * buckets + m - 1]);
    acc = add(acc, running);
  }
  // acc = Σ (m − lo + 1)·B_m; add lo·Σ B_m for the full weight m + 1.
  if (lo < hi && lo > 0) acc = add(acc, mul_small(running, lo));
  out[idx] = acc;
}

// One step of a window's tree sum over its T partial results (stride T
// apart per window): entry t ← entry t + entry t + half, for t < half. Run
// with half = T/2, T/4, …, 2, then window_sum adds the last two: log2(T)
// additions on the critical path instead of T one after another.
template <class F>
DEVICE void fold(Xyzz<F>* partial, u32 stride, u32 half, u32 windows, u32 idx) {
  if (idx >= windows * half) return;
  u32 window = idx / half, t = idx % half;
  Xyzz<F>* row = partial + window * stride;
  row[t] = add(row[t], row[t + half]);
}

// out[w] = Σ_{t < count} partial[w·stride + t], one thread per window
// (count = 2 after the folds).
template <class F>
DEVICE void window_sum(const Xyzz<F>* partial, u32 stride, u32 count, u32 windows, Xyzz<F>* out, u32 idx) {
  if (idx >= windows) return;
  Xyzz<F> acc = xyzz_identity<F>();
  for (u32 t = 0; t < count; t++) acc = add(acc, partial[idx * stride + t]);
  out[idx] = acc;
}

#define INSTANTIATE(SUFFIX, F)                                                                    \
  KERNEL void msm_accumulate_##SUFFIX(const Affine<F>* bases, const u32* sorted, const u32* starts, \
                                      u32 n, u32 stride, u32 buckets, u32 windows, u32 per_msm,     \
                                      Xyzz<F>* out) {                                               \
    accumulate<F>(bases, sorted, starts, n, stride, buckets, windows, per_msm, out, GLOBAL_INDEX);  \
  }                                                                                                 \
  KERNEL void msm_reduce_##SUFFIX(const Xyzz<F>* sums, u32 buckets, u32 windows, u32 threads,       \
                                  Xyzz<F>* out) {                                                   \
    reduce<F>(sums, buckets, windows, threads, out, GLOBAL_INDEX);                                  \
  }                                                                                                 \
  KERNEL void msm_fold_##SUFFIX(Xyzz<F>* partial, u32 stride, u32 half, u32 windows) {              \
    fold<F>(partial, stride, half, windows, GLOBAL_INDEX);                                          \
  }                                                                                                 \
  KERNEL void msm_window_sum_##SUFFIX(const Xyzz<F>* partial, u32 stride, u32 count, u32 windows,   \
                                      Xyzz<F>* out) {                                               \
    window_sum<F>(partial, stride, count, windows, out, GLOBAL_INDEX);                              \
  }

INSTANTIATE(g1, Fq)
INSTANTIATE(g2, Fq2)
