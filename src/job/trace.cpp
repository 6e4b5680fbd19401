// `rask run --trace` (see trace.hpp).
#include "job/trace.hpp"

#include <mpi.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "job/job.hpp"

namespace rask::job {
namespace {

// Chrome-trace flow events for the values that crossed ranks: an arrow from the end of
// the task that made a value to the start of its first consumer on each other rank
// (or to the end of the compute, for a result sent to rank 0), with the bytes sent.
void append_flows(const Job& job, const BuiltGraph& built, const Plan& plan, std::ostringstream& events) {
  const double now = MPI_Wtime();
  const TaskTimes& times = job.times;
  auto flow = [&](const char* phase, TaskId producer, int dest, int tid, double at, std::size_t bytes) {
    if (!job.trace_events.empty() || events.tellp() > 0) events << ",\n";
    events << "{\"name\":\"value\",\"cat\":\"transfer\",\"ph\":\"" << phase << "\""
           << (phase[0] == 'f' ? ",\"bp\":\"e\"" : "") << ",\"id\":\"" << job.computes << "-" << producer << "-" << dest
           << "\",\"pid\":" << job.rank << ",\"tid\":" << tid << ",\"ts\":" << (at - job.start) * 1e6;
    if (phase[0] == 's') events << ",\"args\":{\"bytes\":" << bytes << "}";
    events << "}";
  };
  std::vector<char> arrived(built.graph.size(), 0);
  for (TaskId id : plan.order()) {
    if (plan.owner(id) == job.rank && times.start[id] >= 0) {
      for (int dest : plan.send_to(id)) flow("s", id, dest, times.thread[id], times.end[id], times.bytes[id]);
      for (TaskId dep : built.graph.task(id).deps)
        if (plan.owner(dep) != job.rank && !arrived[dep]) {
          arrived[dep] = 1;
          flow("f", dep, job.rank, times.thread[id], times.start[id], 0);
        }
    }
  }
  if (job.rank == 0)
    for (TaskId out : plan.outputs())
      if (plan.owner(out) != 0 && !arrived[out]) {
        arrived[out] = 1;
        flow("f", out, 0, 0, now, 0);
      }
}

}  // namespace

void append_compute_events(Job& job, const BuiltGraph& built, const Plan* plan) {
  std::ostringstream events;
  events.precision(1);
  events << std::fixed;
  const TaskTimes& times = job.times;
  for (TaskId id = 0; id < built.graph.size(); ++id) {
    if (times.start[id] < 0) continue;
    if (!job.trace_events.empty() || events.tellp() > 0) events << ",\n";
    std::string escaped;
    for (char c : built.graph.task(id).key.name) {
      if (c == '"' || c == '\\') escaped += '\\';
      if (static_cast<unsigned char>(c) >= 0x20) escaped += c;
    }
    events << "{\"name\":\"" << escaped << "\",\"cat\":\"" << built.names[id] << "\",\"ph\":\"X\",\"pid\":" << job.rank
           << ",\"tid\":" << times.thread[id] << ",\"ts\":" << (times.start[id] - job.start) * 1e6
           << ",\"dur\":" << (times.end[id] - times.start[id]) * 1e6 << ",\"args\":{\"compute\":" << job.computes
           << "}}";
  }
  if (plan) append_flows(job, built, *plan, events);
  job.trace_events += events.str();
}

void write_trace(const std::string& path, const std::vector<std::string>& per_rank) {
  std::ofstream out(path + ".tmp");
  out << "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
  for (std::size_t rank = 0; rank < per_rank.size(); ++rank) {
    out << (rank ? ",\n" : "") << "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":" << rank
        << ",\"args\":{\"name\":\"rank " << rank << "\"}}";
    if (!per_rank[rank].empty()) out << ",\n" << per_rank[rank];
  }
  out << "\n]}\n";
  out.close();
  std::error_code ec;
  std::filesystem::rename(path + ".tmp", path, ec);
  if (!out || ec) std::fprintf(stderr, "rask: warning: could not write the trace '%s'\n", path.c_str());
}

}  // namespace rask::job
