// The end of a job (see summary.hpp).
#include "job/summary.hpp"

#include <mpi.h>
#include <sys/resource.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "execute/comm.hpp"
#include "job/job.hpp"
#include "job/trace.hpp"
#include "rask/error.hpp"

namespace rask::job {
namespace {

using detail::check_mpi;

std::string human_bytes(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int unit = 0;
  while (bytes >= 1000 && unit < 4) {
    bytes /= 1000;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit ? "%.1f %s" : "%.0f %s", bytes, units[unit]);
  return text;
}

// Collective: every rank's `text` on rank 0, in rank order (empty elsewhere).
std::vector<std::string> gather_texts(const Job& job, const std::string& text) {
  int length = static_cast<int>(text.size());
  std::vector<int> lengths(static_cast<std::size_t>(job.size)), offsets(static_cast<std::size_t>(job.size));
  check_mpi(MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, 0, job.comm.get()), "MPI_Gather");
  std::string gathered;
  if (job.rank == 0) {
    int total = 0;
    for (int r = 0; r < job.size; ++r) {
      offsets[static_cast<std::size_t>(r)] = total;
      total += lengths[static_cast<std::size_t>(r)];
    }
    gathered.resize(static_cast<std::size_t>(total));
  }
  check_mpi(MPI_Gatherv(text.data(), length, MPI_CHAR, gathered.data(), lengths.data(), offsets.data(), MPI_CHAR, 0,
                        job.comm.get()),
            "MPI_Gatherv");
  std::vector<std::string> texts;
  if (job.rank == 0)
    for (int r = 0; r < job.size; ++r)
      texts.push_back(gathered.substr(static_cast<std::size_t>(offsets[static_cast<std::size_t>(r)]),
                                      static_cast<std::size_t>(lengths[static_cast<std::size_t>(r)])));
  return texts;
}

// Rank 0: the cost file updated with every rank's measurements, summed over ranks
// rather than letting one rank's entry win.
void write_costs(const Job& job, const std::vector<std::string>& measured) {
  CostTable merged;
  for (const std::string& text : measured) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      std::istringstream fields(line);
      std::string name;
      double mean = 0;
      std::size_t calls = 0;
      if (fields >> name >> mean >> calls && calls > 0) merged.add(name, mean * static_cast<double>(calls), calls);
    }
  }
  CostTable file = job.costs;
  file.update(merged);
  try {
    file.write(job.options.costs.empty() ? cost_file_for(job.options.script) : job.options.costs);
  } catch (const Error& e) {
    std::fprintf(stderr, "rask: warning: %s\n", e.what());
  }
}

}  // namespace

void finish(Job& job, int status) {
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  double mine[4] = {static_cast<double>(job.stats.tasks), static_cast<double>(job.stats.bytes_sent),
                    static_cast<double>(usage.ru_maxrss) * 1024.0, job.stats.task_seconds};
  std::vector<double> all(4 * static_cast<std::size_t>(job.size));
  check_mpi(MPI_Gather(mine, 4, MPI_DOUBLE, all.data(), 4, MPI_DOUBLE, 0, job.comm.get()), "MPI_Gather");
  // Measured costs and trace events travel as text to rank 0.
  const std::vector<std::string> measured = gather_texts(job, job.measured.text());
  const std::vector<std::string> traces =
      gather_texts(job, job.options.trace.empty() ? std::string() : job.trace_events);
  if (job.rank != 0) return;
  if (status == 0 && job.options.learn_costs && !job.options.dry_run && job.stats.computes > 0)
    write_costs(job, measured);
  if (!job.options.trace.empty()) write_trace(job.options.trace, traces);
  if (!job.options.summary) return;
  double tasks = 0, bytes = 0;
  std::string peaks;
  for (int r = 0; r < job.size; ++r) {
    tasks += all[4 * static_cast<std::size_t>(r)];
    bytes += all[4 * static_cast<std::size_t>(r) + 1];
    char peak[32];
    std::snprintf(peak, sizeof peak, "%s%.0f", r ? "/" : "", all[4 * static_cast<std::size_t>(r) + 2] / 1e6);
    peaks += peak;
  }
  std::fprintf(stderr,
               "rask: %s: %d rank%s x %d thread%s, %.3f s wall, %zu compute%s, %.0f tasks, %s moved between ranks, "
               "peak memory per rank %s MB\n",
               status == 0 ? "done" : "failed", job.size, job.size == 1 ? "" : "s", job.runtime.threads(),
               job.runtime.threads() == 1 ? "" : "s", MPI_Wtime() - job.start, job.stats.computes,
               job.stats.computes == 1 ? "" : "s", tasks, human_bytes(bytes).c_str(), peaks.c_str());
  std::fflush(stderr);
}

}  // namespace rask::job
