// The "public names" block, as a program outside the repo writes it. It makes
// its own two tiny files, so the expected numbers can be checked by eye:
//   hourly mean close: 9 -> (55 + 51) / 2 = 53, 10 -> (45 + 49) / 2 = 47
//   spread: 2010-01-04 -> 60 - 40 = 20, 2010-01-05 -> 52 - 47 = 5
//   volume where close > 50, by day of week: Monday (0) -> 10, Tuesday (1) -> 5
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <rask/rask.hpp>

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  if (rt.rank() == 0) {
    std::filesystem::create_directories("minute/aig");
    std::ofstream("minute/aig/2010-01-04.csv") << "timestamp,open,high,low,close,volume\n"
                                                  "2010-01-04 09:30:00,50,60,48,55,10\n"
                                                  "2010-01-04 10:30:00,50,51,40,45,20\n";
    std::ofstream("minute/aig/2010-01-05.csv") << "timestamp,open,high,low,close,volume\n"
                                                  "2010-01-05 09:45:00,50,52,49,51,5\n"
                                                  "2010-01-05 10:15:00,50,50,47,49,7\n";
  }
  rt.barrier();
  rask::DataFrame df = rask::read_csv("minute/aig/2010-01-*.csv", {.parse_dates = {"timestamp"}});
  rask::Series hourly = df.groupby(df["timestamp"].dt().hour())["close"].mean();
  rask::Series day = df["timestamp"].dt().date();
  rask::Series spread = df.groupby(day)["high"].max() - df.groupby(day)["low"].min();
  rask::DataFrame up = df[df["close"] > 50.0];
  rask::Series vol = up.groupby(up["timestamp"].dt().dayofweek())["volume"].sum();
  hourly.to_hdf("out.h5", "/hourly");  // collective
  auto h = hourly.compute();
  auto s = spread.compute();
  auto v = vol.compute();
  if (rt.rank() == 0) {
    std::printf("hourly %lld=%g %lld=%g\n", static_cast<long long>(h->index.i64[0]), h->columns[0].f64[0],
                static_cast<long long>(h->index.i64[1]), h->columns[0].f64[1]);
    std::printf("spread %g %g\n", s->columns[0].f64[0], s->columns[0].f64[1]);
    std::printf("vol %lld=%lld %lld=%lld\n", static_cast<long long>(v->index.i64[0]),
                static_cast<long long>(v->columns[0].i64[0]), static_cast<long long>(v->index.i64[1]),
                static_cast<long long>(v->columns[0].i64[1]));
    std::printf("out.h5 %s\n", std::filesystem::exists("out.h5") ? "written" : "missing");
  }
}
