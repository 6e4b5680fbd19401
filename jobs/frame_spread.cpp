// Workshop dataframe line 2: the daily spread, max(high) - min(low) per day.
//
//     df = dd.read_csv('inputs/minute/aig/2010-01-*.csv', parse_dates=['timestamp'])
//     day = df.timestamp.dt.date
//     df.groupby(day).high.max() - df.groupby(day).low.min()
//
//   block 0   block 1   ...        one pass over each block: timestamp, high, low parsed;
//      |         |                 partial max(high) and min(low) per day
//       \        |       /
//        merge (fixed tree)  ->  align the two results on the day  ->  out.h5:/spread
//
// Run: mpirun -n 2 build/jobs/frame_spread 'inputs/minute/aig/2010-01-*.csv' spread.h5
#include <cstdio>
#include <string>

#include <rask/rask.hpp>

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  const std::string pattern = argc > 1 ? argv[1] : "inputs/minute/aig/2010-01-*.csv";
  const std::string out = argc > 2 ? argv[2] : "spread.h5";
  rask::DataFrame df = rask::read_csv(pattern, {.parse_dates = {"timestamp"}});
  rask::Series day = df["timestamp"].dt().date();
  rask::Series spread = df.groupby(day)["high"].max() - df.groupby(day)["low"].min();
  const double start = rt.wtime();
  spread.to_hdf(out, "/spread");  // collective
  if (rt.rank() == 0)
    std::printf("time: daily spread written to %s:/spread in %.3f s on %d ranks x %d threads\n", out.c_str(),
                rt.wtime() - start, rt.size(), rt.threads());
}
