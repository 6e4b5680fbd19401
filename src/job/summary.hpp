#pragma once
// The end of a job: every rank's totals to rank 0, which prints the one summary line,
// writes the learned costs back and writes the trace.
namespace rask::job {

struct Job;

/// Collective: every rank calls it once, at the end, with the job's exit status.
void finish(Job& job, int status);

}  // namespace rask::job
