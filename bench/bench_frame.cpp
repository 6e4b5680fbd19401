// The dataframe benchmark's rask side: groupby(timestamp.dt.hour).close.mean() over CSV
// files, computed `repetitions` times in one process; prints the compute time of each
// run (in-process, end to end: list files, read, parse, group, aggregate, gather) and the
// peak resident memory of the largest rank.
//
//   mpirun -n 2 build/bench/bench_frame '/tmp/minute/*/*.csv' 5 [blocksize]
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include <mpi.h>
#include <rask/rask.hpp>

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  if (argc < 2) throw rask::InputError("usage: bench_frame PATTERN [REPETITIONS] [BLOCKSIZE]");
  const std::string pattern = argv[1];
  const int repetitions = argc > 2 ? std::atoi(argv[2]) : 3;
  rask::ReadCsvOptions options{.parse_dates = {"timestamp"}};
  if (argc > 3) options.blocksize = std::atoll(argv[3]);
  rask::DataFrame df = rask::read_csv(pattern, options);
  rask::Series hourly = df.groupby(df["timestamp"].dt().hour())["close"].mean();
  // CPU seconds of this process (all threads): on a shared machine, bytes per CPU
  // second says what a core does even when the cores are not all ours.
  auto cpu_seconds = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           1e-6 * static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
  };
  for (int run = 0; run < repetitions; ++run) {
    rt.barrier();
    const double start = rt.wtime(), cpu_start = cpu_seconds();
    auto result = hourly.compute();
    const double seconds = rt.wtime() - start;
    double cpu = cpu_seconds() - cpu_start, cpu_all = 0;
    MPI_Reduce(&cpu, &cpu_all, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rt.rank() == 0) {
      double checksum = 0;
      for (double v : result->columns.at(0).f64) checksum += v;
      std::printf("run %d seconds %.6f cpu_seconds %.6f groups %zu checksum %.12f\n", run, seconds, cpu_all,
                  result->rows(), checksum);
    }
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  long peak_kb = usage.ru_maxrss, max_kb = 0;
  MPI_Reduce(&peak_kb, &max_kb, 1, MPI_LONG, MPI_MAX, 0, MPI_COMM_WORLD);
  if (rt.rank() == 0) std::printf("peak_rss_kb %ld\n", max_kb);
}
