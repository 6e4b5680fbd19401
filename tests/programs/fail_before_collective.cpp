// Failures around collective tasks: every rank must exit with the failing rank's
// message, never hang. argv[1] says where rank 1 fails:
//   before  - an input of the collective task throws on rank 1 (others wait to enter);
//   inside  - rank 1's part of the collective body throws before its MPI call, while the
//             others wait in rask::collective_wait;
//   library - the same, while the others wait in a blocking MPI call, as ScaLAPACK's do.
#include <mpi.h>

#include <cstring>
#include <rask/rask.hpp>
#include <stdexcept>
#include <string>

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  const std::string where = argc > 1 ? argv[1] : "before";
  rask::Graph g;
  auto codec = rask::codec_for<long>();
  auto token = [](const std::string& key) { return rask::token_bytes(key.data(), key.size()); };
  std::vector<rask::TaskId> parts;
  for (int i = 0; i < 4; ++i) {
    const std::string key = "part" + std::to_string(i);
    auto body = std::make_shared<const rask::TaskBody>([i, where](const rask::Inputs&) {
      if (where == "before" && i == 1) throw std::runtime_error("part 1 cannot be made");
      return rask::Value(long(i));
    });
    parts.push_back(g.add_task({key, token(key), true}, {}, body, codec, {.owner = i}));
  }
  auto reduce = std::make_shared<const rask::TaskBody>([where](const rask::Inputs& in) {
    long mine = 0;
    for (std::size_t k = 0; k < in.size(); ++k)
      if (in.has(k)) mine += in.get<long>(k);
    if ((where == "inside" || where == "library") && rask::Runtime::current().rank() == 1)
      throw std::runtime_error("rank 1 gave up inside the collective");
    long total = 0;
    if (where == "library") {
      MPI_Allreduce(&mine, &total, 1, MPI_LONG, MPI_SUM, rask::collective_comm());
      return rask::Value(total);
    }
    MPI_Request request;
    MPI_Iallreduce(&mine, &total, 1, MPI_LONG, MPI_SUM, rask::collective_comm(), &request);
    rask::collective_wait(request);
    return rask::Value(total);
  });
  auto total = g.add_task({"total", token("total"), true}, parts, reduce, codec, {.collective = true});
  std::vector<rask::TaskId> out{total};
  rt.compute(g, out);
  return 0;
}
