// The registry and its text format: exact output, escaping, numbers, histogram buckets, name rules.
#include "laredo/metrics/registry.hpp"

#include <gtest/gtest.h>

#include <clocale>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <thread>
#include <vector>

#include "metrics/exposition.hpp"
#include "metrics/text_format.hpp"

namespace laredo::metrics {
namespace {

using detail::FormatNumber;

TEST(MetricsTextFormat, NumbersAreSpelledAsPrometheusParsesThem) {
  EXPECT_EQ(FormatNumber(0), "0");
  EXPECT_EQ(FormatNumber(42), "42");
  EXPECT_EQ(FormatNumber(-3.5), "-3.5");
  EXPECT_EQ(FormatNumber(0.005), "0.005");
  EXPECT_EQ(FormatNumber(0.1 + 0.2), "0.30000000000000004");  // round-trips exactly
  EXPECT_EQ(FormatNumber(1e300), "1e+300");
  EXPECT_EQ(FormatNumber(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatNumber(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatNumber(std::numeric_limits<double>::quiet_NaN()), "NaN");
}

TEST(MetricsTextFormat, NumbersIgnoreTheLocale) {
  // A locale with a decimal comma must not leak into the output (printf would use it).
  if (std::setlocale(LC_NUMERIC, "de_DE.UTF-8") == nullptr) {
    std::setlocale(LC_NUMERIC, "C");
  }
  EXPECT_EQ(FormatNumber(2.5), "2.5");
  std::setlocale(LC_NUMERIC, "C");
}

TEST(MetricsTextFormat, EscapesHelpAndLabelValues) {
  Registry registry;
  registry.AddGauge("odd", "back\\slash \"quoted\"\nsecond line", {"v"})
      .WithLabels({"a\\b \"c\"\nd"})
      .Set(1);
  EXPECT_EQ(registry.Render(),
            "# HELP odd back\\\\slash \"quoted\"\\nsecond line\n"
            "# TYPE odd gauge\n"
            "odd{v=\"a\\\\b \\\"c\\\"\\nd\"} 1\n");
}

TEST(MetricsRegistry, RendersFamiliesOnceWithEverySeries) {
  Registry registry;
  auto& requests = registry.AddCounter("http_requests_total", "Requests.", {"code", "method"});
  requests.WithLabels({"200", "get"}).Inc(3);
  requests.WithLabels({"500", "post"}).Inc();
  registry.AddGauge("temperature_celsius", "Now.").WithLabels({}).Set(-1.5);
  EXPECT_EQ(registry.Render(),
            "# HELP http_requests_total Requests.\n"
            "# TYPE http_requests_total counter\n"
            "http_requests_total{code=\"200\",method=\"get\"} 3\n"
            "http_requests_total{code=\"500\",method=\"post\"} 1\n"
            "# HELP temperature_celsius Now.\n"
            "# TYPE temperature_celsius gauge\n"
            "temperature_celsius -1.5\n");
}

TEST(MetricsRegistry, HandlesOfTheSameLabelsShareOneSeries) {
  Registry registry;
  auto& family = registry.AddCounter("a_total", "A.", {"k"});
  family.WithLabels({"x"}).Inc();
  family.WithLabels({"x"}).Inc(2);
  EXPECT_EQ(family.WithLabels({"x"}).Value(), 3);
  EXPECT_EQ(laredo::testing::CountLines(registry.Render(), "a_total{"), 1);
}

TEST(MetricsRegistry, CountersNeverGoDown) {
  Registry registry;
  auto counter = registry.AddCounter("c_total", "C.").WithLabels({});
  counter.Inc(2);
  counter.Inc(-1);
  counter.Inc(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(counter.Value(), 2);
  Counter unbound;  // default-constructed handles are inert
  unbound.Inc();
  EXPECT_EQ(unbound.Value(), 0);
}

TEST(MetricsRegistry, GaugesGoBothWays) {
  Registry registry;
  auto gauge = registry.AddGauge("g", "G.").WithLabels({});
  gauge.Set(10);
  gauge.Inc(5);
  gauge.Dec(2);
  EXPECT_EQ(gauge.Value(), 13);
  gauge.Set(std::numeric_limits<double>::infinity());
  EXPECT_NE(registry.Render().find("\ng +Inf\n"), std::string::npos);
}

TEST(MetricsHistogram, BucketsAreCumulativeWithInfSumAndCount) {
  Registry registry;
  auto h = registry.AddHistogram("latency_seconds", "L.", {"p"}, {0.25, 1, 10}).WithLabels({"x"});
  for (const double v : {0.125, 0.25, 0.5, 2.0, 20.0, 20.0}) h.Observe(v);
  EXPECT_EQ(registry.Render(),
            "# HELP latency_seconds L.\n"
            "# TYPE latency_seconds histogram\n"
            "latency_seconds_bucket{p=\"x\",le=\"0.25\"} 2\n"  // 0.25 itself is in le="0.25"
            "latency_seconds_bucket{p=\"x\",le=\"1\"} 3\n"
            "latency_seconds_bucket{p=\"x\",le=\"10\"} 4\n"
            "latency_seconds_bucket{p=\"x\",le=\"+Inf\"} 6\n"
            "latency_seconds_sum{p=\"x\"} 42.875\n"
            "latency_seconds_count{p=\"x\"} 6\n");
  EXPECT_EQ(h.Count(), 6U);
}

TEST(MetricsHistogram, NaNLandsInInfOnlyAndNoLabelsRenderBare) {
  Registry registry;
  auto h = registry.AddHistogram("h", "H.", {}, {1}).WithLabels({});
  h.Observe(std::numeric_limits<double>::quiet_NaN());
  const auto text = registry.Render();
  EXPECT_EQ(laredo::testing::SampleValue(text, "h_bucket{le=\"1\"}"), 0);
  EXPECT_EQ(laredo::testing::SampleValue(text, "h_bucket{le=\"+Inf\"}"), 1);
  EXPECT_NE(text.find("\nh_sum NaN\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nh_count 1\n"), std::string::npos) << text;
}

TEST(MetricsHistogram, ConcurrentObservationsAreAllCounted) {
  Registry registry;
  auto h = registry.AddHistogram("h", "H.", {}, {1, 2}).WithLabels({});
  std::vector<std::jthread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([h] {
      for (int i = 0; i < 10'000; ++i) h.Observe(i % 3);
    });
  }
  threads.clear();
  EXPECT_EQ(h.Count(), 40'000U);
  const auto text = registry.Render();
  // 0 and 1 go to le="1", 2 to le="2": two thirds, then all.
  EXPECT_EQ(laredo::testing::SampleValue(text, "h_bucket{le=\"1\"}"), 4 * 6'667);
  EXPECT_EQ(laredo::testing::SampleValue(text, "h_bucket{le=\"2\"}"), 40'000);
  EXPECT_EQ(laredo::testing::SampleValue(text, "h_sum"), 4 * (3'333 * 2 + 3'333 + 0));
}

TEST(MetricsRegistry, RejectsNamesPrometheusWouldNot) {
  Registry registry;
  EXPECT_THROW(registry.AddCounter("requests", "no _total suffix"), std::invalid_argument);
  EXPECT_THROW(registry.AddGauge("1abc", "leading digit"), std::invalid_argument);
  EXPECT_THROW(registry.AddGauge("a-b", "dash"), std::invalid_argument);
  EXPECT_THROW(registry.AddGauge("g", "bad label", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(registry.AddGauge("g", "bad label", {"a.b"}), std::invalid_argument);
  EXPECT_THROW(registry.AddGauge("g", "dup label", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("h", "le label", {"le"}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("h", "unsorted", {}, {2, 1}), std::invalid_argument);
  EXPECT_THROW(registry.AddHistogram("h", "NaN bound", {}, {std::nan("")}), std::invalid_argument);
  registry.AddGauge("ns:name_ok", "colons are allowed");
  EXPECT_THROW(registry.AddGauge("ns:name_ok", "duplicate"), std::invalid_argument);
  auto& family = registry.AddGauge("two", "Two labels.", {"a", "b"});
  EXPECT_THROW(family.WithLabels({"only one"}), std::invalid_argument);
}

TEST(MetricsHistogram, AnExplicitInfBoundIsTheImpliedOne) {
  Registry registry;
  registry.AddHistogram("h", "H.", {}, {1, std::numeric_limits<double>::infinity()})
      .WithLabels({})
      .Observe(5);
  EXPECT_EQ(laredo::testing::CountLines(registry.Render(), "h_bucket{le=\"+Inf\"}"), 1);
}

}  // namespace
}  // namespace laredo::metrics
