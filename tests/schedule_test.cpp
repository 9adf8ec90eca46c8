// Restore-test schedules and select forms (restore-tests/include/rp/schedule.h): every cron
// field's bounds, names, ranges, steps and lists, the nth-weekday form, the macros, the
// canonical text round-tripping, and each error pointing at its token with its field.
#include "rp/schedule.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "rp/units.h"

namespace rp {
namespace {

Schedule Accepted(std::string_view text) {
  auto r = ParseSchedule(text);
  if (const auto* e = std::get_if<ScheduleError>(&r)) {
    ADD_FAILURE() << "\"" << text << "\" was rejected: " << e->message << " at " << e->offset;
    return Schedule();
  }
  return std::get<Schedule>(r);
}

ScheduleError Rejected(std::string_view text) {
  auto r = ParseSchedule(text);
  if (const auto* s = std::get_if<Schedule>(&r)) {
    ADD_FAILURE() << "\"" << text << "\" was accepted as " << s->ToString();
    return {};
  }
  return std::get<ScheduleError>(r);
}

template <size_t N>
std::vector<int> Members(const std::bitset<N>& bits) {
  std::vector<int> v;
  for (size_t i = 0; i < N; ++i)
    if (bits.test(i)) v.push_back(static_cast<int>(i));
  return v;
}

std::vector<int> Span(int lo, int hi) {
  std::vector<int> v;
  for (int i = lo; i <= hi; ++i) v.push_back(i);
  return v;
}

// ---- fields, bounds and names -------------------------------------------------------------

TEST(Schedule, EveryFieldAcceptsItsFirstAndLastValue) {
  const Schedule low = Accepted("0 0 1 1 0");
  EXPECT_EQ(Members(low.minutes()), std::vector<int>{0});
  EXPECT_EQ(Members(low.hours()), std::vector<int>{0});
  EXPECT_EQ(Members(low.days_of_month()), std::vector<int>{1});
  EXPECT_EQ(Members(low.months()), std::vector<int>{1});
  EXPECT_EQ(Members(low.days_of_week()), std::vector<int>{0});
  const Schedule high = Accepted("59 23 31 12 6");
  EXPECT_EQ(Members(high.minutes()), std::vector<int>{59});
  EXPECT_EQ(Members(high.hours()), std::vector<int>{23});
  EXPECT_EQ(Members(high.days_of_month()), std::vector<int>{31});
  EXPECT_EQ(Members(high.months()), std::vector<int>{12});
  EXPECT_EQ(Members(high.days_of_week()), std::vector<int>{6});
}

TEST(Schedule, StarCoversTheWholeField) {
  const Schedule s = Accepted("* * * * *");
  EXPECT_EQ(Members(s.minutes()), Span(0, 59));
  EXPECT_EQ(Members(s.hours()), Span(0, 23));
  EXPECT_EQ(Members(s.days_of_month()), Span(1, 31));
  EXPECT_EQ(Members(s.months()), Span(1, 12));
  EXPECT_EQ(Members(s.days_of_week()), Span(0, 6));
  EXPECT_TRUE(s.nth_weekdays().empty());
  EXPECT_EQ(s.ToString(), "* * * * *");
}

struct Bad {
  std::string text;
  size_t offset;
  size_t length;
  std::string field;
  std::string message;
};

void PrintTo(const Bad& b, std::ostream* os) { *os << "\"" << b.text << "\""; }

class ScheduleRejects : public ::testing::TestWithParam<Bad> {};

TEST_P(ScheduleRejects, WithItsFieldOffsetAndMessage) {
  const Bad& b = GetParam();
  const ScheduleError e = Rejected(b.text);
  EXPECT_EQ(e.field, b.field);
  EXPECT_EQ(e.offset, b.offset);
  EXPECT_EQ(e.length, b.length);
  EXPECT_EQ(e.message, b.message);
  EXPECT_FALSE(e.expected.empty());
  // The offending token is what `found` quotes.
  if (b.length > 0) {
    EXPECT_EQ(e.found.rfind("\"" + b.text.substr(b.offset, b.length) + "\" (", 0), 0u) << e.found;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Bounds, ScheduleRejects,
    ::testing::Values(Bad{"60 * * * *", 0, 2, "minute", "minute: 60 is out of range 0-59"},
                      Bad{"* 24 * * *", 2, 2, "hour", "hour: 24 is out of range 0-23"},
                      Bad{"* * 0 * *", 4, 1, "day-of-month", "day-of-month: 0 is out of range 1-31"},
                      Bad{"* * 32 * *", 4, 2, "day-of-month", "day-of-month: 32 is out of range 1-31"},
                      Bad{"* * * 0 *", 6, 1, "month", "month: 0 is out of range 1-12"},
                      Bad{"* * * 13 *", 6, 2, "month", "month: 13 is out of range 1-12"},
                      Bad{"0 3 * * 8", 8, 1, "day-of-week", "day-of-week: 8 is out of range 0-7"},
                      Bad{"0 3 * * 1-8", 10, 1, "day-of-week", "day-of-week: 8 is out of range 0-7"},
                      Bad{"99999999999999999999 * * * *", 0, 20, "minute",
                          "minute: 99999999999999999999 is out of range 0-59"},
                      Bad{"0 4294967296 * * *", 2, 10, "hour", "hour: 4294967296 is out of range 0-23"}));

INSTANTIATE_TEST_SUITE_P(
    Names, ScheduleRejects,
    ::testing::Values(Bad{"0 0 * foo *", 6, 3, "month", "month: 'foo' is not a month name"},
                      Bad{"0 0 * january *", 6, 7, "month", "month: 'january' is not a month name"},
                      Bad{"0 0 * * monday", 8, 6, "day-of-week", "day-of-week: 'monday' is not a day name"},
                      Bad{"0 0 * * mon-xyz", 12, 3, "day-of-week", "day-of-week: 'xyz' is not a day name"},
                      Bad{"jan 0 * * *", 0, 3, "minute", "minute: 'jan' is not a number"},
                      Bad{"0 0 mon * *", 4, 3, "day-of-month", "day-of-month: 'mon' is not a number"},
                      Bad{"0 0 L * *", 4, 1, "day-of-month", "day-of-month: 'L' is not a number"},
                      Bad{"0 0 * * ?", 8, 1, "day-of-week", "day-of-week: '?' is not a number"}));

INSTANTIATE_TEST_SUITE_P(
    RangesAndSteps, ScheduleRejects,
    ::testing::Values(Bad{"0 20-5 * * *", 2, 4, "hour", "hour: range 20-5 runs backwards"},
                      Bad{"0 0 * dec-jan *", 6, 7, "month", "month: range dec-jan runs backwards"},
                      Bad{"0 0 * * 7-1", 8, 3, "day-of-week", "day-of-week: range 7-1 runs backwards"},
                      Bad{"*/0 * * * *", 2, 1, "minute", "minute: step 0 is not allowed"},
                      Bad{"0 1-10/0 * * *", 7, 1, "hour", "hour: step 0 is not allowed"},
                      Bad{"*/60 * * * *", 2, 2, "minute", "minute: step 60 is out of range 1-59"},
                      Bad{"0 0 * */12 *", 8, 2, "month", "month: step 12 is out of range 1-11"},
                      Bad{"*/x * * * *", 2, 1, "minute", "minute: step 'x' is not a number"},
                      Bad{"*/ * * * *", 1, 1, "minute", "minute: '/' needs a step, like */5"},
                      Bad{"*/-5 * * * *", 2, 2, "minute", "minute: '-5': numbers have no sign"},
                      Bad{"1-2-3 * * * *", 3, 2, "minute", "minute: unexpected '-3' after '1-2'"},
                      Bad{"*-5 * * * *", 1, 2, "minute", "minute: unexpected '-5' after '*'"},
                      Bad{"1- * * * *", 2, 0, "minute", "minute: a value is missing at the end of '1-'"},
                      Bad{"/5 * * * *", 0, 1, "minute", "minute: a value is missing before '/'"},
                      Bad{"5x * * * *", 0, 2, "minute", "minute: '5x' is not a number"}));

INSTANTIATE_TEST_SUITE_P(SignsAndLists, ScheduleRejects,
                         ::testing::Values(Bad{"+5 * * * *", 0, 2, "minute", "minute: '+5': numbers have no sign"},
                                           Bad{"-5 * * * *", 0, 2, "minute", "minute: '-5': numbers have no sign"},
                                           Bad{"0 1--5 * * *", 4, 2, "hour", "hour: '-5': numbers have no sign"},
                                           Bad{"1,,2 * * * *", 2, 1, "minute", "minute: empty list item"},
                                           Bad{",1 * * * *", 0, 1, "minute", "minute: empty list item"},
                                           Bad{"0 0 1, * *", 5, 1, "day-of-month", "day-of-month: empty list item"}));

INSTANTIATE_TEST_SUITE_P(
    NthWeekday, ScheduleRejects,
    ::testing::Values(
        Bad{"0 0 * * mon#6", 11, 2, "day-of-week", "day-of-week: #6: a month has at most 5 of a weekday"},
        Bad{"0 0 * * mon#0", 11, 2, "day-of-week", "day-of-week: #0: the first of a weekday in a month is #1"},
        Bad{"0 0 * * mon#", 11, 1, "day-of-week", "day-of-week: #: expected #1 to #5"},
        Bad{"0 0 * * mon#1/2", 11, 4, "day-of-week", "day-of-week: #1/2: expected #1 to #5"},
        Bad{"0 0 * * *#1", 8, 1, "day-of-week", "day-of-week: '#' needs a single day before it, like mon#1, not '*'"},
        Bad{"0 0 * * mon-fri#2", 8, 7, "day-of-week",
            "day-of-week: '#' needs a single day before it, like mon#1, not 'mon-fri'"},
        Bad{"5#1 * * * *", 1, 2, "minute", "minute: '#' is only allowed in day-of-week (like mon#1)"}));

INSTANTIATE_TEST_SUITE_P(
    Shape, ScheduleRejects,
    ::testing::Values(
        Bad{"0 3 * *", 0, 7, "",
            "expected 5 fields (minute hour day-of-month month day-of-week) or "
            "@daily/@weekly/@monthly/@yearly/@hourly, found 4"},
        Bad{"0 3 * * * *", 0, 11, "",
            "expected 5 fields (minute hour day-of-month month day-of-week) or "
            "@daily/@weekly/@monthly/@yearly/@hourly, found 6"},
        Bad{"  every day ", 2, 9, "",
            "expected 5 fields (minute hour day-of-month month day-of-week) or "
            "@daily/@weekly/@monthly/@yearly/@hourly, found 2"},
        Bad{"", 0, 0, "",
            "expected 5 fields (minute hour day-of-month month day-of-week) or "
            "@daily/@weekly/@monthly/@yearly/@hourly, found 0"},
        Bad{"@reboot", 0, 7, "",
            "'@reboot' is not a macro: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly"},
        Bad{"@daily 5", 7, 1, "", "unexpected '5' after @daily"},
        Bad{"@weekly  x y ", 9, 3, "", "unexpected 'x y' after @weekly"},
        Bad{" \t0 0 * * 8", 10, 1, "day-of-week", "day-of-week: 8 is out of range 0-7"},
        Bad{"0 0 30 feb *", 4, 2, "day-of-month",
            "day-of-month: '30' occurs in none of the months 'feb', so the schedule would never run"},
        Bad{"0 0 31 4,6,9,11 *", 4, 2, "day-of-month",
            "day-of-month: '31' occurs in none of the months '4,6,9,11', so the schedule would never run"}));

TEST(Schedule, ErrorsSayWhatWasExpectedAndQuoteTheToken) {
  ScheduleError e = Rejected("0 3 * * 8");
  EXPECT_EQ(e.expected, "day-of-week 0-7 or sun-sat");
  EXPECT_EQ(e.found, "\"8\" (day-of-week: 8 is out of range 0-7)");
  e = Rejected("*/0 * * * *");
  EXPECT_EQ(e.expected, "a step from 1 to 59");
  e = Rejected("0 3 * *");
  EXPECT_EQ(e.expected,
            "5 fields (minute hour day-of-month month day-of-week) or @daily/@weekly/@monthly/@yearly/@hourly");
  EXPECT_EQ(e.found, "\"0 3 * *\" (4 fields)");
  e = Rejected("1- * * * *");
  EXPECT_EQ(e.found, "nothing (minute: a value is missing at the end of '1-')");
  // Control characters never reach a terminal raw.
  e = Rejected("0 0 * * m\x1b[2J");
  EXPECT_EQ(e.found.find('\x1b'), std::string::npos) << e.found;
  EXPECT_NE(e.found.find("\\x1b"), std::string::npos) << e.found;
}

TEST(Schedule, MonthAndDayNamesInAnyCase) {
  const char* months[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  for (int m = 1; m <= 12; ++m)
    EXPECT_EQ(Members(Accepted(std::string("0 0 1 ") + months[m - 1] + " *").months()), std::vector<int>{m})
        << months[m - 1];
  const char* days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  for (int d = 0; d < 7; ++d)
    EXPECT_EQ(Members(Accepted(std::string("0 0 * * ") + days[d]).days_of_week()), std::vector<int>{d}) << days[d];
  EXPECT_EQ(Accepted("0 0 1 JaN-MAR *"), Accepted("0 0 1 1-3 *"));
  EXPECT_EQ(Accepted("0 0 * * MON-Fri"), Accepted("0 0 * * 1-5"));
}

TEST(Schedule, SundayIsZeroAndSeven) {
  EXPECT_EQ(Members(Accepted("0 0 * * 7").days_of_week()), std::vector<int>{0});
  EXPECT_EQ(Accepted("0 0 * * 7"), Accepted("0 0 * * 0"));
  EXPECT_EQ(Accepted("0 0 * * sun"), Accepted("0 0 * * 0"));
  EXPECT_EQ(Members(Accepted("0 0 * * 5-7").days_of_week()), (std::vector<int>{0, 5, 6}));
  EXPECT_EQ(Members(Accepted("0 0 * * 0-7").days_of_week()), Span(0, 6));
  // Sunday closing a range is 7: Friday to Sunday, not a backward range.
  EXPECT_EQ(Members(Accepted("0 0 * * fri-sun").days_of_week()), (std::vector<int>{0, 5, 6}));
  EXPECT_EQ(Members(Accepted("0 0 * * sat-0").days_of_week()), (std::vector<int>{0, 6}));
}

// ---- ranges, steps, lists -------------------------------------------------------------------

TEST(Schedule, RangesAreInclusive) {
  EXPECT_EQ(Members(Accepted("10-14 * * * *").minutes()), Span(10, 14));
  EXPECT_EQ(Members(Accepted("0 9-17 * * *").hours()), Span(9, 17));
  EXPECT_EQ(Members(Accepted("0 0 5-5 * *").days_of_month()), std::vector<int>{5});
  EXPECT_EQ(Members(Accepted("0 0 1 jun-aug *").months()), Span(6, 8));
}

TEST(Schedule, StepsFromStarFromARangeAndFromAValue) {
  EXPECT_EQ(Members(Accepted("*/15 * * * *").minutes()), (std::vector<int>{0, 15, 30, 45}));
  EXPECT_EQ(Members(Accepted("10-30/10 * * * *").minutes()), (std::vector<int>{10, 20, 30}));
  EXPECT_EQ(Members(Accepted("10-35/10 * * * *").minutes()), (std::vector<int>{10, 20, 30}));
  EXPECT_EQ(Members(Accepted("5/20 * * * *").minutes()), (std::vector<int>{5, 25, 45}));  // a/n: to the field's end
  EXPECT_EQ(Members(Accepted("0 */6 * * *").hours()), (std::vector<int>{0, 6, 12, 18}));
  EXPECT_EQ(Members(Accepted("0 20/2 * * *").hours()), (std::vector<int>{20, 22}));
  EXPECT_EQ(Members(Accepted("0 0 */10 * *").days_of_month()), (std::vector<int>{1, 11, 21, 31}));
  EXPECT_EQ(Members(Accepted("0 0 1 */3 *").months()), (std::vector<int>{1, 4, 7, 10}));
  EXPECT_EQ(Members(Accepted("0 0 1 feb/5 *").months()), (std::vector<int>{2, 7, 12}));
  EXPECT_EQ(Members(Accepted("0 0 * * */2").days_of_week()), (std::vector<int>{0, 2, 4, 6}));
  // Day-of-week runs to 7 (Sunday again): mon/2 is Monday, Wednesday, Friday and Sunday.
  EXPECT_EQ(Members(Accepted("0 0 * * mon/2").days_of_week()), (std::vector<int>{0, 1, 3, 5}));
  EXPECT_EQ(Accepted("*/1 * * * *"), Accepted("* * * * *"));
  EXPECT_EQ(Accepted("*/05 * * * *"), Accepted("*/5 * * * *"));  // leading zeros are decimal
}

TEST(Schedule, ListsJoinItemsOfEveryForm) {
  EXPECT_EQ(Members(Accepted("1,5,10-12,*/30 * * * *").minutes()), (std::vector<int>{0, 1, 5, 10, 11, 12, 30}));
  EXPECT_EQ(Members(Accepted("0 0 1 jan,jul,dec *").months()), (std::vector<int>{1, 7, 12}));
  EXPECT_EQ(Members(Accepted("0 0 * * sat,sun").days_of_week()), (std::vector<int>{0, 6}));
  EXPECT_EQ(Accepted("5,5,5 * * * *"), Accepted("5 * * * *"));
}

TEST(Schedule, FieldsAreSeparatedByBlanksAndSurroundingBlanksIgnored) {
  EXPECT_EQ(Accepted("  0\t3  * *\t mon#1 "), Accepted("0 3 * * mon#1"));
  EXPECT_EQ(Rejected("0\n3 * * *").field, "");  // a newline is not a separator
}

// ---- the nth weekday and the two day fields -------------------------------------------------

TEST(Schedule, NthWeekdayIsKeptApartFromTheWeekdaySet) {
  const Schedule s = Accepted("0 3 * * mon#1");
  EXPECT_TRUE(s.days_of_week().none());
  EXPECT_EQ(s.nth_weekdays(), (std::vector<NthWeekday>{{1, 1}}));
  EXPECT_FALSE(s.day_of_week_star());
  EXPECT_TRUE(s.day_of_month_star());

  const Schedule list = Accepted("0 3 * * fri#5,sat,MON#2,mon#2,7#3");
  EXPECT_EQ(Members(list.days_of_week()), std::vector<int>{6});
  EXPECT_EQ(list.nth_weekdays(), (std::vector<NthWeekday>{{0, 3}, {1, 2}, {5, 5}}));  // sorted, unique, 7 is Sunday
  // A weekday already chosen whole makes its nth entries redundant.
  EXPECT_EQ(Accepted("0 3 * * mon,mon#1"), Accepted("0 3 * * mon"));
  EXPECT_TRUE(Accepted("0 3 * * mon,mon#1").nth_weekdays().empty());
}

TEST(Schedule, DayFieldsRecordWhetherTheyWereStar) {
  Schedule s = Accepted("0 0 * * *");
  EXPECT_TRUE(s.day_of_month_star());
  EXPECT_TRUE(s.day_of_week_star());
  s = Accepted("0 0 */1 * */1");
  EXPECT_TRUE(s.day_of_month_star());
  EXPECT_TRUE(s.day_of_week_star());
  // Every day of the month, but restricted: with a restricted day-of-week the two are ORed.
  s = Accepted("0 0 1-31 * mon");
  EXPECT_FALSE(s.day_of_month_star());
  EXPECT_FALSE(s.day_of_week_star());
  EXPECT_NE(s, Accepted("0 0 * * mon"));
  EXPECT_EQ(s.ToString(), "0 0 1-31 * 1");
  s = Accepted("0 0 */2 * *");  // unlike Vixie cron, `*/2` is a restriction
  EXPECT_FALSE(s.day_of_month_star());
  EXPECT_FALSE(Accepted("0 0 1,* * *").day_of_month_star());  // a list is a restriction, even with `*` in it
  s = Accepted("0 0 *,1 * 0-6");
  EXPECT_FALSE(s.day_of_month_star());
  EXPECT_FALSE(s.day_of_week_star());
  EXPECT_EQ(s.ToString(), "0 0 1-31 * 0-6");
  s = Accepted("0 3 1 * mon");
  EXPECT_FALSE(s.day_of_month_star());
  EXPECT_FALSE(s.day_of_week_star());
}

TEST(Schedule, ADayOfMonthIsAcceptedWhenSomeChosenMonthHasIt) {
  EXPECT_EQ(Members(Accepted("0 0 29 feb *").days_of_month()), std::vector<int>{29});  // leap years
  EXPECT_EQ(Members(Accepted("0 0 30,31 feb,mar *").months()), (std::vector<int>{2, 3}));
  // With day-of-week restricted the two are ORed, so Mondays in February still run.
  EXPECT_EQ(Accepted("0 0 30 feb mon").ToString(), "0 0 30 2 1");
}

// ---- macros ---------------------------------------------------------------------------------

TEST(Schedule, EveryMacroIsItsFiveFields) {
  const std::pair<const char*, const char*> macros[] = {
      {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
      {"@daily", "0 0 * * *"},  {"@midnight", "0 0 * * *"}, {"@hourly", "0 * * * *"}};
  for (const auto& [macro, fields] : macros) EXPECT_EQ(Accepted(macro), Accepted(fields)) << macro;
  EXPECT_EQ(Accepted("@yearly").ToString(), "@yearly");
  EXPECT_EQ(Accepted("@annually").ToString(), "@yearly");
  EXPECT_EQ(Accepted("@monthly").ToString(), "@monthly");
  EXPECT_EQ(Accepted("@weekly").ToString(), "@weekly");
  EXPECT_EQ(Accepted("@daily").ToString(), "@daily");
  EXPECT_EQ(Accepted("@midnight").ToString(), "@daily");
  EXPECT_EQ(Accepted("@hourly").ToString(), "@hourly");
  EXPECT_EQ(Accepted(" @Daily "), Accepted("@daily"));
  // Written as fields, a macro's schedule prints as the macro.
  EXPECT_EQ(Accepted("0 0 * * sun").ToString(), "@weekly");
  EXPECT_EQ(Accepted("0 0 * * 7").ToString(), "@weekly");
}

TEST(Schedule, TheDefaultIsMonthly) {
  EXPECT_EQ(Schedule(), Accepted("@monthly"));
  EXPECT_EQ(Schedule().ToString(), "@monthly");
  EXPECT_FALSE(Schedule().day_of_month_star());
  EXPECT_TRUE(Schedule().day_of_week_star());
}

// ---- canonical text -------------------------------------------------------------------------

TEST(Schedule, ToStringIsCanonical) {
  const std::pair<const char*, const char*> cases[] = {
      {"*/15 8-17 * * mon-fri", "*/15 8-17 * * 1-5"},
      {"0,15,30,45 * * * *", "*/15 * * * *"},
      {"5/10 * * * *", "5-55/10 * * * *"},
      {"0 0 * * 1/2", "0 0 * * 0,1,3,5"},
      {"0 0 * * fri-sun", "0 0 * * 0,5,6"},
      {"0 0 * * sat,sun", "0 0 * * 0,6"},
      {"0,30 * * * *", "0,30 * * * *"},
      {"0-59 0-23 * 1-12 *", "* * * * *"},
      {"00 03 * * *", "0 3 * * *"},
      {"0 3 * * MON#1", "0 3 * * mon#1"},
      {"0 3 * * 1-5,sat#2", "0 3 * * 1-5,sat#2"},
      {"0 0 */2 * *", "0 0 */2 * *"},
      {"0 0 1,15 * 1-5", "0 0 1,15 * 1-5"},
      {"1,2,3,5 * * * *", "1-3,5 * * * *"},
  };
  for (const auto& [text, canonical] : cases) EXPECT_EQ(Accepted(text).ToString(), canonical) << text;
}

TEST(Schedule, ToStringParsesBackToAnEqualSchedule) {
  for (const char* text : {"0 3 * * mon#1",
                           "*/15 8-17 * * mon-fri",
                           "@daily",
                           "@weekly",
                           "@monthly",
                           "@yearly",
                           "@hourly",
                           "* * * * *",
                           "0 0 1-31 * *",
                           "0 0 */2 * *",
                           "0 0 * * */2",
                           "0 0 * * */3",
                           "0 0 * * mon/2",
                           "5/10 3/7 2/9 1/5 2/3",
                           "1,2,4,8,16,32 0 1 * *",
                           "59 23 31 12 6",
                           "0 0 1-31 * 0-6",
                           "0 0 1 * mon",
                           "0 0 * * fri#5,sat#1,sun",
                           "0 0 29 2 *",
                           "*/7 */5 */11 */4 */7",
                           "0 0 * * 7#5",
                           "0,1,2,30-35,58,59 * * * *"}) {
    const Schedule s = Accepted(text);
    const Schedule again = Accepted(s.ToString());
    EXPECT_EQ(again, s) << text << " printed as " << s.ToString();
    EXPECT_EQ(again.ToString(), s.ToString()) << text;
  }
}

// ---- select ---------------------------------------------------------------------------------

TestSelect SelectAccepted(std::string_view text) {
  auto r = ParseTestSelect(text);
  if (const auto* e = std::get_if<SelectError>(&r)) {
    ADD_FAILURE() << "\"" << text << "\" was rejected: " << e->message;
    return {};
  }
  return std::get<TestSelect>(r);
}

TEST(TestSelect, TheThreeForms) {
  EXPECT_EQ(SelectAccepted("latest"), (TestSelect{SelectKind::kLatest, 0}));
  EXPECT_EQ(SelectAccepted("oldest-retained"), (TestSelect{SelectKind::kOldestRetained, 0}));
  EXPECT_EQ(SelectAccepted("random-within:30d"), (TestSelect{SelectKind::kRandomWithin, 30 * 86400.0}));
  EXPECT_EQ(SelectAccepted("random-within:36h").window_s, 36 * 3600.0);
  EXPECT_EQ(SelectAccepted("random-within:2w").window_s, 14 * 86400.0);
  EXPECT_EQ(SelectAccepted("random-within:90m").window_s, 5400.0);
  EXPECT_EQ(SelectAccepted("random-within:1.5h").window_s, 5400.0);
  EXPECT_EQ(SelectAccepted("random-within:1s").window_s, 1.0);
  EXPECT_EQ(SelectAccepted("random-within:36500d").window_s, 36500 * 86400.0);
  EXPECT_EQ(TestSelect(), SelectAccepted("latest"));
}

TEST(TestSelect, ToStringIsCanonicalAndParsesBack) {
  EXPECT_EQ(SelectAccepted("latest").ToString(), "latest");
  EXPECT_EQ(SelectAccepted("oldest-retained").ToString(), "oldest-retained");
  EXPECT_EQ(SelectAccepted("random-within:30d").ToString(), "random-within:30d");
  EXPECT_EQ(SelectAccepted("random-within:2w").ToString(), "random-within:14d");
  EXPECT_EQ(SelectAccepted("random-within:1.5h").ToString(), "random-within:90m");
  EXPECT_EQ(SelectAccepted("random-within:48h").ToString(), "random-within:2d");
  EXPECT_EQ(SelectAccepted("random-within:61s").ToString(), "random-within:61s");
  EXPECT_EQ(SelectAccepted("random-within:1.25s").ToString(), "random-within:1.25s");
  for (const char* text : {"latest", "oldest-retained", "random-within:7d", "random-within:0.1h", "random-within:1.1s",
                           "random-within:3.33333m", "random-within:36500d"}) {
    const TestSelect s = SelectAccepted(text);
    EXPECT_EQ(SelectAccepted(s.ToString()), s) << text << " printed as " << s.ToString();
  }
}

TEST(TestSelect, ErrorsPointAtTheirToken) {
  struct Case {
    const char* text;
    size_t offset, length;
    const char* message;
  };
  const Case cases[] = {
      {"newest", 0, 6, "'newest' is not a select form"},
      {"Latest", 0, 6, "'Latest' is not a select form"},
      {" latest", 0, 7, "' latest' is not a select form"},
      {"random-withinx", 0, 14, "'random-withinx' is not a select form"},
      {"random-within", 13, 0, "random-within needs a window, like random-within:30d"},
      {"random-within:", 14, 0, "random-within: the window is missing, like random-within:30d"},
      {"random-within:30", 14, 2, "random-within: '30' has no unit (s, m, h, d or w)"},
      {"random-within:30x", 14, 3, "random-within: '30x' is not a duration like 30d"},
      {"random-within:-30d", 14, 4, "random-within: '-30d' is not a duration like 30d"},
      {"random-within:30 d", 14, 4, "random-within: '30 d' is not a duration like 30d"},
      {"random-within:0d", 14, 2, "random-within: the window 0d is shorter than 1s"},
      {"random-within:36501d", 14, 6, "random-within: the window 36501d is longer than 36500d"},
  };
  for (const Case& c : cases) {
    auto r = ParseTestSelect(c.text);
    const auto* e = std::get_if<SelectError>(&r);
    ASSERT_NE(e, nullptr) << c.text;
    EXPECT_EQ(e->field, "") << c.text;
    EXPECT_EQ(e->offset, c.offset) << c.text;
    EXPECT_EQ(e->length, c.length) << c.text;
    EXPECT_EQ(e->message, c.message) << c.text;
    EXPECT_FALSE(e->expected.empty()) << c.text;
  }
}

TEST(Units, DurationsWithARequiredUnit) {
  EXPECT_EQ(ParseDurationWithUnit("45s"), 45.0);
  EXPECT_EQ(ParseDurationWithUnit("90m"), 5400.0);
  EXPECT_EQ(ParseDurationWithUnit("1.5h"), 5400.0);
  EXPECT_EQ(ParseDurationWithUnit("30d"), 30 * 86400.0);
  EXPECT_EQ(ParseDurationWithUnit("2w"), 14 * 86400.0);
  for (const char* bad : {"", "30", "d", ".5d", "-1d", "+1d", "1e3s", "1 d", "1dd", "1W", "nan", "infd"})
    EXPECT_FALSE(ParseDurationWithUnit(bad).has_value()) << bad;
}

}  // namespace
}  // namespace rp
