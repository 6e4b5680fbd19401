#include "rask/runtime.hpp"

#include <mpi.h>
#include <omp.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "execute/comm.hpp"
#include "execute/execute.hpp"
#include "rask/error.hpp"

namespace rask {

namespace {
Runtime* g_current = nullptr;
std::atomic<int> g_sigterm{0};
std::atomic<bool> g_in_compute{false};

// Inside a compute, SIGTERM becomes a failure every rank agrees on (the executor polls
// g_sigterm); outside one, the program dies as it would without rask.
extern "C" void on_sigterm(int) {
  if (g_in_compute.load()) {
    g_sigterm.store(1);
  } else {
    std::signal(SIGTERM, SIG_DFL);
    std::raise(SIGTERM);
  }
}

bool g_owns_mpi = false;
int g_rank = 0, g_size = 1;

// An exception escaped main. A collective error is printed once, by rank 0, and every
// rank leaves together; anything else was seen by one rank only, which must take the
// job down so that no rank waits forever.
[[noreturn]] void on_terminate() {
  const char* what = "terminated without an exception";
  bool collective = false;
  try {
    if (auto e = std::current_exception()) std::rethrow_exception(e);
  } catch (const Error& e) {
    what = e.what();
    collective = e.collective();
  } catch (const std::exception& e) {
    what = e.what();
  } catch (...) {
    what = "an exception that is not a std::exception";
  }
  if (collective || g_size == 1) {
    if (g_rank == 0) std::fprintf(stderr, "rask: error: %s\n", what);
    std::fflush(stderr);
    if (g_owns_mpi && g_size > 1) MPI_Finalize();
    std::_Exit(1);
  }
  std::fprintf(stderr, "ERROR on rank %d: %s\n", g_rank, what);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}
}  // namespace

struct Runtime::Impl {
  // Computes alternate between two communicators: a rank may start compute k+1 while
  // another still waits for compute k's final agreement, and k+1's messages must not be
  // taken for k's. Two suffice: no rank can get two computes ahead of another.
  MPI_Comm comms[2] = {MPI_COMM_NULL, MPI_COMM_NULL};
  unsigned long computes = 0;
  MPI_Comm comm = MPI_COMM_NULL;  // for the program-level collectives (barrier)
  int rank = 0, size = 1, threads = 1, thread_level = MPI_THREAD_SINGLE;
  bool owns_mpi = false;
  CostModel model;
  ExecStats stats;
  std::terminate_handler previous_terminate = nullptr;
  struct sigaction previous_sigterm {};
};

Runtime::Runtime(int& argc, char**& argv) : impl_(std::make_unique<Impl>()) {
  if (g_current) throw Error("a rask::Runtime already exists; create exactly one, at the start of main");
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    detail::check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &impl_->thread_level), "MPI_Init_thread");
    impl_->owns_mpi = true;
  } else {
    MPI_Query_thread(&impl_->thread_level);
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &impl_->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &impl_->size);
  g_owns_mpi = impl_->owns_mpi;
  g_rank = impl_->rank;
  g_size = impl_->size;
  // From here on an error escaping main is reported as rask reports it, this
  // constructor's own included.
  impl_->previous_terminate = std::set_terminate(on_terminate);
  // rask's messages travel on communicators of their own, never mixing with the program's.
  for (MPI_Comm* comm : {&impl_->comm, &impl_->comms[0], &impl_->comms[1]}) {
    detail::check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, comm), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(*comm, MPI_ERRORS_RETURN);
  }
  impl_->threads = std::max(1, omp_get_max_threads());
  detail::piece_bytes();  // a bad RASK_MESSAGE_PIECE_BYTES fails here, on every rank, not mid-compute
  g_current = this;
  struct sigaction action {};
  action.sa_handler = on_sigterm;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, &impl_->previous_sigterm);
}

Runtime::~Runtime() {
  sigaction(SIGTERM, &impl_->previous_sigterm, nullptr);
  std::set_terminate(impl_->previous_terminate);
  for (MPI_Comm* comm : {&impl_->comm, &impl_->comms[0], &impl_->comms[1]})
    if (*comm != MPI_COMM_NULL) MPI_Comm_free(comm);
  if (impl_->owns_mpi) MPI_Finalize();
  g_current = nullptr;
}

Runtime& Runtime::current() {
  if (!g_current) throw Error("no rask::Runtime: create one at the start of main (rask::Runtime rt(argc, argv);)");
  return *g_current;
}

int Runtime::rank() const noexcept { return impl_->rank; }
int Runtime::size() const noexcept { return impl_->size; }
int Runtime::threads() const noexcept { return impl_->threads; }
double Runtime::wtime() const noexcept { return MPI_Wtime(); }
void Runtime::barrier() const { detail::check_mpi(MPI_Barrier(impl_->comm), "MPI_Barrier"); }
CostModel& Runtime::cost_model() noexcept { return impl_->model; }
const ExecStats& Runtime::last_stats() const noexcept { return impl_->stats; }

Plan Runtime::plan(Graph& graph, std::span<const TaskId> outputs, Where where) const {
  graph.finalize();
  return Plan(graph, outputs, impl_->size, impl_->threads, where, impl_->model);
}

std::vector<Value> Runtime::compute(Graph& graph, std::span<const TaskId> outputs, Where where) {
  // Collective calls from inside one rank's task would wait for ranks that never come.
  if (g_in_compute.load())
    throw Error("compute was called from inside a task; a task must return its value, not compute a graph "
                "(build the whole graph first, then compute it once)");
  impl_->stats = ExecStats{};
  const double t0 = MPI_Wtime();
  Plan plan = this->plan(graph, outputs, where);
  const double t1 = MPI_Wtime();
  impl_->stats.plan_seconds = t1 - t0;
  MPI_Comm comm = impl_->comms[impl_->computes++ % 2];
  detail::ExecContext ctx{comm, impl_->rank, impl_->size, impl_->thread_level >= MPI_THREAD_SERIALIZED, &g_sigterm};
  struct InCompute {
    InCompute() { g_in_compute.store(true); }
    ~InCompute() { g_in_compute.store(false); }
  } in_compute;
  auto results = detail::execute(graph, plan, ctx, impl_->stats);
  impl_->stats.run_seconds = MPI_Wtime() - t1;
  return results;
}

}  // namespace rask
