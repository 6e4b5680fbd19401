// Frames: read_csv, dt accessors, filters, groupby and outputs, run at 1, 2 and 4 ranks.
// Expected values come from plain loops over the same rows the test wrote, never from
// rask itself; errors are checked by their text on every rank.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <random>
#include <string>
#include <vector>

#include <rask/rask.hpp>

namespace fs = std::filesystem;

namespace {

int rank() { return rask::Runtime::current().rank(); }

// A directory every rank sees under the same name; rank 0 writes the files in it.
class FrameTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char name[256] = {};
    if (rank() == 0) {
      std::string dir = (fs::temp_directory_path() / "rask_frame_XXXXXX").string();
      std::snprintf(name, sizeof name, "%s", ::mkdtemp(dir.data()));
    }
    MPI_Bcast(name, sizeof name, MPI_CHAR, 0, MPI_COMM_WORLD);
    dir_ = name;
  }
  void TearDown() override {
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank() == 0) fs::remove_all(dir_);
  }
  // Rank 0 writes `text` to `name`; every rank returns the path once it exists.
  std::string write(const std::string& name, const std::string& text) {
    const std::string path = dir_ + "/" + name;
    if (rank() == 0) std::ofstream(path, std::ios::binary) << text;
    MPI_Barrier(MPI_COMM_WORLD);
    return path;
  }
  std::string dir_;
};

struct Row {
  int day;  // days after 2010-01-04 (a Monday)
  int minute;
  double open, high, low, close;
  long volume;
};

// Rows of a few days of minute bars, written in a given column order.
std::vector<Row> make_rows(int days, int per_day, unsigned seed) {
  std::mt19937_64 gen(seed);
  std::uniform_real_distribution<double> price(20.0, 80.0);
  std::vector<Row> rows;
  for (int day = 0; day < days; ++day)
    for (int bar = 0; bar < per_day; ++bar) {
      Row r{day, 9 * 60 + 7 * bar, price(gen), 0, 0, price(gen), static_cast<long>(gen() % 1000)};
      r.high = std::max(r.open, r.close) + 1.25;
      r.low = std::min(r.open, r.close) - 0.5;
      rows.push_back(r);
    }
  return rows;
}

std::string date_of(int day) { return "2010-01-" + std::string(day < 6 ? "0" : "") + std::to_string(4 + day); }

std::string csv_of(const std::vector<Row>& rows, bool workshop_order) {
  std::string out = workshop_order ? "timestamp,close,high,low,open\n" : "timestamp,open,high,low,close,volume\n";
  char line[200];
  for (const Row& r : rows) {
    if (workshop_order)
      std::snprintf(line, sizeof line, "%s %02d:%02d:00,%.17g,%.17g,%.17g,%.17g\n", date_of(r.day).c_str(),
                    r.minute / 60, r.minute % 60, r.close, r.high, r.low, r.open);
    else
      std::snprintf(line, sizeof line, "%s %02d:%02d:00,%.17g,%.17g,%.17g,%.17g,%ld\n", date_of(r.day).c_str(),
                    r.minute / 60, r.minute % 60, r.open, r.high, r.low, r.close, r.volume);
    out += line;
  }
  return out;
}

constexpr std::int64_t kDayNs = 86400LL * 1000000000LL;
constexpr std::int64_t kMonday = 14613LL * kDayNs;  // 2010-01-04

void expect_close(double want, double got, const std::string& what) {
  EXPECT_NEAR(got, want, 1e-12 * std::max(1.0, std::fabs(want))) << what;
}

// The error's text on every rank, or "" when nothing was thrown.
template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const rask::Error& e) {
    EXPECT_TRUE(e.collective()) << e.what();
    return e.what();
  }
  return "";
}

}  // namespace

TEST_F(FrameTest, HourlyMeanAndDailySpreadInBothColumnOrders) {
  const auto rows = make_rows(5, 60, 11);
  for (bool workshop : {false, true}) {
    // Several files, and a file split into many blocks.
    std::vector<Row> first(rows.begin(), rows.begin() + 120), rest(rows.begin() + 120, rows.end());
    write(std::string("a") + (workshop ? "w" : "f") + "1.csv", csv_of(first, workshop));
    write(std::string("a") + (workshop ? "w" : "f") + "2.csv", csv_of(rest, workshop));
    const std::string pattern = dir_ + "/a" + (workshop ? "w" : "f") + "*.csv";
    for (std::int64_t blocksize : {0, 300, 1000, 1 << 20}) {
      auto df = rask::read_csv(pattern, {.parse_dates = {"timestamp"}, .blocksize = blocksize});
      auto hourly = df.groupby(df["timestamp"].dt().hour())["close"].mean().compute();
      auto day = df["timestamp"].dt().date();
      auto spread = (df.groupby(day)["high"].max() - df.groupby(day)["low"].min()).compute();
      if (rank() != 0) {
        EXPECT_FALSE(hourly.has_value());
        continue;
      }
      std::map<int, std::pair<double, int>> by_hour;
      std::map<int, std::pair<double, double>> by_day;
      for (const Row& r : rows) {
        auto& h = by_hour[r.minute / 60];
        h.first += r.close;
        h.second += 1;
        auto [it, fresh] = by_day.try_emplace(r.day, r.high, r.low);
        if (!fresh) it->second = {std::max(it->second.first, r.high), std::min(it->second.second, r.low)};
      }
      const std::string what =
          std::string(workshop ? "workshop" : "full") + " order, blocksize " + std::to_string(blocksize);
      ASSERT_EQ(hourly->rows(), by_hour.size()) << what;
      EXPECT_EQ(hourly->index.name, "timestamp");
      EXPECT_EQ(hourly->columns.at(0).name, "close");
      std::size_t g = 0;
      for (const auto& [hour, sum_count] : by_hour) {
        EXPECT_EQ(hourly->index.i64[g], hour) << what;
        expect_close(sum_count.first / sum_count.second, hourly->columns[0].f64[g], what);
        ++g;
      }
      ASSERT_EQ(spread->rows(), by_day.size()) << what;
      EXPECT_EQ(spread->index.dtype, rask::DType::timestamp);
      g = 0;
      for (const auto& [d, hl] : by_day) {
        EXPECT_EQ(spread->index.i64[g], kMonday + d * kDayNs) << what;
        EXPECT_EQ(spread->columns[0].f64[g], hl.first - hl.second) << what;
        ++g;
      }
    }
  }
}

TEST_F(FrameTest, FilterThenGroupbyDayOfWeekAndEveryAggregation) {
  const auto rows = make_rows(9, 40, 5);  // Monday to the next Tuesday, so dayofweek 0 and 1 repeat
  write("b.csv", csv_of(rows, false));
  auto df = rask::read_csv(dir_ + "/b.csv", {.parse_dates = {"timestamp"}, .blocksize = 2000});
  rask::DataFrame up = df[df["close"] > 50.0];
  rask::Series dow = up["timestamp"].dt().dayofweek();
  auto vol = up.groupby(dow)["volume"].sum().compute();
  auto sd = up.groupby(dow)["close"].std().compute();
  auto var = up.groupby(dow)["close"].var().compute();
  auto cnt = up.groupby(dow)["close"].count().compute();
  auto mn = up.groupby(dow)["open"].min().compute();
  auto fst = up.groupby(dow)["open"].first().compute();
  auto lst = up.groupby(dow)["volume"].last().compute();
  auto size = up.groupby(dow).size().compute();
  if (rank() != 0) return;
  struct Acc {
    long volume = 0, count = 0, last = 0;
    double sum = 0, min = 1e300, first = NAN;
    std::vector<double> closes;
  };
  std::map<int, Acc> want;
  for (const Row& r : rows) {
    if (!(r.close > 50.0)) continue;
    Acc& a = want[r.day % 7];
    a.volume += r.volume;
    a.count += 1;
    a.closes.push_back(r.close);
    a.min = std::min(a.min, r.open);
    if (std::isnan(a.first)) a.first = r.open;
    a.last = r.volume;
  }
  ASSERT_EQ(vol->rows(), want.size());
  EXPECT_EQ(vol->columns[0].dtype, rask::DType::int64);
  EXPECT_EQ(lst->columns[0].dtype, rask::DType::int64);
  std::size_t g = 0;
  for (const auto& [d, a] : want) {
    EXPECT_EQ(vol->index.i64[g], d);
    EXPECT_EQ(vol->columns[0].i64[g], a.volume);
    double mean = 0;
    for (double c : a.closes) mean += c;
    mean /= static_cast<double>(a.closes.size());
    double m2 = 0;
    for (double c : a.closes) m2 += (c - mean) * (c - mean);
    expect_close(m2 / static_cast<double>(a.closes.size() - 1), var->columns[0].f64[g], "var");
    expect_close(std::sqrt(m2 / static_cast<double>(a.closes.size() - 1)), sd->columns[0].f64[g], "std");
    EXPECT_EQ(cnt->columns[0].i64[g], a.count);
    EXPECT_EQ(size->columns[0].i64[g], a.count);
    EXPECT_EQ(mn->columns[0].f64[g], a.min);
    EXPECT_EQ(fst->columns[0].f64[g], a.first);
    EXPECT_EQ(lst->columns[0].i64[g], a.last);
    ++g;
  }
}

TEST_F(FrameTest, QuotesCrlfMissingValuesAndStringKeys) {
  // RFC 4180: separators, line breaks and "" inside quotes; CRLF ends; no final newline.
  const std::string text =
      "sym,note,price,n\r\n"
      "aig,\"plain\",1.5,1\r\n"
      "\"ibm\",\"a, comma\",2.5,2\r\n"
      "aig,\"two\r\nlines\",,3\r\n"
      "\r\n"
      "ibm,\"say \"\"hi\"\"\",4.0,4\r\n"
      "aig,x,NaN,5";
  write("q.csv", text);
  for (std::int64_t blocksize : {0, 1 << 20}) {
    auto df = rask::read_csv(dir_ + "/q.csv", {.blocksize = blocksize});
    auto mean = df.groupby("sym")["price"].mean().compute();
    auto count = df.groupby("sym")["price"].count().compute();
    auto size = df.groupby("sym").size().compute();
    auto all = df.compute();
    if (rank() != 0) continue;
    ASSERT_EQ(mean->rows(), 2u);
    EXPECT_EQ(mean->index.str, (std::vector<std::string>{"aig", "ibm"}));
    EXPECT_EQ(mean->columns[0].f64[0], 1.5);  // NaN and the empty field are skipped
    EXPECT_EQ(mean->columns[0].f64[1], 3.25);
    EXPECT_EQ(count->columns[0].i64, (std::vector<std::int64_t>{1, 2}));
    EXPECT_EQ(size->columns[0].i64, (std::vector<std::int64_t>{3, 2}));
    ASSERT_EQ(all->rows(), 5u);
    EXPECT_EQ((*all)["note"].str, (std::vector<std::string>{"plain", "a, comma", "two\r\nlines", "say \"hi\"", "x"}));
    EXPECT_EQ((*all)["n"].i64, (std::vector<std::int64_t>{1, 2, 3, 4, 5}));
    EXPECT_TRUE(std::isnan((*all)["price"].f64[2]));
  }
}

TEST_F(FrameTest, BlockBoundariesAtEveryByteGiveTheSameRows) {
  // Long and short lines, so that block starts fall everywhere inside lines.
  std::string text = "k,v\n";
  std::map<long, double> want;
  for (long line = 0; line < 200; ++line) {
    const long k = line % 7;
    const double v = static_cast<double>(line) * 0.25;
    text += std::to_string(k);
    text += ',';
    text += std::to_string(v);
    text.append(static_cast<std::size_t>(line % 13), '0');  // trailing zeros: longer lines, same value
    text += '\n';
    want[k] += v;
  }
  write("blocks.csv", text);
  for (std::int64_t blocksize : {1, 2, 3, 5, 8, 13, 40, 97}) {
    auto sum = rask::read_csv(dir_ + "/blocks.csv", {.blocksize = blocksize}).groupby("k")["v"].sum().compute();
    auto n = rask::read_csv(dir_ + "/blocks.csv", {.blocksize = blocksize}).groupby("k").size().compute();
    if (rank() != 0) continue;
    ASSERT_EQ(sum->rows(), want.size()) << "blocksize " << blocksize;
    std::size_t g = 0;
    for (const auto& [k, v] : want) {
      expect_close(v, sum->columns[0].f64[g], "blocksize " + std::to_string(blocksize));
      EXPECT_EQ(n->columns[0].i64[g], 200 / 7 + (k < 200 % 7)) << "blocksize " << blocksize;
      ++g;
    }
  }
}

TEST_F(FrameTest, QuotedFieldsWithoutLineBreaksSplitAnywhere) {
  // Quotes, "" pairs and separators inside quotes, CRLF: a block may start inside a quoted
  // field or between the two quotes of a "" pair, and must still find the right line.
  const std::vector<std::string> notes = {"plain", "\"has, comma\"", "\"say \"\"hi\"\", ok\"", "\"\""};
  std::string text = "note,k,v\r\n";
  std::map<long, double> want;
  for (long line = 0; line < 300; ++line) {
    text += notes[static_cast<std::size_t>(line % 4)];
    text += ',';
    text += std::to_string(line % 5);
    text += ',';
    text += std::to_string(line);
    text += "\r\n";
    want[line % 5] += static_cast<double>(line);
  }
  write("quoted.csv", text);
  for (std::int64_t blocksize : {1, 2, 3, 7, 11, 64}) {
    auto sum = rask::read_csv(dir_ + "/quoted.csv", {.blocksize = blocksize}).groupby("k")["v"].sum().compute();
    // String keys: each block has its own dictionary; partials merge by the text.
    auto by_note = rask::read_csv(dir_ + "/quoted.csv", {.blocksize = blocksize}).groupby("note").size().compute();
    if (rank() != 0) continue;
    // "" is a missing value, as pandas reads it: not a group.
    EXPECT_EQ(by_note->index.str, (std::vector<std::string>{"has, comma", "plain", "say \"hi\", ok"}));
    EXPECT_EQ(by_note->columns[0].i64, (std::vector<std::int64_t>{75, 75, 75}));
    ASSERT_EQ(sum->rows(), want.size()) << "blocksize " << blocksize;
    for (std::size_t g = 0; g < want.size(); ++g)
      EXPECT_EQ(sum->columns[0].i64[g], static_cast<std::int64_t>(want[static_cast<long>(g)]))
          << "blocksize " << blocksize;
  }
}

TEST_F(FrameTest, QuotedLineBreakAcrossABlockBoundaryIsReportedNotMisparsed) {
  std::string text = "id,note\n";
  for (int line = 0; line < 30; ++line) text += std::to_string(line) + ",\"first part\nsecond part of the note\"\n";
  const std::string path = write("ql.csv", text);
  // Whole-file blocks parse it.
  auto ok = rask::read_csv(path, {.blocksize = 0}).groupby("id").size().compute();
  if (rank() == 0) {
    EXPECT_EQ(ok->rows(), 30u);
  }
  // Small blocks start inside quoted fields: reported with the file and line.
  const std::string message =
      error_of([&] { rask::read_csv(path, {.blocksize = 100}).groupby("id").size().compute(); });
  EXPECT_NE(message.find(path + ":"), std::string::npos) << message;
  EXPECT_NE(message.find(": a quoted field holding a line break crosses the block boundary at byte "),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("Possible fixes:\n  * blocksize=0 to read each file as one block"), std::string::npos)
      << message;
}

TEST_F(FrameTest, BadLinesStopWithPlaceAndFixes) {
  const std::string header = "timestamp,close,high,low,open\n";
  const std::string good = "2010-01-04 09:00:00,1.5,2,1,1.25\n";
  struct Case {
    std::string body;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {good + "2010-01-04 09:02:00,4x.1,2,1,1\n",
       ":3: column 'close': cannot parse \"4x.1\" as float64\nPossible fixes:\n"
       "  * dtype={{\"close\", \"string\"}} to read the column as text\n"
       "  * on_bad_lines=\"skip\" or \"warn\" to leave such lines out"},
      {good + good + "2010-01-04 09:04:00,1.5,2,1\n",
       ":4: expected 5 fields (as the header), found 4\nPossible fixes:\n"
       "  * on_bad_lines=\"skip\" or \"warn\" to leave such lines out"},
      {good + "2010-01-04 09:04:00,1.5,2,1,1,7\n", ":3: expected 5 fields (as the header), found 6\n"},
      {good + "2010-13-04 09:04:00,1.5,2,1,1\n",
       ":3: column 'timestamp': cannot parse \"2010-13-04 09:04:00\" as "
       "datetime64[ns]\nPossible fixes:\n  * leave the column out of parse_dates"},
      // Same day as the line before (the cached date), impossible time.
      {good + "2010-01-04 24:00:00,1.5,2,1,1\n",
       ":3: column 'timestamp': cannot parse \"2010-01-04 24:00:00\" as "
       "datetime64[ns]"},
      {good + "2010-01-04 09:04:00,\"1.5,2,1,1\n",
       ":3: column 2: a quoted field opened here is still open at the end of "
       "the file\nPossible fixes:\n  * close the quote"},
  };
  for (std::size_t case_idx = 0; case_idx < cases.size(); ++case_idx) {
    const std::string path = write("bad" + std::to_string(case_idx) + ".csv", header + cases[case_idx].body);
    write("good" + std::to_string(case_idx) + ".csv", header + good);
    const std::string message = error_of([&] {
      auto df = rask::read_csv(dir_ + "/*" + std::to_string(case_idx) + ".csv", {.parse_dates = {"timestamp"}});
      df.groupby(df["timestamp"].dt().hour())["close"].mean().compute();
    });
    EXPECT_NE(message.find(path + cases[case_idx].expected), std::string::npos)
        << "case " << case_idx << ": " << message;
    EXPECT_NE(message.find("task 'read_csv-"), std::string::npos) << message;
  }
}

TEST_F(FrameTest, NonUtf8InAStringColumn) {
  const std::string path = write("latin1.csv", "name,v\nok,1\ncaf\xe9,2\n");
  const std::string message = error_of([&] { rask::read_csv(path).groupby("name")["v"].sum().compute(); });
  EXPECT_NE(message.find(path + ":3: column 'name': \"caf\\xe9\" is not UTF-8 (byte 4 of the field)\nPossible fixes:\n"
                                "  * convert the file to UTF-8 (e.g. iconv -f latin1 -t utf-8)"),
            std::string::npos)
      << message;
}

TEST_F(FrameTest, SkipAndWarnLeaveBadLinesOutAndSayWhere) {
  const std::string path = write("skip.csv", "k,v\n1,1.5\n1,zz\n2,2.5\n2\n1,0.5,9\n2,1.0\n");
  for (const char* mode : {"skip", "warn"}) {
    auto t = rask::read_csv(path, {.on_bad_lines = mode}).groupby("k")["v"].sum().compute();
    if (rank() != 0) continue;
    EXPECT_EQ(t->columns[0].f64, (std::vector<double>{1.5, 3.5}));
    EXPECT_EQ(t->bad_lines.count, 3u);
    ASSERT_EQ(t->bad_lines.where.size(), 3u);
    EXPECT_EQ(t->bad_lines.where[0], path + ":3: column 'v': cannot parse \"zz\" as float64");
    EXPECT_EQ(t->bad_lines.where[1], path + ":5: expected 2 fields (as the header), found 1");
    EXPECT_EQ(t->bad_lines.where[2], path + ":6: expected 2 fields (as the header), found 3");
  }
}

TEST_F(FrameTest, InputErrorsAreCollectiveAndSayHowToFix) {
  write("h1.csv", "timestamp,close\n2010-01-04 09:00:00,1\n");
  write("h2.csv", "timestamp,price\n2010-01-04 09:00:00,1\n");
  write("empty.csv", "");
  auto message = error_of([&] { rask::read_csv(dir_ + "/h*.csv").groupby("timestamp").size().compute(); });
  EXPECT_NE(message.find("read_csv: " + dir_ + "/h2.csv:1: the header differs from " + dir_ +
                         "/h1.csv's (missing: close; extra: price)\nPossible fixes:\n"),
            std::string::npos)
      << message;
  message = error_of([&] { rask::read_csv(dir_ + "/empty.csv").groupby("x").size().compute(); });
  EXPECT_NE(message.find("read_csv: " + dir_ + "/empty.csv is empty (no header line, no rows)"), std::string::npos)
      << message;
  message = error_of([&] { rask::read_csv(dir_ + "/nothing-*.csv").groupby("x").size().compute(); });
  EXPECT_NE(message.find("read_csv: no files match '" + dir_ + "/nothing-*.csv'\nPossible fixes:"), std::string::npos)
      << message;
  auto df = rask::read_csv(dir_ + "/h1.csv", {.parse_dates = {"timestamp"}});
  message = error_of([&] { df.groupby("volume").size().compute(); });
  EXPECT_NE(message.find("column 'volume' not found in read_csv('" + dir_ +
                         "/h1.csv'); the frame has columns: timestamp, close\nPossible fixes:\n"),
            std::string::npos)
      << message;
  message = error_of([&] { df[{"timestamp", "vol"}].compute(); });
  EXPECT_NE(message.find("column 'vol' not found in read_csv("), std::string::npos) << message;
  message = error_of([&] { df.groupby(df["close"].dt().hour()).size().compute(); });
  EXPECT_NE(message.find(".dt().hour(): 'close' is int64, not a timestamp\nPossible fixes:\n"
                         "  * read_csv(..., {.parse_dates = {\"close\"}})"),
            std::string::npos)
      << message;
  message = error_of([&] { rask::read_csv(dir_ + "/h1.csv", {.on_bad_lines = "ignore"}).compute(); });
  EXPECT_NE(message.find("on_bad_lines='ignore' is not known"), std::string::npos) << message;
  // Combining columns of different frames is refused when the expression is built.
  auto other = df[df["close"] > 0.0];
  message = error_of([&] { (void)(df["close"] - other["close"]); });
  EXPECT_NE(message.find("cannot combine columns 'close' and 'close' of different frames in '-'"), std::string::npos)
      << message;
}

TEST_F(FrameTest, AlignedArithmeticBetweenGroupbyResultsGivesNaNForMissingKeys) {
  write("al.csv", "k,v,w\n1,1.0,10\n2,2.0,20\n3,3.0,30\n");
  auto df = rask::read_csv(dir_ + "/al.csv");
  auto low = df[df["v"] < 2.5];   // keys 1, 2
  auto high = df[df["v"] > 1.5];  // keys 2, 3
  auto diff = (high.groupby("k")["w"].sum() - low.groupby("k")["w"].sum()).compute();
  auto scaled = (df.groupby("k")["v"].max() * 2.0 + 1.0).compute();
  if (rank() != 0) return;
  EXPECT_EQ(diff->index.i64, (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_TRUE(std::isnan(diff->columns[0].f64[0]));
  EXPECT_EQ(diff->columns[0].f64[1], 0.0);
  EXPECT_TRUE(std::isnan(diff->columns[0].f64[2]));
  EXPECT_EQ(scaled->columns[0].f64, (std::vector<double>{3.0, 5.0, 7.0}));
  EXPECT_EQ(scaled->columns[0].name, "v");
}

TEST_F(FrameTest, RowOutputsKeepFileOrderAndDtAccessors) {
  write("r1.csv", "timestamp,x\n2010-01-04 09:30:05,1\n2012-02-29T23:59:59.5,2\n");
  write("r2.csv", "timestamp,x\n1969-12-31,3\n,4\n");
  auto df = rask::read_csv(dir_ + "/r*.csv", {.parse_dates = {"timestamp"}, .blocksize = 1});
  auto ts = df["timestamp"];
  auto year = ts.dt().year().compute(), month = ts.dt().month().compute(), day = ts.dt().day().compute();
  auto minute = ts.dt().minute().compute(), dow = ts.dt().dayofweek().compute();
  auto hfloor = ts.dt().floor("h").compute();
  auto big = df[df["x"] >= 2.0].compute();
  if (rank() != 0) return;
  const std::int64_t nat = std::numeric_limits<std::int64_t>::min();
  EXPECT_EQ(year->columns[0].i64, (std::vector<std::int64_t>{2010, 2012, 1969, nat}));
  EXPECT_EQ(month->columns[0].i64, (std::vector<std::int64_t>{1, 2, 12, nat}));
  EXPECT_EQ(day->columns[0].i64, (std::vector<std::int64_t>{4, 29, 31, nat}));
  EXPECT_EQ(minute->columns[0].i64, (std::vector<std::int64_t>{30, 59, 0, nat}));
  EXPECT_EQ(dow->columns[0].i64, (std::vector<std::int64_t>{0, 2, 2, nat}));  // Mon, Wed, Wed
  EXPECT_EQ(hfloor->columns[0].i64[0], kMonday + 9 * 3600000000000LL);
  EXPECT_EQ((*big)["x"].i64, (std::vector<std::int64_t>{2, 3, 4}));
  EXPECT_EQ(big->index.i64, (std::vector<std::int64_t>{0, 1, 2}));
}

TEST_F(FrameTest, ExpressionRoundTripsThroughAFewHundredBytes) {
  const auto rows = make_rows(3, 50, 9);
  write("s.csv", csv_of(rows, false));
  auto df = rask::read_csv(dir_ + "/s.csv", {.parse_dates = {"timestamp"}, .blocksize = 1500});
  rask::DataFrame up = df[df["close"] > 50.0];
  rask::Series day = up["timestamp"].dt().date();
  rask::Series spread = up.groupby(day)["high"].max() - up.groupby(day)["low"].min();
  const rask::Bytes bytes = spread.serialize();
  EXPECT_LT(bytes.size(), 600u);
  rask::Series back = rask::Series::deserialize(bytes);
  EXPECT_EQ(back.serialize(), bytes);
  auto a = spread.compute(rask::Where::all), b = back.compute(rask::Where::all);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->index.i64, b->index.i64);
  EXPECT_EQ(a->columns[0].f64, b->columns[0].f64);
  const rask::Bytes frame_bytes = up.serialize();
  EXPECT_EQ(rask::DataFrame::deserialize(frame_bytes).serialize(), frame_bytes);
  rask::Bytes cut(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(bytes.size() / 2));
  EXPECT_THROW(rask::Series::deserialize(cut), rask::SerializeError);
  EXPECT_THROW(rask::Series::deserialize(frame_bytes), rask::SerializeError);
}

// Each option reaches the expression's bytes and its token (frames read with other
// options are other frames), and comes back from the bytes: options are listed once.
TEST_F(FrameTest, EveryReadCsvOptionReachesTheBytesAndTheToken) {
  const std::string path = dir_ + "/never-opened.csv";  // building a frame opens no file
  const rask::ReadCsvOptions base;
  std::vector<rask::ReadCsvOptions> changed(8, base);
  static_assert(std::tuple_size_v<decltype(base.fields())> == 8, "a new read_csv option needs a case here");
  changed[0].parse_dates = {"t"};
  changed[1].blocksize = 99;
  changed[2].on_bad_lines = "skip";
  changed[3].usecols = {"a"};
  changed[4].dtype = {{"a", "int64"}};
  changed[5].names = {"a"};
  changed[6].header = -1;
  changed[7].sep = ';';
  const rask::Bytes plain = rask::read_csv(path, base).serialize();
  std::vector<rask::Bytes> seen{plain};
  EXPECT_NO_THROW(rask::read_csv(path, base)["a"] + rask::read_csv(path, base)["a"]);  // one frame, built twice
  for (std::size_t option = 0; option < changed.size(); ++option) {
    const rask::ReadCsvOptions& o = changed[option];
    EXPECT_FALSE(o == base) << option;
    const rask::Bytes bytes = rask::read_csv(path, o).serialize();
    EXPECT_EQ(std::count(seen.begin(), seen.end(), bytes), 0) << "option " << option << " does not reach the bytes";
    seen.push_back(bytes);
    EXPECT_EQ(rask::DataFrame::deserialize(bytes).serialize(), bytes) << option;
    EXPECT_THROW(rask::read_csv(path, base)["a"] + rask::read_csv(path, o)["a"], rask::InputError)
        << "option " << option << " does not reach the token";
  }
}

TEST_F(FrameTest, ToCsvAndToHdfWriteCompleteFilesOnly) {
  write("o.csv", "k,v\n2,2.5\n1,1.0\n1,3.0\n");
  auto s = rask::read_csv(dir_ + "/o.csv").groupby("k")["v"].mean();
  s.to_csv(dir_ + "/out.csv");
  s.to_hdf(dir_ + "/out.h5", "/a/mean");
  s.to_hdf(dir_ + "/out.h5", "/b");  // a second group in the same file
  if (rank() == 0) {
    std::ifstream in(dir_ + "/out.csv");
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(all, "k,v\n1,2.0\n2,2.5\n");
    EXPECT_TRUE(fs::exists(dir_ + "/out.h5"));
  }
  // Writing into a directory that does not exist fails on every rank, leaving nothing.
  const std::string message = error_of([&] { s.to_hdf(dir_ + "/no/such/dir/x.h5", "/x"); });
  EXPECT_NE(message.find("cannot write " + dir_ + "/no/such/dir/x.h5"), std::string::npos) << message;
  MPI_Barrier(MPI_COMM_WORLD);
  if (rank() == 0) {
    for (const auto& entry : fs::directory_iterator(dir_))
      EXPECT_EQ(entry.path().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

TEST_F(FrameTest, OptionsSepHeaderNamesUsecolsDtypeAndTwoSources) {
  write("opt1.csv", "a;1;10;x\nb;2;20;y\na;3;30;z\n");
  write("opt2.csv", "k,v\na,100\nb,200\n");
  auto df = rask::read_csv(dir_ + "/opt1.csv", {.usecols = {"key", "n"},
                                                .dtype = {{"n", "float64"}},
                                                .names = {"key", "n", "m", "tag"},
                                                .header = -1,
                                                .sep = ';'});
  auto other = rask::read_csv(dir_ + "/opt2.csv");
  auto sums = df.groupby("key")["n"].sum().compute();
  auto both = (df.groupby("key")["n"].sum() + other.groupby("k")["v"].sum()).compute();
  auto all = df.compute();
  const std::string message = error_of([&] { df.groupby("key")["m"].sum().compute(); });
  EXPECT_NE(message.find("column 'm' not found in read_csv('" + dir_ + "/opt1.csv'); the frame has columns: key, n"),
            std::string::npos)
      << message;
  if (rank() != 0) return;
  EXPECT_EQ(sums->columns[0].dtype, rask::DType::float64);  // dtype= made the ints floats
  EXPECT_EQ(sums->index.str, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(sums->columns[0].f64, (std::vector<double>{4.0, 2.0}));
  EXPECT_EQ(both->columns[0].f64, (std::vector<double>{104.0, 202.0}));
  ASSERT_EQ(all->columns.size(), 2u);
  EXPECT_EQ(all->columns[0].name, "key");
  EXPECT_EQ(all->columns[1].name, "n");
}

TEST_F(FrameTest, WholeColumnReductionsLenAndNunique) {
  const auto rows = make_rows(4, 30, 21);
  write("red.csv", csv_of(rows, false));
  auto df = rask::read_csv(dir_ + "/red.csv", {.parse_dates = {"timestamp"}, .blocksize = 700});
  auto up = df[df["close"] > 50.0];
  double sum = 0, lo = 1e300, hi = -1e300;
  long n = 0, volume = 0;
  std::vector<double> spreads;
  for (const Row& r : rows) {
    spreads.push_back(r.high - r.low);
    if (!(r.close > 50.0)) continue;
    sum += r.close;
    lo = std::min(lo, r.close);
    hi = std::max(hi, r.close);
    volume += r.volume;
    ++n;
  }
  double mean = 0, m2 = 0;
  for (double s : spreads) mean += s;
  mean /= static_cast<double>(spreads.size());
  for (double s : spreads) m2 += (s - mean) * (s - mean);
  // Every rank gets the value.
  expect_close(sum, up["close"].sum(), "sum");
  expect_close(sum / static_cast<double>(n), up["close"].mean(), "mean");
  EXPECT_EQ(up["close"].min(), lo);
  EXPECT_EQ(up["close"].max(), hi);
  EXPECT_EQ(up["volume"].sum(), static_cast<double>(volume));
  EXPECT_EQ(up["close"].count(), static_cast<std::size_t>(n));
  EXPECT_EQ(up.len(), static_cast<std::size_t>(n));
  EXPECT_EQ(df.len(), rows.size());
  expect_close(m2 / static_cast<double>(spreads.size() - 1), (df["high"] - df["low"]).var(), "var");
  expect_close(mean, (df["high"] - df["low"]).mean(), "mean of a derived series");
  EXPECT_EQ(df["timestamp"].dt().date().nunique(), 4u);
  EXPECT_EQ(up["timestamp"].dt().dayofweek().nunique(), 4u);
  EXPECT_TRUE(std::isnan(df[df["close"] > 1e9]["close"].mean()));
  EXPECT_EQ(df[df["close"] > 1e9].len(), 0u);
}

TEST_F(FrameTest, FrameToCsvQuotesStringsAndFormatsTimestamps) {
  write("fc.csv", "t,name,x\n2010-01-04 09:30:00,\"a, b\",1.5\n2010-01-05 00:00:00.25,\"say \"\"x\"\"\",\n");
  auto df = rask::read_csv(dir_ + "/fc.csv", {.parse_dates = {"t"}});
  df.to_csv(dir_ + "/fc_out.csv");
  df[{"t"}].to_hdf(dir_ + "/fc_out.h5", "/frame");
  if (rank() != 0) return;
  std::ifstream in(dir_ + "/fc_out.csv");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all, ",t,name,x\n0,2010-01-04 09:30:00,\"a, b\",1.5\n1,2010-01-05 00:00:00.25,\"say \"\"x\"\"\",\n");
  EXPECT_TRUE(fs::exists(dir_ + "/fc_out.h5"));
}

TEST_F(FrameTest, HeadReadsTheFirstRowsInFileOrder) {
  std::string text = "k,v\n";
  for (int line = 0; line < 100; ++line) text += std::to_string(line % 3) + "," + std::to_string(line) + "\n";
  write("head.csv", text);
  auto df = rask::read_csv(dir_ + "/head.csv", {.blocksize = 40});
  auto first = df.head(7, rask::Where::all);
  auto filtered = df[df["k"] == 2.0].head(4);
  auto all = df.head(1000);
  auto keys = df.groupby("k")["v"].sum().head(2);
  write("notes.csv", "k,note\n1,a\n1,\n2,b\n1,a\n");
  auto notes = rask::read_csv(dir_ + "/notes.csv");
  auto counted = notes.groupby("k")["note"].count().compute();
  EXPECT_EQ(notes["note"].count(), 3u);
  EXPECT_EQ(notes["note"].nunique(), 2u);
  if (rank() == 0) {
    EXPECT_EQ(counted->columns[0].i64, (std::vector<std::int64_t>{2, 1}));
  }
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)["v"].i64, (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5, 6}));
  if (rank() != 0) {
    EXPECT_FALSE(filtered);
    return;
  }
  EXPECT_EQ((*filtered)["v"].i64, (std::vector<std::int64_t>{2, 5, 8, 11}));
  EXPECT_EQ(all->rows(), 100u);
  EXPECT_EQ(keys->index.i64, (std::vector<std::int64_t>{0, 1}));
}

TEST_F(FrameTest, EveryOptionAndExpressionMistakeSaysWhatAndHow) {
  const std::string good =
      write("e.csv", "t,x,name,flag\n2010-01-04 09:30:00,1,a,True\n2010-01-05 10:00:00,2,b,False\n");
  write("dup.csv", "a,a\n1,2\n");
  // A decimal after the rows the types are inferred from (the first 1,000).
  std::string ints = "k,n\n";
  for (int line = 0; line < 1200; ++line) ints += "1,7\n";
  write("ints.csv", ints + "1,1.5\n");
  write("bools.csv", "k,b\n1,True\n1,False\n1,True\n1,maybe\n");
  write("afterquote.csv", "k,s\n1,\"ab\"c\n");
  auto df = rask::read_csv(good, {.parse_dates = {"t"}});
  auto other = rask::read_csv(good);
  using Make = std::function<void()>;
  const std::vector<std::pair<Make, std::string>> cases = {
      {[&] { rask::read_csv(good, {.header = 3}).len(); }, "read_csv: header=3 is not supported; use 0 (first line"},
      {[&] { rask::read_csv(good, {.header = -1}).len(); }, "read_csv: header=-1 needs names="},
      {[&] { rask::read_csv(good, {.blocksize = -1}).len(); }, "read_csv: blocksize must be >= 0"},
      {[&] { rask::read_csv(good, {.sep = '"'}).len(); }, "read_csv: sep cannot be a quote or a line end"},
      {[&] { rask::read_csv(good, {.names = {"a"}}).len(); },
       "read_csv: " + good + ":1: the header has 4 fields but names= gives 1"},
      {[&] { rask::read_csv(dir_ + "/dup.csv").len(); },
       "read_csv: " + dir_ + "/dup.csv:1: the header names column 'a' twice"},
      {[&] {
         rask::read_csv(good, {.usecols = {"x", "nope"}}).len();
       },
       "read_csv: usecols names column 'nope', which " + good + " does not have (it has: t, x, name, flag)"},
      {[&] { rask::read_csv(good, {.parse_dates = {"when"}}).len(); },
       "read_csv: parse_dates names column 'when', which the files do not have (they have: t, x, name, flag)"},
      {[&] {
         rask::read_csv(good, {.dtype = {{"y", "int64"}}}).len();
       },
       "read_csv: dtype names column 'y'"},
      {[&] {
         rask::read_csv(good, {.dtype = {{"x", "int32"}}}).len();
       },
       "read_csv: dtype 'int32' for column 'x' is not known; use \"float64\", \"int64\", \"bool\", \"string\" or "
       "\"datetime64[ns]\""},
      {[&] { rask::read_csv(dir_ + "/missing.csv").len(); }, "read_csv: '" + dir_ + "/missing.csv' does not exist"},
      {[&] { rask::read_csv(dir_).len(); }, "read_csv: '" + dir_ + "' is not a regular file"},
      {[&] { rask::read_csv(std::vector<std::string>{}); }, "read_csv: no paths given"},
      {[&] { df[df["x"]].len(); }, "df[mask]: the mask 'x' is int64, not bool\nPossible fixes:"},
      {[&] { df[other["x"] > 1.0]; }, "a filter df[mask] needs a bool series of the same frame"},
      {[&] { (~df["x"]).sum(); }, "~ needs a bool series; 'x' is int64"},
      {[&] { (-df["name"]).sum(); }, "cannot negate 'name' (object)"},
      {[&] { (df["name"] + 1.0).sum(); }, "cannot apply + to a string column ('name' + '')"},
      {[&] { (df["t"] + 1.0).sum(); }, "arithmetic on timestamps supports only timestamp - timestamp (nanoseconds)"},
      {[&] { (df["x"] & df["flag"]).sum(); }, "& needs two bool series ('x' & 'flag')"},
      {[&] { df.groupby("x")["name"].mean().compute(); },
       "groupby(...)[\"name\"].mean(): the column is object; mean needs numbers"},
      {[&] { df["t"].sum(); }, "'t'.sum(): the column is datetime64[ns]; sum needs numbers"},
      {[&] { (df.groupby("x")["x"].sum() - df.groupby("t")["x"].sum()).compute(); },
       "cannot align groupby results keyed by int64 and by datetime64[ns] in '-'"},
      {[&] { df.groupby("x")["x"].sum() - df["x"]; },
       "cannot combine a groupby result ('x') with a column of a frame ('x')"},
      {[&] { df.groupby("x")["x"].sum().nunique(); }, "nunique() needs a column of a frame, not a groupby result"},
      {[&] { df.groupby(other["x"]); }, "groupby needs a key of the same frame"},
      {[&] { df["t"].dt().floor("week"); },
       "dt().floor(\"week\"): unknown frequency; use \"D\", \"h\", \"min\" or \"s\""},
      {[&] { df.groupby("x")["x"].sum().to_hdf(dir_ + "/k.h5", ""); }, "to_hdf: key must name a group"},
      {[&] { rask::read_csv(dir_ + "/ints.csv").groupby("k")["n"].sum().compute(); },
       dir_ + "/ints.csv:1202: column 'n': cannot parse \"1.5\" as int64\nPossible fixes:\n  * dtype={{\"n\", "
              "\"float64\"}}"},
      {[&] { rask::read_csv(dir_ + "/bools.csv").groupby("k")["b"].sum().compute(); },
       dir_ + "/bools.csv:5: column 'b': cannot parse \"maybe\" as bool"},
      {[&] { rask::read_csv(dir_ + "/afterquote.csv").groupby("k").size().compute(); },
       dir_ + "/afterquote.csv:2: column 2: text after a closing quote"},
  };
  for (std::size_t case_idx = 0; case_idx < cases.size(); ++case_idx) {
    const std::string message = error_of(cases[case_idx].first);
    EXPECT_NE(message.find(cases[case_idx].second), std::string::npos) << "case " << case_idx << ": wanted\n"
                                                                       << cases[case_idx].second << "\ngot\n"
                                                                       << message;
  }
  std::optional<rask::Table> t = df.groupby("x")["x"].sum().compute(rask::Where::all);
  const std::string missing = error_of([&] { (void)(*t)["nope"]; });
  EXPECT_EQ(missing, "the table has no column 'nope' (it has: x)");
}

TEST_F(FrameTest, ValueCountsMostFrequentFirstTiesInOrderOfAppearance) {
  write("vc.csv", "x\n3\n1\n3\n2\n2\n5\n");
  auto df = rask::read_csv(dir_ + "/vc.csv", {.blocksize = 2});
  auto vc = df["x"].value_counts().compute();
  if (rank() != 0) return;
  // As pandas 1.5.3: Series([3, 1, 3, 2, 2, 5]).value_counts() -> 3: 2, 2: 2, 1: 1, 5: 1
  EXPECT_EQ(vc->index.i64, (std::vector<std::int64_t>{3, 2, 1, 5}));
  EXPECT_EQ(vc->columns[0].i64, (std::vector<std::int64_t>{2, 2, 1, 1}));
  EXPECT_EQ(vc->columns[0].name, "x");
}

TEST_F(FrameTest, GroupbySeveralColumnsSortsTuples) {
  write("multi.csv",
        "sym,day,v,w\nibm,2,1.0,-1.5\naig,2,2.0,0.5\nibm,1,3.0,-1.5\naig,1,4.0,-0.0\n,1,5.0,1\nibm,1,6.0,0.0\n");
  auto df = rask::read_csv(dir_ + "/multi.csv", {.blocksize = 3});
  auto sums = df.groupby({"sym", "day"})["v"].sum();
  auto counts = df.groupby({"sym", "day"}).size();
  auto by_float = df.groupby({"w", "day"})["v"].max().compute();
  auto diff = (sums - counts).compute();
  sums.to_csv(dir_ + "/multi_out.csv");
  auto t = sums.compute();  // collective: every rank calls it
  if (rank() != 0) return;
  ASSERT_EQ(t->levels.size(), 2u);
  EXPECT_EQ(t->levels[0].name, "sym");
  EXPECT_EQ(t->levels[0].str, (std::vector<std::string>{"aig", "aig", "ibm", "ibm"}));  // the missing sym is dropped
  EXPECT_EQ(t->levels[1].i64, (std::vector<std::int64_t>{1, 2, 1, 2}));
  EXPECT_EQ(t->columns[0].f64, (std::vector<double>{4.0, 2.0, 9.0, 1.0}));
  EXPECT_EQ(t->index.i64, (std::vector<std::int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(diff->columns[0].f64, (std::vector<double>{3.0, 1.0, 7.0, 0.0}));
  // Floats order as numbers, negatives first; -0 and 0 are one key.
  EXPECT_EQ(by_float->levels[0].f64, (std::vector<double>{-1.5, -1.5, 0.0, 0.5, 1.0}));
  EXPECT_EQ(by_float->levels[1].i64, (std::vector<std::int64_t>{1, 2, 1, 2, 1}));
  EXPECT_EQ(by_float->columns[0].f64, (std::vector<double>{3.0, 1.0, 6.0, 2.0, 5.0}));
  std::ifstream in(dir_ + "/multi_out.csv");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(all, "sym,day,v\naig,1,4.0\naig,2,2.0\nibm,1,9.0\nibm,2,1.0\n");
}
