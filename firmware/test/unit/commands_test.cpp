#include <string>

#include "check.h"
#include "commands.h"

using namespace sy;

static ParsedCommand parse(const std::string& s) { return parseCommand(s.data(), s.size()); }

TEST(commands_parse_every_name_and_their_args) {
  const char* names[] = {"start", "stop", "reset", "set_interval", "reboot"};
  for (int i = 0; i < 5; i++) {
    ParsedCommand p = parse(std::string("{\"id\":\"c-1\",\"cmd\":\"") + names[i] + "\"}");
    CHECK(p.ok);
    CHECK(p.cmd.name == static_cast<CommandName>(i));
    CHECK_EQ(std::string(p.cmd.id), std::string("c-1"));
  }
  ParsedCommand p = parse("{\"cmd\":\"set_interval\",\"args\":{\"seconds\":30,\"idle_seconds\":600,\"note\":\"x\",\"b\":true},\"id\":\"i\",\"extra\":[1,{}]}");
  CHECK(p.ok);
  CHECK(p.cmd.hasSeconds && p.cmd.secondsIsNumber && p.cmd.seconds == 30);
  CHECK(p.cmd.hasIdleSeconds && p.cmd.idleSeconds == 600);
  p = parse("{\"id\":\"i\",\"cmd\":\"set_interval\",\"args\":{\"seconds\":\"30\"}}");
  CHECK(p.ok && p.cmd.hasSeconds && !p.cmd.secondsIsNumber);  // a string: set_interval refuses it
}

TEST(commands_refuse_what_the_zod_schema_refuses_with_the_id_when_readable) {
  struct Case {
    const char* json;
    const char* id;
    const char* error;
  } cases[] = {
      {"not json", "", "malformed JSON"},
      {"[1]", "", "command is not an object"},
      {"{\"id\":\"a\",\"cmd\":\"start\"", "", "malformed JSON"},
      {"{\"cmd\":\"start\"}", "", "id: required"},
      {"{\"id\":5,\"cmd\":\"start\"}", "", "id: must be a string of 1 to 64 characters, no control characters"},
      {"{\"id\":\"\",\"cmd\":\"start\"}", "", "id: must be a string of 1 to 64 characters, no control characters"},
      {"{\"id\":{\"x\":1},\"cmd\":\"start\"}", "", "id: must be a string of 1 to 64 characters, no control characters"},
      {"{\"id\":\"a\\nb\",\"cmd\":\"start\"}", "", "id: must be a string of 1 to 64 characters, no control characters"},
      {"{\"id\":\"a\\u2028\",\"cmd\":\"start\"}", "", "id: must be a string of 1 to 64 characters, no control characters"},
      {"{\"id\":\"a\"}", "a", "cmd: required"},
      {"{\"id\":\"a\",\"cmd\":\"explode\"}", "a", "cmd: must be one of start, stop, reset, set_interval, reboot"},
      {"{\"id\":\"a\",\"cmd\":\"START\"}", "a", "cmd: must be one of start, stop, reset, set_interval, reboot"},
      {"{\"id\":\"a\",\"cmd\":\"start\",\"args\":null}", "a", "args: must be an object"},
      {"{\"id\":\"a\",\"cmd\":\"start\",\"args\":[]}", "a", "args: must be an object"},
      {"{\"id\":\"a\",\"cmd\":\"start\",\"args\":{\"k\":null}}", "a", "args: values must be strings, numbers or booleans"},
      {"{\"id\":\"a\",\"cmd\":\"start\",\"args\":{\"k\":{}}}", "a", "args: values must be strings, numbers or booleans"},
  };
  for (const Case& c : cases) {
    ParsedCommand p = parse(c.json);
    if (p.ok) check::fail(__FILE__, __LINE__, std::string("accepted ") + c.json);
    CHECK_EQ(std::string(p.cmd.id), std::string(c.id));
    CHECK_EQ(std::string(p.error), std::string(c.error));
  }
}

TEST(commands_ids_count_code_points_and_the_last_repeated_key_wins) {
  std::string thai;
  for (int i = 0; i < 64; i++) thai += "\xE0\xB8\x81";  // 64 code points, 192 bytes
  CHECK(parse("{\"id\":\"" + thai + "\",\"cmd\":\"stop\"}").ok);
  CHECK(!parse("{\"id\":\"" + thai + "x\",\"cmd\":\"stop\"}").ok);
  ParsedCommand p = parse("{\"id\":\"a\",\"cmd\":\"explode\",\"cmd\":\"stop\",\"id\":\"b\"}");
  CHECK(p.ok && p.cmd.name == CommandName::Stop && std::string(p.cmd.id) == "b");
  CHECK(!parse("{\"id\":\"a\",\"cmd\":\"stop\",\"cmd\":\"explode\"}").ok);
  CHECK(!parse(std::string(3000, ' ')).ok);
}

TEST(commands_interval_rule) {
  CHECK(validIntervalS(true, 1));
  CHECK(validIntervalS(true, 86400));
  CHECK(!validIntervalS(true, 0));
  CHECK(!validIntervalS(true, 86401));
  CHECK(!validIntervalS(true, 2.5));
  CHECK(!validIntervalS(false, 30));
  CHECK(!validIntervalS(true, NAN));
}

TEST(commands_recent_answers_are_remembered_by_id) {
  RecentCommands r;
  Ack a;
  a.ok = false;
  std::snprintf(a.error, sizeof a.error, "no");
  r.remember("x", 1, a);
  CHECK(r.find("x", 1) != nullptr && !r.find("x", 1)->ok);
  CHECK(r.find("y", 1) == nullptr);
  for (int i = 0; i < 16; i++) r.remember(std::to_string(i).c_str(), std::to_string(i).size(), Ack());
  CHECK(r.find("x", 1) == nullptr);  // only the last 16
  CHECK(r.find("15", 2) != nullptr);
}
