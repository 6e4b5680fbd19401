#pragma once
// Hooks by which collections other than delayed values (dask.array, dask.dataframe)
// join a job script's graphs.
//
// An expression record, (key, rask._expression, (kind, payload), None, deps, False),
// stands in a compute's records for a whole collection: every rank lowers its payload
// (a serialized C++ expression, a few hundred bytes however many chunks it has) into the
// compute's graph itself, so only expressions cross ranks. A collective call runs a C++
// collective (a persist, a parallel HDF5 write) on every rank at the same point of the
// script.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "rask/graph.hpp"

namespace rask::job {

/// Adds the tasks of one expression record to `graph` and returns the task whose value
/// (a PyValue, made holding the GIL) is what the script and downstream delayed tasks
/// receive. `deps` are the tasks of the record's dependencies (PyValues). Called on
/// every rank, in the same record order, with the same arguments; it must add the same
/// tasks everywhere and send no messages.
using LowerExpression =
    std::function<TaskId(Graph& graph, std::string_view key, std::string_view payload, const std::vector<TaskId>& deps)>;

/// Registers the lowering of expression records of `kind`. Local; not thread-safe (call
/// from register_kinds()).
void register_expression(std::string kind, LowerExpression lower);

/// The lowering registered for `kind`; throws std::runtime_error naming it if none.
const LowerExpression& expression_lowering(std::string_view kind);

/// A C++ collective the script's rank 0 starts with `_rask.collective(name, payload)`:
/// every rank runs it with the same payload at the same point; rank 0's result returns
/// to Python as bytes. A rask::Error it throws on any rank ends the call on every rank
/// and is raised in the script.
using CollectiveCall = std::function<std::string(std::string_view payload)>;

/// Registers a collective call under `name`. Local; not thread-safe (register_kinds()).
void register_collective(std::string name, CollectiveCall call);

/// The call registered under `name`; throws std::runtime_error naming it if none.
const CollectiveCall& collective_call(std::string_view name);

/// dask.dataframe: expression records of kinds "frame" and "frame_map" and the collective
/// calls "frame.to_hdf" and "frame.to_csv" (src/job/frame_binding.cpp). Local.
void register_frame_kinds();

/// Registers every kind and call the job runner knows. Called once per rank at start.
void register_kinds();

/// dask.array: the expression kind "array" and the calls "array.to_hdf5", "array.persist",
/// "array.visualize" (src/job/array_binding.cpp). Local.
void register_array_kinds();

}  // namespace rask::job
