// main() of the MPI tests: one Runtime for the whole run, output from rank 0 only, and
// one verdict that every rank agrees on.
#include <gtest/gtest.h>
#include <mpi.h>

#include <rask/rask.hpp>

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (rt.rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  int failed = RUN_ALL_TESTS() != 0 ? 1 : 0, any_failed = 0;
  MPI_Allreduce(&failed, &any_failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (any_failed && !failed) std::fprintf(stderr, "rank %d: passed, but another rank failed\n", rt.rank());
  return any_failed;
}
