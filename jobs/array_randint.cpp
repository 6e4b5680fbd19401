// Workshop arrays: a random integer matrix and the expressions built on it.
//
//     x = randint(1, 10, size=(15, 15), chunks=(5, 5))
//     x + x.T                      9 chunks, each from chunk (i, j) and (j, i)
//     x.dot(x.T + 1)               chunk (i, j) = sum over k of x(i, k) (x.T + 1)(k, j)
//     x.dot(x.T + 1) - x.mean()    the mean: a tree over the 9 chunks, broadcast
//     (x.dot(x.T + 1) - x.mean()).std()
//
// Writes x and every result to one HDF5 file, for checking against NumPy.
// Run: mpirun -n 2 build/jobs/array_randint out.h5 [--seed 42] [--size 15 --chunk 5]
#include <cstdio>

#include "array_options.hpp"

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  const std::string out = jobs::positional(argc, argv, 0, "array_randint OUT.h5 [--seed S] [--size N --chunk C]");
  const auto seed = jobs::int_option(argc, argv, "seed", 42, 0);
  const auto size = jobs::int_option(argc, argv, "size", 15);
  const auto chunk = jobs::int_option(argc, argv, "chunk", 5);
  rask::Array x = rask::random::randint(1, 10, {size, size}, {chunk, chunk}, static_cast<std::uint64_t>(seed));
  rask::Array sym = x + x.T();
  rask::Array product = x.dot(x.T() + 1);
  rask::Array centered = product - x.mean();
  rask::Array spread = centered.std();
  const double t0 = rt.wtime();
  rask::to_hdf5(out,
                {{"/x", x}, {"/x_plus_xT", sym}, {"/dot", product}, {"/dot_minus_mean", centered}, {"/std", spread}});
  const double t1 = rt.wtime();
  auto v = spread.compute();
  if (rt.rank() == 0) {
    std::printf("result: (x.dot(x.T + 1) - x.mean()).std() = %.17g\n", v.item());
    std::printf("time: to_hdf5 %.3f s\n", t1 - t0);
  }
}
