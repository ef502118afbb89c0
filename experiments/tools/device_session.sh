#!/usr/bin/env bash
# What one short device lease runs, in one call (BENCHMARKS.md, "GPU rows"):
#
#   bash experiments/tools/device_session.sh OUTDIR          # on the device: about 9.5 minutes
#   QUICK=1 bash experiments/tools/device_session.sh OUTDIR  # small sizes (a dry run on CPU)
#
# The device image has its own JAX and packages (no installs there): the package is imported
# from the working tree (PYTHONPATH). Each part has its own time limit so that a slow part
# cannot cost the others their minutes, and writes what it has under OUTDIR as it goes:
#   1. the numeric test files on the accelerator (correctness of the same code): tests.log,
#      junit.xml;
#   2. `experiments.tools.device_rows` (machine, EDMD, SSM kernels, pseudospectrum, PINN step,
#      PIG at the published sizes): device_rows.json;
#   3. the GP solver paths at their default grids (`experiments.gp.kronecker --paths`):
#      gp_paths.json;
#   4. the README's main job (Helmholtz), 3 seeds: helmholtz_metrics.json.
# Everything printed also goes to all.log.
set -u
out=${1:?usage: device_session.sh OUTDIR}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
log="$out/all.log"
quick=${QUICK:-}

{
  date -u
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>/dev/null
  python3 - <<'EOF'
import jax, jax.numpy as jnp, numpy as np
import equinox, optax, diffrax
print("jax", jax.__version__, "equinox", equinox.__version__, "optax", optax.__version__,
      "diffrax", diffrax.__version__, "backend", jax.default_backend(), jax.devices())
print("default matmul precision:", jax.config.jax_default_matmul_precision)
a = np.random.default_rng(0).standard_normal((512, 512))
exact = a @ a
got = np.asarray(jnp.asarray(a, jnp.float32) @ jnp.asarray(a, jnp.float32), np.float64)
print("float32 matmul relative error (TF32 would be ~1e-3):",
      np.linalg.norm(got - exact) / np.linalg.norm(exact))
EOF
} 2>&1 | tee -a "$log"

if [ -n "$quick" ]; then
  t_helm=100; tests="tests/test_ssm_scan.py"; t_tests=120; rows="--quick"; t_rows=200
  gp="--problems gp_q2"; helm="train.steps=50 lbfgs.steps=10 train.seeds=[0]"
else
  tests="tests/test_gp.py tests/test_gp_kronecker.py tests/test_gp_conditions.py
    tests/test_gp_spectrum.py tests/test_koopman.py tests/test_koopman_pseudospectrum.py
    tests/test_koopman_streaming.py tests/test_koopman_generator.py tests/test_ssm_kernels.py
    tests/test_ssm_scan.py tests/test_ssm_hippo.py tests/test_ssm_layers.py
    tests/test_pde_operators.py tests/test_gradients.py tests/test_train.py tests/test_pinn.py
    tests/test_pig.py tests/test_dsr.py tests/test_dynamics.py"
  t_tests=140; rows="--budget 150"; t_rows=210; gp=""
  helm="train.seeds=[0,1,2]"; t_helm=130
fi

echo "== 1. tests on $(python3 -c 'import jax; print(jax.default_backend())')" | tee -a "$log"
# every worker shares the one GPU: no preallocation
XLA_PYTHON_CLIENT_PREALLOCATE=false timeout -s INT -k 20 "$t_tests" \
  python3 -m pytest -o addopts="" -m "not slow" -v -n 14 --dist worksteal -p no:cacheprovider \
  --durations=30 --junitxml="$out/junit.xml" $tests >"$out/tests.log" 2>&1
echo "tests exit $?" | tee -a "$log"
tail -45 "$out/tests.log" >>"$log"

echo "== 2. device_rows" | tee -a "$log"
timeout -k 20 "$t_rows" python3 -m experiments.tools.device_rows $rows \
  --out "$out/device_rows.json" 2>&1 | tee -a "$log"

echo "== 3. GP solver paths" | tee -a "$log"
timeout -k 10 100 python3 -m experiments.gp.kronecker --paths $gp --variant device 2>&1 \
  | tee -a "$log"
cp experiments/results/gp/kronecker_paths_device*.json "$out/gp_paths.json" 2>/dev/null

echo "== 4. the README's main job" | tee -a "$log"
sets=()
for s in $helm plot=false; do sets+=(--set "$s"); done
timeout -k 10 "$t_helm" python3 -m jaxsci.cli run experiments/configs/helmholtz_2d.toml \
  --out /tmp/helmholtz_device "${sets[@]}" 2>&1 | tail -20 | tee -a "$log"
cp /tmp/helmholtz_device/metrics.json "$out/helmholtz_metrics.json" 2>/dev/null
date -u | tee -a "$log"
