// Commands on farm/{farm}/{kind}/{device}/cmd and their cmd/ack (contracts/payloads.ts Command,
// CommandAck; firmware-sim/commands.ts). Parsing is as strict as the zod schema: a payload it
// would refuse is refused here, with a reason in the ack. A repeated id (a QoS 1 redelivery) is
// answered again with the first answer and not run twice.
#pragma once
#include <cstddef>
#include <cstdint>

#include "contract.h"

namespace sy {

enum class CommandName : uint8_t { Start, Stop, Reset, SetInterval, Reboot };

struct Command {
  char id[4 * kMaxCmdIdLen + 1] = {};  // UTF-8, up to 64 code points
  size_t idLen = 0;
  CommandName name = CommandName::Start;
  // set_interval's args; absent unless has*.
  bool hasSeconds = false, secondsIsNumber = false;
  double seconds = 0;
  bool hasIdleSeconds = false, idleSecondsIsNumber = false;
  double idleSeconds = 0;
};

struct ParsedCommand {
  bool ok = false;
  Command cmd;
  char error[128] = {};  // when !ok; cmd.id holds the id when one could be read, else empty
};

constexpr size_t kMaxCmdBytes = 2048;

// Parses one cmd payload (RFC 8259 JSON, Command schema).
ParsedCommand parseCommand(const char* payload, size_t len);

struct Ack {
  bool ok = true;
  char error[160] = {};
};

// The last answers, by command id.
class RecentCommands {
 public:
  static constexpr size_t kRemembered = 16;
  const Ack* find(const char* id, size_t len) const;
  void remember(const char* id, size_t len, const Ack& ack);

 private:
  struct Entry {
    char id[4 * kMaxCmdIdLen + 1];
    size_t len;
    Ack ack;
  };
  Entry e_[kRemembered] = {};
  size_t n_ = 0, next_ = 0;
};

constexpr uint32_t kMinIntervalS = 1;
constexpr uint32_t kMaxIntervalS = 86400;
// True when x is an integer number of seconds the device accepts (firmware-sim/commands.ts).
bool validIntervalS(bool isNumber, double x);

}  // namespace sy
