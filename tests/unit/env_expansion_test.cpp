#include "config/env_expansion.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <stdexcept>
#include <string>

namespace pgvigil::config {
namespace {

using ::testing::HasSubstr;

// The message ExpandEnvironment refuses `text` with; fails the test if it expands.
std::string ErrorOf(const std::string& text) {
  try {
    (void)ExpandEnvironment(text);
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  ADD_FAILURE() << "expanded but should have been refused: " << text;
  return "";
}

TEST(EnvExpansionTest, ExpandsVariablesDefaultsAndDollars) {
  ::setenv("PGVIGIL_TEST_HOST", "db.example", 1);
  ::unsetenv("PGVIGIL_TEST_UNSET");
  EXPECT_EQ(ExpandEnvironment("host=${PGVIGIL_TEST_HOST} port=${PGVIGIL_TEST_UNSET:-6543} "
                              "dbname=$$x"),
            "host=db.example port=6543 dbname=$x");
}

TEST(EnvExpansionTest, AnEmptyVariableTakesTheDefaultOnlyWhenThereIsOne) {
  ::setenv("PGVIGIL_TEST_EMPTY", "", 1);
  EXPECT_EQ(ExpandEnvironment("[${PGVIGIL_TEST_EMPTY:-fallback}]"), "[fallback]");
  EXPECT_EQ(ExpandEnvironment("[${PGVIGIL_TEST_EMPTY}]"), "[]");
  ::setenv("PGVIGIL_TEST_SET", "value", 1);
  EXPECT_EQ(ExpandEnvironment("${PGVIGIL_TEST_SET:-fallback}"), "value");
  ::unsetenv("PGVIGIL_TEST_UNSET");
  EXPECT_EQ(ExpandEnvironment("${PGVIGIL_TEST_UNSET:-}"), "");
}

TEST(EnvExpansionTest, ADollarNotStartingAVariableStays) {
  EXPECT_EQ(ExpandEnvironment("pa$word$"), "pa$word$");
  EXPECT_EQ(ExpandEnvironment("$$${PGVIGIL_TEST_UNSET:-x}$$"), "$x$");
  EXPECT_EQ(ExpandEnvironment("no variables"), "no variables");
  EXPECT_EQ(ExpandEnvironment(""), "");
}

TEST(EnvExpansionTest, RefusesWhatCannotBeExpanded) {
  ::unsetenv("PGVIGIL_TEST_MISSING");
  EXPECT_THAT(ErrorOf("host=${PGVIGIL_TEST_MISSING}"),
              HasSubstr("environment variable PGVIGIL_TEST_MISSING is not set and has no default"));
  EXPECT_THAT(ErrorOf("host=${HOST"), HasSubstr("unterminated ${ in 'host=${HOST'"));
  EXPECT_THAT(ErrorOf("${1HOST}"), HasSubstr("bad variable name '1HOST'"));
  EXPECT_THAT(ErrorOf("${HO-ST}"), HasSubstr("bad variable name 'HO-ST'"));
  EXPECT_THAT(ErrorOf("${:-x}"), HasSubstr("bad variable name ''"));
}

}  // namespace
}  // namespace pgvigil::config
