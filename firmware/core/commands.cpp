#include "commands.h"

#include <cmath>
#include <cstdio>
#include <cstring>

#include "json.h"

namespace sy {

static const char* const kNames[] = {"start", "stop", "reset", "set_interval", "reboot"};

static void refuse(ParsedCommand& r, const char* why) {
  r.ok = false;
  snprintf(r.error, sizeof r.error, "%s", why);
}

ParsedCommand parseCommand(const char* payload, size_t len) {
  ParsedCommand r;
  if (len > kMaxCmdBytes) { refuse(r, "command too long"); return r; }
  char scratch[kMaxCmdBytes];
  JsonReader rd(payload, len, scratch, sizeof scratch);
  if (!rd.beginObject()) {
    // As JSON.parse then the schema would say: valid JSON that is no object, or no JSON at all.
    JsonReader whole(payload, len, scratch, sizeof scratch);
    refuse(r, whole.skip() && whole.atEnd() ? "command is not an object" : "malformed JSON");
    return r;
  }
  // JSON.parse keeps the last of repeated keys; so do we.
  bool haveId = false, idIsString = false, haveCmd = false, cmdKnown = false, argsOk = true, haveArgs = false;
  const char* argsError = nullptr;
  Str idStr, cmdStr;
  Str key;
  JsonValue v;
  while (rd.next(key, v)) {
    const bool container = v.type == JsonType::Object || v.type == JsonType::Array;
    if (key.equals("args") && v.type == JsonType::Object) {
      haveArgs = true;
      argsOk = true;
      argsError = nullptr;
      r.cmd.hasSeconds = r.cmd.hasIdleSeconds = false;
      if (!rd.beginObject()) break;
      Str ak;
      JsonValue av;
      while (rd.next(ak, av)) {
        // z.record(string, string | number | boolean)
        const bool nested = av.type == JsonType::Object || av.type == JsonType::Array;
        if (nested && !rd.skip()) break;
        if (nested || av.type == JsonType::Null) {
          argsOk = false;
          argsError = "args: values must be strings, numbers or booleans";
          continue;
        }
        if (ak.equals("seconds")) { r.cmd.hasSeconds = true; r.cmd.secondsIsNumber = av.type == JsonType::Number; r.cmd.seconds = av.num; }
        if (ak.equals("idle_seconds")) { r.cmd.hasIdleSeconds = true; r.cmd.idleSecondsIsNumber = av.type == JsonType::Number; r.cmd.idleSeconds = av.num; }
      }
      continue;
    }
    if (container && !rd.skip()) break;  // unknown members are tolerated, as z.object strips them
    if (key.equals("id")) {
      haveId = true;
      idIsString = v.type == JsonType::String;
      if (idIsString) idStr = v.s;
    } else if (key.equals("cmd")) {
      haveCmd = true;
      cmdKnown = false;
      for (int i = 0; i < 5 && v.type == JsonType::String; i++) {
        if (v.s.equals(kNames[i])) { r.cmd.name = static_cast<CommandName>(i); cmdKnown = true; }
      }
    } else if (key.equals("args")) {
      haveArgs = true;
      argsOk = false;
      argsError = "args: must be an object";
    }
  }
  if (rd.failed() || !rd.atEnd()) { refuse(r, "malformed JSON"); return r; }
  // The id first, so that every other refusal can be answered under it.
  if (haveId && idIsString) {
    size_t cps = codePoints(idStr.p, idStr.n);
    if (cps >= 1 && cps <= kMaxCmdIdLen && idStr.n < sizeof r.cmd.id && plainText(idStr.p, idStr.n)) {
      memcpy(r.cmd.id, idStr.p, idStr.n);
      r.cmd.id[idStr.n] = '\0';
      r.cmd.idLen = idStr.n;
    }
  }
  if (r.cmd.idLen == 0) { refuse(r, haveId ? "id: must be a string of 1 to 64 characters, no control characters" : "id: required"); return r; }
  if (!haveCmd) { refuse(r, "cmd: required"); return r; }
  if (!cmdKnown) { refuse(r, "cmd: must be one of start, stop, reset, set_interval, reboot"); return r; }
  if (haveArgs && !argsOk) { refuse(r, argsError); return r; }
  r.ok = true;
  return r;
}

bool validIntervalS(bool isNumber, double x) {
  return isNumber && std::isfinite(x) && std::floor(x) == x && x >= kMinIntervalS && x <= kMaxIntervalS;
}

const Ack* RecentCommands::find(const char* id, size_t len) const {
  for (size_t i = 0; i < n_; i++) {
    if (e_[i].len == len && memcmp(e_[i].id, id, len) == 0) return &e_[i].ack;
  }
  return nullptr;
}

void RecentCommands::remember(const char* id, size_t len, const Ack& ack) {
  if (len >= sizeof e_[0].id) return;
  Entry& e = e_[next_];
  memcpy(e.id, id, len);
  e.id[len] = '\0';
  e.len = len;
  e.ack = ack;
  next_ = (next_ + 1) % kRemembered;
  if (n_ < kRemembered) n_++;
}

}  // namespace sy
