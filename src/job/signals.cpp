// Signals in a job (see signals.hpp).
#include "job/signals.hpp"

#include <unistd.h>

#include <csignal>

namespace rask::job {

std::atomic<bool> g_in_compute{false};
std::atomic<bool> g_got_sigint{false};

namespace {

struct sigaction g_previous_term {
}, g_previous_int{};
int g_signal_rank = 0;

void call_previous(const struct sigaction& previous, int sig) {
  if (previous.sa_handler != SIG_DFL && previous.sa_handler != SIG_IGN) {
    previous.sa_handler(sig);
    return;
  }
  if (previous.sa_handler == SIG_IGN) return;
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

extern "C" void on_job_signal(int sig) {
  if (g_in_compute.load()) {
    if (sig == SIGINT) g_got_sigint.store(true);
    call_previous(g_previous_term, SIGTERM);  // the Runtime's: a failure every rank agrees on
    return;
  }
  if (sig == SIGTERM && g_signal_rank == 0) {
    const char text[] = "rask: received SIGTERM (the job's time limit, or scancel); stopping every rank\n";
    ssize_t ignored = write(STDERR_FILENO, text, sizeof text - 1);
    (void)ignored;
  }
  call_previous(sig == SIGINT ? g_previous_int : g_previous_term, sig);
}

}  // namespace

SignalScope::SignalScope(int rank) {
  g_signal_rank = rank;
  struct sigaction action {};
  action.sa_handler = on_job_signal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, &g_previous_term);
  sigaction(SIGINT, &action, &g_previous_int);
}

SignalScope::~SignalScope() {
  sigaction(SIGTERM, &g_previous_term, nullptr);
  sigaction(SIGINT, &g_previous_int, nullptr);
}

}  // namespace rask::job
