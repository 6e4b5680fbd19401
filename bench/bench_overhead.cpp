// Per-task overhead: a map of `inc` over n integers, then a tree sum with fan-in 8
// (n = 100,000 gives 114,287 tasks), as bench/bench_tasks.py runs it in Dask.
//
//     inc(0) inc(1) ... inc(7)   inc(8) ... inc(15)   ...
//        \    |    /              \    |    /
//           sum                      sum           ...
//                 \                 /
//                        sum  ...  -> total
//
// Prints one line per repetition with the time to build the graph (the delayed calls),
// to plan it and to run it, and the whole per task. Collective: run under mpirun.
// Usage: bench_overhead [n] [repetitions]
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <vector>

#include <mpi.h>

#include <rask/rask.hpp>

long inc(long x) { return x + 1; }
long sum_all(const std::vector<long>& xs) { return std::accumulate(xs.begin(), xs.end(), 0L); }

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  const long n = argc > 1 ? std::atol(argv[1]) : 100000;
  const int repetitions = argc > 2 ? std::atoi(argv[2]) : 5;
  for (int rep = 0; rep < repetitions; ++rep) {
    rt.barrier();
    const double t0 = rt.wtime();
    auto delayed_inc = rask::delayed(inc);
    auto delayed_sum = rask::delayed(sum_all, {.name = "sum"});
    std::vector<rask::Delayed<long>> level;
    level.reserve(static_cast<std::size_t>(n));
    for (long i = 0; i < n; ++i) level.push_back(delayed_inc(i));
    std::size_t tasks = level.size();
    while (level.size() > 1) {
      std::vector<rask::Delayed<long>> next;
      std::vector<rask::Delayed<long>> group;
      for (std::size_t begin = 0; begin < level.size(); begin += 8) {
        group.assign(level.begin() + static_cast<long>(begin),
                     level.begin() + static_cast<long>(std::min(begin + 8, level.size())));
        next.push_back(delayed_sum(group));
      }
      tasks += next.size();
      level = std::move(next);
    }
    const double t1 = rt.wtime();
    auto total = level.front().compute();
    const double t2 = rt.wtime();
    const auto& stats = rt.last_stats();
    double longest = t2 - t0;
    MPI_Allreduce(MPI_IN_PLACE, &longest, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
    // MPI messages (batches of values) sent by all ranks together.
    unsigned long messages = stats.messages_sent;
    MPI_Allreduce(MPI_IN_PLACE, &messages, 1, MPI_UNSIGNED_LONG, MPI_SUM, MPI_COMM_WORLD);
    if (rt.rank() == 0) {
      if (*total != n * (n + 1) / 2) {
        std::fprintf(stderr, "wrong total %ld\n", *total);
        return 1;
      }
      std::printf("tasks %zu ranks %d threads %d build_s %.6f plan_s %.6f run_s %.6f total_s %.6f "
                  "us_per_task %.3f run_us_per_task %.3f messages %lu\n",
                  tasks, rt.size(), rt.threads(), t1 - t0, stats.plan_seconds, stats.run_seconds, longest,
                  1e6 * longest / static_cast<double>(tasks), 1e6 * stats.run_seconds / static_cast<double>(tasks),
                  messages);
    }
  }
}
