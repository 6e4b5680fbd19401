// Workshop dataframe line 1: the mean close per hour of the day, over a month of files.
//
//     df = dd.read_csv('inputs/minute/aig/2010-01-*.csv', parse_dates=['timestamp'])
//     df.groupby(df.timestamp.dt.hour).close.mean()
//
//   2010-01-04.csv   2010-01-05.csv   ...      one block per file (big files: several)
//        |                |
//   parse timestamp, close; hour; partial (sum, count) per hour     one task per block
//         \               |            /
//            merge partials (fixed tree)  ->  mean per hour on rank 0  ->  out.h5:/hourly
//
// Run: mpirun -n 2 build/jobs/frame_hourly 'inputs/minute/aig/2010-01-*.csv' hourly.h5
#include <cstdio>
#include <string>

#include <rask/rask.hpp>

int main(int argc, char** argv) {
  rask::Runtime rt(argc, argv);
  const std::string pattern = argc > 1 ? argv[1] : "inputs/minute/aig/2010-01-*.csv";
  const std::string out = argc > 2 ? argv[2] : "hourly.h5";
  rask::ReadCsvOptions options{.parse_dates = {"timestamp"}};
  if (argc > 3) options.on_bad_lines = argv[3];
  rask::DataFrame df = rask::read_csv(pattern, options);
  rask::Series hourly = df.groupby(df["timestamp"].dt().hour())["close"].mean();
  const double start = rt.wtime();
  hourly.to_hdf(out, "/hourly");  // collective
  if (rt.rank() == 0)
    std::printf("time: mean close per hour written to %s:/hourly in %.3f s on %d ranks x %d threads\n", out.c_str(),
                rt.wtime() - start, rt.size(), rt.threads());
}
