#pragma once
/// rask: Dask-style task graphs run as MPI batch jobs. The only include a program needs.
#include "rask/delayed.hpp"
#include "rask/error.hpp"
#include "rask/execute.hpp"
#include "rask/graph.hpp"
#include "rask/job.hpp"
#include "rask/plan.hpp"
#include "rask/runtime.hpp"
#include "rask/serialize.hpp"
#include "rask/token.hpp"
#include "rask/value.hpp"
