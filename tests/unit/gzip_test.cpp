#include "metrics/gzip.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>
#include <zlib.h>

#include <string>
#include <thread>
#include <vector>

#include "metrics/family_set.h"

namespace pgvigil::metrics {
namespace {

// What any gzip reader gets back (zlib's, checking the CRC and length in the trailer).
std::string Gunzip(const std::string& member) {
  z_stream stream{};
  EXPECT_EQ(inflateInit2(&stream, 16 + 15), Z_OK);
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(member.data()));
  stream.avail_in = static_cast<uInt>(member.size());
  std::string out;
  char buffer[65536];
  int result = Z_OK;
  while (result == Z_OK) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof(buffer);
    result = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof(buffer) - stream.avail_out);
  }
  EXPECT_EQ(result, Z_STREAM_END) << "not one valid gzip member";
  EXPECT_EQ(stream.avail_in, 0u) << "bytes after the member";
  inflateEnd(&stream);
  return out;
}

TEST(GzipTest, PiecesCompressedApartMakeOneMember) {
  std::vector<std::string> texts = {"# HELP pg_up 1 if up.\n# TYPE pg_up gauge\n", "",
                                    "pg_up{target=\"a\"} 1\n", std::string(200000, 'x'),
                                    "pg_up{target=\"b\"} 0\n"};
  // Compressed on different threads, as workers do when they publish.
  std::vector<DeflatedPiece> pieces(texts.size());
  {
    std::vector<std::jthread> threads;
    for (std::size_t i = 0; i < texts.size(); ++i) {
      threads.emplace_back([&, i] { pieces[i] = Deflate(texts[i]); });
    }
  }
  GzipBuilder gzip;
  std::string expected;
  for (std::size_t i = 0; i < texts.size(); ++i) {
    gzip.Add(pieces[i]);
    expected += texts[i];
  }
  const std::string member = gzip.Finish();
  EXPECT_EQ(Gunzip(member), expected);
  EXPECT_LT(member.size(), expected.size() / 20);  // the long run of x compresses
}

TEST(GzipTest, AnEmptyMemberIsValid) {
  GzipBuilder gzip;
  EXPECT_EQ(Gunzip(gzip.Finish()), "");
}

TEST(GzipTest, JoinGzipIsTheJoinedTextCompressed) {
  FamilySet first(Labels{{"target", "a"}});
  FamilySet second(Labels{{"target", "b"}});
  for (auto* set : {&first, &second}) {
    set->Gauge("pg_up", "1 if up.", {}, 1);
    set->Counter("pg_probes_total", "Probes.", {}, 7);
  }
  second.Gauge("only_b", "Only on b.", {{"x", "y"}}, 2);
  const auto a = SerializeEach(first.families());
  const auto b = SerializeEach(second.families());
  GzipBuilder gzip;
  JoinGzip({&a, &b}, gzip);
  // A copy of an unfinished builder takes a different tail (the agent's own series).
  GzipBuilder with_tail = gzip;
  JoinGzip({&a}, with_tail);
  // What prometheus-cpp gives for the merged families in one pass, read back by zlib itself.
  const prometheus::TextSerializer serializer;
  const std::string both = serializer.Serialize(Merge({&first.families(), &second.families()}));
  EXPECT_EQ(Gunzip(gzip.Finish()), both);
  EXPECT_EQ(Gunzip(with_tail.Finish()), both + serializer.Serialize(first.families()));
  // The text exposition is the same member inflated.
  EXPECT_EQ(Join({&a, &b}), both);
}

TEST(GzipTest, GunzipReadsWhatTheBuilderWritesAndRefusesWhatIsCut) {
  GzipBuilder gzip;
  const std::string text = "pg_up{target=\"a\"} 1\n" + std::string(300000, 'y');
  gzip.Add(Deflate(text));
  const std::string member = gzip.Finish();
  EXPECT_EQ(metrics::Gunzip(member), text);
  EXPECT_EQ(metrics::Gunzip(member, text.size()), text);
  EXPECT_EQ(metrics::Gunzip(member, 3), text);  // a short hint only costs a reallocation
  EXPECT_THROW((void)metrics::Gunzip(member.substr(0, member.size() / 2)), std::runtime_error);
  EXPECT_THROW((void)metrics::Gunzip("not gzip at all"), std::runtime_error);
}

}  // namespace
}  // namespace pgvigil::metrics
