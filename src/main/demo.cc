// `ringdb demo`: a node with sample data. Creates the classic SMACK ad-campaign tables and a
// GDELT-style events table (generated from a seed), runs a handful of queries, prints their
// results, then leaves the node serving.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <mutex>

#include "common/uuid.h"
#include "cql/client.h"
#include "main/tools.h"
#include "runtime/rng.h"
#include "schema/values.h"

namespace ringdb::tools {
namespace {

Bytes be(int64_t v, int width) {
  Bytes out;
  for (int i = width - 1; i >= 0; --i)
    out.push_back(static_cast<char>(static_cast<uint64_t>(v) >> (8 * i)));
  return out;
}
Bytes double_bytes(double d) {
  uint64_t bits;
  std::memcpy(&bits, &d, 8);
  return be(static_cast<int64_t>(bits), 8);
}
Bytes date_bytes(int64_t days) {
  return be(days + (int64_t{1} << 31), 4);
}
Bytes uuid_bytes(Rng& rng) {
  const uint64_t high = rng.next_u64();
  return uuid_v4(high, rng.next_u64());
}
Bytes decimal_cents(int64_t cents) {
  return be(2, 4) + be(cents, 8);
}

// Runs prepared executes with up to `in_flight` outstanding; returns the number of errors.
class Loader {
 public:
  Loader(cql::CqlClient& client, Bytes id, int in_flight)
      : client_(client), id_(std::move(id)), limit_(in_flight) {}
  void add(std::vector<std::optional<Bytes>> values) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return outstanding_ < limit_; });
    ++outstanding_;
    lock.unlock();
    cql::QueryOptions o;
    o.values = std::move(values);
    client_.execute_async(id_, o, [this](Result<cql::Response> r) {
      std::lock_guard guard(mutex_);
      if (!r.is_ok() || r->is_error) ++errors_;
      --outstanding_;
      cv_.notify_all();
    });
  }
  int64_t finish() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return outstanding_ == 0; });
    return errors_;
  }

 private:
  cql::CqlClient& client_;
  Bytes id_;
  int limit_;
  std::mutex mutex_;
  std::condition_variable cv_;
  int outstanding_ = 0;
  int64_t errors_ = 0;
};

bool exec(cql::CqlClient& c, const std::string& cql) {
  auto r = c.query(cql);
  if (!r.is_ok() || r->is_error) {
    std::fprintf(stderr, "demo: %s\n  -> %s\n", cql.c_str(),
                 r.is_ok() ? r->error.message.c_str() : r.status().message().c_str());
    return false;
  }
  return true;
}

void show(cql::CqlClient& c, const std::string& title, const std::string& cql) {
  std::printf("\n-- %s\ncqlsh> %s;\n", title.c_str(), cql.c_str());
  auto r = c.query(cql);
  if (!r.is_ok() || r->is_error) {
    std::printf("error: %s\n", r.is_ok() ? r->error.message.c_str() : r.status().message().c_str());
    return;
  }
  const auto& cols = r->result.columns;
  std::vector<size_t> widths;
  std::vector<std::vector<std::string>> lines;
  for (const auto& col : cols) widths.push_back(col.name.size());
  for (const auto& row : r->result.rows) {
    std::vector<std::string> line;
    for (size_t i = 0; i < cols.size(); ++i) {
      std::string v = row[i] ? schema::format_value(cols[i].type, *row[i]) : "null";
      if (v.size() >= 2 && v.front() == '\'') v = v.substr(1, v.size() - 2);
      widths[i] = std::max(widths[i], v.size());
      line.push_back(v);
    }
    lines.push_back(line);
  }
  for (size_t i = 0; i < cols.size(); ++i)
    std::printf("%s%-*s", i ? " | " : " ", static_cast<int>(widths[i]), cols[i].name.c_str());
  std::printf("\n");
  for (size_t i = 0; i < cols.size(); ++i)
    std::printf("%s%s", i ? "-+-" : "-", std::string(widths[i], '-').c_str());
  std::printf("-\n");
  for (const auto& line : lines) {
    for (size_t i = 0; i < line.size(); ++i)
      std::printf("%s%-*s", i ? " | " : " ", static_cast<int>(widths[i]), line[i].c_str());
    std::printf("\n");
  }
  std::printf("(%zu rows)\n", lines.size());
}

}  // namespace

// Loads the sample data and prints the queries; called once the node is listening.
int load_demo(const DemoOptions& options) {
  auto connected = cql::CqlClient::connect(options.listen_address, options.port);
  if (!connected.is_ok()) {
    std::fprintf(stderr, "demo: %s\n", connected.status().message().c_str());
    return 1;
  }
  cql::CqlClient& c = **connected;
  const auto started = std::chrono::steady_clock::now();
  if (!exec(c,
            "CREATE KEYSPACE IF NOT EXISTS demo WITH replication = {'class': 'SimpleStrategy', "
            "'replication_factor': 1}") ||
      !exec(c,
            "CREATE TABLE IF NOT EXISTS demo.campaigns (campaign_id uuid PRIMARY KEY, name text, "
            "advertiser text, "
            "budget decimal, starts date, channels set<text>)") ||
      !exec(c,
            "CREATE TABLE IF NOT EXISTS demo.events_by_campaign (campaign_id uuid, day date, ts "
            "timestamp, "
            "event_type text, user_id uuid, cost decimal, PRIMARY KEY ((campaign_id, day), ts)) "
            "WITH CLUSTERING ORDER BY (ts DESC)") ||
      !exec(c,
            "CREATE TABLE IF NOT EXISTS demo.gdelt_events (event_date date, event_id bigint, "
            "actor1 text, "
            "actor2 text, event_code text, goldstein double, num_mentions int, avg_tone double, "
            "country text, "
            "PRIMARY KEY (event_date, event_id))") ||
      !exec(c, "TRUNCATE demo.campaigns") || !exec(c, "TRUNCATE demo.events_by_campaign") ||
      !exec(c, "TRUNCATE demo.gdelt_events")) {
    return 1;
  }
  SeededRng rng(options.seed);
  const int64_t first_day = schema::days_from_civil(2024, 3, 1);
  // SMACK: ad campaigns and their click/impression events.
  const char* advertisers[] = {"Acme", "Globex", "Initech", "Umbrella", "Hooli"};
  const char* channels[] = {"web", "mobile", "email", "social", "video"};
  std::vector<Bytes> campaign_ids;
  auto campaign = c.prepare(
      "INSERT INTO demo.campaigns (campaign_id, name, advertiser, budget, starts, channels) VALUES "
      "(?, ?, ?, ?, ?, ?)");
  auto event = c.prepare(
      "INSERT INTO demo.events_by_campaign (campaign_id, day, ts, event_type, user_id, cost) "
      "VALUES (?, ?, ?, ?, ?, ?)");
  auto gdelt = c.prepare(
      "INSERT INTO demo.gdelt_events (event_date, event_id, actor1, actor2, event_code, goldstein, "
      "num_mentions, avg_tone, country) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
  if (!campaign.is_ok() || campaign->is_error || !event.is_ok() || event->is_error ||
      !gdelt.is_ok() || gdelt->is_error) {
    std::fprintf(stderr, "demo: prepare failed\n");
    return 1;
  }
  Loader campaigns(c, campaign->result.prepared_id, 64);
  for (int i = 0; i < 20; ++i) {
    Bytes id = uuid_bytes(rng);
    campaign_ids.push_back(id);
    std::vector<Bytes> chosen;
    for (const char* ch : channels) {
      if (rng.chance(0.5)) chosen.emplace_back(ch);
    }
    std::sort(chosen.begin(), chosen.end());
    campaigns.add({id, Bytes("spring-" + std::to_string(i)), Bytes(advertisers[i % 5]),
                   decimal_cents(static_cast<int64_t>(rng.uniform_range(100000, 5000000))),
                   date_bytes(first_day + static_cast<int64_t>(rng.uniform(10))),
                   schema::serialize_list(chosen)});
  }
  int64_t errors = campaigns.finish();
  Loader events(c, event->result.prepared_id, 256);
  const char* kinds[] = {"impression", "impression", "impression", "click", "conversion"};
  const int64_t event_count = options.events / 6;
  for (int64_t i = 0; i < event_count; ++i) {
    const Bytes& id = campaign_ids[rng.uniform(campaign_ids.size())];
    const int64_t day = first_day + static_cast<int64_t>(rng.uniform(7));
    const int64_t ts = day * 86'400'000 + static_cast<int64_t>(rng.uniform(86'400'000));
    const char* kind = kinds[rng.uniform(5)];
    const int64_t cents = std::string(kind) == "impression" ? 1
                          : std::string(kind) == "click"    ? 35
                                                            : 450;
    events.add(
        {id, date_bytes(day), be(ts, 8), Bytes(kind), uuid_bytes(rng), decimal_cents(cents)});
  }
  errors += events.finish();
  // GDELT-style world events.
  const char* actors[] = {"USA", "CHN", "RUS", "GBR", "FRA", "DEU", "IND", "BRA",
                          "JPN", "ZAF", "NGA", "MEX", "UN",  "EU",  "NATO"};
  const char* codes[] = {"010", "020", "036", "042", "051", "057",
                         "111", "120", "130", "141", "173", "190"};
  Loader world(c, gdelt->result.prepared_id, 256);
  const int64_t gdelt_count = options.events - event_count;
  for (int64_t i = 0; i < gdelt_count; ++i) {
    const char* a1 = actors[rng.uniform(15)];
    const char* a2 = actors[rng.uniform(15)];
    const double goldstein = static_cast<double>(rng.uniform_range(-100, 100)) / 10.0;
    const double tone = static_cast<double>(rng.uniform_range(-1000, 1000)) / 100.0;
    world.add({date_bytes(first_day + static_cast<int64_t>(rng.uniform(30))),
               be(1'000'000'000 + i, 8), Bytes(a1), Bytes(a2), Bytes(codes[rng.uniform(12)]),
               double_bytes(goldstein), be(static_cast<int64_t>(1 + rng.uniform(200)), 4),
               double_bytes(tone), Bytes(a1)});
  }
  errors += world.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf(
      "\nLoaded %lld rows into keyspace demo in %.1f s (%lld errors): 20 campaigns, %lld campaign "
      "events, "
      "%lld GDELT-style events.\n",
      static_cast<long long>(20 + event_count + gdelt_count), seconds,
      static_cast<long long>(errors), static_cast<long long>(event_count),
      static_cast<long long>(gdelt_count));

  show(c, "Campaigns (first 5)",
       "SELECT name, advertiser, budget, starts, channels FROM demo.campaigns LIMIT 5");
  const std::string first_campaign =
      schema::format_value(schema::CqlType::of(storage::ValueKind::kUuid), campaign_ids[0]);
  show(c, "Latest events of one campaign on its first day",
       "SELECT ts, event_type, cost FROM demo.events_by_campaign WHERE campaign_id = " +
           first_campaign + " AND day = '2024-03-01' LIMIT 5");
  show(c, "Spend and event count of that campaign that day",
       "SELECT count(*) AS events, sum(cost) AS spend FROM demo.events_by_campaign WHERE "
       "campaign_id = " +
           first_campaign + " AND day = '2024-03-01'");
  show(c, "World events on 2024-03-15: how many, average tone, most mentions",
       "SELECT count(*) AS events, avg(avg_tone) AS tone, max(num_mentions) AS top_mentions FROM "
       "demo.gdelt_events "
       "WHERE event_date = '2024-03-15'");
  show(c, "Conflict events (code 190) on 2024-03-15",
       "SELECT event_id, actor1, actor2, goldstein FROM demo.gdelt_events WHERE event_date = "
       "'2024-03-15' "
       "AND event_code = '190' LIMIT 5 ALLOW FILTERING");
  show(c, "Events per day, first days of the month (GROUP BY the partition key)",
       "SELECT event_date, count(*) AS events FROM demo.gdelt_events WHERE event_date IN "
       "('2024-03-01', '2024-03-02', '2024-03-03') GROUP BY event_date");
  std::printf(
      "\nThe node keeps serving. Connect with:  ./build/ringdb cql %s %u   (or any Cassandra "
      "driver); "
      "Ctrl-C stops it.\n",
      options.listen_address.c_str(), options.port);
  std::fflush(stdout);
  return errors == 0 ? 0 : 1;
}

}  // namespace ringdb::tools
