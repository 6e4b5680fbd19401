// The workshop's exercises 2.1 and 2.2 in C++ as a newcomer writes them: no cost hints,
// no owners, every call impure (as Dask's delayed calls are by default), so that the
// planner knows nothing it was not told by the code itself.
//
//   bench_exercises cartesian [SCALE]   f(a, b) (20 ms) and g(a, b) (30 ms) for each of
//                                       the 50 x 25 pairs, then one collect(cells)
//   bench_exercises inc_add [SCALE]     inc(1), inc(2) (1 s each), then add (1 s)
//
// Prints on rank 0 "seconds S ideal I workers W": the compute's time, and the ideal on
// the job's workers (the work spread evenly, never below the longest chain). SCALE
// multiplies every sleep. Collective: run under mpirun; bench/bench_exercises.py does.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <rask/rask.hpp>

// Task functions have external linkage so that their keys carry their names.
double g_scale = 1.0;

void work_for(double seconds) { std::this_thread::sleep_for(std::chrono::duration<double>(seconds * g_scale)); }

long f(long a, long b) {
  work_for(0.020);
  return a - b;
}

long g(long a, long b) {
  work_for(0.030);
  return a * b;
}

long collect(const std::vector<long>& cells) { return std::accumulate(cells.begin(), cells.end(), 0L); }

int inc(int x) {
  work_for(1.0);
  return x + 1;
}

int add(int x, int y) {
  work_for(1.0);
  return x + y;
}

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  const std::string mode = argc > 1 ? argv[1] : "";
  g_scale = argc > 2 ? std::atof(argv[2]) : 1.0;
  const double workers = rt.size() * rt.threads();
  double seconds = 0, ideal = 0;
  if (mode == "cartesian") {
    std::vector<long> A(50), B(25);
    // The job script's lists (bench/job_exercises.py): values in [1, 9] and [4, 12].
    for (std::size_t a_idx = 0; a_idx < A.size(); ++a_idx) A[a_idx] = 1 + static_cast<long>(a_idx * 7 % 9);
    for (std::size_t b_idx = 0; b_idx < B.size(); ++b_idx) B[b_idx] = 4 + static_cast<long>(b_idx * 5 % 9);
    rt.barrier();
    const double start = rt.wtime();
    std::vector<rask::Delayed<long>> cells;
    for (long a : A)
      for (long b : B) {
        cells.push_back(rask::delayed(f, {.pure = false})(a, b));
        cells.push_back(rask::delayed(g, {.pure = false})(a, b));
      }
    auto total = rask::delayed(collect)(cells).compute();
    seconds = rt.wtime() - start;
    long expected = 0;
    for (long a : A)
      for (long b : B) expected += (a - b) + a * b;
    if (rt.rank() == 0 && *total != expected) {
      std::fprintf(stderr, "wrong total %ld, expected %ld\n", *total, expected);
      return 1;
    }
    ideal = static_cast<double>(A.size() * B.size()) * 0.050 * g_scale / workers;
  } else if (mode == "inc_add") {
    rt.barrier();
    const double start = rt.wtime();
    auto x = rask::delayed(inc)(1);
    auto y = rask::delayed(inc)(2);
    auto z = rask::delayed(add)(x, y).compute();
    seconds = rt.wtime() - start;
    if (rt.rank() == 0 && *z != 5) {
      std::fprintf(stderr, "wrong result %d\n", *z);
      return 1;
    }
    ideal = std::max(3.0 / workers, 2.0) * g_scale;
  } else {
    if (rt.rank() == 0) std::fprintf(stderr, "usage: bench_exercises cartesian|inc_add [SCALE]\n");
    return 2;
  }
  if (rt.rank() == 0) std::printf("seconds %.4f ideal %.4f workers %.0f\n", seconds, ideal, workers);
}
