// Workshop arrays: the SVD of a tall-skinny random matrix.
//
//     x = random((1000000, 500), chunks=(500, 500))
//     u, s, v = svd(x)
//
//     chunk 0   chunk 1   chunk 2   chunk 3 ...   Householder QR each
//         \      /            \      /
//        QR of [R0; R1]     QR of [R2; R3] ...   a fixed tree over chunk indices
//                  \          /
//                     R  -> SVD of R: s, v; u only when asked for
//
// Writes s (and u, v with --uv; x with --write-input) to HDF5.
// Run: mpirun -n 2 build/jobs/array_svd out.h5 [--rows 1000000 --cols 500 --chunk-rows 500]
#include <cstdio>

#include "array_options.hpp"

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  const std::string out = jobs::positional(argc, argv, 0,
                                           "array_svd OUT.h5 [--rows R --cols C --chunk-rows K --seed S] [--uv] "
                                           "[--write-input]");
  const auto rows = jobs::int_option(argc, argv, "rows", 1000000);
  const auto cols = jobs::int_option(argc, argv, "cols", 500);
  const auto chunk_rows = jobs::int_option(argc, argv, "chunk-rows", 500);
  const auto seed = jobs::int_option(argc, argv, "seed", 7, 0);
  rask::Array x = rask::random::random({rows, cols}, {chunk_rows, cols}, static_cast<std::uint64_t>(seed));
  auto [u, s, v] = rask::linalg::svd(x);
  std::vector<std::pair<std::string, rask::Array>> outputs{{"/s", s}};
  if (jobs::flag(argc, argv, "uv")) {
    outputs.emplace_back("/u", u);
    outputs.emplace_back("/v", v);
  }
  if (jobs::flag(argc, argv, "write-input")) outputs.emplace_back("/x", x);
  const double t0 = rt.wtime();
  rask::to_hdf5(out, outputs);
  const double t1 = rt.wtime();
  if (rt.rank() == 0) std::printf("time: svd and write %.3f s\n", t1 - t0);
}
