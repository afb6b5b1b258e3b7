#include "pg/quote.h"

#include <gtest/gtest.h>

namespace pgvigil::pg {
namespace {

TEST(QuoteIdentifierTest, DelimitsAndDoublesEmbeddedQuotes) {
  EXPECT_EQ(QuoteIdentifier("public"), "\"public\"");
  EXPECT_EQ(QuoteIdentifier("My Schema"), "\"My Schema\"");
  EXPECT_EQ(QuoteIdentifier("a\"b"), "\"a\"\"b\"");
  EXPECT_EQ(QuoteIdentifier("\"\""), "\"\"\"\"\"\"");
  // A single quote or a backslash is an ordinary character inside a delimited identifier.
  EXPECT_EQ(QuoteIdentifier("o'k\\"), "\"o'k\\\"");
}

TEST(QuoteIdentifierTest, EmptyNameGivesTheZeroLengthIdentifier) {
  EXPECT_EQ(QuoteIdentifier(""), "\"\"");
}

TEST(QuoteIdentifierTest, Utf8IsCopiedByteForByte) {
  const std::string name =
      "\xc3\xa9t\xc3\xa9_\xe2\x80\x9cq\xe2\x80\x9d_\xf0\x9f\x90\x98";  // été_“q”_🐘
  EXPECT_EQ(QuoteIdentifier(name), "\"" + name + "\"");
  EXPECT_EQ(QuoteIdentifier("\xc3\xa9\"x"), "\"\xc3\xa9\"\"x\"");
}

TEST(QuoteLiteralTest, DoublesQuotesAndUsesEscapeSyntaxOnlyForBackslashes) {
  EXPECT_EQ(QuoteLiteral("postgresql.log"), "'postgresql.log'");
  EXPECT_EQ(QuoteLiteral("it's"), "'it''s'");
  EXPECT_EQ(QuoteLiteral(""), "''");
  EXPECT_EQ(QuoteLiteral("\"s\""), "'\"s\"'");
  EXPECT_EQ(QuoteLiteral("a\\b'c"), "E'a\\\\b''c'");
  const std::string name = "journal_\xc3\xa9t\xc3\xa9.csv";
  EXPECT_EQ(QuoteLiteral(name), "'" + name + "'");
}

}  // namespace
}  // namespace pgvigil::pg
