// One large value crossing ranks, against a plain MPI_Send of the same bytes.
//
//     make (rank 1) --300 MB--> consume (rank 0)      vs      make, consume (rank 0)
//
// The value is a std::vector<double>: rask sends it from the producer's own storage
// into the consumer's (rask::Contiguous), so moving it should cost about what MPI
// itself costs. Per repetition prints the compute time with the producer on rank 1 and
// on rank 0, their difference (the move), and the same bytes through MPI_Send/MPI_Recv:
// into a warm buffer, and into a new std::vector (what any receiver of a new value
// pays: allocation, zeroing, page faults). Then each rank's peak resident memory during
// the rask part. Run at 2 ranks.
// Usage: bench_transfer [megabytes] [repetitions]
#include <sys/resource.h>

#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <vector>

#include <mpi.h>

#include <rask/rask.hpp>

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  if (rt.size() != 2) throw rask::InputError("bench_transfer runs at 2 ranks");
  const std::size_t n = static_cast<std::size_t>(argc > 1 ? std::atof(argv[1]) : 300) * 1000000 / sizeof(double);
  const int repetitions = argc > 2 ? std::atoi(argv[2]) : 3;
  auto make = [n](long seed) {
    std::vector<double> v(n);
    for (std::size_t i = 0; i < n; ++i) v[i] = static_cast<double>(i % 1000) + seed;
    return v;
  };
  auto consume = [](const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); };
  auto timed = [&](int producer, long seed) {
    auto value = rask::delayed(make, {.name = "make", .owner = producer})(seed);
    auto total = rask::delayed(consume, {.name = "consume", .owner = 0})(value);
    rt.barrier();
    const double start = rt.wtime();
    total.compute();
    return rt.wtime() - start;
  };
  std::vector<double> remote(repetitions), local(repetitions);
  for (int rep = 0; rep < repetitions; ++rep) {
    remote[rep] = timed(1, 2 * rep);
    local[rep] = timed(0, 2 * rep + 1);
  }
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  long peak_kb = usage.ru_maxrss, peaks[2] = {0, 0};
  MPI_Gather(&peak_kb, 1, MPI_LONG, peaks, 1, MPI_LONG, 0, MPI_COMM_WORLD);

  // The plain MPI baseline, in pieces of at most 1 GiB as any MPI code must.
  auto mpi_move = [&](std::vector<double>& buffer) {
    rt.barrier();
    const double start = MPI_Wtime();
    if (buffer.empty()) buffer.resize(n);
    const std::size_t piece = (std::size_t{1} << 30) / sizeof(double);
    for (std::size_t at = 0; at < n; at += piece) {
      const int count = static_cast<int>(std::min(piece, n - at));
      if (rt.rank() == 1) MPI_Send(buffer.data() + at, count, MPI_DOUBLE, 0, 7, MPI_COMM_WORLD);
      else MPI_Recv(buffer.data() + at, count, MPI_DOUBLE, 1, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
    return MPI_Wtime() - start;
  };
  std::vector<double> warm(n);
  for (int rep = 0; rep < repetitions; ++rep) {
    const double warm_s = mpi_move(warm);
    std::vector<double> fresh;
    if (rt.rank() == 1) fresh = warm;
    const double fresh_s = mpi_move(fresh);
    if (rt.rank() == 0)
      std::printf("bytes %zu remote_s %.4f local_s %.4f move_s %.4f mpi_warm_s %.4f mpi_new_vector_s %.4f\n",
                  n * sizeof(double), remote[rep], local[rep], remote[rep] - local[rep], warm_s, fresh_s);
  }
  if (rt.rank() == 0) std::printf("peak_rss_mb %.0f %.0f\n", peaks[0] / 1024.0, peaks[1] / 1024.0);
}
