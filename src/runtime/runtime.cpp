#include "rask/runtime.hpp"

#include <mpi.h>
#include <omp.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include <sched.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "execute/comm.hpp"
#include "execute/execute.hpp"
#include "rask/error.hpp"
#include "runtime/agree.hpp"
#include "runtime/memory.hpp"

namespace rask {

namespace {
Runtime* g_current = nullptr;
std::atomic<int> g_sigterm{0};
std::atomic<bool> g_in_compute{false};

// Inside a compute, SIGTERM becomes a failure every rank agrees on (the executor polls
// g_sigterm); outside one, the program dies as it would without rask. mpirun forwards
// SIGTERM to the ranks and exits soon after, while a running task may still take
// seconds: rank 0 says at once why the job is ending, before mpirun stops forwarding
// output, and the ranks exit with 143 (128 + SIGTERM), as the signal's own status reads.
int g_rank_for_signals = 0;
extern "C" void on_sigterm(int) {
  if (g_in_compute.load()) {
    if (g_sigterm.exchange(1) == 0 && g_rank_for_signals == 0) {
      static const char text[] =
          "rask: received SIGTERM (the job's time limit, or scancel); stopping every rank after its running tasks\n";
      [[maybe_unused]] auto written = write(STDERR_FILENO, text, sizeof text - 1);
    }
  } else {
    std::signal(SIGTERM, SIG_DFL);
    std::raise(SIGTERM);
  }
}

bool g_owns_mpi = false;
int g_rank = 0, g_size = 1;

// A task that crashes the process (SIGSEGV, SIGBUS, SIGFPE, SIGILL) is named before the
// process dies; then the signal goes on to whatever handled it before (Open MPI's
// backtrace), so the job ends as it would have. Only async-signal-safe calls here.
constexpr int kCrashSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL};
struct sigaction g_previous_crash[4];

void append(char*& p, const char* end, const char* text) {
  while (*text && p < end) *p++ = *text++;
}
void append_number(char*& p, const char* end, unsigned long long v, int base, int width = 0) {
  char digits[24];
  int n = 0;
  do {
    digits[n++] = "0123456789abcdef"[v % base];
    v /= base;
  } while (v);
  while (n < width) digits[n++] = '0';
  while (n && p < end) *p++ = digits[--n];
}

extern "C" void on_crash(int sig) {
  char text[512];
  char* p = text;
  const char* end = text + sizeof text - 1;
  append(p, end, "rask: rank ");
  append_number(p, end, static_cast<unsigned>(g_rank), 10);
  const Key* key = detail::running_task();
  if (key) {
    append(p, end, ": task '");
    append(p, end, key->name.c_str());
    if (!key->by_hand) {
      append(p, end, "-");
      append_number(p, end, key->token, 16, 16);
    }
    append(p, end, "' crashed");
  } else {
    append(p, end, ": crashed outside any task");
  }
  append(p, end, sig == SIGSEGV ? " (SIGSEGV: invalid memory access)"
                 : sig == SIGBUS ? " (SIGBUS)"
                 : sig == SIGFPE ? " (SIGFPE: arithmetic error)"
                                 : " (SIGILL)");
  *p++ = '\n';
  [[maybe_unused]] auto written = write(STDERR_FILENO, text, static_cast<std::size_t>(p - text));
  for (int i = 0; i < 4; ++i)
    if (kCrashSignals[i] == sig) sigaction(sig, &g_previous_crash[i], nullptr);
  raise(sig);
}

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
  const int status = g_sigterm.load() ? 128 + SIGTERM : 1;
  if (collective || g_size == 1) {
    if (g_rank == 0) std::fprintf(stderr, "rask: error: %s\n", what);
    std::fflush(stderr);
    if (g_owns_mpi && g_size > 1) MPI_Finalize();
    std::_Exit(status);
  }
  std::fprintf(stderr, "ERROR on rank %d: %s\n", g_rank, what);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}
}  // namespace

// Threads per rank: OMP_NUM_THREADS, else SLURM's --cpus-per-task, else 1 — never
// what mpirun's binding happens to allow, which changes with the rank count.
int default_threads() {
  for (const char* name : {"OMP_NUM_THREADS", "SLURM_CPUS_PER_TASK"}) {
    if (const char* env = std::getenv(name)) {
      char* end = nullptr;
      long n = std::strtol(env, &end, 10);
      if (end != env && n >= 1 && n <= 4096) return static_cast<int>(n);
    }
  }
  return 1;
}

// mpirun binds each rank to one core by default at 1-2 ranks, so a rank's threads (and
// OpenBLAS's) would share that core and run at half speed without saying so. Rank 0
// says so once about itself (the others are usually bound alike).
void warn_if_threads_share_cores(int rank, int threads) {
  if (rank != 0 || threads <= 1) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return;
  const int cores = CPU_COUNT(&set);
  if (cores >= threads) return;
  std::fprintf(stderr,
               "rask: warning: %d threads per rank, but rank 0 may only run on %d core%s (mpirun binds each rank to "
               "a core by default): run mpirun with --bind-to none or --map-by slot:PE=%d, or srun with "
               "--cpus-per-task=%d\n",
               threads, cores, cores == 1 ? "" : "s", threads, threads);
}

struct Runtime::Impl {
  // Computes alternate between two communicators: a rank may start compute k+1 while
  // another still waits for compute k's final agreement, and k+1's messages must not be
  // taken for k's. Two suffice: no rank can get two computes ahead of another.
  MPI_Comm comms[2] = {MPI_COMM_NULL, MPI_COMM_NULL};
  unsigned long computes = 0;
  MPI_Comm comm = MPI_COMM_NULL;  // for agreeing on each step (compute, barrier, exit)
  // Collective tasks' own: one is enough, since every rank enters a compute's collective
  // tasks in one order and finishes them before the compute's final agreement.
  MPI_Comm coll_comm = MPI_COMM_NULL;
  // Bytes each rank may hold, measured once at start-up, every rank's.
  std::vector<double> memory;
  std::string memory_source;  // where rank 0's figure came from, for the refusal message
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
    // Blocking MPI calls made inside collective tasks (ScaLAPACK) busy-poll; on a shared
    // or oversubscribed node the rank being waited for then loses its core to the
    // waiter (PDGESVD at 2 ranks: 5x slower under load). Open MPI yields only when it
    // knows it is oversubscribed; rask asks it always, unless the user chose.
    setenv("OMPI_MCA_mpi_yield_when_idle", "1", /*overwrite=*/0);
    detail::check_mpi(MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &impl_->thread_level), "MPI_Init_thread");
    impl_->owns_mpi = true;
  } else {
    MPI_Query_thread(&impl_->thread_level);
  }
  MPI_Comm_rank(MPI_COMM_WORLD, &impl_->rank);
  MPI_Comm_size(MPI_COMM_WORLD, &impl_->size);
  g_owns_mpi = impl_->owns_mpi;
  g_rank = impl_->rank;
  g_rank_for_signals = impl_->rank;
  g_size = impl_->size;
  // From here on an error escaping main is reported as rask reports it, this
  // constructor's own included.
  impl_->previous_terminate = std::set_terminate(on_terminate);
  // rask's messages travel on communicators of their own, never mixing with the program's.
  for (MPI_Comm* comm : {&impl_->comm, &impl_->comms[0], &impl_->comms[1], &impl_->coll_comm}) {
    detail::check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, comm), "MPI_Comm_dup");
    MPI_Comm_set_errhandler(*comm, MPI_ERRORS_RETURN);
  }
  {
    // A bad RASK_MEMORY_LIMIT is found by every rank alike, so it fails on all of them.
    auto [mine, source] = detail::memory_per_rank(impl_->comm);
    impl_->memory.assign(impl_->size, 0);
    detail::check_mpi(MPI_Allgather(&mine, 1, MPI_DOUBLE, impl_->memory.data(), 1, MPI_DOUBLE, impl_->comm),
                      "MPI_Allgather");
    impl_->memory_source = source;
    for (int rank = 0; rank < impl_->size; ++rank)
      if (impl_->memory[rank] < 0) {
        const char* env = std::getenv("RASK_MEMORY_LIMIT");
        throw InputError("RASK_MEMORY_LIMIT must be a number of bytes per rank, optionally followed by k, M, G or T "
                         "(powers of 1000), e.g. 8G; rank " + std::to_string(rank) + " has an unreadable value" +
                         (env && impl_->memory[impl_->rank] < 0 ? std::string(" ('") + env + "')" : std::string()));
      }
  }
  impl_->threads = default_threads();
  // The plan depends on the thread count: every rank takes rank 0's.
  detail::check_mpi(MPI_Bcast(&impl_->threads, 1, MPI_INT, 0, impl_->comm), "MPI_Bcast");
  warn_if_threads_share_cores(impl_->rank, impl_->threads);
  detail::piece_bytes();  // a bad RASK_MESSAGE_PIECE_BYTES fails here, on every rank, not mid-compute
  g_current = this;
  struct sigaction action {};
  action.sa_handler = on_sigterm;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, &impl_->previous_sigterm);
  struct sigaction crash {};
  crash.sa_handler = on_crash;
  sigemptyset(&crash.sa_mask);
  for (int i = 0; i < 4; ++i) sigaction(kCrashSignals[i], &crash, &g_previous_crash[i]);
}

Runtime::~Runtime() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) {
    // A rank that leaves while others compute must not leave them waiting.
    std::optional<std::string> mismatch;
    try {
      mismatch = detail::agree(impl_->comm, detail::Step::leave, impl_->computes, nullptr, nullptr);
    } catch (const std::exception& e) {
      mismatch = e.what();
    }
    if (mismatch) {
      if (impl_->rank == 0) std::fprintf(stderr, "rask: error: %s\n", mismatch->c_str());
      std::fflush(stderr);
      if (impl_->owns_mpi) MPI_Finalize();
      std::_Exit(1);
    }
  }
  for (int i = 0; i < 4; ++i) sigaction(kCrashSignals[i], &g_previous_crash[i], nullptr);
  sigaction(SIGTERM, &impl_->previous_sigterm, nullptr);
  std::set_terminate(impl_->previous_terminate);
  for (MPI_Comm* comm : {&impl_->comm, &impl_->comms[0], &impl_->comms[1], &impl_->coll_comm})
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
void Runtime::barrier() const {
  if (auto mismatch = detail::agree(impl_->comm, detail::Step::barrier, impl_->computes, nullptr, nullptr))
    throw SpmdError(*mismatch);
}
std::string Runtime::broadcast_from_root(const std::string& text) const {
  if (auto mismatch = detail::agree(impl_->comm, detail::Step::broadcast, impl_->computes, nullptr, nullptr))
    throw SpmdError(*mismatch);
  std::uint64_t size = text.size();
  detail::check_mpi(MPI_Bcast(&size, 1, MPI_UINT64_T, 0, impl_->comm), "MPI_Bcast");
  std::string out = impl_->rank == 0 ? text : std::string(size, '\0');
  if (size) detail::check_mpi(MPI_Bcast(out.data(), static_cast<int>(size), MPI_CHAR, 0, impl_->comm), "MPI_Bcast");
  return out;
}

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
  // A graph error must not stop one rank while the others wait to agree: finalize's
  // error joins the fingerprint, and all ranks throw it together once they agree.
  std::string graph_error;
  try {
    graph.finalize();
  } catch (const GraphError& e) {
    graph_error = e.what();
  }
  const unsigned long compute_no = impl_->computes + 1;
  auto fp = detail::fingerprint(graph, outputs, where, impl_->model, impl_->threads, graph_error);
  if (auto mismatch = detail::agree(impl_->comm, detail::Step::compute, compute_no, &graph, &fp))
    throw SpmdError(*mismatch);
  if (!graph_error.empty()) throw GraphError(graph_error);
  Plan plan = this->plan(graph, outputs, where);
  // Every rank holds every rank's plan and memory figure: the same verdict, no messages.
  if (auto refusal = detail::memory_refusal(plan, impl_->memory, impl_->memory_source)) throw MemoryError(*refusal);
  const double t1 = MPI_Wtime();
  impl_->stats.plan_seconds = t1 - t0;
  MPI_Comm comm = impl_->comms[impl_->computes++ % 2];
  detail::ExecContext ctx{comm, impl_->rank, impl_->size, impl_->thread_level >= MPI_THREAD_SERIALIZED, &g_sigterm,
                          impl_->coll_comm};
  struct InCompute {
    InCompute() { g_in_compute.store(true); }
    ~InCompute() { g_in_compute.store(false); }
  } in_compute;
  std::vector<Value> results;
  try {
    results = detail::execute(graph, plan, ctx, impl_->stats);
  } catch (const TaskError&) {
    // A failed compute may leave entries or a body's calls unanswered on the collective
    // communicator; every rank throws here together, so all take a fresh one.
    if (!plan.collectives().empty() && impl_->size > 1) {
      MPI_Comm_free(&impl_->coll_comm);
      detail::check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &impl_->coll_comm), "MPI_Comm_dup");
      MPI_Comm_set_errhandler(impl_->coll_comm, MPI_ERRORS_RETURN);
    }
    throw;
  }
  impl_->stats.run_seconds = MPI_Wtime() - t1;
  return results;
}

}  // namespace rask
