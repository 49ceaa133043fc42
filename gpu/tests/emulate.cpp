// Host emulation of field.cu, msm.cu and ntt.cu: the device code compiled as C++, its kernels
// run as loops over their thread indices. Driven by tests/host_emulation.rs
// through stdin/stdout (whitespace-separated u32 words).
#include <cstdint>
#include <cstdio>
#include <vector>

typedef uint32_t u32;
typedef uint64_t u64;
#define COALITION_HOST_EMULATION 1
static u32 g_index;
#define KERNEL static
#define GLOBAL_INDEX g_index
static u32 atomicAdd(u32* p, u32 v) { u32 old = *p; *p += v; return old; }

#include "../src/field.cu"
#include "../src/msm.cu"
#include "../src/ntt.cu"

static u32 next() { unsigned v; if (scanf("%u", &v) != 1) return 0; return v; }
template <class T> static T read_obj() { T t; u32* w = (u32*)&t; for (size_t i = 0; i < sizeof(T) / 4; i++) w[i] = next(); return t; }
template <class T> static void write_obj(const T& t) { const u32* w = (const u32*)&t; for (size_t i = 0; i < sizeof(T) / 4; i++) printf("%u ", w[i]); }

// Same rule as layout::window_bits: top window keeps >= 7 bits.
static u32 window_bits(u32 n) {
  const u32 balanced[5] = {5, 8, 13, 15, 16};
  u32 best = 16;
  u64 best_cost = ~0ull;
  for (u32 c : balanced) {
    u64 cost = (u64)((255 + c - 1) / c) * (n + (1ull << (c - 1)));
    if (cost < best_cost) { best_cost = cost; best = c; }
  }
  return best;
}

template <class F>
static void run_msm(void (*acc)(const Affine<F>*, const u32*, const u32*, u32, u32, u32, u32, u32, Xyzz<F>*),
                    void (*red)(const Xyzz<F>*, u32, u32, u32, Xyzz<F>*),
                    void (*fold)(Xyzz<F>*, u32, u32, u32),
                    void (*wsum)(const Xyzz<F>*, u32, u32, u32, Xyzz<F>*)) {
  // threads: reduction threads per window, 0 for device::reduce_threads' rule.
  u32 n = next(), batch = next(), threads = next();
  std::vector<Affine<F>> bases(n);
  for (u32 i = 0; i < n; i++) bases[i] = read_obj<Affine<F>>();
  std::vector<u32> scalars(8 * n * batch);
  for (auto& s : scalars) s = next();
  u32 c = window_bits(n), windows = (254 + 1 + c - 1) / c, buckets = 1u << (c - 1), stride = buckets + 2;
  u32 per_msm = windows;
  windows *= batch;  // every later kernel sees batch · windows windows
  u32 total = windows * n;
  std::vector<u32> keys(total), vals(total), sorted(total), counts(windows * stride, 0), cursors(windows * stride);
  for (g_index = 0; g_index < n * batch; g_index++) msm_digits(scalars.data(), n, n * batch, c, per_msm, keys.data(), vals.data());
  for (g_index = 0; g_index < total; g_index++) msm_histogram(keys.data(), total, n, stride, counts.data());
  for (u32 w = 0; w < windows; w++) {  // msm_scan
    u32 run = 0;
    for (u32 k = 0; k < stride; k++) { u32 v = counts[w * stride + k]; counts[w * stride + k] = run; cursors[w * stride + k] = run; run += v; }
  }
  for (g_index = 0; g_index < total; g_index++) msm_scatter(keys.data(), vals.data(), total, n, stride, cursors.data(), sorted.data());
  std::vector<Xyzz<F>> sums(windows * buckets);
  for (g_index = 0; g_index < windows * buckets; g_index++) acc(bases.data(), sorted.data(), counts.data(), n, stride, buckets, windows, per_msm, sums.data());
  if (threads == 0) {
    // Same rule as device::reduce_threads: the least power of two t with
    // t^2 >= 2B, doubled while windows * t < 2^14 and 2t <= B/8.
    threads = 1;
    while ((u64)threads * threads < 2ull * buckets) threads *= 2;
    while ((u64)threads * windows < (1u << 14) && 16ull * threads <= buckets) threads *= 2;
    if (threads > buckets) threads = buckets;
  }
  std::vector<Xyzz<F>> partial(windows * threads);
  for (g_index = 0; g_index < windows * threads; g_index++) red(sums.data(), buckets, windows, threads, partial.data());
  // The device's launch sequence: folds down to two partial results, then window_sum.
  u32 width = threads;
  for (; width > 2; width /= 2)
    for (g_index = 0; g_index < windows * (width / 2); g_index++) fold(partial.data(), threads, width / 2, windows);
  std::vector<Xyzz<F>> out(windows);
  for (g_index = 0; g_index < windows; g_index++) wsum(partial.data(), threads, width, windows, out.data());
  printf("%u %u ", c, per_msm);
  for (auto& p : out) write_obj(p);
}

// The witness-map pipeline of CudaDevice::qap_quotients, kernel for kernel.
static void run_quotients() {
  u32 log_n = next(), count = next(), n = 1u << log_n, total = n * count;
  auto read_vec = [](u32 len) { std::vector<Fr> v(len); for (auto& x : v) x = read_obj<Fr>(); return v; };
  std::vector<Fr> omega = read_vec(n / 2), omega_inv = read_vec(n / 2);
  std::vector<Fr> into_coset = read_vec(n), out_of_coset = read_vec(n), z_inv = read_vec(1);
  std::vector<Fr> a = read_vec(total), b = read_vec(total), c = read_vec(total);
  auto transform = [&](std::vector<Fr>& data, std::vector<Fr>& tw) {
    for (g_index = 0; g_index < total; g_index++) ntt_bit_reverse(data.data(), log_n, total);
    for (u32 h = 0; h < log_n; h++)
      for (g_index = 0; g_index < total / 2; g_index++) ntt_butterflies(data.data(), log_n, h, tw.data(), total / 2);
  };
  auto scale = [&](std::vector<Fr>& data, std::vector<Fr>& f) {
    for (g_index = 0; g_index < total; g_index++) ntt_scale(data.data(), log_n, f.data(), total);
  };
  for (auto* d : {&a, &b, &c}) { transform(*d, omega_inv); scale(*d, into_coset); transform(*d, omega); }
  for (g_index = 0; g_index < total; g_index++) qap_combine(a.data(), b.data(), c.data(), z_inv.data(), total);
  transform(a, omega_inv);
  scale(a, out_of_coset);
  for (auto& x : a) write_obj(x);
}

int main() {
  for (;;) {
    u32 op = next();
    if (op == 0) break;
    if (op == 1) { Fq a = read_obj<Fq>(), b = read_obj<Fq>(); write_obj(mul(a, b)); }
    else if (op == 2) { Fq a = read_obj<Fq>(), b = read_obj<Fq>(); write_obj(add(a, b)); }
    else if (op == 3) { Fq a = read_obj<Fq>(), b = read_obj<Fq>(); write_obj(sub(a, b)); }
    else if (op == 4) { Fq2 a = read_obj<Fq2>(), b = read_obj<Fq2>(); write_obj(mul(a, b)); }
    else if (op == 5) run_msm<Fq>(msm_accumulate_g1, msm_reduce_g1, msm_fold_g1, msm_window_sum_g1);
    else if (op == 6) run_msm<Fq2>(msm_accumulate_g2, msm_reduce_g2, msm_fold_g2, msm_window_sum_g2);
    else if (op == 7) run_quotients();
    else if (op == 8) { Fr a = read_obj<Fr>(), b = read_obj<Fr>(); write_obj(mul(a, b)); write_obj(add(a, b)); write_obj(sub(a, b)); }
    printf("\n");
    fflush(stdout);
  }
  return 0;
}
