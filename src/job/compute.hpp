#pragma once
// A compute in a job: rank 0's script asks (through the embedded module _rask), every
// rank runs the graph. Rank 0 broadcasts the pickled records (src/job/broadcast.hpp);
// each rank builds the same graph (src/job/graph.hpp) and runs its share through the
// Runtime; failures become the Python exception the script sees.
#include <pybind11/pybind11.h>

#include <string>
#include <vector>

#include "rask/graph.hpp"

namespace rask::job {

/// _rask.compute on rank 0, holding the GIL. Collective: broadcasts the graph of
/// `records`, runs it on every rank and returns the outputs' values.
pybind11::list py_compute(pybind11::list records, std::vector<TaskId> out_pos);

/// _rask.collective on rank 0, holding the GIL. Collective: runs the registered C++
/// collective call `name` on every rank; rank 0's result bytes (None under --dry-run).
pybind11::object py_collective(const std::string& name, const pybind11::bytes& payload);

/// _rask.visualize on rank 0. Local: draws the graph of `records` to `path`.
void py_visualize(pybind11::list records, std::vector<TaskId> out_pos, const std::string& path);

/// The ranks other than 0, without the GIL. Collective: runs each graph and call rank 0
/// broadcasts until it says the script ended; returns the script's exit status.
int serve();

}  // namespace rask::job
