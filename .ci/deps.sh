#!/usr/bin/env bash
# Installs the Debian 12 packages rask needs, and only those that are missing.
# Usage: .ci/deps.sh build|test|bench
set -euo pipefail
build=(cmake make g++ libopenmpi-dev openmpi-bin libhdf5-openmpi-dev libeigen3-dev
       libscalapack-openmpi-dev libopenblas-dev libgtest-dev libfast-float-dev librandom123-dev)
# The rask program embeds Debian's CPython; job graphs travel pickled with cloudpickle.
build+=(pybind11-dev libpython3.11-dev python3-cloudpickle)
# `rask run NOTEBOOK.ipynb`: cells through IPython's shell, the executed notebook by nbformat.
build+=(python3-ipython python3-nbformat)
# Independent checks in the tests use NumPy/pandas/h5py from Debian's Python.
test=(python3-numpy python3-pandas python3-h5py)
# Job scripts run under Dask and rask alike and write HDF5 with h5py's Open MPI build.
test+=(python3-dask python3-distributed python3-h5py-mpi python3-mpi4py)
# A real single-node Slurm for the batch scripts' test.
test+=(slurm-wlm munge)
# Notebooks: the same notebook executed by a Jupyter kernel under Dask (nbclient), its
# figures (matplotlib) and .visualize() images (Graphviz's dot).
test+=(python3-nbclient python3-ipykernel python3-matplotlib graphviz python3-graphviz)
# The peer in side-by-side benchmarks.
bench=(python3-dask python3-distributed python3-pandas python3-numpy)
want=("${build[@]}")
case "${1:-build}" in
  build) ;;
  test) want+=("${test[@]}") ;;
  bench) want+=("${test[@]}" "${bench[@]}") ;;
  *) echo "usage: $0 build|test|bench" >&2; exit 2 ;;
esac
missing=()
for pkg in "${want[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "rask: missing Debian packages: ${missing[*]}" >&2
  echo "      install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "rask: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
