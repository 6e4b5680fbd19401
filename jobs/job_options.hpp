#pragma once
// What the workshop jobs share: a sleep that tests can shorten, and the timing line.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <thread>

#include <rask/rask.hpp>

namespace jobs {

/// `--sleep-scale X` multiplies every simulated work time (tests pass 0.01).
inline double sleep_scale(int argc, char** argv) {
  for (int arg_idx = 1; arg_idx + 1 < argc; ++arg_idx)
    if (std::string(argv[arg_idx]) == "--sleep-scale") {
      char* end = nullptr;
      double scale = std::strtod(argv[arg_idx + 1], &end);
      if (*end || scale < 0) throw rask::InputError("--sleep-scale wants a number >= 0, got '" +
                                                    std::string(argv[arg_idx + 1]) + "'");
      return scale;
    }
  return 1.0;
}

/// Whether `flag` is among the program's arguments.
inline bool has_flag(int argc, char** argv, const std::string& flag) {
  return std::find_if(argv + 1, argv + argc, [&](const char* arg) { return flag == arg; }) != argv + argc;
}

/// Simulated work, as the workshop's time.sleep.
inline void work_for(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

/// Prints (rank 0) what the workshop asks to predict next to what happened. Lines start
/// with "time:" so that result comparisons across rank counts can drop them.
inline void report_times(const rask::Runtime& rt, double serial, double measured, const rask::Plan& plan) {
  if (rt.rank() != 0) return;
  const int workers = rt.size() * rt.threads();
  // Ideal: the work spread evenly, but never shorter than the longest chain of tasks (a
  // lower bound; the plan's prediction is what list scheduling can reach).
  const double ideal = std::max(serial / workers, plan.critical_path());
  std::printf("time: serial %.3f s, ideal %.3f s on %d workers, planned %.3f s, measured %.3f s "
              "(%+.1f%% vs plan, %+.1f%% vs ideal)\n",
              serial, ideal, workers, plan.predicted_seconds(), measured,
              100.0 * (measured / plan.predicted_seconds() - 1.0), 100.0 * (measured / ideal - 1.0));
}

}  // namespace jobs
