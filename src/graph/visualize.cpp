#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "rask/error.hpp"
#include "rask/graph.hpp"
#include "rask/plan.hpp"

namespace rask {

namespace {
// Colour-blind-safe palette (Okabe-Ito, then Tableau); ranks past it cycle.
constexpr const char* kRankColours[] = {"#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00",
                                        "#CC79A7", "#999999", "#8CD17D", "#B6992D", "#F1CE63", "#A0CBE8"};

std::string colour(int rank) {
  return kRankColours[static_cast<std::size_t>(rank) % (sizeof kRankColours / sizeof *kRankColours)];
}

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// Dask's boxes show a shortened key; the full key is in the tooltip.
std::string box_label(const Key& key) {
  if (key.by_hand) return key.name;
  return key.str().substr(0, key.name.size() + 5);
}
}  // namespace

std::string to_dot(const Graph& graph, const Plan& plan) {
  std::ostringstream dot;
  dot << "digraph rask {\n  graph [rankdir=BT, label=" << quoted("rask plan: " + std::to_string(plan.order().size()) +
                                                                    " tasks on " + std::to_string(plan.nranks()) +
                                                                    " ranks (fill colour = owner rank)")
      << "];\n  node [style=filled, fontname=Helvetica];\n";
  for (int rank = 0; rank < plan.nranks() && rank < 64; ++rank)
    dot << "  legend_" << rank << " [shape=plaintext, style=filled, fillcolor=" << quoted(colour(rank))
        << ", label=" << quoted("rank " + std::to_string(rank)) << "];\n";
  for (TaskId t : plan.order()) {
    const Task& task = graph.task(t);
    const std::string fill = quoted(colour(plan.owner(t)));
    const std::string id = std::to_string(t);
    dot << "  call" << id << " [shape=circle, label=" << quoted(task.key.name) << ", fillcolor=" << fill
        << ", tooltip=" << quoted(task.key.str()) << "];\n";
    dot << "  value" << id << " [shape=box, label=" << quoted(box_label(task.key)) << ", fillcolor=" << fill
        << ", tooltip=" << quoted(task.key.str() + " : " + task.codec->name) << "];\n";
    dot << "  call" << id << " -> value" << id << ";\n";
    for (TaskId d : task.deps) dot << "  value" << d << " -> call" << id << ";\n";
  }
  dot << "}\n";
  return dot.str();
}

void visualize(const Graph& graph, const Plan& plan, const std::string& path) {
  namespace fs = std::filesystem;
  const fs::path target(path);
  std::string format = target.extension().string();
  if (!format.empty()) format.erase(0, 1);
  if (format != "dot" && format != "svg" && format != "png" && format != "pdf")
    throw InputError("cannot visualize to '" + path + "': use a .dot, .svg, .png or .pdf file name", false);
  // Written beside the target and renamed, so a reader never sees half a file.
  const fs::path dot_tmp = target.string() + ".tmp.dot";
  {
    std::ofstream out(dot_tmp);
    if (!out) throw InputError("cannot write '" + path + "': check that the directory " +
                               quoted(target.parent_path().string()) + " exists and is writable", false);
    out << to_dot(graph, plan);
    out.close();
    if (!out) throw InputError("writing '" + path + "' failed (disk full?)", false);
  }
  std::error_code ec;
  if (format == "dot") {
    fs::rename(dot_tmp, target, ec);
    if (ec) throw InputError("cannot rename '" + dot_tmp.string() + "' to '" + path + "': " + ec.message());
    return;
  }
  if (std::system("command -v dot >/dev/null 2>&1") != 0) {
    fs::remove(dot_tmp, ec);
    throw InputError("rendering '" + path + "' needs Graphviz's dot program, which is not on PATH. " +
                     "Possible fixes: apt-get install graphviz, or visualize to a .dot file", false);
  }
  const fs::path rendered_tmp = target.string() + ".tmp." + format;
  const std::string command = "dot -T" + format + " " + quoted(dot_tmp.string()) + " -o " +
                              quoted(rendered_tmp.string()) + " 2>/dev/null";
  const int status = std::system(command.c_str());
  fs::remove(dot_tmp, ec);
  if (status != 0) {
    fs::remove(rendered_tmp, ec);
    throw InputError("Graphviz's dot failed to render '" + path + "'", false);
  }
  fs::rename(rendered_tmp, target, ec);
  if (ec) throw InputError("cannot rename '" + rendered_tmp.string() + "' to '" + path + "': " + ec.message());
}

}  // namespace rask
