// Field arithmetic for Coalition's GPU prover: BN254's base field Fq, its
// quadratic extension Fq2 (G2 coordinates) and the scalar field Fr (NTTs).
//
// The first of the three CUDA sources (field.cu, msm.cu, ntt.cu) that
// device.rs concatenates and compiles at run time with NVRTC; they also
// compile as plain C++ for host emulation (tests/emulate.cpp), so the
// arithmetic is checked on machines without a GPU.
//
// Elements: 8 little-endian 32-bit limbs in Montgomery form with R = 2^256,
// the same representation arkworks uses (its 4 u64 limbs, reinterpreted),
// so neither field needs converting on the way to or from the device.

#ifndef COALITION_HOST_EMULATION
typedef unsigned int u32;
typedef unsigned long long u64;
#define DEVICE __device__ __forceinline__
// The Fq2 product is called, not inlined: inlining it (three Fq products)
// into every G2 formula made kernels so large that NVRTC and the JIT took
// minutes on the first load. The Fq product itself is inlined: called with
// its operands by reference, they go through local memory, and the H200 run
// that called it took 74.9 ms for G1 at 2^20 against 52.8 ms in the run
// before, which inlined it (BENCHMARKS.md; not yet re-measured this way).
#define DEVICE_CALL __device__ __noinline__
#define CONSTANT __constant__
#else
#define DEVICE inline
#define DEVICE_CALL inline
#define CONSTANT static const
#endif

#ifndef COALITION_HOST_EMULATION
#define KERNEL extern "C" __global__
#define GLOBAL_INDEX (blockIdx.x * blockDim.x + threadIdx.x)
#endif

CONSTANT u32 FQ_P[8] = {0xd87cfd47u, 0x3c208c16u, 0x6871ca8du, 0x97816a91u,
                        0x8181585du, 0xb85045b6u, 0xe131a029u, 0x30644e72u};
CONSTANT u32 FQ_ONE[8] = {0xc58f0d9du, 0xd35d438du, 0xf5c70b3du, 0x0a78eb28u,
                          0x7879462cu, 0x666ea36fu, 0x9a07df2fu, 0x0e0a77c1u};
CONSTANT u32 FR_P[8] = {0xf0000001u, 0x43e1f593u, 0x79b97091u, 0x2833e848u,
                        0x8181585du, 0xb85045b6u, 0xe131a029u, 0x30644e72u};
CONSTANT u32 FR_ONE[8] = {0x4ffffffbu, 0xac96341cu, 0x9f60cd29u, 0x36fc7695u,
                          0x7879462eu, 0x666ea36fu, 0x9a07df2fu, 0x0e0a77c1u};

// A prime field's constants: modulus p, R mod p (one), −p^−1 mod 2^32.
struct FqParams {
  static DEVICE u32 p(int i) { return FQ_P[i]; }
  static DEVICE u32 one(int i) { return FQ_ONE[i]; }
  static constexpr u32 inv = 0xe4866389u;
};
struct FrParams {
  static DEVICE u32 p(int i) { return FR_P[i]; }
  static DEVICE u32 one(int i) { return FR_ONE[i]; }
  static constexpr u32 inv = 0xefffffffu;
};

template <class P> struct Fp { u32 l[8]; };
typedef Fp<FqParams> Fq;
typedef Fp<FrParams> Fr;
struct Fq2 { Fq c0, c1; };

template <class P> DEVICE Fp<P> fp_zero() { Fp<P> r; for (int i = 0; i < 8; i++) r.l[i] = 0; return r; }
template <class P> DEVICE Fp<P> fp_one() { Fp<P> r; for (int i = 0; i < 8; i++) r.l[i] = P::one(i); return r; }
template <class P> DEVICE bool is_zero(const Fp<P>& a) {
  u32 acc = 0; for (int i = 0; i < 8; i++) acc |= a.l[i]; return acc == 0;
}
template <class P> DEVICE bool eq(const Fp<P>& a, const Fp<P>& b) {
  u32 acc = 0; for (int i = 0; i < 8; i++) acc |= a.l[i] ^ b.l[i]; return acc == 0;
}
// --- carry-chain primitives ------------------------------------------------
// PTX's extended-precision instructions: a `.cc` instruction writes the
// carry flag CF, a `c` one (addc, madc) adds CF in; for subtraction CF is
// the borrow (subc: d = a − (b + CF)). On the device each is
// one instruction; host emulation keeps CF in a variable with the same
// semantics (PTX ISA, "extended-precision integer arithmetic"), so the
// chains below run in CI. Each chain is a run of consecutive calls with
// nothing between them that would need the flag.
#if defined(COALITION_HOST_EMULATION)
static u32 g_cf = 0;
DEVICE u32 add_cc(u32 a, u32 b) { u64 s = (u64)a + b; g_cf = (u32)(s >> 32); return (u32)s; }
DEVICE u32 addc_cc(u32 a, u32 b) { u64 s = (u64)a + b + g_cf; g_cf = (u32)(s >> 32); return (u32)s; }
DEVICE u32 addc(u32 a, u32 b) { return a + b + g_cf; }
DEVICE u32 sub_cc(u32 a, u32 b) { g_cf = a < b; return a - b; }
DEVICE u32 subc_cc(u32 a, u32 b) { u64 d = (u64)b + g_cf; u32 r = (u32)((u64)a - d); g_cf = (u64)a < d; return r; }
DEVICE u32 subc(u32 a, u32 b) { return a - b - g_cf; }
DEVICE u32 mad_lo_cc(u32 a, u32 b, u32 c) { return add_cc(a * b, c); }
DEVICE u32 madc_lo_cc(u32 a, u32 b, u32 c) { return addc_cc(a * b, c); }
DEVICE u32 mad_hi_cc(u32 a, u32 b, u32 c) { return add_cc((u32)(((u64)a * b) >> 32), c); }
DEVICE u32 madc_hi_cc(u32 a, u32 b, u32 c) { return addc_cc((u32)(((u64)a * b) >> 32), c); }
#else
DEVICE u32 add_cc(u32 a, u32 b) {
  u32 r; asm volatile("add.cc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b)); return r;
}
DEVICE u32 addc_cc(u32 a, u32 b) {
  u32 r; asm volatile("addc.cc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b)); return r;
}
DEVICE u32 addc(u32 a, u32 b) {
  u32 r; asm volatile("addc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b)); return r;
}
DEVICE u32 sub_cc(u32 a, u32 b) {
  u32 r; asm volatile("sub.cc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b)); return r;
}
DEVICE u32 subc_cc(u32 a, u32 b) {
  u32 r; asm volatile("subc.cc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b)); return r;
}
DEVICE u32 subc(u32 a, u32 b) {
  u32 r; asm volatile("subc.u32 %0, %1, %2;" : "=r"(r) : "r"(a), "r"(b)); return r;
}
DEVICE u32 mad_lo_cc(u32 a, u32 b, u32 c) {
  u32 r; asm volatile("mad.lo.cc.u32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c)); return r;
}
DEVICE u32 madc_lo_cc(u32 a, u32 b, u32 c) {
  u32 r; asm volatile("madc.lo.cc.u32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c)); return r;
}
DEVICE u32 mad_hi_cc(u32 a, u32 b, u32 c) {
  u32 r; asm volatile("mad.hi.cc.u32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c)); return r;
}
DEVICE u32 madc_hi_cc(u32 a, u32 b, u32 c) {
  u32 r; asm volatile("madc.hi.cc.u32 %0, %1, %2, %3;" : "=r"(r) : "r"(a), "r"(b), "r"(c)); return r;
}
#endif

// Two renderings of add, sub and mul (below). The default runs on carry
// chains: a product's low and high halves are added with mad.lo.cc /
// madc.hi.cc (two instructions per 32×32 product and accumulate), and a
// reduction is a borrow chain and a select, without branches.
// COALITION_PORTABLE_ARITHMETIC selects plain C with 64-bit intermediates
// (no inline PTX; several instructions per step), which the device falls
// back to if the default fails to compile or to pass its self-test.
#if defined(COALITION_PORTABLE_ARITHMETIC)
// a >= p
template <class P> DEVICE bool geq_p(const u32* a) {
  for (int i = 7; i >= 0; i--) {
    if (a[i] > P::p(i)) return true;
    if (a[i] < P::p(i)) return false;
  }
  return true;
}
template <class P> DEVICE void sub_p(u32* a) {
  u64 borrow = 0;
  for (int i = 0; i < 8; i++) {
    u64 d = (u64)a[i] - P::p(i) - borrow;
    a[i] = (u32)d; borrow = (d >> 63) & 1;
  }
}
template <class P> DEVICE Fp<P> add(const Fp<P>& a, const Fp<P>& b) {
  Fp<P> r; u64 carry = 0;
  for (int i = 0; i < 8; i++) {
    u64 s = (u64)a.l[i] + b.l[i] + carry;
    r.l[i] = (u32)s; carry = s >> 32;
  }
  // a, b < p < 2^254 (both moduli): no carry out of 256 bits.
  if (geq_p<P>(r.l)) sub_p<P>(r.l);
  return r;
}
template <class P> DEVICE Fp<P> sub(const Fp<P>& a, const Fp<P>& b) {
  Fp<P> r; u64 borrow = 0;
  for (int i = 0; i < 8; i++) {
    u64 d = (u64)a.l[i] - b.l[i] - borrow;
    r.l[i] = (u32)d; borrow = (d >> 63) & 1;
  }
  if (borrow) {
    u64 carry = 0;
    for (int i = 0; i < 8; i++) {
      u64 s = (u64)r.l[i] + P::p(i) + carry;
      r.l[i] = (u32)s; carry = s >> 32;
    }
  }
  return r;
}
// Montgomery product a·b·2^-256 mod p (CIOS), the result below p: per
// word b_i of b, t += a·b_i, then m = t_0·(−p^−1) mod 2^32 and
// t = (t + m·p) / 2^32. With a, b < p < 2^254, t < 2p at the top of every
// round, so one conditional subtraction ends it.
template <class P> DEVICE Fp<P> mul(const Fp<P>& a, const Fp<P>& b) {
  u32 t[10];
  for (int i = 0; i < 10; i++) t[i] = 0;
  for (int i = 0; i < 8; i++) {
    u64 carry = 0;
    for (int j = 0; j < 8; j++) {
      u64 s = (u64)t[j] + (u64)a.l[j] * b.l[i] + carry;
      t[j] = (u32)s; carry = s >> 32;
    }
    u64 s = (u64)t[8] + carry;
    t[8] = (u32)s; t[9] = (u32)(s >> 32);
    u32 m = t[0] * P::inv;
    carry = ((u64)t[0] + (u64)m * P::p(0)) >> 32;
    for (int j = 1; j < 8; j++) {
      u64 s2 = (u64)t[j] + (u64)m * P::p(j) + carry;
      t[j - 1] = (u32)s2; carry = s2 >> 32;
    }
    s = (u64)t[8] + carry;
    t[7] = (u32)s; t[8] = t[9] + (u32)(s >> 32);
  }
  Fp<P> r;
  for (int i = 0; i < 8; i++) r.l[i] = t[i];
  if (t[8] != 0 || geq_p<P>(r.l)) sub_p<P>(r.l);
  return r;
}
#else
// a − p if a ≥ p, else a (a < 2p): subtract with borrow, keep a on borrow.
template <class P> DEVICE Fp<P> reduce_once(const Fp<P>& a) {
  u32 s[8];
  s[0] = sub_cc(a.l[0], P::p(0));
#pragma unroll
  for (int i = 1; i < 8; i++) s[i] = subc_cc(a.l[i], P::p(i));
  u32 keep_a = subc(0, 0);  // all ones when a < p
  Fp<P> r;
#pragma unroll
  for (int i = 0; i < 8; i++) r.l[i] = (a.l[i] & keep_a) | (s[i] & ~keep_a);
  return r;
}
template <class P> DEVICE Fp<P> add(const Fp<P>& a, const Fp<P>& b) {
  // a, b < p < 2^254 (both moduli): no carry out of 256 bits.
  Fp<P> r;
  r.l[0] = add_cc(a.l[0], b.l[0]);
#pragma unroll
  for (int i = 1; i < 8; i++) r.l[i] = addc_cc(a.l[i], b.l[i]);
  return reduce_once(r);
}
template <class P> DEVICE Fp<P> sub(const Fp<P>& a, const Fp<P>& b) {
  Fp<P> r;
  r.l[0] = sub_cc(a.l[0], b.l[0]);
#pragma unroll
  for (int i = 1; i < 8; i++) r.l[i] = subc_cc(a.l[i], b.l[i]);
  u32 add_p = subc(0, 0);  // all ones when a < b: add p back
  r.l[0] = add_cc(r.l[0], P::p(0) & add_p);
#pragma unroll
  for (int i = 1; i < 8; i++) r.l[i] = addc_cc(r.l[i], P::p(i) & add_p);
  return r;
}
// The Montgomery product as above, in carry chains. t < 2p < 2^255 at the
// top of a round, < 2^255 + 2^286 after adding a·b_i and < 2^288 after
// adding m·p: nine words, and no carry ever leaves t[8].
template <class P> DEVICE Fp<P> mul(const Fp<P>& a, const Fp<P>& b) {
  u32 t[9];
#pragma unroll
  for (int k = 0; k < 9; k++) t[k] = 0;
#pragma unroll
  for (int i = 0; i < 8; i++) {
    u32 bi = b.l[i];
    // t += a·b_i: low halves at word j, then high halves at word j + 1.
    t[0] = mad_lo_cc(a.l[0], bi, t[0]);
#pragma unroll
    for (int j = 1; j < 8; j++) t[j] = madc_lo_cc(a.l[j], bi, t[j]);
    t[8] = addc(t[8], 0);
    t[1] = mad_hi_cc(a.l[0], bi, t[1]);
#pragma unroll
    for (int j = 1; j < 8; j++) t[j + 1] = madc_hi_cc(a.l[j], bi, t[j + 1]);
    // t += m·p, which clears t[0].
    u32 m = t[0] * P::inv;
    t[0] = mad_lo_cc(m, P::p(0), t[0]);
#pragma unroll
    for (int j = 1; j < 8; j++) t[j] = madc_lo_cc(m, P::p(j), t[j]);
    t[8] = addc(t[8], 0);
    t[1] = mad_hi_cc(m, P::p(0), t[1]);
#pragma unroll
    for (int j = 1; j < 8; j++) t[j + 1] = madc_hi_cc(m, P::p(j), t[j + 1]);
    // t /= 2^32.
#pragma unroll
    for (int k = 0; k < 8; k++) t[k] = t[k + 1];
    t[8] = 0;
  }
  Fp<P> r;
#pragma unroll
  for (int k = 0; k < 8; k++) r.l[k] = t[k];
  return reduce_once(r);
}
#endif
template <class P> DEVICE Fp<P> neg(const Fp<P>& a) { return is_zero(a) ? a : sub(fp_zero<P>(), a); }
DEVICE Fq fq_zero() { return fp_zero<FqParams>(); }
DEVICE Fq fq_one() { return fp_one<FqParams>(); }

// Fq2 = Fq[u]/(u^2 + 1).
DEVICE Fq2 add(const Fq2& a, const Fq2& b) { Fq2 r; r.c0 = add(a.c0, b.c0); r.c1 = add(a.c1, b.c1); return r; }
DEVICE Fq2 sub(const Fq2& a, const Fq2& b) { Fq2 r; r.c0 = sub(a.c0, b.c0); r.c1 = sub(a.c1, b.c1); return r; }
// Karatsuba: three Fq products. Operands by value, so a call passes them
// in registers rather than through local memory.
DEVICE_CALL Fq2 mul(Fq2 a, Fq2 b) {
  Fq v0 = mul(a.c0, b.c0), v1 = mul(a.c1, b.c1);
  Fq2 r;
  r.c0 = sub(v0, v1);
  r.c1 = sub(sub(mul(add(a.c0, a.c1), add(b.c0, b.c1)), v0), v1);
  return r;
}
DEVICE bool is_zero(const Fq2& a) { return is_zero(a.c0) && is_zero(a.c1); }
DEVICE bool eq(const Fq2& a, const Fq2& b) { return eq(a.c0, b.c0) && eq(a.c1, b.c1); }
DEVICE Fq2 neg(const Fq2& a) { Fq2 r; r.c0 = neg(a.c0); r.c1 = neg(a.c1); return r; }

