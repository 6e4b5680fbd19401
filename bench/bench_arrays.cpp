// Array benchmarks, timed by the program itself; bench/bench_arrays.py runs them next to
// Dask. Each prints lines "name value ..." that the runner parses.
//
//   bench_arrays std N CHUNK REPS        (x.dot(x.T + 1) - x.mean()).std(), x random N x N
//   bench_arrays svd ROWS COLS CHUNK REPS   s of svd(random ROWS x COLS), chunks (CHUNK, COLS)
//   bench_arrays svdprod ROWS COLS CHUNK REPS UV   svd(x.dot(x.T)) by ScaLAPACK (UV 0: s only)
//   bench_arrays persist N CHUNK REPS    x.persist(); then (x + x.T).sum(axis=0) alone, with a
//                                        STREAM-like read of the same chunks for comparison
#include <mpi.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include <rask/rask.hpp>

namespace {

long peak_rss_kb_all_ranks() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  long mine = usage.ru_maxrss, total = 0;
  MPI_Allreduce(&mine, &total, 1, MPI_LONG, MPI_SUM, MPI_COMM_WORLD);
  return total;
}

// CPU seconds (user + system) of all ranks so far: on a loaded machine, CPU time over
// the cores a run has is the wall time it would take alone.
double cpu_seconds_all_ranks() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  double mine = static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
                1e-6 * static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec),
         total = 0;
  MPI_Allreduce(&mine, &total, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
  return total;
}

// The STREAM-like peer: every rank reads the same number of float64s as its share of x,
// summing them with the threads it has. `simd` lets the sum keep several vector
// accumulators, so it runs at the memory's rate rather than one add's latency.
double stream_read_seconds(std::int64_t elements_per_rank, const rask::Runtime& rt) {
  std::vector<double> data(elements_per_rank, 1.0);
  double best = 1e30;
  for (int rep = 0; rep < 3; ++rep) {
    rt.barrier();
    const double t0 = rt.wtime();
    double total = 0;
#pragma omp parallel for simd reduction(+ : total) schedule(static)
    for (std::int64_t k = 0; k < elements_per_rank; ++k) total += data[k];
    rt.barrier();
    const double t = rt.wtime() - t0;
    if (total != static_cast<double>(elements_per_rank)) std::fprintf(stderr, "bad stream sum\n");
    best = std::min(best, t);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  const std::string mode = argc > 1 ? argv[1] : "";
  auto arg = [&](int k, long fallback) { return argc > k ? std::stol(argv[k]) : fallback; };
  if (mode == "std") {
    const long n = arg(2, 4000), chunk = arg(3, 500), reps = arg(4, 3);
    for (long rep = 0; rep < reps; ++rep) {
      rt.barrier();
      const double t0 = rt.wtime();
      rask::Array x = rask::random::random({n, n}, {chunk, chunk}, 1);
      rask::Array y = (x.dot(x.T() + 1) - x.mean()).std();
      y.compute();
      const double t = rt.wtime() - t0;
      if (rt.rank() == 0) std::printf("std seconds %.4f\n", t);
    }
  } else if (mode == "svd") {
    const long rows = arg(2, 200000), cols = arg(3, 500), chunk = arg(4, 500), reps = arg(5, 3);
    for (long rep = 0; rep < reps; ++rep) {
      const double cpu0 = cpu_seconds_all_ranks();
      rt.barrier();
      const double t0 = rt.wtime();
      rask::Array x = rask::random::random({rows, cols}, {chunk, cols}, 7);
      auto [u, s, v] = rask::linalg::svd(x);
      rask::ArrayValue sv = s.compute();
      const double t = rt.wtime() - t0;
      const double cpu = cpu_seconds_all_ranks() - cpu0;
      const long rss = peak_rss_kb_all_ranks();
      if (rt.rank() == 0)
        std::printf("svd seconds %.4f s0 %.6f peak_rss_mb_all_ranks %.0f cpu_seconds %.3f\n", t, sv.values[0],
                    rss / 1024.0, cpu);
    }
  } else if (mode == "svdprod") {
    const long rows = arg(2, 4000), cols = arg(3, 500), chunk = arg(4, 500), reps = arg(5, 3), uv = arg(6, 0);
    for (long rep = 0; rep < reps; ++rep) {
      rt.barrier();
      const double t0 = rt.wtime();
      rask::Array x = rask::random::random({rows, cols}, {chunk, chunk}, 7);
      auto [u, s, v] = rask::linalg::svd(x.dot(x.T()));
      if (uv) {
        rask::compute({u, s, v});
      } else {
        s.compute();
      }
      const double t = rt.wtime() - t0;
      if (rt.rank() == 0) std::printf("svdprod seconds %.4f\n", t);
    }
  } else if (mode == "sum") {
    // Many small chunks: what each chunk costs beyond its arithmetic.
    const long n = arg(2, 4000), chunk = arg(3, 20), reps = arg(4, 3);
    for (long rep = 0; rep < reps; ++rep) {
      rt.barrier();
      const double t0 = rt.wtime();
      rask::Array x = rask::random::random({n, n}, {chunk, chunk}, 5);
      (x + 1).sum().compute();
      const double t = rt.wtime() - t0;
      if (rt.rank() == 0) std::printf("sum seconds %.4f\n", t);
    }
  } else if (mode == "persist") {
    const long n = arg(2, 20000), chunk = arg(3, 1000), reps = arg(4, 3);
    rask::Array x = rask::random::random({n, n}, {chunk, chunk}, 3).persist();
    const double bytes = 8.0 * n * n;
    const double stream = stream_read_seconds(n * n / rt.size(), rt);
    for (long rep = 0; rep < reps; ++rep) {
      rt.barrier();
      const double t0 = rt.wtime();
      rask::ArrayValue v = (x + x.T()).sum(0).compute();
      const double t = rt.wtime() - t0;
      if (rt.rank() == 0)
        std::printf("persist seconds %.4f gbps %.2f stream_seconds %.4f stream_gbps %.2f\n", t, bytes / t / 1e9, stream,
                    bytes / stream / 1e9);
    }
  } else {
    if (rt.rank() == 0) std::fprintf(stderr, "usage: bench_arrays std|svd|persist ...\n");
    return 2;
  }
}
