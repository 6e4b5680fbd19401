// Workshop arrays: sums of ones.
//
//     ones((15,), chunks=(5,)).sum()             [1 1 1 1 1][1 1 1 1 1][1 1 1 1 1]
//     ones((15, 15), chunks=(5, 5)).sum(axis=0)     sum  sum  sum  -> tree -> 15
//
// Run: mpirun -n 2 build/jobs/array_ones out.h5
#include <cstdio>

#include "array_options.hpp"

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  const std::string out = jobs::positional(argc, argv, 0, "array_ones OUT.h5");
  rask::Array total = rask::ones({15}, {5}).sum();
  rask::Array columns = rask::ones({15, 15}, {5, 5}).sum(0);
  rask::to_hdf5(out, {{"/ones_sum", total}, {"/ones_sum_axis0", columns}});
  auto v = total.compute();
  if (rt.rank() == 0) std::printf("result: ones((15,), chunks=(5,)).sum() = %g\n", v.item());
}
