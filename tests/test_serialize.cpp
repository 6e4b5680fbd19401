#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cstring>
#include <rask/serialize.hpp>
#include <rask/value.hpp>

namespace {
template <class T>
T round_trip(const T& v) {
  rask::Bytes bytes;
  rask::Writer w(bytes);
  w.write(v);
  rask::Reader r(bytes.data(), bytes.size());
  T back = r.read<T>();
  EXPECT_EQ(r.remaining(), 0u);
  return back;
}
}  // namespace

TEST(Serialize, ScalarsAreTheirBytes) {
  rask::Bytes bytes;
  rask::Writer w(bytes);
  w.write(std::int32_t{0x01020304});
  w.write(2.5);
  ASSERT_EQ(bytes.size(), 12u);
  std::int32_t i;
  double d;
  std::memcpy(&i, bytes.data(), 4);
  std::memcpy(&d, bytes.data() + 4, 8);
  EXPECT_EQ(i, 0x01020304);
  EXPECT_EQ(d, 2.5);
}

TEST(Serialize, StringsAreLengthThenBytes) {
  rask::Bytes bytes;
  rask::Writer w(bytes);
  w.write(std::string("hey"));
  ASSERT_EQ(bytes.size(), 8u + 3u);
  std::uint64_t n;
  std::memcpy(&n, bytes.data(), 8);
  EXPECT_EQ(n, 3u);
  EXPECT_EQ(std::memcmp(bytes.data() + 8, "hey", 3), 0);
}

TEST(Serialize, ContainersRoundTrip) {
  EXPECT_EQ(round_trip(std::vector<double>{1.5, -2, 3e300}), (std::vector<double>{1.5, -2, 3e300}));
  EXPECT_EQ(round_trip(std::vector<std::string>{"a", "", "ccc"}), (std::vector<std::string>{"a", "", "ccc"}));
  EXPECT_EQ(round_trip(std::vector<bool>{true, false, true}), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(round_trip(std::pair<int, std::string>{7, "x"}), (std::pair<int, std::string>{7, "x"}));
  EXPECT_EQ(round_trip(std::tuple<int, double, std::string>{1, 2.0, "3"}),
            (std::tuple<int, double, std::string>{1, 2.0, "3"}));
  EXPECT_EQ(round_trip(std::map<std::string, long>{{"a", 1}, {"b", 2}}),
            (std::map<std::string, long>{{"a", 1}, {"b", 2}}));
  EXPECT_EQ(round_trip(std::unordered_map<int, int>{{1, 2}}), (std::unordered_map<int, int>{{1, 2}}));
  EXPECT_EQ(round_trip(std::optional<int>{}), std::optional<int>{});
  EXPECT_EQ(round_trip(std::optional<int>{5}), std::optional<int>{5});
  EXPECT_EQ(round_trip(std::array<int, 3>{1, 2, 3}), (std::array<int, 3>{1, 2, 3}));
}

TEST(Serialize, EigenMatricesRoundTrip) {
  Eigen::MatrixXd m(3, 2);
  m << 1, 2, 3, 4, 5, 6;
  EXPECT_EQ(round_trip(m), m);
  Eigen::Matrix2f f;
  f << 1, 2, 3, 4;
  EXPECT_EQ(round_trip(f), f);
  Eigen::VectorXi v = Eigen::VectorXi::LinSpaced(10, 0, 9);
  EXPECT_EQ(round_trip(v), v);
}

TEST(Serialize, TruncatedBytesAreAnErrorNotAGuess) {
  rask::Bytes bytes;
  rask::Writer w(bytes);
  w.write(std::string("hello"));
  rask::Reader r(bytes.data(), bytes.size() - 2);
  try {
    r.read<std::string>();
    FAIL();
  } catch (const rask::SerializeError& e) {
    EXPECT_STREQ(e.what(), "serialized container claims 5 elements but only 3 bytes remain");
  }
  rask::Reader short_reader(bytes.data(), 3);
  try {
    short_reader.read<std::uint64_t>();
    FAIL();
  } catch (const rask::SerializeError& e) {
    EXPECT_STREQ(e.what(), "serialized value is truncated: need 8 more bytes, have 3 "
                           "(a rask::Serializer's read does not match its write?)");
  }
}

TEST(Serialize, BadEigenShapeIsAnError) {
  rask::Bytes bytes;
  rask::Writer w(bytes);
  w.write(std::int64_t{3});
  w.write(std::int64_t{3});
  rask::Reader r(bytes.data(), bytes.size());
  try {
    r.read<Eigen::Matrix2d>();
    FAIL();
  } catch (const rask::SerializeError& e) {
    EXPECT_STREQ(e.what(), "serialized Eigen matrix has a bad shape 3x3");
  }
}

struct NoSerializer {
  int x;
};

TEST(Serialize, CodecsKnowWhatTheyCanSend) {
  EXPECT_TRUE(rask::codec_for<std::vector<int>>()->serializable);
  EXPECT_FALSE(rask::codec_for<NoSerializer>()->serializable);
  EXPECT_EQ(rask::codec_for<NoSerializer>()->name, "NoSerializer");
  EXPECT_EQ(rask::codec_for<std::vector<std::string>>()->name, "std::vector<std::string, std::allocator<std::string>>");
  rask::Value v(std::vector<int>{1, 2});
  rask::Bytes bytes;
  rask::Writer w(bytes);
  rask::codec_for<std::vector<int>>()->encode(v, w);
  rask::Reader r(bytes.data(), bytes.size());
  EXPECT_EQ(rask::codec_for<std::vector<int>>()->decode(r).get<std::vector<int>>(), (std::vector<int>{1, 2}));
}

TEST(Serialize, ValueNamesBothTypesOnAMismatch) {
  rask::Value v(3);
  try {
    v.get<double>();
    FAIL();
  } catch (const rask::TypeError& e) {
    EXPECT_STREQ(e.what(), "value holds int, not the double asked for");
  }
}
