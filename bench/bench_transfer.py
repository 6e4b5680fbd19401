"""One large value crossing ranks, rask next to plain MPI in the same run.

  /usr/bin/python3 bench/bench_transfer.py --build build [--repeat 5] [--quick] [--megabytes 300]

A 300 MB std::vector<double> made on rank 1 and consumed on rank 0 (bench/bench_transfer.cpp):
the move is the compute's time with the producer on rank 1 less its time on rank 0. The
peer here is MPI itself: MPI_Send/MPI_Recv of the same bytes into a warm buffer, and into
a new std::vector (what any receiver of a new value pays). 2 ranks x 1 thread, all
samples from one process; also each rank's peak resident memory."""
import os
import sys

import harness


def main():
    parser = harness.arguments(__doc__)
    parser.add_argument("--megabytes", type=float, default=300)
    args = harness.parse(parser)
    megabytes = 30 if args.quick else args.megabytes
    bench = harness.Bench("transfer", args, "one large value crossing ranks, against MPI_Send")
    bench.section(f"one {megabytes:g} MB std::vector<double> from rank 1 to rank 0, GB/s")
    out = harness.mpirun([os.path.join(args.build, "bench", "bench_transfer")], [megabytes, args.repeat], 2, 1)[0]
    rows = [row for row in harness.fields(out) if "bytes" in row]
    peak = next(line.split()[1:] for line in out.splitlines() if line.startswith("peak_rss_mb"))
    gb = rows[0]["bytes"] / 1e9
    rate = {key: [gb / row[key] for row in rows] for key in ("move_s", "mpi_warm_s", "mpi_new_vector_s")}
    note = f"peak RSS per rank {peak[0]} / {peak[1]} MB"
    case = f"{megabytes:g} MB value from rank 1 to rank 0"
    bench.figure(case, "2x1 C++", rate["move_s"], "GB/s", rate["mpi_new_vector_s"], "MPI_Send into a new vector",
                 higher_is_better=True, note=note)
    bench.figure(case, "2x1 C++", rate["move_s"], "GB/s", rate["mpi_warm_s"], "MPI_Send into a warm buffer",
                 higher_is_better=True, summary=False)
    bench.finish()


if __name__ == "__main__":
    sys.exit(main())
