#pragma once
// A compute's records -> a rask::Graph. A record is (key, func, args, kwargs, deps,
// nested), made by rask._collect on rank 0: its args are a template in which rask._In(i)
// stands for the i-th dependency's value; an expression record stands for a whole array
// or frame (src/job/expression.hpp). Every rank builds the same graph from the same
// records, with no message.
#include <Python.h>
#include <pybind11/pybind11.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "rask/graph.hpp"

namespace rask::job {

/// A graph built from a compute's records.
struct BuiltGraph {
  Graph graph;
  std::vector<TaskId> outputs;
  std::vector<std::string> names;  // function name per task, for costs and traces
  pybind11::object records;        // keeps every object the task bodies borrow alive
};

/// A task's name: its key up to the last '-' (`inc-1f3a` -> `inc`), as cost files say it.
std::string key_name(std::string_view key);

/// Builds the graph of `records` with the outputs at `out_pos`. Needs the GIL. Local,
/// but every rank must build the same graph: called by each with the same records.
std::unique_ptr<BuiltGraph> build_graph(pybind11::object records, const std::vector<TaskId>& out_pos);

/// Pauses Python's cyclic garbage collector while a graph is pickled, unpickled or
/// built: 10^5 new tuples would trigger collections that scan them all, for nothing
/// (records hold no cycles). Needs the GIL.
class GcPause {
 public:
  GcPause() : was_enabled_(PyGC_Disable()) {}
  ~GcPause() {
    if (was_enabled_) PyGC_Enable();
  }
  GcPause(const GcPause&) = delete;
  GcPause& operator=(const GcPause&) = delete;

 private:
  int was_enabled_;
};

}  // namespace rask::job
