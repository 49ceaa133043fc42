# Sourced by the device-machine scripts (gpu-check.sh, gpu-service-check.sh):
# names the GPU, finds NVRTC, and installs what gpu-build.sh carried over in
# .devbin/ (dev proving keys, PTX compiled ahead).
OUT=${OUT:-/tmp/gpu-check}
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
for d in /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/lib/x86_64-linux-gnu; do
  if ls "$d"/libnvrtc.so* >/dev/null 2>&1; then export LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"; fi
done
echo "LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}"
# A fresh private directory for the kernel cache (not a fixed, guessable
# /tmp path another user could create first).
export COALITION_PARAMS_DIR=/tmp/params COALITION_CUDA_CACHE="${COALITION_CUDA_CACHE:-$(mktemp -d)}"
if ls .devbin/params/*.pk >/dev/null 2>&1; then export COALITION_PARAMS_DIR=$PWD/.devbin/params; fi
# PTX compiled ahead by gpu-build.sh (when it had NVRTC): installed private
# to this user, as the cache requires, so NVRTC is skipped here.
if ls .devbin/cuda-cache/*.ptx >/dev/null 2>&1; then
  mkdir -p "$COALITION_CUDA_CACHE" && cp .devbin/cuda-cache/*.ptx "$COALITION_CUDA_CACHE"/ \
    && chmod 700 "$COALITION_CUDA_CACHE" && chmod 600 "$COALITION_CUDA_CACHE"/*.ptx \
    && echo "PTX cache installed: $(ls "$COALITION_CUDA_CACHE" | wc -l) modules"
fi
