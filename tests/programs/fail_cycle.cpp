// A dependency cycle built by hand: a collective error, reported once by rank 0.
#include <rask/rask.hpp>

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  rask::Graph graph;
  auto pass = [](const rask::Inputs& in) { return in.get<int>(0); };
  graph.add<int>("load", {"clean"}, pass);
  graph.add<int>("clean", {"load"}, pass);
  graph.add<int>("report", {"clean"}, pass);
  graph.finalize();
  rask::TaskId report = graph.at("report");
  rt.compute(graph, std::span(&report, 1));
  return 0;
}
