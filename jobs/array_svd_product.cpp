// Workshop arrays: svd(x.dot(x.T)), which dask refuses (its svd needs one column of
// chunks). rask hands the product's block-cyclic chunks to ScaLAPACK's PDGESVD where
// they live.
//
//     x = random((4000, 500), chunks=(500, 500))
//     p = x.dot(x.T)                 8 x 8 chunks on a 2-D process grid
//     u, s, v = svd(p)               PDGESVD on the same grid, no redistribution
//
// Writes s (u and v with --uv; x with --write-input) to HDF5.
// Run: mpirun -n 2 build/jobs/array_svd_product out.h5 [--rows 4000 --cols 500 --chunk 500]
#include <cstdio>

#include "array_options.hpp"

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  const std::string out = jobs::positional(argc, argv, 0,
                                           "array_svd_product OUT.h5 [--rows R --cols C --chunk K --seed S] [--uv] "
                                           "[--write-input]");
  const auto rows = jobs::int_option(argc, argv, "rows", 4000);
  const auto cols = jobs::int_option(argc, argv, "cols", 500);
  const auto chunk = jobs::int_option(argc, argv, "chunk", 500);
  const auto seed = jobs::int_option(argc, argv, "seed", 7, 0);
  rask::Array x = rask::random::random({rows, cols}, {chunk, chunk}, static_cast<std::uint64_t>(seed));
  auto [u, s, v] = rask::linalg::svd(x.dot(x.T()));
  std::vector<std::pair<std::string, rask::Array>> outputs{{"/s", s}};
  if (jobs::flag(argc, argv, "uv")) {
    outputs.emplace_back("/u", u);
    outputs.emplace_back("/v", v);
  }
  if (jobs::flag(argc, argv, "write-input")) outputs.emplace_back("/x", x);
  const double t0 = rt.wtime();
  rask::to_hdf5(out, outputs);
  const double t1 = rt.wtime();
  if (rt.rank() == 0) std::printf("time: svd(x.dot(x.T)) and write %.3f s\n", t1 - t0);
}
