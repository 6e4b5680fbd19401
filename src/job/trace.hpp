#pragma once
// `rask run --trace FILE`: a Chrome-trace (Perfetto) JSON of every task, pid = rank, tid
// = thread, with flow arrows for the values that crossed ranks. Each rank keeps its own
// events as text (Job::trace_events); rank 0 writes the file at the end.
#include <string>
#include <vector>

#include "job/graph.hpp"
#include "rask/plan.hpp"

namespace rask::job {

struct Job;

/// Local: appends the events of the compute just run (its tasks' times in job.times) to
/// job.trace_events; `plan` (the compute's, derived on every rank with --trace) gives
/// the flow arrows, or is null for none.
void append_compute_events(Job& job, const BuiltGraph& built, const Plan* plan);

/// Local (rank 0): writes `path` from every rank's events (`per_rank[r]`), under a
/// temporary name renamed over it; warns on stderr when it cannot.
void write_trace(const std::string& path, const std::vector<std::string>& per_rank);

}  // namespace rask::job
