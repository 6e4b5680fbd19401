// Arrays from an HDF5 dataset, each rank reading its own chunks:
//
//     a = from_hdf5(IN, DATASET, chunks)
//     (a + 2 * a).sum(0), x.sum(), a.mean(1), a.std(0), abs(a - 0.5).max(), a.T.dot(a), svd(a)
//
// Run: mpirun -n 2 build/jobs/array_hdf5 in.h5 /x out.h5 [--chunk-rows 300 --chunk-cols 200]
#include <cstdio>

#include "array_options.hpp"

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  const std::string usage = "array_hdf5 IN.h5 DATASET OUT.h5 [--chunk-rows R --chunk-cols C]";
  const std::string in = jobs::positional(argc, argv, 0, usage);
  const std::string dataset = jobs::positional(argc, argv, 1, usage);
  const std::string out = jobs::positional(argc, argv, 2, usage);
  const auto chunk_rows = jobs::int_option(argc, argv, "chunk-rows", 300);
  const auto chunk_cols = jobs::int_option(argc, argv, "chunk-cols", 200);
  rask::Array a = rask::from_hdf5(in, dataset, {chunk_rows, chunk_cols});
  rask::Array z = (a + 2 * a).sum(0);
  auto [u, s, v] = rask::linalg::svd(a);
  rask::to_hdf5(out, {{"/z", z},
                      {"/sum", a.sum()},
                      {"/mean1", a.mean(1)},
                      {"/std0", a.std(0)},
                      {"/absmax", rask::abs(a - 0.5).max()},
                      {"/gram", a.T().dot(a)},
                      {"/s", s}});
  if (rt.rank() == 0) std::printf("result: wrote %s\n", out.c_str());
}
